//! The Rust ABI types must have exactly the C layouts: compile `tests/c-pal/layout.c` (which
//! includes `tests/c-pal/pal_api.h`, written from the spec) with the system C compiler, run it,
//! and compare every size, alignment and offset. The spec's numbers are checked too.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::collections::BTreeMap;
use std::mem::{align_of, offset_of, size_of};
use std::process::Command;

use pal::{v1, v2, v3};

fn c_layout() -> BTreeMap<String, usize> {
    let root = pal::testing::workspace_root();
    let dir = pal::testing::target_dir().join("c-pal");
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("layout");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let st = Command::new(cc)
        .args(["-std=c11", "-Wall", "-Werror", "-o"])
        .arg(&exe)
        .arg(root.join("tests/c-pal/layout.c"))
        .status()
        .expect("C compiler");
    assert!(st.success());
    let out = Command::new(&exe).output().expect("run layout");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

#[test]
fn rust_layouts_match_the_c_compiler_and_the_spec() {
    let rust: BTreeMap<String, usize> = [
        ("pal_attr_t.size", size_of::<v1::PalAttr>()),
        ("pal_attr_t.align", align_of::<v1::PalAttr>()),
        ("pal_attr_t.args", offset_of!(v1::PalAttr, args)),
        ("pal_attr_t.log_level", offset_of!(v1::PalAttr, log_level)),
        ("pal_attr_v3_t.size", size_of::<v3::PalAttr>()),
        ("pal_attr_v3_t.align", align_of::<v3::PalAttr>()),
        ("pal_attr_v3_t.attr_v1", offset_of!(v3::PalAttr, attr_v1)),
        ("pal_attr_v3_t.fd", offset_of!(v3::PalAttr, fd)),
        ("pal_attr_v3_t.addr", offset_of!(v3::PalAttr, addr)),
        ("pal_stdio_fds.size", size_of::<v1::PalStdioFds>()),
        ("pal_stdio_fds.align", align_of::<v1::PalStdioFds>()),
        ("pal_stdio_fds.stdin", offset_of!(v1::PalStdioFds, stdin)),
        ("pal_stdio_fds.stdout", offset_of!(v1::PalStdioFds, stdout)),
        ("pal_stdio_fds.stderr", offset_of!(v1::PalStdioFds, stderr)),
        ("pal_create_process_args.size", size_of::<v2::PalCreateProcessArgs>()),
        ("pal_create_process_args.align", align_of::<v2::PalCreateProcessArgs>()),
        ("pal_create_process_args.path", offset_of!(v2::PalCreateProcessArgs, path)),
        ("pal_create_process_args.argv", offset_of!(v2::PalCreateProcessArgs, argv)),
        ("pal_create_process_args.env", offset_of!(v2::PalCreateProcessArgs, env)),
        ("pal_create_process_args.stdio", offset_of!(v2::PalCreateProcessArgs, stdio)),
        ("pal_create_process_args.pid", offset_of!(v2::PalCreateProcessArgs, pid)),
        ("pal_exec_args.size", size_of::<v2::PalExecArgs>()),
        ("pal_exec_args.align", align_of::<v2::PalExecArgs>()),
        ("pal_exec_args.pid", offset_of!(v2::PalExecArgs, pid)),
        ("pal_exec_args.exit_value", offset_of!(v2::PalExecArgs, exit_value)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let c = c_layout();
    assert_eq!(rust, c, "Rust vs C layouts");

    // The spec's figures (x86-64).
    let spec = [
        ("pal_attr_t.size", 16),
        ("pal_attr_v3_t.fd", 16),
        ("pal_attr_v3_t.addr", 24),
        ("pal_attr_v3_t.size", 32),
        ("pal_stdio_fds.size", 12),
        ("pal_create_process_args.argv", 8),
        ("pal_create_process_args.env", 16),
        ("pal_create_process_args.stdio", 24),
        ("pal_create_process_args.pid", 32),
        ("pal_create_process_args.size", 40),
        ("pal_exec_args.exit_value", 8),
        ("pal_exec_args.size", 16),
    ];
    for (k, v) in spec {
        assert_eq!(c[k], v, "{k} per spec");
    }
}
