//! EnclaveConfig → PAL: every PAL failure is reported naming the variable or annotation.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::collections::HashMap;
use std::path::Path;

use enclave::{ConfigError, EnclaveConfig, Origin};
use oci_spec::runtime::{ProcessBuilder, Spec, SpecBuilder};
use pal::testing::{build_c_pal, build_c_pal_with};

fn config(path: &Path, args: &str) -> EnclaveConfig {
    let p = ProcessBuilder::default()
        .env(vec![
            "ENCLAVE_TYPE=sample".to_string(),
            format!("ENCLAVE_RUNTIME_PATH={}", path.display()),
            format!("ENCLAVE_RUNTIME_ARGS={args}"),
        ])
        .build()
        .unwrap();
    let mut s: Spec = SpecBuilder::default().process(p).annotations(HashMap::new()).build().unwrap();
    EnclaveConfig::from_spec(&mut s).unwrap().unwrap()
}

const ENV: Origin = Origin { key: "ENCLAVE_RUNTIME_PATH", from_env: true };

#[test]
fn good_pal_validates_loads_and_inits_with_args() {
    let so = build_c_pal(3, None);
    let c = config(&so, "alpha,beta");
    assert_eq!(c.validate_pal(), Ok(3));
    let f = c.open_pal(false).unwrap();
    let pal = c.load_pal(&f).unwrap();
    c.init_pal(&pal, None).unwrap();
    let r = pal::testing::capture(&pal, &["c-pal", "init"], &[], b"").unwrap();
    assert_eq!(r.stdout, "args=alpha beta log_level=info fd=-1 addr=0\n");
}

#[test]
fn missing_or_unreadable_pal() {
    let c = config(Path::new("/nonexistent/libpal.so"), "");
    let e = c.validate_pal().unwrap_err();
    assert!(matches!(&e, ConfigError::PalUnreadable { origin, errno, .. } if *origin == ENV && errno.0 == 2), "{e:?}");
    assert!(
        e.to_string().starts_with(
            "ENCLAVE_RUNTIME_PATH (process.env): cannot read enclave runtime (PAL) /nonexistent/libpal.so"
        ),
        "{e}"
    );
    let c = config(Path::new("/etc"), "");
    assert!(matches!(c.validate_pal(), Err(ConfigError::PalNotAFile { .. })));
    let c = config(Path::new("/etc/hostname"), "");
    assert!(matches!(c.validate_pal(), Err(ConfigError::PalLoad { .. })));
}

#[test]
fn missing_symbols_and_unsupported_version() {
    let broken = build_c_pal_with(2, None, &["PAL_OMIT_CREATE_PROCESS"]);
    let e = config(&broken, "").validate_pal().unwrap_err();
    assert_eq!(
        e,
        ConfigError::PalMissingSymbol { origin: ENV, path: broken.clone(), symbol: "pal_create_process", version: 2 }
    );
    let v4 = build_c_pal(3, Some(4));
    let e = config(&v4, "").validate_pal().unwrap_err();
    assert_eq!(e, ConfigError::PalUnsupportedVersion { origin: ENV, path: v4, version: 4 });
    assert!(e.to_string().ends_with("unsupported pal api version 4"), "{e}");
}

#[test]
fn failing_init_names_the_args() {
    let so = build_c_pal(2, None);
    let c = config(&so, "bogus-option");
    let pal = c.load_pal(&c.open_pal(true).unwrap()).unwrap();
    let e = c.init_pal(&pal, None).unwrap_err();
    assert!(
        matches!(&e, ConfigError::PalInit { source: pal::Error::Call { op: "pal_init", errno }, .. } if *errno == pal::Errno::EINVAL),
        "{e:?}"
    );
    assert!(e.to_string().contains("pal_init(args \"bogus-option\") failed"), "{e}");
}
