//! The agent's configuration: guest-components' TOML layout (`[token_configs.kbs]`,
//! `[eventlog_config]`, `[log]`), so an existing `attestation-agent.conf` keeps working for the
//! keys we support. Every key has an embedded default; a bad value is an error naming its key.

use std::path::{Path, PathBuf};

use kbs_protocol::jwk::KeyKind;
use serde::Deserialize;

use crate::eventlog::DEFAULT_EVENTLOG_PATH;
use crate::Error;

/// Register that event-log entries extend when the caller names none (guest-components' default).
pub const DEFAULT_INIT_PCR: u64 = 17;

/// Values given on the command line, which win over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub kbs_url: Option<String>,
    pub kbs_cert_pem: Option<String>,
    /// guest-components' `aa_kbc_params` (`AA_KBC_PARAMS` environment variable, else
    /// `agent.aa_kbc_params=` on the kernel command line): `<kbc>::<uri>`. Used only when neither
    /// a config file nor `kbs_url` names a KBS; only `cc_kbc` names one (as upstream).
    pub aa_kbc_params: Option<String>,
}

/// The KBS URL in an `aa_kbc_params` value, `None` for a KBC that is not `cc_kbc`.
pub fn kbs_url_from_aa_kbc_params(value: &str) -> Result<Option<String>, Error> {
    let bad = |reason: &str| Error::Config { key: "aa_kbc_params", reason: format!("{value:?}: {reason}") };
    let (kbc, uri) = value.split_once("::").ok_or_else(|| bad("expected <kbc>::<uri>"))?;
    if uri.contains("::") {
        return Err(bad("expected <kbc>::<uri>"));
    }
    if kbc != "cc_kbc" {
        return Ok(None);
    }
    if uri.is_empty() {
        return Err(bad("cc_kbc needs the KBS URL"));
    }
    Ok(Some(uri.to_string()))
}

/// The `agent.aa_kbc_params=` value on a kernel command line.
pub fn aa_kbc_params_from_cmdline(cmdline: &str) -> Option<String> {
    cmdline.split_ascii_whitespace().find_map(|w| w.strip_prefix("agent.aa_kbc_params=")).map(str::to_string)
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub token_configs: TokenConfigs,
    #[serde(default)]
    pub eventlog_config: EventlogConfig,
    #[serde(default)]
    pub log: LogConfig,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TokenConfigs {
    pub kbs: Option<KbsConfig>,
    /// Accepted for compatibility with guest-components' files; the `coco_as` token is not served.
    pub coco_as: Option<toml::Table>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct KbsConfig {
    /// `http://host:port` or `https://host:port`.
    pub url: String,
    /// PEM certificate(s) to trust for an `https` KBS.
    pub cert: Option<String>,
    /// `ECDH-ES+A256KW-P256` (default) or `ECDH-ES+A256KW-P521`.
    #[serde(default = "default_tee_key_algorithm")]
    pub tee_key_algorithm: String,
}

fn default_tee_key_algorithm() -> String {
    "ECDH-ES+A256KW-P256".into()
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EventlogConfig {
    #[serde(default = "default_init_pcr")]
    pub init_pcr: u64,
    #[serde(default)]
    pub enable_eventlog: bool,
    /// Where the log is written (ours; guest-components uses this path, fixed).
    #[serde(default = "default_eventlog_path")]
    pub path: PathBuf,
}

fn default_init_pcr() -> u64 {
    DEFAULT_INIT_PCR
}

fn default_eventlog_path() -> PathBuf {
    PathBuf::from(DEFAULT_EVENTLOG_PATH)
}

impl Default for EventlogConfig {
    fn default() -> Self {
        EventlogConfig { init_pcr: DEFAULT_INIT_PCR, enable_eventlog: false, path: default_eventlog_path() }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    #[serde(default = "default_log_level")]
    pub level: String,
}

fn default_log_level() -> String {
    "info".into()
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { level: default_log_level() }
    }
}

impl KbsConfig {
    /// The TEE key kind named by `tee_key_algorithm`.
    pub fn key_kind(&self) -> Result<KeyKind, Error> {
        match self.tee_key_algorithm.as_str() {
            "ECDH-ES+A256KW-P256" => Ok(KeyKind::EcP256),
            "ECDH-ES+A256KW-P521" => Ok(KeyKind::EcP521),
            "RSA-OAEP-256" => Err(Error::Config {
                key: "token_configs.kbs.tee_key_algorithm",
                reason: "RSA-OAEP-256 is not supported by this agent: GetToken hands out the TEE private key, and \
                         an RSA key cannot be exported here; use ECDH-ES+A256KW-P256"
                    .into(),
            }),
            other => Err(Error::Config {
                key: "token_configs.kbs.tee_key_algorithm",
                reason: format!("unknown algorithm {other:?} (ECDH-ES+A256KW-P256 or ECDH-ES+A256KW-P521)"),
            }),
        }
    }
}

impl Config {
    /// Parses a TOML document and checks the values.
    pub fn from_toml(src: &str) -> Result<Self, Error> {
        let c: Config = toml::from_str(src).map_err(|e| Error::ConfigSyntax { reason: e.to_string() })?;
        c.validate()?;
        Ok(c)
    }

    /// Reads and parses a config file.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        Config::load(Some(path), Overrides::default())
    }

    /// The embedded defaults, or the file at `path`, with command-line `overrides` applied, then
    /// checked (so a file that lacks the KBS certificate can get it from a flag).
    pub fn load(path: Option<&Path>, overrides: Overrides) -> Result<Self, Error> {
        let mut c = match path {
            None => Config::default(),
            Some(path) => {
                let src = std::fs::read_to_string(path)
                    .map_err(|e| Error::ConfigFile { path: path.to_path_buf(), reason: e.to_string() })?;
                toml::from_str(&src)
                    .map_err(|e| Error::ConfigFile { path: path.to_path_buf(), reason: e.to_string() })?
            }
        };
        if let Some(url) = overrides.kbs_url {
            match c.token_configs.kbs.as_mut() {
                Some(k) => k.url = url,
                None => {
                    c.token_configs.kbs =
                        Some(KbsConfig { url, cert: None, tee_key_algorithm: default_tee_key_algorithm() })
                }
            }
        }
        if c.token_configs.kbs.is_none() {
            if let Some(v) = &overrides.aa_kbc_params {
                if let Some(url) = kbs_url_from_aa_kbc_params(v)? {
                    c.token_configs.kbs =
                        Some(KbsConfig { url, cert: None, tee_key_algorithm: default_tee_key_algorithm() });
                }
            }
        }
        if let Some(pem) = overrides.kbs_cert_pem {
            match c.token_configs.kbs.as_mut() {
                Some(k) => k.cert = Some(pem),
                None => {
                    return Err(Error::Config {
                        key: "token_configs.kbs.url",
                        reason: "a KBS certificate was given but no KBS URL".into(),
                    })
                }
            }
        }
        c.validate()?;
        Ok(c)
    }

    /// Checks the values that the types do not.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(k) = &self.token_configs.kbs {
            let scheme_ok = k.url.starts_with("http://") || k.url.starts_with("https://");
            if !scheme_ok {
                return Err(Error::Config {
                    key: "token_configs.kbs.url",
                    reason: format!("{:?} is not an http:// or https:// URL", k.url),
                });
            }
            if k.url.starts_with("https://") && k.cert.is_none() {
                return Err(Error::Config {
                    key: "token_configs.kbs.cert",
                    reason: "an https KBS URL needs the PEM certificate to trust".into(),
                });
            }
            k.key_kind()?;
        }
        if u32::try_from(self.eventlog_config.init_pcr).is_err() {
            return Err(Error::Config { key: "eventlog_config.init_pcr", reason: "must fit in 32 bits".into() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_components_example_layout_parses() {
        let c = Config::from_toml(
            r#"
[token_configs]
[token_configs.coco_as]
url = "http://127.0.0.1:8000"
[token_configs.kbs]
url = "http://127.0.0.1:8080"
tee_key_algorithm = "ECDH-ES+A256KW-P256"
[eventlog_config]
init_pcr = 17
enable_eventlog = false
[log]
level = "info"
"#,
        )
        .unwrap();
        let kbs = c.token_configs.kbs.unwrap();
        assert_eq!(kbs.url, "http://127.0.0.1:8080");
        assert_eq!(kbs.key_kind().unwrap(), KeyKind::EcP256);
        assert!(!c.eventlog_config.enable_eventlog);
    }

    #[test]
    fn flags_override_the_file_before_it_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("aa.toml");
        std::fs::write(&p, "[token_configs.kbs]\nurl = \"https://kbs:8080\"\n").unwrap();
        assert!(matches!(Config::from_file(&p), Err(Error::Config { key: "token_configs.kbs.cert", .. })));
        let o = Overrides { kbs_cert_pem: Some("PEM".into()), ..Default::default() };
        assert_eq!(Config::load(Some(&p), o).unwrap().token_configs.kbs.unwrap().cert.as_deref(), Some("PEM"));
        let o = Overrides { kbs_url: Some("http://other:1".into()), ..Default::default() };
        assert_eq!(Config::load(Some(&p), o).unwrap().token_configs.kbs.unwrap().url, "http://other:1");
        let o = Overrides { kbs_cert_pem: Some("PEM".into()), ..Default::default() };
        assert!(matches!(Config::load(None, o), Err(Error::Config { key: "token_configs.kbs.url", .. })));
        let e = Config::from_file(&dir.path().join("absent.toml")).unwrap_err();
        assert!(matches!(e, Error::ConfigFile { .. }), "{e}");
    }

    #[test]
    fn aa_kbc_params_fallback() {
        assert_eq!(
            kbs_url_from_aa_kbc_params("cc_kbc::http://10.0.0.1:8080").unwrap().as_deref(),
            Some("http://10.0.0.1:8080")
        );
        assert_eq!(kbs_url_from_aa_kbc_params("offline_fs_kbc::null").unwrap(), None);
        assert!(matches!(kbs_url_from_aa_kbc_params("cc_kbc"), Err(Error::Config { key: "aa_kbc_params", .. })));
        assert!(matches!(kbs_url_from_aa_kbc_params("cc_kbc::"), Err(Error::Config { key: "aa_kbc_params", .. })));
        let line = "console=ttyS0 agent.aa_kbc_params=cc_kbc::http://kbs:8080 quiet";
        assert_eq!(aa_kbc_params_from_cmdline(line).as_deref(), Some("cc_kbc::http://kbs:8080"));
        assert_eq!(aa_kbc_params_from_cmdline("quiet"), None);
        // used only when nothing else names a KBS
        let o = Overrides { aa_kbc_params: Some("cc_kbc::http://kbs:8080".into()), ..Default::default() };
        assert_eq!(Config::load(None, o).unwrap().token_configs.kbs.unwrap().url, "http://kbs:8080");
        let o = Overrides {
            kbs_url: Some("http://flag:1".into()),
            aa_kbc_params: Some("cc_kbc::http://kbs:8080".into()),
            ..Default::default()
        };
        assert_eq!(Config::load(None, o).unwrap().token_configs.kbs.unwrap().url, "http://flag:1");
        let o = Overrides { aa_kbc_params: Some("cc_kbc::ftp://x".into()), ..Default::default() };
        assert!(matches!(Config::load(None, o), Err(Error::Config { key: "token_configs.kbs.url", .. })));
    }

    #[test]
    fn embedded_defaults() {
        let c = Config::from_toml("").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.eventlog_config.init_pcr, 17);
        assert!(c.token_configs.kbs.is_none());
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = Config::from_toml("[token_configs.kbs]\nurl = \"ftp://x\"\n").unwrap_err();
        assert!(matches!(e, Error::Config { key: "token_configs.kbs.url", .. }), "{e}");
        let e = Config::from_toml("[token_configs.kbs]\nurl = \"https://x:1\"\n").unwrap_err();
        assert!(matches!(e, Error::Config { key: "token_configs.kbs.cert", .. }), "{e}");
        let e = Config::from_toml("[token_configs.kbs]\nurl = \"http://x:1\"\ntee_key_algorithm = \"RSA-OAEP-256\"\n")
            .unwrap_err();
        assert!(matches!(e, Error::Config { key: "token_configs.kbs.tee_key_algorithm", .. }), "{e}");
        let e = Config::from_toml("[eventlog_config]\ninit_pcr = 4294967296\n").unwrap_err();
        assert!(matches!(e, Error::Config { key: "eventlog_config.init_pcr", .. }), "{e}");
        // unknown and mistyped keys: toml names them
        let e = Config::from_toml("[token_configs.kbs]\nurll = \"http://x\"\n").unwrap_err().to_string();
        assert!(e.contains("urll"), "{e}");
        let e = Config::from_toml("[eventlog_config]\nenable_eventlog = \"yes\"\n").unwrap_err().to_string();
        assert!(e.contains("enable_eventlog"), "{e}");
    }
}
