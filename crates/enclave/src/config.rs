//! The enclave configuration of a container, from `config.json`.
//!
//! Each key is read from `process.env` first, else from its annotation; the env entries are then
//! removed from the payload's environment (the payload must not see runtime plumbing).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, Origin};

/// `(env name, annotation name)` of every enclave key.
pub const KEYS: [(&str, &str); 7] = [
    (ENCLAVE_TYPE, "enclave.type"),
    (ENCLAVE_RUNTIME_PATH, "enclave.runtime.path"),
    (ENCLAVE_RUNTIME_ARGS, "enclave.runtime.args"),
    (ENCLAVE_RUNTIME_LOGLEVEL, "enclave.runtime.loglevel"),
    (ENCLAVE_RA_TYPE, "enclave.attestation.ra_type"),
    (ENCLAVE_RA_EPID_SPID, "enclave.attestation.ra_epid_spid"),
    (ENCLAVE_RA_EPID_SUB_KEY, "enclave.attestation.ra_epid_subscription_key"),
];
pub const ENCLAVE_TYPE: &str = "ENCLAVE_TYPE";
pub const ENCLAVE_RUNTIME_PATH: &str = "ENCLAVE_RUNTIME_PATH";
pub const ENCLAVE_RUNTIME_ARGS: &str = "ENCLAVE_RUNTIME_ARGS";
pub const ENCLAVE_RUNTIME_LOGLEVEL: &str = "ENCLAVE_RUNTIME_LOGLEVEL";
pub const ENCLAVE_RA_TYPE: &str = "ENCLAVE_RA_TYPE";
pub const ENCLAVE_RA_EPID_SPID: &str = "ENCLAVE_RA_EPID_SPID";
pub const ENCLAVE_RA_EPID_SUB_KEY: &str = "ENCLAVE_RA_EPID_SUB_KEY";

/// The TEE an enclave container runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EnclaveType {
    #[serde(rename = "intelSgx")]
    IntelSgx,
    #[serde(rename = "AwsNitroEnclaves")]
    AwsNitroEnclaves,
    #[serde(rename = "Jailhouse")]
    Jailhouse,
    /// The software TEE of this project (no hardware: development only). Never hardware.
    #[serde(rename = "sample")]
    Sample,
}

impl EnclaveType {
    /// The name used in `ENCLAVE_TYPE` / `enclave.type`.
    pub fn as_str(self) -> &'static str {
        match self {
            EnclaveType::IntelSgx => "intelSgx",
            EnclaveType::AwsNitroEnclaves => "AwsNitroEnclaves",
            EnclaveType::Jailhouse => "Jailhouse",
            EnclaveType::Sample => "sample",
        }
    }

    /// `false` only for [`EnclaveType::Sample`], which has no hardware isolation at all.
    pub fn is_hardware(self) -> bool {
        self != EnclaveType::Sample
    }
}

impl FromStr for EnclaveType {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "intelSgx" => Ok(EnclaveType::IntelSgx),
            "AwsNitroEnclaves" => Ok(EnclaveType::AwsNitroEnclaves),
            "Jailhouse" => Ok(EnclaveType::Jailhouse),
            "sample" => Ok(EnclaveType::Sample),
            _ => Err(()),
        }
    }
}

impl std::fmt::Display for EnclaveType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `ENCLAVE_RUNTIME_LOGLEVEL`; anything else means `info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    #[default]
    Info,
    Warning,
    Error,
    Fatal,
    Panic,
    Off,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warning => "warning",
            LogLevel::Error => "error",
            LogLevel::Fatal => "fatal",
            LogLevel::Panic => "panic",
            LogLevel::Off => "off",
        }
    }

    /// Parses a level; invalid or empty values are `info` (the original rune's rule).
    pub fn parse_or_info(s: &str) -> LogLevel {
        match s {
            "trace" => LogLevel::Trace,
            "debug" => LogLevel::Debug,
            "warning" => LogLevel::Warning,
            "error" => LogLevel::Error,
            "fatal" => LogLevel::Fatal,
            "panic" => LogLevel::Panic,
            "off" => LogLevel::Off,
            _ => LogLevel::Info,
        }
    }
}

/// Optional launch-time attestation settings (`ENCLAVE_RA_*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaConfig {
    pub ra_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epid_spid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epid_subscription_key: Option<String>,
}

/// The enclave configuration of a container. Serializable for `state.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnclaveConfig {
    #[serde(rename = "type")]
    pub enclave_type: EnclaveType,
    /// Host path of the PAL shared object.
    pub runtime_path: PathBuf,
    /// Runtime args with commas already turned into spaces.
    pub runtime_args: String,
    pub log_level: LogLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<RaConfig>,
    /// Where the runtime path came from (for error messages after the fact).
    #[serde(default = "default_path_from_env")]
    pub runtime_path_from_env: bool,
}

fn default_path_from_env() -> bool {
    true
}

struct Lookup<'a> {
    env: &'a [String],
    annotations: Option<&'a std::collections::HashMap<String, String>>,
}

impl Lookup<'_> {
    /// Value and origin of a key: the last `KEY=` entry in env, else the annotation. Empty values
    /// count as unset.
    fn get(&self, env_key: &'static str, annotation: &'static str) -> Option<(String, Origin)> {
        let from_env = self
            .env
            .iter()
            .rev()
            .find_map(|kv| kv.strip_prefix(env_key).and_then(|r| r.strip_prefix('=')))
            .filter(|v| !v.is_empty());
        if let Some(v) = from_env {
            return Some((v.to_string(), Origin { key: env_key, from_env: true }));
        }
        self.annotations
            .and_then(|a| a.get(annotation))
            .filter(|v| !v.is_empty())
            .map(|v| (v.clone(), Origin { key: annotation, from_env: false }))
    }
}

/// `env` without the `ENCLAVE_*` entries of [`KEYS`] (what the payload gets).
pub fn payload_env(env: &[String]) -> Vec<String> {
    env.iter().filter(|kv| !is_enclave_env(kv)).cloned().collect()
}

fn is_enclave_env(kv: &str) -> bool {
    KEYS.iter().any(|(k, _)| kv.strip_prefix(k).is_some_and(|r| r.starts_with('=')))
}

impl EnclaveConfig {
    /// Reads the enclave configuration from `spec`. `Ok(None)`: a plain container (no enclave
    /// type), and `spec` is left untouched. Otherwise the `ENCLAVE_*` entries are removed from
    /// `process.env`.
    pub fn from_spec(spec: &mut Spec) -> Result<Option<EnclaveConfig>, ConfigError> {
        let env: Vec<String> = spec.process().as_ref().and_then(|p| p.env().clone()).unwrap_or_default();
        let cfg = {
            let l = Lookup { env: &env, annotations: spec.annotations().as_ref() };
            let Some((ty, ty_origin)) = l.get(KEYS[0].0, KEYS[0].1) else {
                return Ok(None);
            };
            let enclave_type = EnclaveType::from_str(&ty)
                .map_err(|()| ConfigError::UnknownType { origin: ty_origin, value: ty.clone() })?;
            let (path, path_origin) = l.get(KEYS[1].0, KEYS[1].1).ok_or(ConfigError::MissingRuntimePath)?;
            if !Path::new(&path).is_absolute() {
                return Err(ConfigError::RelativeRuntimePath { origin: path_origin, path });
            }
            let runtime_args = l.get(KEYS[2].0, KEYS[2].1).map(|(a, _)| a.replace(',', " ")).unwrap_or_default();
            let log_level = l.get(KEYS[3].0, KEYS[3].1).map(|(v, _)| LogLevel::parse_or_info(&v)).unwrap_or_default();
            let attestation = l.get(KEYS[4].0, KEYS[4].1).map(|(ra_type, _)| RaConfig {
                ra_type,
                epid_spid: l.get(KEYS[5].0, KEYS[5].1).map(|(v, _)| v),
                epid_subscription_key: l.get(KEYS[6].0, KEYS[6].1).map(|(v, _)| v),
            });
            EnclaveConfig {
                enclave_type,
                runtime_path: PathBuf::from(path),
                runtime_args,
                log_level,
                attestation,
                runtime_path_from_env: path_origin.from_env,
            }
        };
        if let Some(p) = spec.process_mut() {
            if let Some(env) = p.env_mut() {
                env.retain(|kv| !is_enclave_env(kv));
            }
        }
        Ok(Some(cfg))
    }

    /// Where `runtime_path` came from.
    pub fn runtime_path_origin(&self) -> Origin {
        if self.runtime_path_from_env {
            Origin { key: ENCLAVE_RUNTIME_PATH, from_env: true }
        } else {
            Origin { key: "enclave.runtime.path", from_env: false }
        }
    }

    /// Opens the PAL through the operator's allowlist (see [`crate::paldirs`]): what `rune create`
    /// uses. A refused path is [`ConfigError::PalRefused`] naming the rule and this config's
    /// `ENCLAVE_RUNTIME_PATH` / `enclave.runtime.path`; nothing is opened for reading before
    /// every check passed. Do this before `pivot_root` (see [`pal::PalFile`]).
    pub fn open_pal_in(&self, dirs: &crate::paldirs::PalDirs) -> Result<pal::PalFile, ConfigError> {
        use crate::error::PalPathError;
        let origin = self.runtime_path_origin();
        let path = self.runtime_path.clone();
        match dirs.open(&self.runtime_path) {
            Ok(r) => Ok(pal::PalFile::from_fd(r.file, pal::PalFileKind::Host, path)),
            Err(PalPathError::Open { errno }) => Err(ConfigError::PalUnreadable { origin, path, errno }),
            Err(PalPathError::NotAFile) => Err(ConfigError::PalNotAFile { origin, path }),
            Err(rule) => Err(ConfigError::PalRefused { origin, path, rule: Box::new(rule) }),
        }
    }

    /// Opens the PAL by its host path, with no allowlist: only for a path the caller itself chose
    /// (tests, tools); a path from a container's config goes through [`EnclaveConfig::open_pal_in`].
    /// Do this before `pivot_root` (see [`pal::PalFile`]).
    /// `snapshot`: copy it into a sealed memfd instead of keeping the host file open.
    pub fn open_pal(&self, snapshot: bool) -> Result<pal::PalFile, ConfigError> {
        let r =
            if snapshot { pal::PalFile::snapshot(&self.runtime_path) } else { pal::PalFile::open(&self.runtime_path) };
        r.map_err(|e| self.pal_error(e))
    }

    /// Loads an opened PAL (after `pivot_root`), negotiating its version.
    pub fn load_pal(&self, file: &pal::PalFile) -> Result<pal::Pal, ConfigError> {
        file.load().map_err(|e| self.pal_error(e))
    }

    /// `pal_init` with this config's runtime args and log level (`prepared`: v3 pool enclave).
    pub fn init_pal(&self, pal: &pal::Pal, prepared: Option<pal::PreparedEnclave>) -> Result<(), ConfigError> {
        let opts =
            pal::InitOptions { args: self.runtime_args.clone(), log_level: self.log_level.as_str().into(), prepared };
        pal.init(&opts).map_err(|source| ConfigError::PalInit {
            origin: self.runtime_path_origin(),
            path: self.runtime_path.clone(),
            args: self.runtime_args.clone(),
            source,
        })
    }

    /// Checks the PAL in a throw-away copy: readable, loadable, required symbols present,
    /// supported version. Returns the version. (Runs the PAL's constructors in this process.)
    pub fn validate_pal(&self) -> Result<u32, ConfigError> {
        let f = self.open_pal(true)?;
        Ok(self.load_pal(&f)?.version())
    }

    fn pal_error(&self, e: pal::Error) -> ConfigError {
        let origin = self.runtime_path_origin();
        let path = self.runtime_path.clone();
        match e {
            pal::Error::Open { errno, .. } => ConfigError::PalUnreadable { origin, path, errno },
            pal::Error::NotAFile { .. } => ConfigError::PalNotAFile { origin, path },
            pal::Error::Load { reason, .. } => ConfigError::PalLoad { origin, path, reason },
            pal::Error::MissingSymbol { symbol, version } => {
                ConfigError::PalMissingSymbol { origin, path, symbol, version }
            }
            pal::Error::UnsupportedVersion(version) => ConfigError::PalUnsupportedVersion { origin, path, version },
            source => ConfigError::Pal { origin, path, source },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use oci_spec::runtime::{ProcessBuilder, SpecBuilder};
    use std::collections::HashMap;

    fn spec(env: &[&str], ann: &[(&str, &str)]) -> Spec {
        let p = ProcessBuilder::default().env(env.iter().map(|s| s.to_string()).collect::<Vec<_>>()).build().unwrap();
        let mut b = SpecBuilder::default().process(p);
        if !ann.is_empty() {
            b = b.annotations(ann.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>());
        }
        b.build().unwrap()
    }

    fn env_of(s: &Spec) -> Vec<String> {
        s.process().as_ref().unwrap().env().clone().unwrap()
    }

    #[test]
    fn plain_container_is_untouched() {
        let mut s = spec(&["PATH=/bin", "ENCLAVE_RUNTIME_PATH=/x.so"], &[]);
        assert_eq!(EnclaveConfig::from_spec(&mut s), Ok(None));
        assert_eq!(env_of(&s), ["PATH=/bin", "ENCLAVE_RUNTIME_PATH=/x.so"]);
    }

    #[test]
    fn env_wins_over_annotations_and_is_stripped() {
        let mut s = spec(
            &[
                "PATH=/bin",
                "ENCLAVE_TYPE=intelSgx",
                "ENCLAVE_RUNTIME_PATH=/opt/occlum/libocclum-pal.so",
                "ENCLAVE_RUNTIME_ARGS=occlum_instance,debug",
                "ENCLAVE_RUNTIME_LOGLEVEL=nonsense",
                "ENCLAVE_RA_TYPE=EPID",
                "ENCLAVE_RA_EPID_SPID=0123",
                "ENCLAVE_TYPEX=kept",
                "GREETING=hi there",
            ],
            &[
                ("enclave.type", "sample"),
                ("enclave.runtime.path", "/ann.so"),
                ("enclave.attestation.ra_epid_subscription_key", "k"),
            ],
        );
        let c = EnclaveConfig::from_spec(&mut s).unwrap().unwrap();
        assert_eq!(c.enclave_type, EnclaveType::IntelSgx);
        assert!(c.enclave_type.is_hardware());
        assert_eq!(c.runtime_path, PathBuf::from("/opt/occlum/libocclum-pal.so"));
        assert_eq!(c.runtime_args, "occlum_instance debug");
        assert_eq!(c.log_level, LogLevel::Info);
        assert_eq!(
            c.attestation,
            Some(RaConfig {
                ra_type: "EPID".into(),
                epid_spid: Some("0123".into()),
                epid_subscription_key: Some("k".into())
            })
        );
        assert_eq!(env_of(&s), ["PATH=/bin", "ENCLAVE_TYPEX=kept", "GREETING=hi there"]);
        // state.json round trip
        let j = serde_json::to_string(&c).unwrap();
        assert!(j.contains(r#""type":"intelSgx""#), "{j}");
        assert_eq!(serde_json::from_str::<EnclaveConfig>(&j).unwrap(), c);
    }

    #[test]
    fn annotations_alone_work() {
        let mut s = spec(
            &["PATH=/bin"],
            &[
                ("enclave.type", "sample"),
                ("enclave.runtime.path", "/lib/libpal.so"),
                ("enclave.runtime.loglevel", "debug"),
            ],
        );
        let c = EnclaveConfig::from_spec(&mut s).unwrap().unwrap();
        assert_eq!(c.enclave_type, EnclaveType::Sample);
        assert!(!c.enclave_type.is_hardware());
        assert_eq!(c.log_level, LogLevel::Debug);
        assert_eq!(c.runtime_args, "");
        assert_eq!(c.runtime_path_origin(), Origin { key: "enclave.runtime.path", from_env: false });
    }

    #[test]
    fn errors_name_the_variable_or_annotation() {
        let mut s = spec(&["ENCLAVE_TYPE=tdx"], &[]);
        let e = EnclaveConfig::from_spec(&mut s).unwrap_err();
        assert_eq!(
            e,
            ConfigError::UnknownType { origin: Origin { key: "ENCLAVE_TYPE", from_env: true }, value: "tdx".into() }
        );
        assert!(e.to_string().starts_with("ENCLAVE_TYPE (process.env): unknown enclave type \"tdx\""), "{e}");

        let mut s = spec(&[], &[("enclave.type", "SGX")]);
        assert!(EnclaveConfig::from_spec(&mut s).unwrap_err().to_string().starts_with("annotation enclave.type:"));

        let mut s = spec(&["ENCLAVE_TYPE=sample"], &[]);
        assert_eq!(EnclaveConfig::from_spec(&mut s), Err(ConfigError::MissingRuntimePath));

        let mut s = spec(&["ENCLAVE_TYPE=sample", "ENCLAVE_RUNTIME_PATH=lib/pal.so"], &[]);
        assert!(matches!(EnclaveConfig::from_spec(&mut s), Err(ConfigError::RelativeRuntimePath { .. })));
    }

    #[test]
    fn odd_inputs_never_panic() {
        let odd = [
            "",
            "=",
            "==",
            "ENCLAVE_TYPE",
            "ENCLAVE_TYPE=",
            "ENCLAVE_TYPE==",
            "ENCLAVE_TYPE=sample=x",
            "=ENCLAVE_TYPE=sample",
            "ENCLAVE_RUNTIME_PATH=/",
            "ENCLAVE_RUNTIME_PATH=\u{0}",
            "ENCLAVE_RUNTIME_ARGS=,,,",
            "ENCLAVE_RUNTIME_LOGLEVEL=\u{1F600}",
            "ENCLAVE_TYPE=intelSgx\n",
            "ENCLAVE_RA_TYPE=",
            "\u{feff}ENCLAVE_TYPE=sample",
        ];
        let mut n = 0;
        for a in odd {
            for b in odd {
                for c in ["ENCLAVE_RUNTIME_PATH=/p.so", "ENCLAVE_TYPE=sample", "X=1"] {
                    let mut s = spec(&[a, b, c], &[("enclave.type", a), ("enclave.runtime.path", b)]);
                    if let Ok(Some(cfg)) = EnclaveConfig::from_spec(&mut s) {
                        assert!(cfg.runtime_path.is_absolute());
                        assert!(!cfg.runtime_args.contains(','));
                        assert!(env_of(&s).iter().all(|kv| !is_enclave_env(kv)));
                    }
                    n += 1;
                }
            }
        }
        assert_eq!(n, odd.len() * odd.len() * 3);
    }

    #[test]
    fn every_log_level() {
        for l in ["trace", "debug", "info", "warning", "error", "fatal", "panic", "off"] {
            assert_eq!(LogLevel::parse_or_info(l).as_str(), l);
        }
        assert_eq!(LogLevel::parse_or_info("WARN"), LogLevel::Info);
        assert_eq!(LogLevel::parse_or_info(""), LogLevel::Info);
    }
}
