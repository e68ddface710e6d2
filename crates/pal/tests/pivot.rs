//! Proves the init-runelet's loading trick: a PAL opened by its host path *before* `pivot_root`
//! can be `dlopen`ed through `/proc/self/fd/N` *after* it, inside a new mount and pid namespace
//! whose `/proc` is a fresh proc mount and where the host path no longer exists. Checked for the
//! host-file descriptor and for the memfd snapshot, and (negative control) that without a proc
//! mount the load fails with a clear error.
//!
//! `harness = false`: it forks, which must happen while the process is single-threaded.
//! Needs root (namespaces, mounts); prints a skip line otherwise.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::ffi::CString;
use std::path::Path;

use pal::{PalFile, PalFileKind};

fn cstr(p: &Path) -> CString {
    CString::new(p.to_str().unwrap()).unwrap()
}

fn check(r: libc::c_int, what: &str) {
    if r < 0 {
        eprintln!("{what}: {}", std::io::Error::last_os_error());
        // SAFETY: _exit is async-signal-safe and ends this forked child immediately.
        unsafe { libc::_exit(2) };
    }
}

/// Runs in the forked child: new namespaces, pivot into an empty tmpfs, load and run the PAL.
fn in_container(f: &PalFile, newroot: &Path, mount_proc: bool) -> i32 {
    // SAFETY: plain syscalls on valid, NUL-terminated paths; this child is single-threaded.
    unsafe {
        check(libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWPID), "unshare");
        let pid = libc::fork();
        check(pid, "fork");
        if pid > 0 {
            let mut st = 0;
            libc::waitpid(pid, &mut st, 0);
            return if libc::WIFEXITED(st) { libc::WEXITSTATUS(st) } else { 3 };
        }
        // Now pid 1 of a new pid namespace.
        check(
            libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ),
            "make / private",
        );
        let root = cstr(newroot);
        check(libc::mount(c"tmpfs".as_ptr(), root.as_ptr(), c"tmpfs".as_ptr(), 0, std::ptr::null()), "mount tmpfs");
        std::fs::create_dir_all(newroot.join("proc")).unwrap();
        std::fs::create_dir_all(newroot.join("oldroot")).unwrap();
        if mount_proc {
            let proc_dir = cstr(&newroot.join("proc"));
            check(
                libc::mount(c"proc".as_ptr(), proc_dir.as_ptr(), c"proc".as_ptr(), 0, std::ptr::null()),
                "mount proc",
            );
        }
        check(libc::chdir(root.as_ptr()), "chdir");
        check(libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c"oldroot".as_ptr()) as libc::c_int, "pivot_root");
        check(libc::chdir(c"/".as_ptr()), "chdir /");
        check(libc::umount2(c"/oldroot".as_ptr(), libc::MNT_DETACH), "umount oldroot");
    }
    if f.origin().exists() {
        eprintln!("host path {} still visible after pivot_root", f.origin().display());
        return 4;
    }
    let pal = match f.load() {
        Ok(p) => p,
        Err(e) if !mount_proc => {
            println!("  without /proc: load fails as documented: {e}");
            return 0;
        }
        Err(e) => {
            eprintln!("load after pivot_root: {e}");
            return 5;
        }
    };
    if !mount_proc {
        eprintln!("load without /proc unexpectedly worked");
        return 6;
    }
    if let Err(e) = pal.init(&pal::InitOptions::default()) {
        eprintln!("init: {e}");
        return 7;
    }
    let want = if pal.version() == 3 { "Hello Inclavare Containers!\n" } else { "inside the container\n" };
    match pal::testing::capture(&pal, &["c-pal", "echo", "inside the container"], &[], b"") {
        Ok(r) if r.code == 0 && r.stdout == want => 0,
        other => {
            eprintln!("payload: {other:?}");
            8
        }
    }
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("pivot: skipped (needs root)");
        return;
    }
    let so = pal::testing::build_c_pal(2, None);
    // Keep the PAL at a host path that will not exist in the new root.
    let tmp = std::env::temp_dir().join(format!("pal-pivot-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let host_pal = tmp.join("libtest_pal.so");
    std::fs::copy(&so, &host_pal).unwrap();
    // A Rust PAL too: its DT_NEEDED (libc, libgcc_s) must be satisfied by what the (dynamically
    // linked) caller already has loaded, since the new root is empty.
    let rust_pal = tmp.join("libpal_skeleton_v3.so");
    std::fs::copy(pal::testing::build_runtime("pal-skeleton-v3", "pal_skeleton_v3"), &rust_pal).unwrap();
    let newroot = tmp.join("root");
    std::fs::create_dir_all(&newroot).unwrap();

    let mut failed = 0;
    for (so, kind, mount_proc) in [
        (&host_pal, PalFileKind::Host, true),
        (&host_pal, PalFileKind::Snapshot, true),
        (&host_pal, PalFileKind::Host, false),
        (&rust_pal, PalFileKind::Host, true),
        (&rust_pal, PalFileKind::Snapshot, true),
    ] {
        let f = match kind {
            PalFileKind::Host => PalFile::open(so).unwrap(),
            PalFileKind::Snapshot => PalFile::snapshot(so).unwrap(),
        };
        // SAFETY: the process is single-threaded here (harness = false, no threads spawned).
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let code = in_container(&f, &newroot, mount_proc);
            // SAFETY: leave the forked child without running the parent's atexit handlers.
            unsafe { libc::_exit(code) };
        }
        let mut st = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut st, 0) };
        let ok = libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0;
        let name = so.file_name().unwrap().to_string_lossy();
        println!("pivot {name} {kind:?} proc={mount_proc}: {}", if ok { "ok" } else { "FAILED" });
        if !ok {
            failed += 1;
        }
    }
    std::fs::remove_dir_all(&tmp).ok();
    assert_eq!(failed, 0, "{failed} pivot cases failed");
}
