#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! TPM attester against a real software TPM (swtpm, TCP command channel), verified by our own
//! `tpm` verifier. Needs `swtpm` (scripts/deps.d/tee.txt).
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tee::tpm::attester::{AkSource, TpmAttester, DEFAULT_AK_HANDLE};
use tee::tpm::cmd;
use tee::tpm::transport::{TcpTransport, Transport};
use tee::{Attester, Error, Expected, Tee, Verifier};

struct Swtpm {
    child: Child,
    dir: std::path::PathBuf,
    addr: SocketAddr,
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port_pair() -> u16 {
    for _ in 0..50 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        drop(l);
        if p < 65000 && TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
    panic!("no free port pair");
}

fn swtpm(name: &str) -> Swtpm {
    let dir = std::env::temp_dir().join(format!("tee-swtpm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Tests run in parallel: a port found free can be taken by another test's swtpm before ours
    // binds it. Then ours exits and the probe below reaches the other one, which serves one client
    // at a time (a reset later). So the port counts only while our own swtpm is still running.
    for _ in 0..5 {
        let port = free_port_pair();
        let mut child = Command::new("swtpm")
            .args(["socket", "--tpm2"])
            .args(["--server", &format!("type=tcp,port={port},bindaddr=127.0.0.1")])
            .args(["--ctrl", &format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1)])
            .args(["--flags", "not-need-init,startup-clear"])
            .args(["--tpmstate", &format!("dir={}", dir.display())])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("swtpm is not installed (scripts/deps.d/tee.txt: swtpm)");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let t0 = Instant::now();
        let mut up = false;
        while t0.elapsed() < Duration::from_secs(10) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if TcpStream::connect(addr).is_ok() {
                std::thread::sleep(Duration::from_millis(50));
                up = child.try_wait().unwrap().is_none();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if up {
            return Swtpm { child, dir, addr };
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("swtpm did not start (5 attempts)");
}

fn attester(s: &Swtpm, ak: AkSource) -> TpmAttester {
    TpmAttester::new(Box::new(TcpTransport::connect(s.addr).unwrap()), ak)
}

fn ev_json(b: &[u8]) -> serde_json::Value {
    serde_json::from_slice(b).unwrap()
}

fn b64(v: &serde_json::Value) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap()
}

fn set_b64(v: &mut serde_json::Value, b: &[u8]) {
    use base64::Engine;
    *v = serde_json::json!(base64::engine::general_purpose::STANDARD.encode(b));
}

#[test]
fn swtpm_quote_verifies_and_binds_report_data() {
    let s = swtpm("quote");
    let a = attester(&s, AkSource::Primary(cmd::TPM_RH_ENDORSEMENT));
    let rd = b"report-data-from-the-relying-pty";
    assert_eq!(rd.len(), 32);
    let ev = a.evidence(rd).unwrap();
    assert_eq!(ev.tee, Tee::Tpm);
    // guest-components' shape: exactly these keys, 24 SHA-256 PCRs.
    let j = ev_json(&ev.bytes);
    let mut keys: Vec<_> = j.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["ak_public", "tpm_quote"]);
    let mut qkeys: Vec<_> = j["tpm_quote"].as_object().unwrap().keys().cloned().collect();
    qkeys.sort();
    assert_eq!(qkeys, ["message", "pcrs", "signature"]);
    assert_eq!(j["tpm_quote"]["pcrs"].as_array().unwrap().len(), 24);

    let v = unendorsed_tpm();
    let c = v.verify(&ev.bytes, &Expected::new(rd)).unwrap();
    assert_eq!(c.tee, Tee::Tpm);
    // AK chained to nothing: accepted only through the opt-in, and not as hardware.
    assert!(!c.hardware);
    assert_eq!(c.report_data, rd.to_vec());
    assert_eq!(c.fields["ak_endorsed"], serde_json::json!(false));
    // A fresh swtpm: PCR 0 is zero, PCR 17 (locality-4 dynamic, reset to ones) is ff..ff.
    assert_eq!(c.fields["pcr00"], serde_json::json!("00".repeat(32)));
    assert_eq!(c.fields["pcr17"], serde_json::json!("ff".repeat(32)));
    // The quote's selection is SHA-256 PCRs 0-23.
    let info = tee::tpm::parse_quote_info(Tee::Tpm, &b64(&j["tpm_quote"]["message"])).unwrap();
    assert_eq!(info.selections.len(), 1);
    assert_eq!(info.selections[0].hash_alg, 0x000B);
    assert_eq!(info.selections[0].pcrs, (0..24).collect::<Vec<u32>>());

    // The endorsement-primary AK is deterministic: the same key on the next call.
    let ev2 = a.evidence(b"short").unwrap();
    let c2 = v.verify(&ev2.bytes, &Expected::new(b"short")).unwrap();
    assert_eq!(c2.fields["ak_sha256"], c.fields["ak_sha256"]);
    // Short report data is zero-padded to 32 bytes.
    let mut padded = b"short".to_vec();
    padded.resize(32, 0);
    assert_eq!(c2.report_data, padded);

    // Without a persistent AK, `auto` falls back to the same endorsement primary.
    drop(a);
    let auto = attester(&s, AkSource::Auto);
    let c3 =
        v.verify(&auto.evidence(b"auto").unwrap().bytes, &Expected::unbound(tee::danger::SkipReportDataCheck)).unwrap();
    assert_eq!(c3.fields["ak_sha256"], c.fields["ak_sha256"]);
    drop(auto);
    let a = attester(&s, AkSource::Primary(cmd::TPM_RH_ENDORSEMENT));

    // Other report data: rejected.
    assert!(matches!(v.verify(&ev.bytes, &Expected::new(b"other")), Err(Error::ReportDataMismatch { .. })));
    // Too long: refused, never truncated...
    assert!(matches!(a.evidence(&[1; 33]), Err(Error::ReportDataTooLong { tee: Tee::Tpm, len: 33, max: 32 })));
    // ...unless asked for guest-components' rule (a 48-byte SHA-384 KBS digest binds its first 32
    // bytes), which the verifier accepts as trustee does, and only for that digest.
    drop(a);
    let a48 = attester(&s, AkSource::Primary(cmd::TPM_RH_ENDORSEMENT)).bind_first_32_bytes();
    let d48: Vec<u8> = (0..48).collect();
    let ev48 = a48.evidence(&d48).unwrap();
    let c48 = v.verify(&ev48.bytes, &Expected::new(&d48)).unwrap();
    assert_eq!(c48.report_data, d48[..32].to_vec());
    let mut other = d48.clone();
    other[40] ^= 1;
    assert!(v.verify(&ev48.bytes, &Expected::new(&other)).is_ok(), "bytes 32.. are not bound (trustee rule)");
    other[3] ^= 1;
    assert!(matches!(v.verify(&ev48.bytes, &Expected::new(&other)), Err(Error::ReportDataMismatch { .. })));
}

#[test]
fn swtpm_tampered_quotes_are_rejected() {
    let s = swtpm("tamper");
    let a = attester(&s, AkSource::Primary(cmd::TPM_RH_OWNER));
    let rd = [7u8; 32];
    let ev = a.evidence(&rd).unwrap();
    let v = unendorsed_tpm();
    let exp = Expected::new(&rd);
    assert!(v.verify(&ev.bytes, &exp).is_ok());
    let j = ev_json(&ev.bytes);

    // extraData rewritten to another nonce (same length): signature fails.
    let mut m = b64(&j["tpm_quote"]["message"]);
    let pos = m.windows(32).position(|w| w == rd).unwrap();
    m[pos..pos + 32].copy_from_slice(&[8u8; 32]);
    let mut t = j.clone();
    set_b64(&mut t["tpm_quote"]["message"], &m);
    let r = v.verify(&serde_json::to_vec(&t).unwrap(), &Expected::new(&[8u8; 32]));
    assert!(matches!(r, Err(Error::BadSignature { .. })), "{r:?}");

    // Flipped signature bit.
    let mut sig = b64(&j["tpm_quote"]["signature"]);
    let last = sig.len() - 1;
    sig[last] ^= 1;
    let mut t = j.clone();
    set_b64(&mut t["tpm_quote"]["signature"], &sig);
    assert!(matches!(v.verify(&serde_json::to_vec(&t).unwrap(), &exp), Err(Error::BadSignature { .. })));

    // A PCR value changed after the quote: digest mismatch.
    let mut t = j.clone();
    t["tpm_quote"]["pcrs"][10] = serde_json::json!("ab".repeat(32));
    assert!(matches!(v.verify(&serde_json::to_vec(&t).unwrap(), &exp), Err(Error::BindingMismatch { .. })));

    // Another TPM's AK (a second swtpm) substituted: signature fails.
    let s2 = swtpm("tamper2");
    let other = ev_json(&attester(&s2, AkSource::Primary(cmd::TPM_RH_OWNER)).evidence(&rd).unwrap().bytes);
    let mut t = j.clone();
    t["ak_public"] = other["ak_public"].clone();
    assert_ne!(other["ak_public"], j["ak_public"]);
    assert!(matches!(v.verify(&serde_json::to_vec(&t).unwrap(), &exp), Err(Error::BadSignature { .. })));
}

#[test]
fn swtpm_init_data_in_pcr8_and_persistent_ak() {
    let s = swtpm("pcr8");
    // Provision a persistent AK at guest-components' default handle, as a platform would.
    let mut t = TcpTransport::connect(s.addr).unwrap();
    let (h, public) = cmd::create_primary_ak(&mut t as &mut dyn Transport, cmd::TPM_RH_OWNER).unwrap();
    cmd::evict_control(&mut t, h, DEFAULT_AK_HANDLE).unwrap();
    cmd::flush_context(&mut t, h).unwrap();
    drop(t);

    // A persistent handle that holds nothing: a clear error.
    let none = attester(&s, AkSource::Persistent(0x8101_0003));
    assert!(matches!(none.evidence(b"x"), Err(Error::NotAvailable { tee: Tee::Tpm, .. })));
    // swtpm serves one connection at a time.
    drop(none);

    let a = attester(&s, AkSource::Auto);
    let digest: [u8; 32] =
        sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(b"init-data toml")).into();
    a.extend_pcr(8, &digest).unwrap();
    let ev = a.evidence(b"n").unwrap();
    let j = ev_json(&ev.bytes);
    // Auto picked the persistent AK.
    assert_eq!(b64(&j["ak_public"]), tee::tpm::attester::rsa_spki_der(&public.modulus, public.exponent));

    let v = unendorsed_tpm();
    let c = v.verify(&ev.bytes, &Expected::new(b"n").with_init_data(Some(&digest))).unwrap();
    assert!(c.init_data.is_some());
    assert!(matches!(
        v.verify(&ev.bytes, &Expected::new(b"n").with_init_data(Some(&[0u8; 32]))),
        Err(Error::InitDataMismatch { .. })
    ));
}

/// Records the real swtpm exchange of one evidence request.
struct Recorder {
    inner: TcpTransport,
    log: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl Transport for Recorder {
    fn transact(&mut self, c: &[u8]) -> Result<Vec<u8>, Error> {
        let r = self.inner.transact(c)?;
        self.log.lock().unwrap().push(r.clone());
        Ok(r)
    }
    fn describe(&self) -> String {
        "recorder".into()
    }
}

/// Replays recorded responses, one of them mutated.
struct Replay {
    resps: Vec<Vec<u8>>,
    i: usize,
}

impl Transport for Replay {
    fn transact(&mut self, _c: &[u8]) -> Result<Vec<u8>, Error> {
        let r = self.resps.get(self.i).cloned().ok_or_else(|| Error::Io("replay exhausted".into()))?;
        self.i += 1;
        Ok(r)
    }
    fn describe(&self) -> String {
        "replay".into()
    }
}

#[test]
fn mutated_tpm_responses_are_errors_not_panics() {
    let s = swtpm("mutate");
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let rec = Recorder { inner: TcpTransport::connect(s.addr).unwrap(), log: log.clone() };
    let good = TpmAttester::new(Box::new(rec), AkSource::Primary(cmd::TPM_RH_OWNER)).evidence(b"m").unwrap();
    let resps = log.lock().unwrap().clone();
    // CreatePrimary, Quote, FlushContext, PCR_Read x3 (8 PCRs per answer).
    assert!(resps.len() >= 4, "{} responses", resps.len());
    // Unmutated replay reproduces the evidence exactly.
    let replay =
        TpmAttester::new(Box::new(Replay { resps: resps.clone(), i: 0 }), AkSource::Primary(cmd::TPM_RH_OWNER));
    assert_eq!(replay.evidence(b"m").unwrap(), good);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut ok, mut err) = (0, 0);
    let n: usize = std::env::var("TEE_TPM_MUTANTS").ok().and_then(|v| v.parse().ok()).unwrap_or(5_000);
    for _ in 0..n {
        let mut rs = resps.clone();
        let which = (next() as usize) % rs.len();
        let r = &mut rs[which];
        match next() % 3 {
            0 => {
                let i = (next() as usize) % r.len();
                r[i] ^= 1 << (next() % 8);
            }
            1 => {
                let n = (next() as usize) % r.len();
                r.truncate(n);
            }
            _ => {
                let i = (next() as usize) % r.len();
                r[i] = next() as u8;
            }
        }
        let a = TpmAttester::new(Box::new(Replay { resps: rs, i: 0 }), AkSource::Primary(cmd::TPM_RH_OWNER));
        match a.evidence(b"m") {
            Ok(_) => ok += 1,
            Err(_) => err += 1,
        }
    }
    // Most mutations are caught by the parser (sizes, tags, codes); the rest change signed data
    // or PCR values, which the verifier rejects.
    assert!(err > ok, "ok {ok} err {err}");
}

/// The TPM verifier with the explicit opt-in for AKs chained to nothing (claims: hardware false).
fn unendorsed_tpm() -> tee::tpm::TpmVerifier {
    tee::tpm::TpmVerifier::new(Vec::new(), std::sync::Arc::new(tee::clock::FixedClock(1_750_809_600)))
        .accept_unendorsed(tee::danger::AcceptUnendorsedTpm)
}
