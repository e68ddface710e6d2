//! verdictd JSON commands: `version`, `Decrypt`, `Get KEK`, `echo`, plus `WrapKey`/`UnWrapKey`
//! carrying the ocicrypt key-provider JSON. Errors are `{"status":"Fail","data":{},"error":".."}`.

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rats_tls::{PeerAttestation, PeerVerifier};
use serde_json::{json, Map, Value};
use tee::rng::Rng;

use super::keystore::KeyStore;
use super::policy::{KeyOp, Policy};
use crate::measurements::Measurements;
use crate::net::{self, Listener, ServeOptions};
use crate::Error;

fn gcm_key(key: &[u8]) -> Result<LessSafeKey, Error> {
    if key.len() != 32 {
        return Err(Error::Crypto(format!("key is {} bytes, AES-256-GCM needs 32", key.len())));
    }
    Ok(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(|_| Error::Crypto("bad AES key".into()))?))
}

/// AES-256-GCM decryption of `ciphertext || tag`.
pub fn aes_gcm_open(key: &[u8], iv: &[u8], ct: &[u8]) -> Result<Vec<u8>, Error> {
    let k = gcm_key(key)?;
    let nonce = Nonce::try_assume_unique_for_key(iv)
        .map_err(|_| Error::Crypto(format!("IV is {} bytes, expected 12", iv.len())))?;
    let mut buf = ct.to_vec();
    let plain = k
        .open_in_place(nonce, Aad::empty(), &mut buf)
        .map_err(|_| Error::Crypto("decryption failed (wrong key or tampered data)".into()))?;
    Ok(plain.to_vec())
}

/// AES-256-GCM encryption; returns `ciphertext || tag`.
pub fn aes_gcm_seal(key: &[u8], iv: &[u8], plain: &[u8]) -> Result<Vec<u8>, Error> {
    let k = gcm_key(key)?;
    let nonce = Nonce::try_assume_unique_for_key(iv)
        .map_err(|_| Error::Crypto(format!("IV is {} bytes, expected 12", iv.len())))?;
    let mut buf = plain.to_vec();
    k.seal_in_place_append_tag(nonce, Aad::empty(), &mut buf).map_err(|_| Error::Crypto("encryption failed".into()))?;
    Ok(buf)
}

pub struct Service {
    pub store: KeyStore,
    /// IVs for WrapKey (`tee`'s randomness seam: `tee::rng::SystemRng` in the binaries).
    pub rng: Box<dyn Rng>,
    /// Decides every key request (and, in the RA-TLS handshake, who may connect).
    pub policy: Policy,
}

fn fail(e: impl std::fmt::Display) -> Value {
    json!({"status": "Fail", "data": {}, "error": e.to_string()})
}

fn b64(v: &Value, what: &str) -> Result<Vec<u8>, Error> {
    let s = v.as_str().ok_or_else(|| Error::BadMessage(format!("{what} missing")))?;
    STANDARD.decode(s).map_err(|e| Error::BadMessage(format!("{what}: {e}")))
}

impl Service {
    /// Answers one command from `client` (the verified measurements of the RA-TLS peer; `None` for
    /// a caller that did not attest). Every key the command touches is authorised first by the
    /// policy, with the key id in its input; one refused key fails the whole command.
    pub fn handle(&self, req: &Value, client: Option<&Measurements>) -> Value {
        match self.try_handle(req, client) {
            Ok(v) => v,
            Err(e) => {
                if let Error::KeyDenied { .. } = e {
                    tracing::warn!(
                        "{e} (client {})",
                        client.map_or_else(
                            || "not attested".to_string(),
                            |m| format!("tee {} mrEnclave {}", m.tee, m.mr_enclave)
                        )
                    );
                }
                fail(e)
            }
        }
    }

    /// Asks the policy whether `client` may use key `kid` for `op`.
    pub fn authorize(&self, client: Option<&Measurements>, kid: &str, op: KeyOp) -> Result<(), Error> {
        self.policy.allows_key(client, kid, op)
    }

    /// The key-provider JSON (`keywrap` / `keyunwrap`) for `client`, authorised per key.
    pub fn key_provider(&self, client: Option<&Measurements>, req: &Value) -> Result<Value, Error> {
        super::keyprovider::handle(&self.store, self.rng.as_ref(), req, &|kid, op| self.authorize(client, kid, op))
    }

    fn try_handle(&self, req: &Value, client: Option<&Measurements>) -> Result<Value, Error> {
        let cmd =
            req.get("command").and_then(Value::as_str).ok_or_else(|| Error::BadMessage("no \"command\"".into()))?;
        match cmd {
            "version" => Ok(json!({"status": "OK", "version": "v1"})),
            "echo" => Ok(json!({"status": "OK", "data": req.get("data").cloned().unwrap_or(Value::Null)})),
            "Decrypt" => {
                let blobs = req
                    .get("blobs")
                    .and_then(Value::as_array)
                    .ok_or_else(|| Error::BadMessage("Decrypt needs \"blobs\"".into()))?;
                for b in blobs {
                    let kid = b
                        .get("kid")
                        .and_then(Value::as_str)
                        .ok_or_else(|| Error::BadMessage("blob without kid".into()))?;
                    self.authorize(client, kid, KeyOp::Decrypt)?;
                }
                let mut out = Map::new();
                for b in blobs {
                    let kid = b
                        .get("kid")
                        .and_then(Value::as_str)
                        .ok_or_else(|| Error::BadMessage("blob without kid".into()))?;
                    let alg = b.get("algorithm").and_then(Value::as_str).unwrap_or("AES");
                    let len = b.get("key_length").and_then(Value::as_u64).unwrap_or(256);
                    if alg != "AES" || len != 256 {
                        return Err(Error::Crypto(format!("unsupported algorithm {alg}-{len} (AES-256 only)")));
                    }
                    let enc = b
                        .get("encrypted_data")
                        .and_then(Value::as_str)
                        .ok_or_else(|| Error::BadMessage("blob without encrypted_data".into()))?;
                    let ct = b64(&Value::String(enc.into()), "encrypted_data")?;
                    let iv = b64(b.get("iv").unwrap_or(&Value::Null), "iv")?;
                    let plain = aes_gcm_open(&self.store.get(kid)?, &iv, &ct)?;
                    out.insert(enc.to_string(), Value::String(STANDARD.encode(plain)));
                }
                Ok(json!({"status": "OK", "data": out}))
            }
            "Get KEK" => {
                let kids = req
                    .get("kids")
                    .and_then(Value::as_array)
                    .ok_or_else(|| Error::BadMessage("Get KEK needs \"kids\"".into()))?;
                for k in kids {
                    let kid = k.as_str().ok_or_else(|| Error::BadMessage("kid is not a string".into()))?;
                    self.authorize(client, kid, KeyOp::GetKek)?;
                }
                let mut out = Map::new();
                for k in kids {
                    let kid = k.as_str().ok_or_else(|| Error::BadMessage("kid is not a string".into()))?;
                    out.insert(kid.into(), Value::String(STANDARD.encode(self.store.get(kid)?)));
                }
                Ok(json!({"status": "OK", "data": out}))
            }
            "WrapKey" | "UnWrapKey" => {
                let inner = req
                    .get("data")
                    .ok_or_else(|| Error::BadMessage(format!("{cmd} needs \"data\" (key-provider JSON)")))?;
                let inner = match inner {
                    Value::String(s) => serde_json::from_str(s).map_err(|e| Error::BadMessage(e.to_string()))?,
                    v => v.clone(),
                };
                Ok(json!({"status": "OK", "data": self.key_provider(client, &inner)?}))
            }
            other => Err(Error::BadMessage(format!("unknown command {other:?}"))),
        }
    }

    /// Serves RA-TLS clients; `config` must verify clients (mutual) with [`client_verifier`], and
    /// `verifier` is the evidence verifier inside it (without the policy): it reads the client's
    /// measurements back from the handshake for the per-key decisions. Each request (the first one with the handshake) must arrive within
    /// `opts.request_deadline`.
    pub fn serve(
        self: Arc<Self>,
        listener: Listener,
        config: Arc<rustls::ServerConfig>,
        verifier: PeerVerifier,
        timeout: Duration,
        opts: ServeOptions,
    ) -> Result<(), Error> {
        let deadline = opts.request_deadline;
        listener.serve_threads(&opts, move |stream| {
            let mut tls = net::accept_tls(stream, config.clone(), timeout)?;
            let client = rats_tls::tls::peer_attestation(&verifier, &tls.conn)?;
            let client = Measurements::from_attestation(&client)
                .ok_or_else(|| Error::Policy("client presented no verified evidence".into()))?;
            // one connection may carry several commands, each within the deadline
            loop {
                let req = match net::read_json(&mut tls) {
                    Ok(r) => r,
                    Err(Error::Io(_)) => break,
                    Err(e) => {
                        net::write_json(&mut tls, &fail(&e))?;
                        break;
                    }
                };
                net::write_json(&mut tls, &self.handle(&req, Some(&client)))?;
                tls.sock.set_deadline(Some(deadline));
            }
            tls.conn.send_close_notify();
            let _ = tls.conn.complete_io(&mut tls.sock);
            Ok(())
        })
    }
}

/// The RA-TLS policy hook: the client's verified measurements must satisfy the Rego policy.
pub fn policy_callback(policy: Policy) -> Arc<dyn rats_tls::Policy> {
    Arc::new(move |p: &PeerAttestation| {
        let m = Measurements::from_attestation(p).ok_or_else(|| "no verified evidence".to_string())?;
        policy.admits(&m).map_err(|e| e.to_string())
    })
}

/// The client verifier verdictd uses: `base` (which evidence is accepted) plus the Rego policy.
pub fn client_verifier(base: PeerVerifier, policy: Policy) -> PeerVerifier {
    base.with_policy(policy_callback(policy))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TempDir;

    /// The attested client of the tests (a software TEE opted in by the reference values).
    fn client() -> Measurements {
        Measurements {
            tee: "sample".into(),
            hardware: false,
            mr_enclave: "aa".into(),
            mr_signer: "".into(),
            product_id: 0,
            svn: 0,
        }
    }

    const REF_AA: &str = r#"{"mrEnclave":["aa"],"softwareTee":true}"#;

    fn svc_with(reference: Option<&str>) -> (Service, TempDir) {
        let d = TempDir::new("verdictd");
        let store = KeyStore::open(&d.path().join("keys.redb")).unwrap();
        store.put("k1", &[1u8; 32]).unwrap();
        store.put("k2", &[2u8; 32]).unwrap();
        let policy = Policy::new(super::super::policy::DEFAULT_POLICY, reference).unwrap();
        (Service { store, rng: Box::new(tee::rng::SeqRng::default()), policy }, d)
    }

    fn svc() -> (Service, TempDir) {
        svc_with(Some(REF_AA))
    }

    #[test]
    fn key_requests_refused_without_reference_values() {
        let (s, _d) = svc_with(None);
        let c = client();
        let r = s.handle(&json!({"command":"Get KEK","kids":["k1"]}), Some(&c));
        assert_eq!(r["status"], "Fail", "{r}");
        assert!(r["error"].as_str().unwrap().contains("k1"), "{r}");
        assert!(r.get("data").and_then(|d| d.get("k1")).is_none());
        let ct = aes_gcm_seal(&[1u8; 32], &[2u8; 12], b"secret").unwrap();
        let r = s.handle(&json!({"command":"Decrypt","blobs":[{"kid":"k1","encrypted_data":STANDARD.encode(&ct),"iv":STANDARD.encode([2u8;12])}]}), Some(&c));
        assert_eq!(r["status"], "Fail", "{r}");
        let wrap = json!({"op":"keywrap","keywrapparams":{"ec":{"Parameters":{"verdictd":[STANDARD.encode("k1")]}},"optsdata":STANDARD.encode(b"x")}});
        assert_eq!(s.handle(&json!({"command":"WrapKey","data":wrap}), Some(&c))["status"], "Fail");
        // not key requests: still answered
        assert_eq!(s.handle(&json!({"command":"version"}), Some(&c))["status"], "OK");
    }

    #[test]
    fn get_kek_needs_per_key_authorisation() {
        // k1 follows the default set (aa), k2 is bound to another enclave (cc)
        let (s, _d) = svc_with(Some(
            r#"{"mrEnclave":["aa"],"softwareTee":true,"keys":{"k2":{"mrEnclave":["cc"],"softwareTee":true}}}"#,
        ));
        let c = client();
        let r = s.handle(&json!({"command":"Get KEK","kids":["k1"]}), Some(&c));
        assert_eq!(r["data"]["k1"], STANDARD.encode([1u8; 32]), "{r}");
        let r = s.handle(&json!({"command":"Get KEK","kids":["k1","k2"]}), Some(&c));
        assert_eq!(r["status"], "Fail", "{r}");
        assert!(r["error"].as_str().unwrap().contains("k2"), "{r}");
        assert!(r.get("data").and_then(|d| d.get("k1")).is_none(), "no partial answer: {r}");
        let cc = Measurements { mr_enclave: "cc".into(), ..client() };
        let r = s.handle(&json!({"command":"Get KEK","kids":["k2"]}), Some(&cc));
        assert_eq!(r["data"]["k2"], STANDARD.encode([2u8; 32]), "{r}");
        // unattested callers (gRPC) are not the default set
        assert_eq!(s.handle(&json!({"command":"Get KEK","kids":["k1"]}), None)["status"], "Fail");
    }

    #[test]
    fn commands() {
        let (s, _d) = svc();
        assert_eq!(s.handle(&json!({"command":"version"}), Some(&client())), json!({"status":"OK","version":"v1"}));
        let ct = aes_gcm_seal(&[1u8; 32], &[2u8; 12], b"secret").unwrap();
        let enc = STANDARD.encode(&ct);
        let r = s.handle(&json!({"command":"Decrypt","blobs":[{"kid":"k1","algorithm":"AES","key_length":256,"encrypted_data":enc,"iv":STANDARD.encode([2u8;12])}]}), Some(&client()));
        assert_eq!(r["status"], "OK");
        assert_eq!(STANDARD.decode(r["data"][enc.as_str()].as_str().unwrap()).unwrap(), b"secret");
        let r = s.handle(&json!({"command":"Get KEK","kids":["k1"]}), Some(&client()));
        assert_eq!(r["data"]["k1"], STANDARD.encode([1u8; 32]));
        let r = s.handle(&json!({"command":"Get KEK","kids":["nope"]}), Some(&client()));
        assert_eq!(r["status"], "Fail");
        assert!(r["error"].as_str().unwrap().contains("nope"));
        let r = s.handle(&json!({"command":"Decrypt","blobs":[{"kid":"k1","encrypted_data":STANDARD.encode(b"xxxxxxxxxxxxxxxxxxxx"),"iv":STANDARD.encode([2u8;12])}]}), Some(&client()));
        assert_eq!(r["status"], "Fail");
        assert_eq!(s.handle(&json!({"command":"echo","data":"hi"}), Some(&client()))["data"], "hi");
        assert_eq!(s.handle(&json!({"nope":1}), Some(&client()))["status"], "Fail");
    }

    #[test]
    fn keyprovider_wrap_unwrap() {
        let (s, _d) = svc();
        let wrap = json!({"op":"keywrap","keywrapparams":{"ec":{"Parameters":{"verdictd":[STANDARD.encode("k1")]}},"optsdata":STANDARD.encode(b"layer-key-opts")}});
        let r = s.handle(&json!({"command":"WrapKey","data":wrap}), Some(&client()));
        assert_eq!(r["status"], "OK", "{r}");
        let ann = r["data"]["keywrapresults"]["annotation"].as_str().unwrap().to_string();
        let unwrap = json!({"op":"keyunwrap","keyunwrapparams":{"dc":{},"annotation":ann}});
        let r = s.handle(&json!({"command":"UnWrapKey","data":unwrap}), Some(&client()));
        assert_eq!(
            STANDARD.decode(r["data"]["keyunwrapresults"]["optsdata"].as_str().unwrap()).unwrap(),
            b"layer-key-opts"
        );
        s.store.put("k1", &[9u8; 32]).unwrap();
        assert_eq!(s.handle(&json!({"command":"UnWrapKey","data":unwrap}), Some(&client()))["status"], "Fail");
    }
}
