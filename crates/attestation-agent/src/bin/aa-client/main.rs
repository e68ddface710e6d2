//! `aa-client`: calls an Attestation Agent over ttRPC with guest-components' protos (what a CDH or
//! kata-agent does). For tests and debugging; prints the answer on stdout.

use anyhow::{Context, Result};
use attestation_agent::protos::attestation_agent::*;
use attestation_agent::protos::attestation_agent_ttrpc::AttestationAgentServiceClient;
use attestation_agent::ttrpc_server::DEFAULT_SOCKET;
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "aa-client", version, about = "ttRPC client of an Attestation Agent")]
struct Cli {
    /// The agent's socket (path or unix://path).
    #[arg(long, default_value = DEFAULT_SOCKET)]
    socket: String,
    /// Per-call timeout in seconds.
    #[arg(long, default_value_t = 60)]
    timeout: i64,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// GetToken: prints the token message (JSON for "kbs").
    GetToken {
        #[arg(long, default_value = "kbs")]
        token_type: String,
    },
    /// GetEvidence: prints the evidence bound to the runtime data.
    GetEvidence {
        /// Runtime data (its UTF-8 bytes).
        #[arg(long)]
        runtime_data: String,
    },
    /// GetTeeType: prints the TEE name.
    GetTeeType,
    /// ExtendRuntimeMeasurement: prints OK, NOT_SUPPORTED or NOT_ENABLED.
    ExtendRuntimeMeasurement {
        domain: String,
        operation: String,
        content: String,
        #[arg(long)]
        register_index: Option<u64>,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let addr = if cli.socket.starts_with("unix://") { cli.socket.clone() } else { format!("unix://{}", cli.socket) };
    let client = ttrpc::r#async::Client::connect(&addr).await.with_context(|| format!("connecting to {addr}"))?;
    let aa = AttestationAgentServiceClient::new(client);
    let ctx = || ttrpc::context::with_timeout(cli.timeout.saturating_mul(1_000_000_000));
    let out: Vec<u8> = match cli.cmd {
        Cmd::GetToken { token_type } => {
            let req = GetTokenRequest { TokenType: token_type, ..Default::default() };
            aa.get_token(ctx(), &req).await.context("GetToken")?.Token
        }
        Cmd::GetEvidence { runtime_data } => {
            let req = GetEvidenceRequest { RuntimeData: runtime_data.into_bytes(), ..Default::default() };
            aa.get_evidence(ctx(), &req).await.context("GetEvidence")?.Evidence
        }
        Cmd::GetTeeType => {
            aa.get_tee_type(ctx(), &GetTeeTypeRequest::default()).await.context("GetTeeType")?.tee.into()
        }
        Cmd::ExtendRuntimeMeasurement { domain, operation, content, register_index } => {
            let req = ExtendRuntimeMeasurementRequest {
                Domain: domain,
                Operation: operation,
                Content: content,
                RegisterIndex: register_index,
                ..Default::default()
            };
            let r = aa.extend_runtime_measurement(ctx(), &req).await.context("ExtendRuntimeMeasurement")?;
            let name = match r.Result.enum_value() {
                Ok(RuntimeMeasurementResult::OK) => "OK".to_string(),
                Ok(RuntimeMeasurementResult::NOT_SUPPORTED) => "NOT_SUPPORTED".to_string(),
                Ok(RuntimeMeasurementResult::NOT_ENABLED) => "NOT_ENABLED".to_string(),
                Err(n) => format!("UNKNOWN({n})"),
            };
            name.into_bytes()
        }
    };
    use std::io::Write;
    let mut stdout = std::io::stdout();
    stdout.write_all(&out)?;
    stdout.write_all(b"\n")?;
    Ok(())
}
