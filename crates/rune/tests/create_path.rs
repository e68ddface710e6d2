//! rune's direct create path (`rune::direct_create`) against libcontainer, the library whose state
//! files and cgroup layout it shares (pinned exactly in Cargo.toml for that reason):
//!
//! * a container created by `Runtime::create` reads back through libcontainer's `Container::load`
//!   and `YoukiConfig::load` (id, status, pid, bundle, cgroup path) and through libcgroups' own
//!   cgroup manager (the init process is in the cgroup libcgroups computes);
//! * a create that fails (a prestart hook exits 3) and whose cleanup also fails (the hook mounted a
//!   tmpfs inside the state directory, so it cannot be removed) reports both, as
//!   `Error::CreateCleanup`.
//!
//! `harness = false`: rune clones the container's init process itself, which it only does from a
//! single-threaded process (the test harness runs tests on threads). Needs root (namespaces,
//! cgroups, mounts); prints a skip line otherwise.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::{Path, PathBuf};

use libcgroups::common::CgroupManager;
use libcontainer::config::YoukiConfig;
use libcontainer::container::{Container, ContainerStatus};
use rune::runtime::{CreateOpts, Runtime};
use rune::Error;

/// A busybox bundle (the repository's `scripts/mk-busybox-bundle.sh`) with this cgroup path and
/// these hooks.
fn bundle(dir: &Path, cgroups_path: &str, hooks: serde_json::Value) -> PathBuf {
    let b = dir.join("bundle");
    let mk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/mk-busybox-bundle.sh");
    let st = std::process::Command::new("bash").arg(&mk).arg(&b).arg("true").status().unwrap();
    assert!(st.success(), "{} failed (busybox-static missing? run `make deps`)", mk.display());
    let mut cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(b.join("config.json")).unwrap()).unwrap();
    cfg["linux"]["cgroupsPath"] = cgroups_path.into();
    cfg["hooks"] = hooks;
    std::fs::write(b.join("config.json"), cfg.to_string()).unwrap();
    b
}

fn opts(id: &str, bundle: PathBuf) -> CreateOpts {
    // No session keyring: the test process must keep its own.
    CreateOpts { id: id.into(), bundle, no_new_keyring: true, ..Default::default() }
}

fn created_container_reads_back_through_libcontainer() {
    let t = tempfile::tempdir().unwrap();
    let state_root = t.path().join("state");
    let id = format!("readback-{}", std::process::id());
    let cgroups_path = format!("/rune-test-{id}");
    let b = bundle(t.path(), &cgroups_path, serde_json::Value::Null);
    let spec: oci_spec::runtime::Spec = serde_json::from_slice(&std::fs::read(b.join("config.json")).unwrap()).unwrap();
    assert_eq!(rune::direct_create::unsupported(&spec, false, false), None, "the spec takes rune's own create path");

    let rt = Runtime::new(&state_root);
    let created = rt.create(&opts(&id, b.clone()), true).unwrap();
    let pid = created.pid().expect("created container has an init pid");

    // libcontainer's view of the state directory rune wrote.
    let mut c = Container::load(state_root.join(&id)).unwrap();
    c.refresh_status().unwrap();
    assert_eq!(c.id(), id);
    assert_eq!(c.status(), ContainerStatus::Created);
    assert_eq!(c.pid(), Some(pid));
    assert_eq!(c.bundle(), &std::fs::canonicalize(&b).unwrap());
    assert!(Path::new(&format!("/proc/{pid}")).exists(), "init process {pid} is alive");

    // The cgroup path libcontainer records and computes, and libcgroups finds the init process in it.
    let config = YoukiConfig::load(&c.root).unwrap();
    assert_eq!(config.cgroup_path, libcontainer::utils::get_cgroup_path(&Some(PathBuf::from(&cgroups_path)), &id));
    let manager = libcgroups::common::create_cgroup_manager(libcgroups::common::CgroupConfig {
        cgroup_path: config.cgroup_path.clone(),
        systemd_cgroup: false,
        container_name: id.clone(),
    })
    .unwrap();
    assert_eq!(manager.get_all_pids().unwrap(), vec![pid], "libcgroups sees the init process in its cgroup");

    rt.delete(&id, true).unwrap();
    assert!(!state_root.join(&id).exists(), "delete removes the state directory");
}

fn failed_create_reports_failed_cleanup() {
    let t = tempfile::tempdir().unwrap();
    let state_root = t.path().join("state");
    let id = format!("cleanup-{}", std::process::id());
    let busy = state_root.join(&id).join("busy");
    // Runs in the host's namespaces while the container is being created: a mount point inside the
    // state directory makes its removal fail (EBUSY), then the hook fails the create.
    let script = format!("mkdir -p '{0}' && mount -t tmpfs rune-test '{0}' && exit 3", busy.display());
    let hooks = serde_json::json!({"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", script]}]});
    let b = bundle(t.path(), &format!("/rune-test-{id}"), hooks);

    let rt = Runtime::new(&state_root);
    let err = rt.create(&opts(&id, b), true).expect_err("the prestart hook fails the create");
    let text = err.to_string();
    let mounted = std::fs::read_to_string("/proc/self/mountinfo").unwrap().contains(&busy.display().to_string());
    if mounted {
        assert!(std::process::Command::new("umount").arg(&busy).status().unwrap().success());
    }
    let _ = std::fs::remove_dir_all(state_root.join(&id));
    assert!(mounted, "the hook ran and mounted {}: {text}", busy.display());
    match &err {
        Error::CreateCleanup { cause, cleanup } => {
            assert!(matches!(**cause, Error::Hook { name: "prestart", .. }), "cause: {cause}");
            assert!(
                cleanup
                    .iter()
                    .any(|e| matches!(e, Error::Io { what, source } if what.contains("remove state directory")
                        && source.raw_os_error() == Some(libc::EBUSY))),
                "cleanup: {text}"
            );
        }
        other => panic!("expected the failure and the failed cleanup, got: {other}"),
    }
    assert!(text.contains("prestart hook") && text.contains("cleanup after the failure also failed"), "{text}");
}

fn main() {
    if !nix::unistd::geteuid().is_root() {
        println!("create_path: skipped (needs root)");
        return;
    }
    let tests: [(&str, fn()); 2] = [
        ("created_container_reads_back_through_libcontainer", created_container_reads_back_through_libcontainer),
        ("failed_create_reports_failed_cleanup", failed_create_reports_failed_cleanup),
    ];
    let mut failed = 0;
    for (name, test) in tests {
        // Each test runs in this (single) thread; a panic is caught and counted.
        match std::panic::catch_unwind(test) {
            Ok(()) => println!("test {name} ... ok"),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed += 1;
            }
        }
    }
    println!("{} passed, {failed} failed", tests.len() - failed);
    if failed > 0 {
        std::process::exit(1);
    }
}
