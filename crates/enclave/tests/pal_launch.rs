//! EnclaveLaunch: the three steps rune's executor calls, with the sample LibOS.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::io::Read;
use std::os::fd::AsRawFd;

use enclave::{EnclaveConfig, EnclaveLaunch, RuneletError};
use oci_spec::runtime::{ProcessBuilder, SpecBuilder};

#[test]
fn open_load_init_run() {
    let so = pal::testing::build_runtime("pal-sample-libos", "pal_sample_libos");
    let env = vec![
        "PATH=/bin:/usr/bin".to_string(),
        "ENCLAVE_TYPE=sample".to_string(),
        format!("ENCLAVE_RUNTIME_PATH={}", so.display()),
        "ENCLAVE_RUNTIME_ARGS=debug".to_string(),
        "GREETING=hi there".to_string(),
    ];
    let script = "echo \"$1|$GREETING|${ENCLAVE_TYPE:-none}|${ENCLAVE_RUNTIME_PATH:-none}\"; exit 7";
    let process = ProcessBuilder::default()
        .args(vec!["/bin/sh".to_string(), "-c".into(), script.into(), "sh".into(), "a b".into()])
        .env(env)
        .build()
        .unwrap();
    let mut spec = SpecBuilder::default().process(process).build().unwrap();
    let cfg = EnclaveConfig::from_spec(&mut spec).unwrap().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let launch = EnclaveLaunch::open(cfg, Some(dir.path().join("agent.sock"))).unwrap();

    // run before load_and_init is a clear error
    let p = spec.process().as_ref().unwrap();
    assert_eq!(launch.run(p, pal::Stdio::INHERIT), Err(RuneletError::NotLoaded));

    assert_eq!(launch.load_and_init().unwrap(), 3);
    assert_eq!(launch.load_and_init().unwrap(), 3, "idempotent");

    let (mut r, w) = std::io::pipe().unwrap();
    // Use the *original* process (with ENCLAVE_* still in env, as libcontainer may reload
    // config.json from the bundle): run strips them anyway.
    let mut unstripped = p.clone();
    let mut e = unstripped.env().clone().unwrap();
    e.push("ENCLAVE_TYPE=sample".into());
    unstripped.set_env(Some(e));
    let code = launch.run(&unstripped, pal::Stdio { stdin: 0, stdout: w.as_raw_fd(), stderr: 2 }).unwrap();
    drop(w);
    let mut out = String::new();
    r.read_to_string(&mut out).unwrap();
    assert_eq!((code, out.as_str()), (7, "a b|hi there|none|none\n"));
    assert_eq!(
        launch.run(&unstripped, pal::Stdio::INHERIT),
        Err(RuneletError::NotLoaded),
        "the PAL is consumed by run"
    );
}

#[test]
fn failing_init_fails_load_and_init() {
    let so = pal::testing::build_runtime("pal-sample-libos", "pal_sample_libos");
    let process = ProcessBuilder::default()
        .args(vec!["/bin/true".to_string()])
        .env(vec![
            "ENCLAVE_TYPE=sample".to_string(),
            format!("ENCLAVE_RUNTIME_PATH={}", so.display()),
            "ENCLAVE_RUNTIME_ARGS=no,such,option".into(),
        ])
        .build()
        .unwrap();
    let mut spec = SpecBuilder::default().process(process).build().unwrap();
    let cfg = EnclaveConfig::from_spec(&mut spec).unwrap().unwrap();
    let launch = EnclaveLaunch::open(cfg, None).unwrap();
    let e = launch.load_and_init().unwrap_err();
    assert!(e.to_string().contains("pal_init(args \"no such option\") failed"), "{e}");
}

#[test]
fn preloaded_pal_is_only_initialised_in_the_init_step() {
    let so = pal::testing::build_runtime("pal-sample-libos", "pal_sample_libos");
    let process = ProcessBuilder::default()
        .args(vec!["/bin/sh".to_string(), "-c".into(), "exit 9".into()])
        .env(vec![
            "PATH=/bin".to_string(),
            "ENCLAVE_TYPE=sample".to_string(),
            format!("ENCLAVE_RUNTIME_PATH={}", so.display()),
        ])
        .build()
        .unwrap();
    let mut spec = SpecBuilder::default().process(process).build().unwrap();
    let cfg = EnclaveConfig::from_spec(&mut spec).unwrap().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = enclave::agent::AgentServer::bind(&dir.path().join("a.sock")).unwrap();
    let dirs = enclave::PalDirs::new([so.parent().unwrap().to_path_buf()]).unwrap();
    let (launch, version) = EnclaveLaunch::open_loaded_with_agent(cfg, &dirs, server).unwrap();
    assert_eq!(version, 3);
    let p = spec.process().as_ref().unwrap();
    // Loaded but not initialised: run refuses.
    assert_eq!(launch.run(p, pal::Stdio::INHERIT), Err(RuneletError::NotLoaded));
    assert_eq!(launch.load_and_init().unwrap(), 3);
    assert_eq!(launch.run(p, pal::Stdio::INHERIT).unwrap(), 9);
}
