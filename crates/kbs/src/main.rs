//! `kbs`: one command starts a KBS (with its Attestation Service and RVPS) on a local data dir.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use kbs::admin::{AclRule, AdminAuth, AdminKey};
use kbs::attestation::AttestationService;
use kbs::core::{Kbs, Limits};
use kbs::ear::EarSigner;
use kbs::rvps::Rvps;
use kbs::server::{self, AcceptEvent, ConnLimits, Mode};
use kbs::store::{Backend, RedbStore};
use tee::clock::{Clock, SystemClock};
use tee::rng::SystemRng;
use tee::VerifierSet;
use tracing::{error, info, warn};
use tracing_subscriber::EnvFilter;

/// mimalloc: the request path allocates many small JSON/Rego values from two worker threads;
/// glibc malloc showed up at ~12% of server CPU in `perf` during bench/kbs.sh (mimalloc measured
/// a few percent less server CPU per operation on the loaded bench machine).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "kbs",
    version,
    about = "Key Broker Service + Attestation Service + RVPS (Confidential Containers compatible)"
)]
struct Args {
    /// Directory for the store (kbs.redb) and the generated TLS certificate.
    #[arg(long, default_value = "kbs-data")]
    data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Serve plain HTTP instead of HTTPS (tokens and cookies travel in clear).
    #[arg(long)]
    danger_plain_http: bool,
    /// TLS certificate chain (PEM); without it a self-signed one is generated in the data dir.
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    /// Accept evidence from the software TEE (`sample`): NO hardware isolation. The default
    /// resource policy still refuses it.
    #[arg(long)]
    danger_accept_software_tee: bool,
    /// Accept plain TPM evidence whose attestation key is chained to no --tpm-ak-root (any RSA
    /// key can sign such a quote): its claims say `hardware: false`. Off: such evidence is refused.
    #[arg(long)]
    danger_accept_unendorsed_tpm: bool,
    /// Trusted root (PEM/DER) of TPM AK certificate chains; repeatable. TPM evidence whose AK
    /// certificate chains to one is hardware evidence. Without roots or the opt-in above, plain
    /// TPM evidence is refused.
    #[arg(long)]
    tpm_ak_root: Vec<PathBuf>,
    /// Intel DCAP collateral (TCB info, QE identity, CRLs, as files) for SGX/TDX evidence. Without
    /// it SGX/TDX evidence is refused (collateral missing); SEV-SNP needs none (AMD roots are built in).
    #[arg(long)]
    dcap_collateral: Option<PathBuf>,
    /// Trusted admin public key: ROLE=PATH (PEM SubjectPublicKeyInfo, Ed25519 or P-256). Repeatable.
    #[arg(long = "admin-key", value_name = "ROLE=PATH")]
    admin_keys: Vec<String>,
    /// Extra ACL rule ROLE=METHOD:REGEX (anchored; METHOD may be *). Repeatable.
    #[arg(long = "admin-acl", value_name = "ROLE=METHOD:REGEX")]
    admin_acl: Vec<String>,
    /// Accept admin calls without a token (development only).
    #[arg(long)]
    danger_open_admin: bool,
    /// EAR signing key (PKCS#8 PEM, P-256). Default: an ephemeral key.
    #[arg(long)]
    token_key: Option<PathBuf>,
    /// Token lifetime in seconds.
    #[arg(long, default_value_t = 300)]
    token_lifetime: u64,
    /// RCAR session lifetime in seconds.
    #[arg(long, default_value_t = 300)]
    session_timeout: u64,
    /// Maximum unattested RCAR sessions (auth answered, no evidence yet); beyond it the oldest
    /// is evicted, so a flood of auth calls cannot lock attesters out.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    max_sessions: u64,
    /// Memory budget of attested sessions in bytes (token and claims); beyond it the oldest
    /// attested session is evicted (its client re-runs RCAR or uses the token as Bearer).
    #[arg(long, default_value_t = 128 << 20)]
    max_attested_session_bytes: usize,
    /// Seconds a client has to complete the TLS handshake.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    tls_handshake_timeout: u64,
    /// Seconds a client has to send request headers once the connection waits for a request
    /// (this also closes idle keep-alive connections).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    header_read_timeout: u64,
    /// Seconds from the request headers to the response, body upload included (else 408).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    request_timeout: u64,
    /// Seconds without any byte moving on a connection that has no request in progress
    /// (e.g. a client that stops reading its response) before it is closed.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,
    /// Connections served at once (further ones wait in the listen backlog). Keep it below the
    /// open-file limit; if descriptors still run out, accept backs off instead of spinning.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: u64,
    /// Maximum request body in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    max_body: usize,
    /// Run only the Attestation Service API (and its policy / reference-value admin).
    #[arg(long)]
    as_only: bool,
    /// Pin in-toto layout key ids (sha256 hex). Repeatable.
    #[arg(long = "in-toto-layout-keyid")]
    in_toto_layout_keyids: Vec<String>,
    /// Worker threads (default: number of CPUs).
    #[arg(long)]
    workers: Option<usize>,
    /// Check the store's integrity and exit (0 = consistent).
    #[arg(long, hide = true)]
    check_store: bool,
}

/// Logs to stderr through `tracing`, filtered by `RUST_LOG` (env-filter syntax; default `info`).
fn init_logging() {
    let from_env = std::env::var_os(EnvFilter::DEFAULT_ENV).map(|_| EnvFilter::try_from_default_env());
    let (filter, bad_env) = match from_env {
        Some(Ok(f)) => (f, None),
        Some(Err(e)) => (EnvFilter::new("info"), Some(e)),
        None => (EnvFilter::new("info"), None),
    };
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    if let Some(e) = bad_env {
        warn!("RUST_LOG ignored ({e}); logging at info");
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    init_logging();
    // 0700, files 0600: the store holds resources in plaintext, the dir the TLS private key
    if let Some(old) =
        kbs::private_fs::prepare_dir(&args.data_dir).with_context(|| format!("data dir {}", args.data_dir.display()))?
    {
        warn!("data dir {} had mode {old:04o}; tightened to 0700", args.data_dir.display());
    }
    for (flag, p) in [("--key", args.key.as_deref()), ("--token-key", args.token_key.as_deref())] {
        if let Some((p, mode)) = p.and_then(|p| Some((p, kbs::private_fs::loose_mode(p)?))) {
            warn!("{flag} {} has mode {mode:04o}: group or others can read this private key", p.display());
        }
    }
    let db = args.data_dir.join("kbs.redb");
    if args.check_store {
        let ok = RedbStore::check_integrity(&db).with_context(|| format!("checking {}", db.display()))?;
        if !ok {
            bail!("{}: repaired an inconsistent store", db.display());
        }
        println!("{}: consistent", db.display());
        return Ok(());
    }
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(w) = args.workers {
        rt.worker_threads(w);
    }
    rt.enable_all().build()?.block_on(run(args, db))
}

/// Once per burst of accept failures, and once when accepting works again.
fn log_accept(e: AcceptEvent) {
    match e {
        AcceptEvent::BackingOff { error, delay } => {
            error!(
                "accept failed: {error}; retrying with backoff from {delay:?} up to 1 s (further failures not logged)"
            )
        }
        AcceptEvent::Recovered { failures, after } => {
            info!("accept works again after {failures} failed attempts over {:.1} s", after.as_secs_f64())
        }
    }
}

async fn run(args: Args, db: PathBuf) -> Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store: Arc<dyn Backend> = Arc::new(RedbStore::open(&db).with_context(|| format!("opening {}", db.display()))?);
    let dcap = tee::dcap::CollateralStore::new();
    if let Some(d) = &args.dcap_collateral {
        // A collateral file is for SGX or for TDX; a directory may hold both.
        let loaded: usize =
            [tee::Tee::Sgx, tee::Tee::Tdx].iter().map(|t| dcap.load_path(*t, d).map(|k| k.len()).unwrap_or(0)).sum();
        if loaded == 0 {
            anyhow::bail!("--dcap-collateral {}: no SGX or TDX collateral found", d.display());
        }
    }
    let mut verifiers =
        VerifierSet::all_hardware(Arc::new(dcap), Arc::new(tee::snp::SnpContext::default()), Vec::new(), clock.clone());
    let mut tpm_roots = Vec::new();
    for p in &args.tpm_ak_root {
        let b = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
        tpm_roots.extend(
            tee::tpm::certs::roots_from_certs(tee::Tee::Tpm, &b)
                .with_context(|| format!("--tpm-ak-root {}", p.display()))?,
        );
    }
    if args.danger_accept_unendorsed_tpm {
        warn!("accepting TPM evidence with an unendorsed attestation key (hardware: false)");
        verifiers = verifiers.accept_unendorsed_tpm(tee::danger::AcceptUnendorsedTpm, tpm_roots, clock.clone());
    } else if !tpm_roots.is_empty() {
        verifiers = verifiers.with(Box::new(tee::tpm::TpmVerifier::new(tpm_roots, clock.clone())));
    }
    if args.danger_accept_software_tee {
        warn!("accepting the software TEE (sample): no hardware isolation, development only");
        verifiers = verifiers.accept_software_tee(tee::danger::AcceptSoftwareTee);
    }
    let mut rvps = Rvps::new(store.clone(), clock.clone())?;
    rvps.trusted_layout_keyids = args.in_toto_layout_keyids.clone();
    let token_key = match &args.token_key {
        Some(p) => {
            let pem = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            Some(kbs_protocol::b64::std_decode("token key", body.trim())?)
        }
        None => None,
    };
    let signer = EarSigner::new(token_key.as_deref(), "kbs".into(), args.token_lifetime)?;
    let attestation =
        Arc::new(AttestationService::new(verifiers, Arc::new(rvps), signer, clock.clone(), store.clone())?);
    let mut keys = Vec::new();
    for spec in &args.admin_keys {
        let (role, path) = spec.split_once('=').context("--admin-key wants ROLE=PATH")?;
        let pem = std::fs::read_to_string(path).with_context(|| format!("reading admin key {path}"))?;
        keys.push(AdminKey::from_pem(role, &pem).with_context(|| format!("admin key {path}"))?);
    }
    let acl = args.admin_acl.iter().map(|s| AclRule::parse(s)).collect::<Result<Vec<_>, _>>()?;
    let mut admin = AdminAuth::new(keys, acl);
    if args.danger_open_admin {
        warn!("--danger-open-admin: admin API open to anyone");
        admin = admin.danger_insecure();
    }
    let limits = Limits {
        session_timeout: Duration::from_secs(args.session_timeout),
        max_sessions: usize::try_from(args.max_sessions).unwrap_or(usize::MAX),
        max_attested_session_bytes: args.max_attested_session_bytes,
        max_body: args.max_body,
    };
    let kbs = Arc::new(Kbs::new(limits, attestation, store, admin, clock.clone(), Arc::new(SystemRng))?);
    let sweeper = kbs.clone();
    tokio::spawn(async move {
        let mut t = tokio::time::interval(Duration::from_secs(30));
        loop {
            t.tick().await;
            sweeper.sessions.cleanup(sweeper.clock.now());
        }
    });
    let mode = if args.as_only { Mode::AsOnly } else { Mode::Kbs };
    let app = server::router(kbs, mode);
    let tls = if args.danger_plain_http {
        warn!("--danger-plain-http: serving plain HTTP");
        None
    } else {
        let (cert, cfg) = server::tls_config(args.cert.as_deref(), args.key.as_deref(), &args.data_dir)?;
        info!("TLS certificate {}", cert.display());
        Some(Arc::new(cfg))
    };
    let conn_limits = ConnLimits {
        tls_handshake: Duration::from_secs(args.tls_handshake_timeout),
        header_read: Duration::from_secs(args.header_read_timeout),
        request: Duration::from_secs(args.request_timeout),
        idle: Duration::from_secs(args.idle_timeout),
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
    };
    let listener =
        tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    info!(
        "{} listening on {}://{}",
        if args.as_only { "attestation service" } else { "KBS" },
        if tls.is_some() { "https" } else { "http" },
        listener.local_addr()?
    );
    tokio::select! {
        r = server::serve(listener, app, tls, conn_limits, log_accept) => r?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
