//! `rune attest` on a running sample-libos enclave container produces software-TEE evidence that
//! `tee::sample::SampleVerifier` accepts (with the explicit opt-in) and that is bound to the report
//! data. Drives the real rune binary; needs root (otherwise it says so and skips) and the
//! sample-libos PAL that `make build` built.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tee::{danger, sample::SampleVerifier, Expected, Verifier};

fn rune() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rune"))
}

struct Cleanup {
    root: PathBuf,
    id: &'static str,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new(rune()).arg("--root").arg(&self.root).args(["delete", "-f", self.id]).status();
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn attest_gives_verifiable_sample_evidence() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    // The sample LibOS as `make build` built it (a missing or stale one is a failure, not a skip).
    let pal = pal::testing::build_runtime("pal-sample-libos", "pal_sample_libos");
    assert!(Path::new("/bin/busybox").exists(), "/bin/busybox missing: run `make deps`");
    let t = tempfile::tempdir().unwrap();
    let bundle = t.path().join("bundle");
    let mk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/mk-busybox-bundle.sh");
    run(Command::new("bash").arg(&mk).arg(&bundle).args(["sh", "-c", "while true; do sleep 0.1; done"]));
    let cfg_path = bundle.join("config.json");
    let mut cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    let env = cfg["process"]["env"].as_array_mut().unwrap();
    env.push("ENCLAVE_TYPE=sample".into());
    env.push(format!("ENCLAVE_RUNTIME_PATH={}", pal.display()).into());
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg).unwrap()).unwrap();

    let root = t.path().join("root");
    let id = "attest-test";
    let _c = Cleanup { root: root.clone(), id };
    let r = || {
        let mut c = Command::new(rune());
        // The PAL stays next to rune in the cargo target dir: allow that directory.
        c.arg("--root").arg(&root).arg("--pal-dir").arg(pal.parent().unwrap());
        c
    };
    // The container's init keeps the stdio it was created with: give it a file, not the pipe
    // `output()` would wait on until the container exits.
    let log = t.path().join("create.log");
    let f = std::fs::File::create(&log).unwrap();
    let st = r()
        .args(["create", "--bundle"])
        .arg(&bundle)
        .arg(id)
        .stdin(std::process::Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .status()
        .unwrap();
    assert!(st.success(), "rune create: {}", std::fs::read_to_string(&log).unwrap_or_default());
    run(r().args(["start", id]));

    let rd: Vec<u8> = (0u8..64).map(|i| i.wrapping_mul(7)).collect();
    let hex: String = rd.iter().map(|b| format!("{b:02x}")).collect();
    let out = t.path().join("evidence.json");
    run(r().args(["attest", id, "--report-data", &hex, "--output"]).arg(&out));
    let ev = std::fs::read(&out).unwrap();

    let v = SampleVerifier::new(danger::AcceptSoftwareTee);
    let claims = v.verify(&ev, &Expected::new(&rd)).unwrap();
    assert!(!claims.hardware);
    assert_eq!(claims.report_data, rd);
    assert_eq!(claims.fields["measurement"].as_str().unwrap().len(), 96, "SHA-384 hex measurement");
    let mut other = rd.clone();
    other[0] ^= 1;
    assert!(v.verify(&ev, &Expected::new(&other)).is_err());

    // state records the negotiated PAL version.
    let state = run(r().args(["state", id]));
    assert!(state.contains("\"pal_version\": 3"), "{state}");
}
