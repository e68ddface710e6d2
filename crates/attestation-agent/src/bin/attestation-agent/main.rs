//! `attestation-agent`: the guest's Attestation Agent daemon. ttRPC on guest-components' socket
//! with their protos, and their REST paths on 127.0.0.1:8006. Runs on embedded defaults; a
//! config file (guest-components' TOML layout) and flags override them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use attestation_agent::attester::AttesterConfig;
use attestation_agent::config::{self, Config, Overrides};
use attestation_agent::service::AttestationAgent;
use attestation_agent::{danger, initdata, rest, ttrpc_server};
use clap::Parser;
use tee::attest::detect::Probe;

#[derive(Parser, Debug)]
#[command(name = "attestation-agent", version, about = "Confidential Containers Attestation Agent (ttRPC + REST)")]
struct Args {
    /// Config file (TOML: [token_configs.kbs] url/cert/tee_key_algorithm, [eventlog_config], [log]).
    #[arg(short, long)]
    config: Option<PathBuf>,
    /// KBS URL (overrides token_configs.kbs.url).
    #[arg(long)]
    kbs_url: Option<String>,
    /// PEM certificate(s) to trust for an https KBS (overrides token_configs.kbs.cert).
    #[arg(long)]
    kbs_cert: Option<PathBuf>,
    /// ttRPC socket: a path or unix://path (guest-components' flag name).
    #[arg(long = "attestation_sock", default_value = ttrpc_server::DEFAULT_SOCKET)]
    attestation_sock: String,
    /// REST facade address, or `none` to serve only ttRPC.
    #[arg(long, default_value = rest::DEFAULT_ADDR)]
    rest_addr: String,
    /// Init-data TOML this guest was launched with. Checked before start-up against the TEE's
    /// host-data field (SNP HOST_DATA, TDX MRCONFIGID: the digest zero-padded); a mismatch, a bad
    /// document or the software TEE (no such field) is refused. Sent in RCAR `init-data`.
    #[arg(long)]
    init_data: Option<PathBuf>,
    /// Use the software TEE (no hardware isolation, no confidentiality) when no hardware TEE is
    /// detected. Development only; the KBS must opt in too.
    #[arg(long)]
    danger_software_tee: bool,
    /// Root of the file system to probe for the TEE (tests use a faked tree).
    #[arg(long, default_value = "/", hide = true)]
    sys_root: PathBuf,
    /// Use this pre-existing configfs-tsm entry (tests with a faked tree).
    #[arg(long, hide = true)]
    tsm_entry: Option<String>,
}

fn config(a: &Args) -> Result<Config> {
    let kbs_cert_pem = match &a.kbs_cert {
        Some(p) => Some(std::fs::read_to_string(p).with_context(|| format!("--kbs-cert {}", p.display()))?),
        None => None,
    };
    // guest-components' fallback when no config file is given: AA_KBC_PARAMS, else the kernel
    // command line's agent.aa_kbc_params.
    let aa_kbc_params = match &a.config {
        Some(_) => None,
        None => std::env::var("AA_KBC_PARAMS").ok().or_else(|| {
            std::fs::read_to_string("/proc/cmdline").ok().and_then(|l| config::aa_kbc_params_from_cmdline(&l))
        }),
    };
    let overrides = Overrides { kbs_url: a.kbs_url.clone(), kbs_cert_pem, aa_kbc_params };
    Ok(Config::load(a.config.as_deref(), overrides)?)
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = Args::parse();
    let c = config(&a)?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&c.log.level))
        .with_context(|| format!("config key log.level: {:?}", c.log.level))?;
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();

    let attester = AttesterConfig {
        probe: Probe::new(&a.sys_root),
        tsm_entry: a.tsm_entry.clone(),
        software_tee: a.danger_software_tee.then_some(danger::UseSoftwareTee),
    }
    .attester()?;
    let init_data = match &a.init_data {
        Some(p) => Some(initdata::load_and_check(p, attester.as_ref()).context("--init-data")?),
        None => None,
    };
    let mut aa = AttestationAgent::new(&c, attester)?;
    if let Some(i) = init_data {
        aa = aa.with_init_data(i);
    }
    let aa = Arc::new(aa);

    // The REST port is bound first, so a taken port fails before the socket exists.
    let rest_listener = match a.rest_addr.as_str() {
        "none" => None,
        s => {
            let addr: SocketAddr = s.parse().with_context(|| format!("--rest-addr {s:?} is not host:port"))?;
            Some(rest::bind(addr).await?)
        }
    };
    let sock = PathBuf::from(a.attestation_sock.strip_prefix("unix://").unwrap_or(&a.attestation_sock));
    let server = ttrpc_server::Server::start(aa.clone(), &sock).await?;
    tracing::info!(socket = %sock.display(), tee = %aa.tee(), "ttRPC listening");
    let rest_task = rest_listener.map(|l| tokio::spawn(rest::serve(aa.clone(), l)));

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let outcome = tokio::select! {
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = term.recv() => Ok(()),
        r = async {
            match rest_task {
                Some(t) => t.await,
                None => std::future::pending().await,
            }
        } => match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(anyhow::Error::from(e).context("REST facade")),
            Err(e) => Err(anyhow::Error::from(e).context("REST facade task")),
        },
    };
    server.shutdown().await;
    if let Err(e) = std::fs::remove_file(&sock) {
        tracing::warn!(socket = %sock.display(), error = %e, "removing the socket");
    }
    outcome
}
