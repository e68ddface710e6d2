//! The one process-creation syscall rune makes itself: `clone3(2)`, used by [`crate::direct_create`] to
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

/// Why [`clone_child`] did not create a process.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloneError {
    /// Only the calling thread would exist in the child: a lock another thread holds (malloc's,
    /// stdio's, the dynamic loader's) would stay locked there forever.
    #[error("clone3 needs a single-threaded caller, but this process has {threads} threads")]
    MultiThreaded { threads: usize },
    #[error("count this process's threads in /proc/self/task: {0}")]
    CountThreads(Errno),
    #[error("clone3: {0}")]
    Clone(Errno),
}

/// How many threads this process has (entries of `/proc/self/task`).
pub fn thread_count() -> Result<usize, Errno> {
    let rd =
        std::fs::read_dir("/proc/self/task").map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
    Ok(rd.filter(|e| e.is_ok()).count())
}

/// Forks like `fork(2)` (the child runs on a copy-on-write copy of this stack), with extra clone
/// `flags` such as `CLONE_NEWPID`, and SIGCHLD to the parent when the child exits. The child runs
/// `child` and exits with its return value without running this process's exit handlers.
///
/// The caller must be single-threaded (rune is): only the calling thread exists in the child, so
/// a lock held by any other thread would never be released there. This is checked
/// (`/proc/self/task` must have one entry): a multi-threaded caller gets
/// [`CloneError::MultiThreaded`] and no process is created.
pub fn clone_child(flags: u64, child: impl FnOnce() -> i32) -> Result<Pid, CloneError> {
    let threads = thread_count().map_err(CloneError::CountThreads)?;
    if threads != 1 {
        return Err(CloneError::MultiThreaded { threads });
    }
    let mut args = CloneArgs { flags, exit_signal: libc::SIGCHLD as u64, ..Default::default() };
    // SAFETY: `args` is a valid clone_args v0 that outlives the call; no stack is given, so the
    // child continues on a private copy of this thread's stack like fork(2), and no pidfd, tid or
    // tls pointer is passed.
    let r = unsafe { libc::syscall(libc::SYS_clone3, &mut args as *mut CloneArgs, std::mem::size_of::<CloneArgs>()) };
    match r {
        -1 => Err(CloneError::Clone(Errno::last())),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_child_refuses_a_multi_threaded_caller() {
        // The test harness runs this on a thread of its own: the process has at least two.
        let other = std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_millis(200)));
        let threads = thread_count().expect("count threads");
        assert!(threads >= 2, "{threads}");
        let r = clone_child(0, || 0);
        assert!(matches!(r, Err(CloneError::MultiThreaded { threads: n }) if n >= 2), "{r:?}");
        let _ = other.join();
    }
}
