//! The one process-creation syscall rune makes itself: `clone3(2)`, used by [`crate::launch`] to
//! start a container's init process directly in its new PID namespace (no intermediate process).
#![allow(unsafe_code)] // raw clone3 and _exit: no safe wrapper exists; each block has a SAFETY note.

use nix::errno::Errno;
use nix::unistd::Pid;

/// `struct clone_args` of <linux/sched.h>, version 0 (64 bytes): all we need.
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
}

/// Whether the kernel has `clone3` (Linux 5.3+). Probed with an invalid call (size 0), which a
/// kernel that has it refuses with EINVAL and one that lacks it with ENOSYS.
pub fn has_clone3() -> bool {
    // SAFETY: a NULL argument of size 0 is rejected before the kernel reads anything or creates
    // a process.
    let r = unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null::<CloneArgs>(), 0usize) };
    !(r == -1 && Errno::last() == Errno::ENOSYS)
}

/// Forks like `fork(2)` (the child runs on a copy-on-write copy of this stack), with extra clone
/// `flags` such as `CLONE_NEWPID`, and SIGCHLD to the parent when the child exits. The child runs
/// `child` and exits with its return value without running this process's exit handlers.
///
/// The caller must be single-threaded (rune is): only the calling thread exists in the child.
pub fn clone_child(flags: u64, child: impl FnOnce() -> i32) -> Result<Pid, Errno> {
    let mut args = CloneArgs { flags, exit_signal: libc::SIGCHLD as u64, ..Default::default() };
    // SAFETY: `args` is a valid clone_args v0 that outlives the call; no stack is given, so the
    // child continues on a private copy of this thread's stack like fork(2), and no pidfd, tid or
    // tls pointer is passed.
    let r = unsafe {
        libc::syscall(libc::SYS_clone3, &mut args as *mut CloneArgs, std::mem::size_of::<CloneArgs>())
    };
    match r {
        -1 => Err(Errno::last()),
        0 => {
            // A panic must not unwind into the copies of the parent's frames (their destructors
            // would run in the child): it ends the child with 255 instead.
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(255);
            // SAFETY: _exit ends the child at once, without unwinding into the parent's frames or
            // running atexit handlers and stdio flushes that belong to the parent.
            unsafe { libc::_exit(code) }
        }
        pid => Ok(Pid::from_raw(pid as i32)),
    }
}
