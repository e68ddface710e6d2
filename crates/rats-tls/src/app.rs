//! The logic behind the `rats-tls-server` / `rats-tls-client` sample tools (flags of the C samples:
//! `-a -v -t -c -m -e -l -i -p -D`, client `-E`), and the plugin-name mapping other tools reuse.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, ServerConfig, ServerConnection, StreamOwned};

use crate::{
    danger, AttesterConfig, Error, EvidenceVerifiers, KeyAlgorithm, PeerAttestation, PeerVerifier, RatsCertificate,
};

/// The message the C sample client sends (with its ANSI colour codes).
pub const HELLO: &str = "\x1b[91mHello and welcome to RATS-TLS!\x1b[0m\n";
/// The message the C sample client sends to verdictd with `-E`.
pub const VERDICTD_ECHO: &str = "{ \"command\": \"echo\", \"data\": \"Hello and welcome to RATS-TLS!\\n\" }";

/// Why a sample-tool option was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionError {
    #[error("attester {0:?} needs TEE hardware that this build cannot drive; use nullattester or sample")]
    AttesterUnavailable(String),
    #[error("unknown attester {0:?} (nullattester, sample, sgx_ecdsa, tdx_ecdsa, sev_snp, csv, ...)")]
    UnknownAttester(String),
    #[error("unknown verifier {0:?} (nullverifier, sample, sgx_ecdsa, tdx_ecdsa, sev_snp, csv, ...)")]
    UnknownVerifier(String),
    #[error("tls wrapper {0:?} is not supported (this implementation is rustls; openssl is accepted as an alias)")]
    Tls(String),
    #[error(
        "crypto wrapper {0:?} is not supported (this implementation uses aws-lc-rs; openssl is accepted as an alias)"
    )]
    Crypto(String),
    #[error("--at {0:?}: want unix seconds or YYYY-MM-DDTHH:MM:SSZ")]
    Time(String),
    #[error("--collateral: {0}")]
    Collateral(String),
    #[error("unknown --key-algo {0:?} (p256, rsa3072)")]
    KeyAlgo(String),
    #[error("verifier \"sample\" accepts software-TEE evidence, which has no hardware isolation: add --danger-accept-software-tee to opt in (development only)")]
    SoftwareTeeNeedsOptIn,
    #[error("verifier \"nullverifier\" does not verify the peer's evidence at all: add --danger-accept-without-evidence to opt in (interop tests only)")]
    NullVerifierNeedsOptIn,
}

/// The insecure opt-ins of the tools, spelled as everywhere in the project (`--danger-` prefix).
/// Each one only unlocks the matching verifier name; none is implied by a name alone.
#[derive(clap::Args, Debug, Clone, Copy, Default)]
pub struct DangerFlags {
    /// Accept software-TEE (`sample`) evidence: no hardware isolation, development only. Needed by
    /// `-v sample`; with another verifier it adds the software TEE to the hardware ones.
    #[arg(long = "danger-accept-software-tee")]
    pub accept_software_tee: bool,
    /// Accept a peer without verifying its evidence (the C `nullverifier`). Needed by `-v nullverifier`.
    #[arg(long = "danger-accept-without-evidence")]
    pub accept_without_evidence: bool,
}

/// The flags the C rats-tls sample server and client share (`-a -v -t -c -m -e -l -i -p -D`), plus
/// ours common to both. Each binary flattens this and adds its own.
#[derive(clap::Args, Debug)]
pub struct SampleFlags {
    /// Hardware verifiers' collateral: DCAP `*.json`, SEV-SNP VCEK/VLEK `*.der`/`*.pem`.
    #[arg(long = "collateral")]
    pub collateral: Option<std::path::PathBuf>,
    /// Verification time for the hardware verifiers (unix seconds or YYYY-MM-DDTHH:MM:SSZ; default now).
    #[arg(long = "at")]
    pub at: Option<String>,
    /// Attester: nullattester (default), sample (software TEE), or a hardware name.
    #[arg(short = 'a', long = "attester", default_value = "")]
    pub attester: String,
    /// Verifier of the peer's evidence: a hardware name (default: the hardware verifiers),
    /// sample (needs --danger-accept-software-tee) or nullverifier (needs --danger-accept-without-evidence).
    #[arg(short = 'v', long = "verifier", default_value = "")]
    pub verifier: String,
    #[command(flatten)]
    pub danger: DangerFlags,
    /// TLS wrapper (openssl/rustls: both mean rustls here).
    #[arg(short = 't', long = "tls", default_value = "")]
    pub tls: String,
    /// Crypto wrapper (openssl/aws-lc-rs: both mean aws-lc-rs here).
    #[arg(short = 'c', long = "crypto", default_value = "")]
    pub crypto: String,
    /// Mutual attestation.
    #[arg(short = 'm', long = "mutual")]
    pub mutual: bool,
    /// Provide endorsements (not supported: accepted and ignored, as many C builds crash on it).
    #[arg(short = 'e', long = "endorsements")]
    pub endorsements: bool,
    /// Log level: debug, info, warn, error, fatal, off.
    #[arg(short = 'l', long = "log-level", default_value = "info")]
    pub log_level: String,
    #[arg(short = 'i', long = "ip", default_value = "127.0.0.1")]
    pub ip: String,
    #[arg(short = 'p', long = "port", default_value_t = 1234)]
    pub port: u16,
    /// Debug enclave (no effect without SGX).
    #[arg(short = 'D', long = "debug-enclave")]
    pub debug_enclave: bool,
    /// Key algorithm of the ephemeral TLS key: p256 or rsa3072.
    #[arg(long = "key-algo", default_value = "p256")]
    pub key_algo: String,
    /// Per-connection handshake/I-O timeout in milliseconds.
    #[arg(long = "timeout-ms", default_value_t = 10_000)]
    pub timeout_ms: u64,
}

impl SampleFlags {
    pub fn key_algorithm(&self) -> Result<KeyAlgorithm, OptionError> {
        match self.key_algo.as_str() {
            "p256" | "ecdsa" => Ok(KeyAlgorithm::EcdsaP256),
            "rsa3072" | "rsa" => Ok(KeyAlgorithm::Rsa3072),
            o => Err(OptionError::KeyAlgo(o.to_string())),
        }
    }

    /// `ip:port`
    pub fn addr(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }
}

const HARDWARE: [&str; 8] = ["sgx_ecdsa", "sgx_ecdsa_qve", "sgx_la", "tdx_ecdsa", "sev_snp", "sev", "csv", "tdx"];

/// `-a`: empty means auto-select, which on a machine without TEE hardware is the null attester (as in C).
pub fn attester_from_name(name: &str, key: KeyAlgorithm) -> Result<AttesterConfig, OptionError> {
    let cfg = match name {
        "" | "nullattester" => AttesterConfig::null(),
        "sample" => {
            let mut a = tee::sample::SampleAttester::new();
            if let Some(m) = self_measurement() {
                a = a.with_measurement(m);
            }
            AttesterConfig::with_attester(Arc::new(a))
        }
        n if HARDWARE.contains(&n) => return Err(OptionError::AttesterUnavailable(n.into())),
        n => return Err(OptionError::UnknownAttester(n.into())),
    };
    Ok(cfg.key(key))
}

/// What the software TEE reports as its measurement for the tools: SHA-384 of the running executable.
fn self_measurement() -> Option<String> {
    use sha2::Digest;
    let exe = std::env::current_exe().ok()?;
    let bytes = std::fs::read(exe).ok()?;
    Some(hex::encode(sha2::Sha384::digest(bytes)))
}

/// The hardware evidence verifiers for `--collateral DIR` (DCAP `*.json`, SNP VCEK/VLEK `*.der`/`*.pem`)
/// and `--at TIME` (unix seconds or `YYYY-MM-DDTHH:MM:SSZ`; default: the system clock). Without a
/// directory the verifiers are enabled but have no collateral (evidence is refused as such).
pub fn hardware_verifiers(
    collateral: Option<&std::path::Path>,
    at: Option<&str>,
) -> Result<EvidenceVerifiers, OptionError> {
    let clock: Arc<dyn tee::clock::Clock> = match at {
        Some(s) => {
            let t = match s.parse::<u64>() {
                Ok(n) => n,
                Err(_) => tee::dcap::collateral_time(s).ok_or_else(|| OptionError::Time(s.into()))?,
            };
            log::warn!("verification time pinned to {t} (--at)");
            Arc::new(tee::clock::FixedClock(t))
        }
        None => Arc::new(tee::clock::SystemClock),
    };
    let hw = match collateral {
        Some(d) => crate::HardwareCollateral::load(d, clock).map_err(|e| {
            // name the path once (I/O errors already carry it)
            let (m, p) = (e.to_string(), d.display().to_string());
            OptionError::Collateral(if m.contains(&p) { m } else { format!("{p}: {m}") })
        })?,
        None => crate::HardwareCollateral { clock, ..Default::default() },
    };
    Ok(EvidenceVerifiers::hardware(hw))
}

/// `-v`: empty or a hardware name enables the hardware verifiers in `hardware`; `sample` enables the
/// software TEE and `nullverifier` accepts anything (as the C null verifier), each only with its
/// `--danger-` opt-in in `danger` (a clear error otherwise).
pub fn verifier_from_name(
    name: &str,
    hardware: EvidenceVerifiers,
    danger: DangerFlags,
) -> Result<PeerVerifier, OptionError> {
    let with_software = |hw: EvidenceVerifiers| {
        log::warn!(
            "--danger-accept-software-tee: accepting software-TEE evidence (no hardware isolation, development only)"
        );
        hw.accept_software_tee(tee::danger::AcceptSoftwareTee)
    };
    match name {
        "nullverifier" => {
            if !danger.accept_without_evidence {
                return Err(OptionError::NullVerifierNeedsOptIn);
            }
            log::warn!("--danger-accept-without-evidence: peer evidence is NOT verified");
            Ok(PeerVerifier::null(danger::AcceptWithoutEvidence))
        }
        "sample" => {
            if !danger.accept_software_tee {
                return Err(OptionError::SoftwareTeeNeedsOptIn);
            }
            Ok(PeerVerifier::new(with_software(hardware)))
        }
        n if n.is_empty() || HARDWARE.contains(&n) => {
            Ok(PeerVerifier::new(if danger.accept_software_tee { with_software(hardware) } else { hardware }))
        }
        n => Err(OptionError::UnknownVerifier(n.into())),
    }
}

pub fn check_wrappers(tls: &str, crypto: &str) -> Result<(), OptionError> {
    if !matches!(tls, "" | "openssl" | "rustls") {
        return Err(OptionError::Tls(tls.into()));
    }
    if !matches!(crypto, "" | "openssl" | "aws-lc-rs") {
        return Err(OptionError::Crypto(crypto.into()));
    }
    Ok(())
}

/// Prints the claims like the C sample's verification callback.
pub fn print_claims(p: &PeerAttestation) {
    println!("verify_callback called, claims_size {}, format {:?}", p.custom_claims.len(), p.format);
    for (i, (k, v)) in p.custom_claims.iter().enumerate() {
        println!("custom_claims[{i}] -> name: '{k}' value_size: {} value: '{}'", v.len(), String::from_utf8_lossy(v));
    }
    if let Some(c) = &p.tee_claims {
        println!(
            "evidence: tee={} hardware={} fields={}",
            c.tee,
            c.hardware,
            serde_json::to_string(&c.fields).unwrap_or_default()
        );
    }
}

/// Echo server settings.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Per-connection handshake and I/O timeout: a slow or silent client is dropped after it.
    pub timeout: Duration,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// Stop after this many connections (tests, benchmarks); `None` serves forever.
    pub max_accepts: Option<usize>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions { timeout: Duration::from_secs(10), max_connections: 256, max_accepts: None }
    }
}

/// Serves the C sample protocol: handshake, read up to 256 bytes, echo them back, close. Each
/// connection runs on its own thread with `opts.timeout` on every read and write, so a stuck peer
/// never blocks others.
pub fn serve_echo(listener: TcpListener, config: Arc<ServerConfig>, opts: ServerOptions) -> std::io::Result<()> {
    let active = Arc::new(AtomicUsize::new(0));
    let mut accepted = 0usize;
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                log::warn!("accept: {e}");
                continue;
            }
        };
        accepted += 1;
        while active.load(Ordering::Acquire) >= opts.max_connections {
            std::thread::sleep(Duration::from_millis(1));
        }
        active.fetch_add(1, Ordering::AcqRel);
        let (config, counter, timeout) = (config.clone(), active.clone(), opts.timeout);
        std::thread::spawn(move || {
            let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
            if let Err(e) = echo_one(stream, config, timeout) {
                log::error!("connection from {peer}: {e}");
            }
            counter.fetch_sub(1, Ordering::AcqRel);
        });
        if opts.max_accepts.is_some_and(|m| accepted >= m) {
            while active.load(Ordering::Acquire) > 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            break;
        }
    }
    Ok(())
}

/// Error of one sample connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnError {
    #[error("handshake failed: {0}")]
    Handshake(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("unexpected reply from server: {0:?}")]
    UnexpectedReply(String),
    #[error("{0}")]
    Config(#[from] Error),
}

fn handshake_error(e: std::io::Error) -> ConnError {
    // rustls reports TLS errors through io::Error with the rustls::Error inside.
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(t) => match Error::from_tls(t) {
            Some(r) => ConnError::Handshake(r.to_string()),
            None => ConnError::Handshake(t.to_string()),
        },
        None => ConnError::Handshake(e.to_string()),
    }
}

fn echo_one(stream: TcpStream, config: Arc<ServerConfig>, timeout: Duration) -> Result<(), ConnError> {
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)?;
    let conn = ServerConnection::new(config).map_err(|e| ConnError::Handshake(e.to_string()))?;
    let mut tls = StreamOwned::new(conn, stream);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).map_err(handshake_error)?;
    }
    log::debug!("client connected successfully");
    let mut buf = [0u8; 256];
    let n = tls.read(&mut buf)?;
    println!("Client: {}", String::from_utf8_lossy(&buf[..n]));
    tls.write_all(&buf[..n])?;
    tls.flush()?;
    tls.conn.send_close_notify();
    let _ = tls.conn.complete_io(&mut tls.sock);
    Ok(())
}

/// Client side of the sample: handshake, send `msg`, return the reply.
pub fn client_exchange(
    addr: &str,
    config: Arc<ClientConfig>,
    msg: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, ConnError> {
    let stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)?;
    let host = addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(addr);
    let name = ServerName::try_from(host.to_string())
        .unwrap_or_else(|_| ServerName::try_from("rats-tls").expect("static name is valid"));
    let conn = ClientConnection::new(config, name).map_err(|e| ConnError::Handshake(e.to_string()))?;
    let mut tls = StreamOwned::new(conn, stream);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).map_err(handshake_error)?;
    }
    let mut buf = [0u8; 256];
    let r = tls.write_all(msg).and_then(|_| tls.flush()).and_then(|_| tls.read(&mut buf));
    match r {
        Ok(n) => Ok(buf[..n].to_vec()),
        // With TLS 1.3 the server judges our certificate after our side of the handshake is done:
        // its refusal is an alert still unread in the socket. Report it rather than EPIPE/EOF.
        Err(e) => Err(pending_alert(&mut tls).unwrap_or(ConnError::Io(e))),
    }
}

fn pending_alert(tls: &mut StreamOwned<ClientConnection, TcpStream>) -> Option<ConnError> {
    for _ in 0..4 {
        let _ = tls.conn.read_tls(&mut tls.sock);
        if let Err(e) = tls.conn.process_new_packets() {
            return Some(ConnError::Handshake(format!("server refused us: {e}")));
        }
    }
    None
}

/// Generates the certificate once and builds the server config.
pub fn server_setup(att: &AttesterConfig, mutual: Option<PeerVerifier>) -> Result<Arc<ServerConfig>, Error> {
    let cert = RatsCertificate::generate(att)?;
    Ok(Arc::new(crate::tls::server_config(&cert, mutual)?))
}

/// Minimal stderr logger for the tools, levels named as the C `-l` option.
pub fn init_log(level: &str) {
    struct L;
    impl log::Log for L {
        fn enabled(&self, m: &log::Metadata<'_>) -> bool {
            m.level() <= log::max_level()
        }
        fn log(&self, r: &log::Record<'_>) {
            if self.enabled(r.metadata()) {
                eprintln!("[{}] {}", r.level(), r.args());
            }
        }
        fn flush(&self) {}
    }
    let lvl = match level.to_ascii_lowercase().as_str() {
        "debug" => log::LevelFilter::Debug,
        "info" | "" => log::LevelFilter::Info,
        "warn" => log::LevelFilter::Warn,
        "error" | "fatal" => log::LevelFilter::Error,
        "off" => log::LevelFilter::Off,
        _ => log::LevelFilter::Info,
    };
    let _ = log::set_logger(&L);
    log::set_max_level(lvl);
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO: DangerFlags = DangerFlags { accept_software_tee: false, accept_without_evidence: false };

    #[test]
    fn sample_verifier_needs_danger_accept_software_tee() {
        let e = verifier_from_name("sample", EvidenceVerifiers::hardware_only(), NO).err();
        assert_eq!(e, Some(OptionError::SoftwareTeeNeedsOptIn));
        assert!(e.map(|e| e.to_string()).unwrap_or_default().contains("--danger-accept-software-tee"));
        let ok = verifier_from_name(
            "sample",
            EvidenceVerifiers::hardware_only(),
            DangerFlags { accept_software_tee: true, ..NO },
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn null_verifier_needs_danger_accept_without_evidence() {
        assert_eq!(
            verifier_from_name("nullverifier", EvidenceVerifiers::hardware_only(), NO).err(),
            Some(OptionError::NullVerifierNeedsOptIn)
        );
        // the software-TEE opt-in does not unlock the null verifier
        let e = verifier_from_name(
            "nullverifier",
            EvidenceVerifiers::hardware_only(),
            DangerFlags { accept_software_tee: true, ..NO },
        )
        .err();
        assert_eq!(e, Some(OptionError::NullVerifierNeedsOptIn));
        assert!(verifier_from_name(
            "nullverifier",
            EvidenceVerifiers::hardware_only(),
            DangerFlags { accept_without_evidence: true, ..NO }
        )
        .is_ok());
        assert!(verifier_from_name("", EvidenceVerifiers::hardware_only(), NO).is_ok());
        assert_eq!(
            verifier_from_name("bogus", EvidenceVerifiers::hardware_only(), NO).err(),
            Some(OptionError::UnknownVerifier("bogus".into()))
        );
    }
}
