use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use attestation_agent::rcar::RcarClient;
use clap::{Args, ValueEnum};
use kbs_protocol::jwk::KeyKind;
use kbs_protocol::uri::ResourceUri;

use super::{Conn, TeeOpts};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KeyType {
    EcP256,
    EcP521,
    Rsa,
}

#[derive(Args, Debug)]
pub struct GetResource {
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    tee: TeeOpts,
    /// TEE key type for the JWE.
    #[arg(long, value_enum, default_value = "ec-p256")]
    key_type: KeyType,
    /// Send the token as Authorization: Bearer instead of relying on the session cookie.
    #[arg(long)]
    bearer: bool,
    /// Init-data TOML file to send with the evidence.
    #[arg(long)]
    init_data: Option<PathBuf>,
    /// kbs:///<repo>/<type>/<tag>
    uri: String,
}

pub async fn run(a: GetResource) -> Result<()> {
    let uri = ResourceUri::parse(&a.uri)?;
    let kind = match a.key_type {
        KeyType::EcP256 => KeyKind::EcP256,
        KeyType::EcP521 => KeyKind::EcP521,
        KeyType::Rsa => KeyKind::Rsa2048,
    };
    let mut c = RcarClient::new(a.conn.http()?, a.tee.attester()?, kind)?;
    if let Some(p) = &a.init_data {
        c = c.with_init_data(std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?);
    }
    let data = if a.bearer { c.get_resource_with_token(&uri).await? } else { c.get_resource(&uri).await? };
    std::io::stdout().write_all(&data)?;
    Ok(())
}
