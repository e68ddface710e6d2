//! The other direction of the ABI round trip: Rust PALs (built with `export_pal!`) driven by a C
//! caller (`tests/c-pal/caller.c`) exactly as a C runtime would call them.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::{Path, PathBuf};
use std::process::Command;

use pal::testing::{build_runtime, target_dir, workspace_root};

fn caller() -> PathBuf {
    static EXE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    EXE.get_or_init(build_caller).clone()
}

fn build_caller() -> PathBuf {
    let dir = target_dir().join("c-pal");
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join(format!("caller-{}", std::process::id()));
    {
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let st = Command::new(cc)
            .args(["-O2", "-Wall", "-Werror", "-o"])
            .arg(&exe)
            .arg(workspace_root().join("tests/c-pal/caller.c"))
            .arg("-ldl")
            .status()
            .unwrap();
        assert!(st.success());
    }
    let fixed = dir.join("caller");
    std::fs::rename(&exe, &fixed).unwrap();
    fixed
}

fn run(so: &Path, args: &str, payload: &[&str]) -> (String, i32) {
    let out = Command::new(caller()).arg(so).arg(args).args(payload).output().unwrap();
    (String::from_utf8(out.stdout).unwrap(), out.status.code().unwrap_or(-1))
}

#[test]
fn c_caller_drives_rust_skeletons() {
    for v in 1..=3 {
        let so = build_runtime(&format!("pal-skeleton-v{v}"), &format!("pal_skeleton_v{v}"));
        let (out, code) = run(&so, "debug", &["/bin/hello"]);
        let report = if v == 3 { format!("report_error=-{}\n", libc::ENOSYS) } else { String::new() };
        assert_eq!(out, format!("version={v}\nHello Inclavare Containers!\nexit=0\n{report}"), "skeleton v{v}");
        assert_eq!(code, 0);
        let (out, code) = run(&so, "bogus-option", &["/bin/hello"]);
        assert_eq!((out, code), (format!("version={v}\nerror: pal_init -{}\n", libc::EINVAL), 1));
    }
}

#[test]
fn c_caller_drives_sample_libos() {
    let so = build_runtime("pal-sample-libos", "pal_sample_libos");
    let (out, code) = run(&so, "", &["/bin/sh", "-c", "echo \"$1 / $CALLER_ENV\"; exit 4", "sh", "one arg"]);
    assert_eq!(code, 0, "{out}");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("version=3"));
    assert_eq!(lines.next(), Some("one arg / from c caller"));
    assert_eq!(lines.next(), Some("exit=4"));
    let len: usize = lines.next().unwrap().strip_prefix("report_len=").unwrap().parse().unwrap();
    assert!(len > 100, "evidence of {len} bytes");
}
