#!/usr/bin/env python3
# Holds PID's /proc/PID/exe, enters a new user+mount namespace (CAP_SYS_ADMIN there), clears the
# read-only flag of the mount behind that file, then (after a line on stdin) tries to open it for
# writing. Opening without O_TRUNC changes nothing even when it succeeds.
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
SYS_mount_setattr, AT_EMPTY_PATH, MOUNT_ATTR_RDONLY = 442, 0x1000, 0x1
class MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]
fd = os.open(f"/proc/{sys.argv[1]}/exe", os.O_PATH)
if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0:
    sys.exit(f"unshare: {os.strerror(ctypes.get_errno())}")
attr = MountAttr(0, MOUNT_ATTR_RDONLY, 0, 0)
r = libc.syscall(SYS_mount_setattr, fd, b"", AT_EMPTY_PATH, ctypes.byref(attr), ctypes.sizeof(attr))
print("flag-cleared" if r == 0 else f"flag-kept:{errno.errorcode.get(ctypes.get_errno())}", flush=True)
# The write is tried once the process has exited (while it runs, the kernel refuses with ETXTBSY
# whatever the mount): the caller writes a line to stdin after deleting the container.
sys.stdin.readline()
try:
    os.close(os.open(f"/proc/self/fd/{fd}", os.O_WRONLY))
    print("written")
except OSError as e:
    print(f"refused:{errno.errorcode.get(e.errno)}")
