//! `rats-tls-bench`: load generator for bench/ratls.sh. `client` runs N full handshakes (+ one echo)
//! against a server and prints handshakes/s and latency percentiles; `serve-plain` is a plain
//! rustls TLS echo server (ordinary self-signed certificate, no evidence) for the baseline.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use rats_tls::{EvidenceVerifiers, RatsCertificate};
use rats_tls_tools::{echo, names, DangerFlags};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection, StreamOwned};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Plain TLS echo server; writes its certificate (DER) to --cert-out.
    ServePlain {
        #[arg(long)]
        port: u16,
        #[arg(long)]
        cert_out: String,
    },
    Client {
        #[arg(long)]
        port: u16,
        /// plain (trust --cert) or ratls (verify with -v)
        #[arg(long)]
        mode: String,
        #[arg(long, default_value = "")]
        cert: String,
        /// As the sample tools: a hardware name, sample or nullverifier (each with its --danger- flag).
        #[arg(short = 'v', long, default_value = "")]
        verifier: String,
        #[command(flatten)]
        danger: DangerFlags,
        #[arg(long, default_value_t = 500)]
        n: usize,
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
    },
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    rats_tls::tls::provider()
}

fn serve_plain(port: u16, cert_out: &str) -> Result<()> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])?.self_signed(&key)?;
    std::fs::write(cert_out, cert.der())?;
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )?;
    cfg.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    cfg.send_tls13_tickets = 0;
    let cfg = Arc::new(cfg);
    for s in TcpListener::bind(("127.0.0.1", port))?.incoming() {
        let Ok(s) = s else { continue };
        let cfg = cfg.clone();
        std::thread::spawn(move || -> Result<()> {
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(10)))?;
            let mut t = StreamOwned::new(ServerConnection::new(cfg)?, s);
            let mut buf = [0u8; 256];
            let n = t.read(&mut buf)?;
            t.write_all(&buf[..n])?;
            t.conn.send_close_notify();
            let _ = t.conn.complete_io(&mut t.sock);
            Ok(())
        });
    }
    Ok(())
}

fn one(cfg: &Arc<ClientConfig>, port: u16, name: &ServerName<'static>) -> Result<Duration> {
    let t0 = Instant::now();
    let s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut t = StreamOwned::new(ClientConnection::new(cfg.clone(), name.clone())?, s);
    t.write_all(echo::HELLO.as_bytes())?;
    let mut buf = [0u8; 256];
    let n = t.read(&mut buf)?;
    anyhow::ensure!(&buf[..n] == echo::HELLO.as_bytes(), "bad echo");
    Ok(t0.elapsed())
}

fn main() -> Result<()> {
    match Args::parse().cmd {
        Cmd::ServePlain { port, cert_out } => serve_plain(port, &cert_out),
        Cmd::Client { port, mode, cert, verifier, danger, n, concurrency } => {
            let (cfg, name) = if mode == "plain" {
                let mut roots = RootCertStore::empty();
                roots.add(CertificateDer::from(std::fs::read(&cert).context("--cert")?))?;
                let mut c = ClientConfig::builder_with_provider(provider())
                    .with_protocol_versions(&[&rustls::version::TLS13])?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                c.resumption = rustls::client::Resumption::disabled();
                (Arc::new(c), ServerName::try_from("localhost")?)
            } else {
                let v = names::verifier_from_name(&verifier, EvidenceVerifiers::hardware_only(), danger)?;
                let cert =
                    RatsCertificate::generate(&names::attester_from_name("", rats_tls::KeyAlgorithm::EcdsaP256)?)?;
                (Arc::new(rats_tls::tls::client_config(&cert, v)?), ServerName::try_from("127.0.0.1")?)
            };
            let per = n / concurrency.max(1);
            let t0 = Instant::now();
            let handles: Vec<_> = (0..concurrency.max(1))
                .map(|_| {
                    let (cfg, name) = (cfg.clone(), name.clone());
                    std::thread::spawn(move || (0..per).map(|_| one(&cfg, port, &name)).collect::<Result<Vec<_>>>())
                })
                .collect();
            let mut lat = Vec::new();
            for h in handles {
                lat.extend(h.join().map_err(|_| anyhow::anyhow!("worker panicked"))??);
            }
            let total = t0.elapsed().as_secs_f64();
            lat.sort();
            let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1000.0;
            println!(
                "handshakes={} seconds={total:.3} hps={:.1} p50_ms={:.3} p99_ms={:.3}",
                lat.len(),
                lat.len() as f64 / total,
                pct(0.5),
                pct(0.99)
            );
            Ok(())
        }
    }
}
