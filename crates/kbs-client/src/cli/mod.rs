//! One file per verb.

mod admin;
mod attestation_token;
mod bench;
mod gen_admin_key;
mod get_resource;

use std::path::PathBuf;

use std::sync::Arc;

use anyhow::{Context, Result};
use attestation_agent::attester::AttesterConfig;
use attestation_agent::danger;
use attestation_agent::rcar::HttpClient;
use clap::{Args, Parser, Subcommand};
use tee::{Attester, Tee};

#[derive(Parser, Debug)]
#[command(name = "kbs-client", version, about = "Client of a Confidential Containers KBS (RCAR 0.4.0)")]
pub struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

/// Where the KBS is.
#[derive(Args, Debug, Clone)]
pub struct Conn {
    /// KBS URL, e.g. https://127.0.0.1:8080
    #[arg(long)]
    url: String,
    /// PEM certificate(s) to trust for HTTPS (e.g. the KBS's generated tls-cert.pem).
    #[arg(long)]
    cert: Option<PathBuf>,
    /// Largest response body accepted from the KBS, in bytes.
    #[arg(long, default_value_t = attestation_agent::rcar::http::DEFAULT_MAX_RESPONSE_BODY)]
    max_response_bytes: usize,
}

impl Conn {
    pub fn http(&self) -> Result<HttpClient> {
        let ca = match &self.cert {
            Some(p) => Some(std::fs::read(p).with_context(|| format!("reading {}", p.display()))?),
            None => None,
        };
        Ok(HttpClient::new(&self.url, ca.as_deref())?.with_max_response_body(self.max_response_bytes))
    }
}

/// The TEE this client attests with.
#[derive(Args, Debug, Clone)]
pub struct TeeOpts {
    /// Use the software TEE (no hardware isolation, no confidentiality) when no hardware TEE is
    /// detected. Development only; the KBS must opt in too (--danger-accept-software-tee).
    #[arg(long)]
    danger_software_tee: bool,
}

impl TeeOpts {
    fn config(&self) -> AttesterConfig {
        AttesterConfig::system(self.danger_software_tee.then_some(danger::UseSoftwareTee))
    }

    /// The attester of the detected TEE (`tee::attest::detect`), the software TEE only if opted in.
    pub fn attester(&self) -> Result<Arc<dyn Attester>> {
        let a = self.config().attester()?;
        if a.tee() == Tee::Sample {
            eprintln!("kbs-client: no hardware TEE detected; using the software TEE (sample): no confidentiality");
        }
        Ok(a)
    }

    /// The software-TEE attester, for verbs that only ever send software-TEE evidence.
    pub fn software_attester(&self, verb: &str) -> Result<Arc<dyn Attester>> {
        if !self.danger_software_tee {
            anyhow::bail!("{verb} sends software-TEE evidence (no confidentiality); pass --danger-software-tee");
        }
        Ok(self.config().attester_for(Tee::Sample)?)
    }
}

/// Admin credentials.
#[derive(Args, Debug, Clone)]
pub struct AdminCreds {
    /// Admin private key (PKCS#8 PEM, Ed25519 or P-256); omit only against --danger-open-admin.
    #[arg(long)]
    admin_key: Option<PathBuf>,
    /// Role claimed in the admin token.
    #[arg(long, default_value = "admin")]
    role: String,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Attest (RCAR) and fetch a resource: kbs:///repo/type/tag
    GetResource(get_resource::GetResource),
    /// Store a resource (admin).
    SetResource(admin::SetResource),
    /// Delete a resource (admin).
    DeleteResource(admin::DeleteResource),
    /// Set an attestation policy (Rego file) (admin).
    SetAttestationPolicy(admin::SetAttestationPolicy),
    /// Set the resource policy (Rego file) (admin).
    SetResourcePolicy(admin::SetResourcePolicy),
    /// Register reference values (RVPS message) (admin).
    RegisterReferenceValue(admin::RegisterReferenceValue),
    /// Query a reference value by name (admin).
    QueryReferenceValue(admin::QueryReferenceValue),
    /// Generate an admin key pair (PKCS#8 private key + SPKI public key, PEM).
    GenAdminKey(gen_admin_key::GenAdminKey),
    /// Load generator: concurrent full RCAR handshakes + resource fetches.
    #[command(hide = true)]
    Bench(bench::Bench),
    /// Token from the standalone Attestation Service (software TEE evidence, caller's nonce).
    #[command(hide = true)]
    AttestationToken(attestation_token::AttestationToken),
}

pub async fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::GetResource(a) => get_resource::run(a).await,
        Cmd::SetResource(a) => admin::set_resource(a).await,
        Cmd::DeleteResource(a) => admin::delete_resource(a).await,
        Cmd::SetAttestationPolicy(a) => admin::set_attestation_policy(a).await,
        Cmd::SetResourcePolicy(a) => admin::set_resource_policy(a).await,
        Cmd::RegisterReferenceValue(a) => admin::register_reference_value(a).await,
        Cmd::QueryReferenceValue(a) => admin::query_reference_value(a).await,
        Cmd::GenAdminKey(a) => gen_admin_key::run(a),
        Cmd::Bench(a) => bench::run(a).await,
        Cmd::AttestationToken(a) => attestation_token::run(a).await,
    }
}
