//! The Attestation Agent's service logic, independent of transport: ttRPC ([`crate::ttrpc_server`])
//! and REST ([`crate::rest`]) both call [`AttestationAgent`].

use std::sync::{Arc, Mutex};

use base64::Engine;
use serde::Serialize;
use tee::{Attester, Tee};

use crate::config::{Config, KbsConfig};
use crate::eventlog::{Event, EventLog};
use crate::rcar::{HttpClient, RcarClient};
use crate::Error;

/// Token types of GetToken.
pub const TOKEN_TYPE_KBS: &str = "kbs";

/// Outcome of ExtendRuntimeMeasurement (the proto's `RuntimeMeasurementResult`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeMeasurement {
    Ok,
    /// The TEE has a register this agent cannot extend yet (hardware TEEs today).
    NotSupported,
    /// The event log is off (`eventlog_config.enable_eventlog = false`, the default).
    NotEnabled,
}

/// GetToken("kbs") answer, as guest-components: the token and the TEE private key (PEM) the
/// KBS encrypts resources to, so a CDH can fetch resources with the token.
#[derive(Debug, Serialize)]
struct KbsToken {
    token: String,
    tee_keypair: String,
}

/// The agent: one TEE, its attester, the configured KBS and the event log.
pub struct AttestationAgent {
    attester: Arc<dyn Attester>,
    kbs: Option<KbsConfig>,
    init_data: Option<String>,
    init_pcr: u64,
    eventlog: Option<Mutex<EventLog>>,
}

impl std::fmt::Debug for AttestationAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttestationAgent").field("tee", &self.tee()).field("kbs", &self.kbs).finish_non_exhaustive()
    }
}

impl AttestationAgent {
    /// An agent for `attester` with `config` (checked again here). Opens the event log if enabled.
    pub fn new(config: &Config, attester: Arc<dyn Attester>) -> Result<Self, Error> {
        config.validate()?;
        let eventlog = if config.eventlog_config.enable_eventlog && attester.tee() == Tee::Sample {
            Some(Mutex::new(EventLog::open(&config.eventlog_config.path)?))
        } else {
            None
        };
        Ok(AttestationAgent {
            attester,
            kbs: config.token_configs.kbs.clone(),
            init_data: None,
            init_pcr: config.eventlog_config.init_pcr,
            eventlog,
        })
    }

    /// Sends this init-data document, checked against the TEE by
    /// [`crate::initdata::load_and_check`], in RCAR's `init-data` with every token request.
    pub fn with_init_data(mut self, init: crate::initdata::CheckedInitData) -> Self {
        self.init_data = Some(init.get().body.clone());
        self
    }

    /// GetTeeType.
    pub fn tee(&self) -> Tee {
        self.attester.tee()
    }

    /// GetEvidence: the TEE's evidence with `runtime_data` as its report data (zero-padded to the
    /// field, never truncated: longer data is an error). The bytes are the evidence JSON the KBS
    /// takes as `primary_evidence`.
    pub fn evidence(&self, runtime_data: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(self.attester.evidence(runtime_data)?.bytes)
    }

    /// GetToken: for `kbs`, a fresh TEE key and a full RCAR handshake with the configured KBS;
    /// returns JSON `{"token","tee_keypair"}`.
    pub async fn token(&self, token_type: &str) -> Result<Vec<u8>, Error> {
        if token_type != TOKEN_TYPE_KBS {
            return Err(Error::UnsupportedTokenType(token_type.to_string()));
        }
        let kbs = self.kbs.as_ref().ok_or(Error::KbsNotConfigured)?;
        let http = HttpClient::new(&kbs.url, kbs.cert.as_deref().map(str::as_bytes))?;
        let mut client = RcarClient::new(http, self.attester.clone(), kbs.key_kind()?)?;
        if let Some(t) = &self.init_data {
            client = client.with_init_data(t.clone());
        }
        let token = client.handshake().await?;
        let der = client.key().private_key_pkcs8_der()?;
        tracing::info!(kbs = %kbs.url, tee = %self.tee(), "KBS token obtained");
        let msg = KbsToken { token, tee_keypair: pem("PRIVATE KEY", &der) };
        serde_json::to_vec(&msg).map_err(|e| Error::json("GetToken answer", e))
    }

    /// ExtendRuntimeMeasurement: records `"<domain> <operation> <content>"` in the event log and
    /// extends `register` (default: `eventlog_config.init_pcr`).
    pub fn extend_runtime_measurement(
        &self,
        domain: &str,
        operation: &str,
        content: &str,
        register: Option<u64>,
    ) -> Result<RuntimeMeasurement, Error> {
        let event = Event::new(domain, operation, content)?;
        if self.tee() != Tee::Sample {
            // A hardware register (RTMR, PCR) would be extended here; not implemented yet.
            return Ok(RuntimeMeasurement::NotSupported);
        }
        let Some(log) = &self.eventlog else {
            return Ok(RuntimeMeasurement::NotEnabled);
        };
        let register = register.unwrap_or(self.init_pcr);
        // A panic while holding the lock cannot leave a half-written entry behind that a retry
        // would make worse (each entry is one write), so a poisoned lock is taken over.
        let mut log = log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let value = log.extend(&event, register)?;
        tracing::info!(event = %event.text(), register, value = %hex::encode(value), "runtime measurement extended");
        Ok(RuntimeMeasurement::Ok)
    }
}

/// PEM with 64-column lines.
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex as StdMutex;
    use tee::Evidence;

    /// Records the report data it was asked to bind and claims to be `tee`.
    struct FakeAttester {
        tee: Tee,
        seen: StdMutex<Vec<Vec<u8>>>,
    }

    impl Attester for FakeAttester {
        fn tee(&self) -> Tee {
            self.tee
        }
        fn evidence(&self, report_data: &[u8]) -> Result<Evidence, tee::Error> {
            if report_data.len() > 64 {
                return Err(tee::Error::ReportDataTooLong { tee: self.tee, len: report_data.len(), max: 64 });
            }
            self.seen.lock().unwrap().push(report_data.to_vec());
            Ok(Evidence { tee: self.tee, bytes: format!("{{\"fake\":\"{}\"}}", hex::encode(report_data)).into_bytes() })
        }
    }

    fn agent(tee: Tee, config: &Config) -> (AttestationAgent, Arc<FakeAttester>) {
        let fake = Arc::new(FakeAttester { tee, seen: StdMutex::new(Vec::new()) });
        (AttestationAgent::new(config, fake.clone()).unwrap(), fake)
    }

    #[test]
    fn evidence_binds_the_runtime_data_and_tee_type_is_the_attesters() {
        let (aa, fake) = agent(Tee::Tdx, &Config::default());
        assert_eq!(aa.tee(), Tee::Tdx);
        assert_eq!(aa.evidence(b"abc").unwrap(), br#"{"fake":"616263"}"#);
        assert_eq!(fake.seen.lock().unwrap().as_slice(), &[b"abc".to_vec()]);
        let e = aa.evidence(&[0u8; 65]).unwrap_err();
        assert!(matches!(e, Error::Evidence(tee::Error::ReportDataTooLong { len: 65, .. })), "{e}");
    }

    #[tokio::test]
    async fn token_types_and_missing_kbs() {
        let (aa, _) = agent(Tee::Sample, &Config::default());
        assert_eq!(aa.token("coco_as").await.unwrap_err(), Error::UnsupportedTokenType("coco_as".into()));
        assert_eq!(aa.token("kbs").await.unwrap_err(), Error::KbsNotConfigured);
    }

    #[tokio::test]
    async fn token_reports_an_unreachable_kbs() {
        // a port nothing listens on: bind, read the port, close
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let c = Config::from_toml(&format!("[token_configs.kbs]\nurl = \"http://127.0.0.1:{port}\"\n")).unwrap();
        let (aa, _) = agent(Tee::Sample, &c);
        assert!(matches!(aa.token("kbs").await.unwrap_err(), Error::Connect { .. }));
    }

    #[test]
    fn runtime_measurement_states() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eventlog");
        // off by default
        let (aa, _) = agent(Tee::Sample, &Config::default());
        assert_eq!(aa.extend_runtime_measurement("d", "op", "c", None).unwrap(), RuntimeMeasurement::NotEnabled);
        // on, software TEE: logged
        let c = Config::from_toml(&format!("[eventlog_config]\nenable_eventlog = true\npath = {:?}\n", path)).unwrap();
        let (aa, _) = agent(Tee::Sample, &c);
        assert_eq!(aa.extend_runtime_measurement("d", "op", "c", None).unwrap(), RuntimeMeasurement::Ok);
        assert_eq!(aa.extend_runtime_measurement("d", "op", "c2", Some(3)).unwrap(), RuntimeMeasurement::Ok);
        let log = std::fs::read(&path).unwrap();
        let (e1, _) = Event::new("d", "op", "c").unwrap().tcg2_entry(17);
        let (e2, _) = Event::new("d", "op", "c2").unwrap().tcg2_entry(3);
        assert_eq!(log, [e1, e2].concat());
        // bad event refused before anything is written
        assert!(matches!(aa.extend_runtime_measurement("d", "op", "a\nb", None), Err(Error::BadEvent { .. })));
        // hardware TEE: not supported (no register extension yet), never a silent OK
        let (aa, _) = agent(Tee::Tdx, &c);
        assert_eq!(aa.extend_runtime_measurement("d", "op", "c", None).unwrap(), RuntimeMeasurement::NotSupported);
    }

    #[test]
    fn pem_wraps_at_64_columns() {
        let p = pem("PRIVATE KEY", &[7u8; 100]);
        let lines: Vec<&str> = p.lines().collect();
        assert_eq!(lines[0], "-----BEGIN PRIVATE KEY-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines.last(), Some(&"-----END PRIVATE KEY-----"));
    }
}
