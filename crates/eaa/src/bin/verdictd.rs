//! `verdictd`: the key service over mutually attested RA-TLS, and its key management.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use base64::Engine;
use clap::{Parser, Subcommand};
use eaa::flags::{ServeFlags, VerifierFlags};
use eaa::net::{Addr, Listener};
use eaa::verdictd::grpc;
use eaa::verdictd::keystore::KeyStore;
use eaa::verdictd::policy::{Policy, DEFAULT_POLICY};
use eaa::verdictd::service::{client_verifier, Service};
use rats_tls::{KeyAlgorithm, RatsCertificate};
use tee::rng::SystemRng;

#[derive(Parser, Debug)]
#[command(name = "verdictd", about = "verdictd-role key service")]
struct Args {
    /// Key store (redb file; created 0600, a missing directory 0700).
    #[arg(long, default_value = "/var/lib/verdictd/keys.redb")]
    store: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Serve JSON commands over RA-TLS; clients must attest and pass the Rego policy.
    Serve {
        #[arg(long, default_value = "127.0.0.1:1111")]
        listen: String,
        #[arg(long, default_value = "")]
        attester: String,
        /// Which client evidence is accepted: a hardware verifier name (default: the hardware
        /// verifiers) or sample (needs --danger-accept-software-tee).
        #[arg(long, default_value = "")]
        verifier: String,
        #[command(flatten)]
        hw: VerifierFlags,
        #[command(flatten)]
        policy: PolicyFlags,
        /// Per-connection deadline in milliseconds: handshake and each request (and each socket operation).
        #[arg(long = "timeout-ms", default_value_t = 10_000)]
        timeout_ms: u64,
        #[command(flatten)]
        serve: ServeFlags,
        /// Also serve ocicrypt's key-provider gRPC (keyprovider.KeyProviderService) on this ip:port.
        #[arg(long = "keyprovider-grpc")]
        keyprovider_grpc: Option<String>,
        #[command(flatten)]
        grpc_opts: GrpcOpts,
    },
    /// Serve only ocicrypt's key-provider gRPC (keyprovider.KeyProviderService, plain gRPC).
    KeyproviderGrpc {
        #[arg(long, default_value = "127.0.0.1:50000")]
        listen: String,
        #[command(flatten)]
        policy: PolicyFlags,
        #[command(flatten)]
        grpc_opts: GrpcOpts,
    },
    /// Generate a random 256-bit key under KID.
    GenKey {
        kid: String,
    },
    /// Import a key (base64 of 32 bytes) under KID.
    SetKey {
        kid: String,
        key_b64: String,
    },
    DeleteKey {
        kid: String,
    },
    ListKeys,
    /// ocicrypt command key provider: key-provider JSON on stdin, result on stdout.
    Keyprovider {
        #[command(flatten)]
        policy: PolicyFlags,
    },
}

#[derive(clap::Args, Debug)]
struct PolicyFlags {
    /// Rego policy file (package policy, rule allow; input carries the client's measurements and,
    /// for key requests, "kid" and "op"); default: built-in, default deny.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Reference values JSON: {"mrEnclave":[..],"mrSigner":[..],"productId":0,"svn":0,"softwareTee":false,
    /// "keys":{"KID":{..a set for that key..}},"unattestedKeys":["KID"]}. An empty list matches nothing.
    /// Without it every key request is refused.
    #[arg(long)]
    reference: Option<PathBuf>,
}

impl PolicyFlags {
    fn load(&self, what: &str) -> Result<Policy> {
        let rego = match &self.policy {
            Some(p) => std::fs::read_to_string(p).with_context(|| p.display().to_string())?,
            None => DEFAULT_POLICY.into(),
        };
        let refs = self
            .reference
            .as_ref()
            .map(|p| std::fs::read_to_string(p).with_context(|| p.display().to_string()))
            .transpose()?;
        let policy = Policy::new(&rego, refs.as_deref()).with_context(|| match &self.reference {
            Some(p) => format!("policy with reference values {}", p.display()),
            None => "policy".to_string(),
        })?;
        if !policy.has_reference() {
            // loud on purpose: a service that refuses everything looks broken otherwise
            tracing::warn!(
                "{what}: no reference values given: every key request will be refused; set --reference FILE"
            );
        }
        Ok(policy)
    }
}

#[derive(clap::Args, Debug)]
struct GrpcOpts {
    /// Allow the unauthenticated key-provider gRPC on a non-loopback address (trusted networks only).
    #[arg(long = "danger-keyprovider-grpc-remote")]
    danger_keyprovider_grpc_remote: bool,
}

impl GrpcOpts {
    fn bind(&self, addr: &str) -> Result<std::net::TcpListener> {
        let allow = self.danger_keyprovider_grpc_remote.then_some(grpc::danger::AllowRemote);
        let addr = grpc::listen_addr(addr, allow)?;
        let l = grpc::bind(addr)?;
        tracing::info!("verdictd key-provider gRPC (keyprovider.KeyProviderService) listening on {}", l.local_addr()?);
        Ok(l)
    }
}

fn main() -> Result<()> {
    let a = Args::parse();
    rats_tls_tools::init_tracing("info");
    let store = KeyStore::open(&a.store).with_context(|| format!("opening {}", a.store.display()))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    match a.cmd {
        Cmd::Serve { listen, attester, verifier, hw, policy, timeout_ms, serve, keyprovider_grpc, grpc_opts } => {
            if verifier == "nullverifier" {
                anyhow::bail!("verdictd needs verified client evidence; nullverifier is refused");
            }
            let base = hw.verifier(&verifier)?;
            let policy = policy.load("serve")?;
            let v = client_verifier(base.clone(), policy.clone());
            let cert =
                RatsCertificate::generate(&rats_tls_tools::attester_from_name(&attester, KeyAlgorithm::EcdsaP256)?)?;
            let config = Arc::new(rats_tls::tls::server_config(&cert, Some(v))?);
            let addr = Addr::parse(&listen)?;
            let listener = Listener::bind(&addr)?;
            tracing::info!("verdictd listening on {addr}");
            let svc = Arc::new(Service { store, rng: Box::new(SystemRng), policy });
            if let Some(g) = keyprovider_grpc {
                let l = grpc_opts.bind(&g)?;
                let svc = svc.clone();
                std::thread::spawn(move || {
                    if let Err(e) = grpc::serve_blocking(l, svc) {
                        tracing::error!("{e}");
                        std::process::exit(1);
                    }
                });
            }
            let deadline = Duration::from_millis(timeout_ms);
            svc.serve(listener, config, base, deadline, serve.options(deadline))?;
        }
        Cmd::KeyproviderGrpc { listen, policy, grpc_opts } => {
            let l = grpc_opts.bind(&listen)?;
            let policy = policy.load("keyprovider-grpc")?;
            grpc::serve_blocking(l, Arc::new(Service { store, rng: Box::new(SystemRng), policy }))?;
        }
        Cmd::GenKey { kid } => {
            let mut k = [0u8; 32];
            tee::rng::Rng::fill(&SystemRng, &mut k)?;
            store.put(&kid, &k)?;
            println!("{kid}");
        }
        Cmd::SetKey { kid, key_b64 } => {
            let k = b64.decode(key_b64.trim()).context("key is not base64")?;
            anyhow::ensure!(k.len() == 32, "key must be 32 bytes, got {}", k.len());
            store.put(&kid, &k)?;
        }
        Cmd::DeleteKey { kid } => {
            anyhow::ensure!(store.delete(&kid)?, "no key {kid}");
        }
        Cmd::ListKeys => {
            for k in store.list()? {
                println!("{k}");
            }
        }
        Cmd::Keyprovider { policy } => {
            let policy = policy.load("keyprovider")?;
            let req: serde_json::Value =
                serde_json::from_reader(std::io::stdin()).context("key-provider JSON on stdin")?;
            let svc = Service { store, rng: Box::new(SystemRng), policy };
            let out = svc.key_provider(None, &req)?;
            println!("{out}");
        }
    }
    Ok(())
}
