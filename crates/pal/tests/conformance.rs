//! The PAL conformance harness (`pal::testing::conformance`) run against every PAL we have:
//! the C test PAL built for v1/v2/v3 (proof that third-party C PALs load unchanged), the Rust
//! skeleton v1/v2/v3 and the sample LibOS (built from the workspace with cargo).
#![allow(clippy::unwrap_used)] // tests may unwrap

use pal::testing::{build_c_pal, build_runtime, conformance, PayloadKind, Profile};
use pal::{Error, Pal, PalFile};

#[test]
fn c_pal_v1() {
    conformance(&build_c_pal(1, None), &Profile { name: "c-pal v1", version: 1, payload: PayloadKind::CInterpreter });
}

#[test]
fn c_pal_v2() {
    conformance(&build_c_pal(2, None), &Profile { name: "c-pal v2", version: 2, payload: PayloadKind::CInterpreter });
}

#[test]
fn c_pal_v3() {
    conformance(&build_c_pal(3, None), &Profile { name: "c-pal v3", version: 3, payload: PayloadKind::CInterpreter });
}

#[test]
fn skeleton_v1() {
    let so = build_runtime("pal-skeleton-v1", "pal_skeleton_v1");
    conformance(&so, &Profile { name: "skeleton v1", version: 1, payload: PayloadKind::Skeleton });
}

#[test]
fn skeleton_v2() {
    let so = build_runtime("pal-skeleton-v2", "pal_skeleton_v2");
    conformance(&so, &Profile { name: "skeleton v2", version: 2, payload: PayloadKind::Skeleton });
}

#[test]
fn skeleton_v3() {
    let so = build_runtime("pal-skeleton-v3", "pal_skeleton_v3");
    conformance(&so, &Profile { name: "skeleton v3", version: 3, payload: PayloadKind::Skeleton });
}

#[test]
fn sample_libos() {
    let so = build_runtime("pal-sample-libos", "pal_sample_libos");
    conformance(&so, &Profile { name: "sample-libos", version: 3, payload: PayloadKind::Executables });
}

#[test]
fn version_above_3_is_refused() {
    let so = build_c_pal(3, Some(4));
    let e = Pal::open(&so).unwrap_err();
    assert_eq!(e, Error::UnsupportedVersion(4));
    assert_eq!(e.to_string(), "unsupported pal api version 4");
}

#[test]
fn open_errors_name_the_file() {
    let e = PalFile::open(std::path::Path::new("/nonexistent/libpal.so")).unwrap_err();
    assert!(
        matches!(e, Error::Open { ref path, errno } if path == "/nonexistent/libpal.so" && errno.0 == libc::ENOENT),
        "{e}"
    );
    assert_eq!(PalFile::open(std::path::Path::new("/tmp")).unwrap_err(), Error::NotAFile { path: "/tmp".into() });
    // A file that is not a shared object.
    let e = Pal::open(std::path::Path::new("/etc/hostname")).unwrap_err();
    assert!(matches!(e, Error::Load { .. }), "{e}");
}

#[test]
fn host_fd_and_snapshot_load_the_same_pal() {
    let so = build_c_pal(2, None);
    for f in [PalFile::open(&so).unwrap(), PalFile::snapshot(&so).unwrap()] {
        assert!(f.proc_path().starts_with("/proc/self/fd/"));
        let p = f.load().unwrap();
        assert_eq!(p.version(), 2);
        assert_eq!(
            p.symbols().present(),
            ["pal_get_version", "pal_init", "pal_create_process", "pal_exec", "pal_kill", "pal_destroy"]
        );
    }
}

#[test]
fn c_pal_v3_init_gets_prepared_enclave() {
    let so = build_c_pal(3, None);
    let p = PalFile::snapshot(&so).unwrap().load().unwrap();
    p.init(&pal::InitOptions {
        args: "a b".into(),
        log_level: "debug".into(),
        prepared: Some(pal::PreparedEnclave { fd: 7, addr: 0x7000_0000 }),
    })
    .unwrap();
    let r = pal::testing::capture(&p, &["c-pal", "init"], &[], b"").unwrap();
    assert_eq!(r.stdout, format!("args=a b log_level=debug fd=7 addr={}\n", 0x7000_0000u64));
    // v2 ignores `prepared` (its attribute has no such fields).
    let so2 = build_c_pal(2, None);
    let p2 = PalFile::snapshot(&so2).unwrap().load().unwrap();
    p2.init(&pal::InitOptions {
        args: "x".into(),
        log_level: "info".into(),
        prepared: Some(pal::PreparedEnclave { fd: 7, addr: 1 }),
    })
    .unwrap();
    let r = pal::testing::capture(&p2, &["c-pal", "init"], &[], b"").unwrap();
    assert_eq!(r.stdout, "args=x log_level=info fd=-1 addr=0\n");
}

#[test]
fn nul_bytes_are_errors_not_truncation() {
    let so = build_c_pal(2, None);
    let p = PalFile::snapshot(&so).unwrap().load().unwrap();
    p.init(&pal::InitOptions::default()).unwrap();
    let e = pal::testing::capture(&p, &["c-pal", "echo", "a\0b"], &[], b"").unwrap_err();
    assert_eq!(e, Error::Nul { what: "payload argument" });
}

#[test]
fn reused_descriptor_numbers_do_not_alias_pals() {
    // glibc matches already-loaded objects by name: loading PAL A as /proc/self/fd/N, closing
    // N, then loading PAL B whose descriptor got number N must still give B.
    let v1 = build_c_pal(1, None);
    let v3 = build_c_pal(3, None);
    for _ in 0..3 {
        let a = PalFile::open(&v3).unwrap();
        let pa = a.load().unwrap();
        drop(a);
        let b = PalFile::open(&v1).unwrap();
        assert_eq!(b.load().unwrap().version(), 1);
        assert_eq!(pa.version(), 3);
    }
}
