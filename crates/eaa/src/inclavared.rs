//! inclavared: RA-TLS server answering `GETENCLAVEINFO`; with an upstream (`--xfer`) it attests that
//! upstream as an RA-TLS client and reports the upstream's measurements *as it verified them*.
//!
//! The reply's `mrenclave`/`mrsigner`/`tee`/`hardware` are only ever what this inclavared verified
//! itself (`"verified": true`). When the upstream is itself an inclavared, whatever that upstream
//! answered (its own claims about *its* upstream) is passed on under `"unverified_upstream"`:
//! we never checked it, so shelter prints it as unverified and never as part of its verdict.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rats_tls::{AttesterConfig, PeerAttestation, PeerVerifier, RatsCertificate};
use rustls::{ClientConfig, ServerConfig};
use serde_json::{json, Value};

use crate::measurements::Measurements;
use crate::net::{self, Addr, Listener, ServeOptions};
use crate::Error;

/// RA-TLS identity and peer checks shared by the EAA tools.
#[derive(Clone, Debug)]
pub struct RatsSetup {
    pub attester: AttesterConfig,
    pub verifier: PeerVerifier,
    pub mutual: bool,
    pub timeout: Duration,
}

impl RatsSetup {
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, Error> {
        let cert = RatsCertificate::generate(&self.attester)?;
        Ok(Arc::new(rats_tls::tls::server_config(&cert, self.mutual.then(|| self.verifier.clone()))?))
    }

    pub fn client_config(&self) -> Result<Arc<ClientConfig>, Error> {
        let cert = RatsCertificate::generate(&self.attester)?;
        Ok(Arc::new(rats_tls::tls::client_config(&cert, self.verifier.clone())?))
    }
}

/// What inclavared reports about itself when it has no upstream: the measurements of its own evidence.
fn own_info(cert_der: &[u8], own_verifier: &PeerVerifier) -> Option<Measurements> {
    own_verifier.verify_certificate(cert_der, own_verifier.now()).ok().and_then(|a| Measurements::from_attestation(&a))
}

pub struct Inclavared {
    setup: RatsSetup,
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    xfer: Option<Addr>,
    own: Option<Measurements>,
    counter: AtomicU64,
}

impl Inclavared {
    pub fn new(setup: RatsSetup, xfer: Option<Addr>) -> Result<Self, Error> {
        let cert = RatsCertificate::generate(&setup.attester)?;
        let server = Arc::new(rats_tls::tls::server_config(&cert, setup.mutual.then(|| setup.verifier.clone()))?);
        let client = setup.client_config()?;
        // Our own evidence is reported as-is (we produced it); a software-TEE label stays visible.
        let self_check = PeerVerifier::new(
            rats_tls::EvidenceVerifiers::hardware_only().accept_software_tee(tee::danger::AcceptSoftwareTee),
        );
        let own = own_info(&cert.cert_der, &self_check);
        Ok(Inclavared { setup, server, client, xfer, own, counter: AtomicU64::new(0) })
    }

    fn info_reply(&self, m: Option<&Measurements>, message: &str) -> Value {
        let id = self.counter.fetch_add(1, Ordering::Relaxed);
        let verified = m.is_some();
        let m = m.cloned().unwrap_or_default();
        json!({
            "id": id.to_string(),
            "msgtype": "ENCLAVEINFO",
            "version": 1,
            "mrenclave": m.mr_enclave,
            "mrsigner": m.mr_signer,
            "tee": m.tee,
            "hardware": m.hardware,
            "verified": verified,
            "message": message,
        })
    }

    /// Answers one request.
    pub fn handle(&self, req: &Value) -> Result<Value, Error> {
        let ty = req.get("type").and_then(Value::as_str).unwrap_or_default();
        if ty != "GETENCLAVEINFO" {
            return Err(Error::UnknownRequest(ty.to_string()));
        }
        match &self.xfer {
            None => Ok(self.info_reply(self.own.as_ref(), "inclavared")),
            Some(up) => {
                let upstream = |reason: String| Error::Upstream { addr: up.to_string(), reason };
                let (att, reply) =
                    fetch_enclave_info(up, self.client.clone(), &self.setup.verifier, self.setup.timeout, req)
                        .map_err(|e| upstream(e.to_string()))?;
                let verified = Measurements::from_attestation(&att);
                // A chained inclavared answers ENCLAVEINFO itself: that answer is its claim about
                // *its* upstream, which we did not check. Pass it on marked as such; the
                // measurements we report are the ones we verified. Anything else (an echo server)
                // is the message.
                if reply.get("msgtype").and_then(Value::as_str) == Some("ENCLAVEINFO") {
                    let mut out =
                        self.info_reply(verified.as_ref(), "inclavared (upstream claims below are unverified)");
                    out["unverified_upstream"] = reply;
                    return Ok(out);
                }
                let msg = match &reply {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                Ok(self.info_reply(verified.as_ref(), &msg))
            }
        }
    }

    /// Serves forever (or until the listener fails); one thread per connection, at most
    /// `opts.max_connections`, each with `opts.request_deadline` for its handshake and request.
    pub fn serve(self: Arc<Self>, listener: Listener, opts: ServeOptions) -> Result<(), Error> {
        listener.serve_threads(&opts, move |stream| self.serve_one(stream))
    }

    fn serve_one(&self, stream: net::Stream) -> Result<(), Error> {
        let mut tls = net::accept_tls(stream, self.server.clone(), self.setup.timeout)?;
        let req = net::read_json(&mut tls)?;
        // The request is in: asking the upstream and replying are ours to time (per-op timeouts).
        tls.sock.set_deadline(None);
        let reply = match self.handle(&req) {
            Ok(v) => v,
            Err(e) => json!({"msgtype": "ERROR", "version": 1, "message": e.to_string()}),
        };
        net::write_json(&mut tls, &reply)?;
        tls.conn.send_close_notify();
        let _ = tls.conn.complete_io(&mut tls.sock);
        Ok(())
    }
}

/// Connects to `addr` over RA-TLS, sends `req`, returns the verified peer and its JSON reply (a
/// non-JSON reply comes back as a string).
pub fn fetch_enclave_info(
    addr: &Addr,
    client: Arc<ClientConfig>,
    verifier: &PeerVerifier,
    timeout: Duration,
    req: &Value,
) -> Result<(PeerAttestation, Value), Error> {
    let mut tls = net::connect_tls(addr, client, timeout)?;
    let att = rats_tls::tls::peer_attestation(verifier, &tls.conn)?;
    if let Err(e) = net::write_json(&mut tls, req) {
        // In TLS 1.3 the server checks our certificate after our handshake finished: its refusal
        // arrives as an alert we have not read yet. Report that instead of the broken pipe.
        return Err(net::pending_alert(&mut tls).unwrap_or(e));
    }
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match std::io::Read::read(&mut tls, &mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if serde_json::from_slice::<Value>(&buf).is_ok() || buf.len() >= net::MAX_MESSAGE {
                    break;
                }
            }
            // peers that close without close_notify (the C samples)
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !buf.is_empty() => break,
            Err(e) => return Err(net::pending_alert(&mut tls).unwrap_or(Error::Io(format!("reading reply: {e}")))),
        }
    }
    let reply = serde_json::from_slice::<Value>(&buf)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&buf).into_owned()));
    Ok((att, reply))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_setup() -> RatsSetup {
        RatsSetup {
            attester: AttesterConfig::with_attester(Arc::new(tee::sample::SampleAttester::new())),
            verifier: PeerVerifier::new(
                rats_tls::EvidenceVerifiers::hardware_only().accept_software_tee(tee::danger::AcceptSoftwareTee),
            ),
            mutual: false,
            timeout: Duration::from_secs(5),
        }
    }

    /// An attested upstream that answers GETENCLAVEINFO with measurements it made up.
    fn lying_upstream(path: std::path::PathBuf) -> std::thread::JoinHandle<()> {
        let setup = sample_setup();
        let config = setup.server_config().unwrap();
        let l = Listener::bind(&Addr::Unix(path)).unwrap();
        std::thread::spawn(move || {
            let s = l.accept().unwrap();
            let mut tls = net::accept_tls(s, config, Duration::from_secs(5)).unwrap();
            let _ = net::read_json(&mut tls).unwrap();
            let lie = json!({"id":"0","msgtype":"ENCLAVEINFO","version":1,"mrenclave":"ff".repeat(32),"mrsigner":"ee".repeat(32),"tee":"sgx","hardware":true,"message":"trust me"});
            net::write_json(&mut tls, &lie).unwrap();
            tls.conn.send_close_notify();
            let _ = tls.conn.complete_io(&mut tls.sock);
        })
    }

    #[test]
    fn forwarded_upstream_claims_are_marked_unverified() {
        let dir = std::env::temp_dir().join(format!("eaa-incl-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let up = dir.join("up.sock");
        let h = lying_upstream(up.clone());
        let d = Inclavared::new(sample_setup(), Some(Addr::Unix(up))).unwrap();
        let reply = d.handle(&json!({"type": "GETENCLAVEINFO"})).unwrap();
        h.join().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        // what inclavared verified itself: the upstream's software-TEE evidence
        assert_eq!(reply["msgtype"], "ENCLAVEINFO", "{reply}");
        assert_eq!(reply["tee"], "sample", "{reply}");
        assert_eq!(reply["hardware"], false, "{reply}");
        assert_ne!(reply["mrenclave"], "ff".repeat(32), "{reply}");
        assert_eq!(reply["verified"], true, "{reply}");
        // what the upstream said about itself or its own upstream: passed on, marked unverified
        assert_eq!(reply["unverified_upstream"]["mrenclave"], "ff".repeat(32), "{reply}");
        assert_eq!(reply["unverified_upstream"]["hardware"], true, "{reply}");
    }
}
