//! Admin verbs: each signs a short-lived admin JWT and calls the admin API.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use clap::Args;
use hyper::Method;
use kbs_protocol::admin_token::AdminSigner;
use kbs_protocol::b64;
use serde_json::json;

use super::{AdminCreds, Conn};

async fn call(conn: &Conn, creds: &AdminCreds, method: Method, path: &str, body: Vec<u8>) -> Result<Vec<u8>> {
    let mut http = conn.http()?;
    let auth = match &creds.admin_key {
        Some(p) => {
            let pem = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
            Some(format!("Bearer {}", AdminSigner::from_pem(&pem)?.token(&creds.role, now, 300)?))
        }
        None => None,
    };
    let mut headers = vec![("content-type", "application/octet-stream")];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    let r = http.send(method, path, &headers, body).await?;
    if r.status != 200 {
        bail!("KBS answered {}: {}", r.status, String::from_utf8_lossy(&r.body));
    }
    Ok(r.body.to_vec())
}

fn resource_path(p: &str) -> Result<String> {
    let p = p.strip_prefix("kbs:///").unwrap_or(p);
    Ok(format!("/kbs/v0/resource/{p}"))
}

#[derive(Args, Debug)]
pub struct SetResource {
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    creds: AdminCreds,
    /// repo/type/tag (or kbs:///repo/type/tag)
    path: String,
    /// File with the resource bytes.
    #[arg(long, conflicts_with = "value")]
    file: Option<PathBuf>,
    /// Resource bytes given inline.
    #[arg(long)]
    value: Option<String>,
}

pub async fn set_resource(a: SetResource) -> Result<()> {
    let data = match (&a.file, &a.value) {
        (Some(f), None) => std::fs::read(f).with_context(|| format!("reading {}", f.display()))?,
        (None, Some(v)) => v.clone().into_bytes(),
        _ => bail!("give --file or --value"),
    };
    call(&a.conn, &a.creds, Method::POST, &resource_path(&a.path)?, data).await?;
    Ok(())
}

#[derive(Args, Debug)]
pub struct DeleteResource {
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    creds: AdminCreds,
    path: String,
}

pub async fn delete_resource(a: DeleteResource) -> Result<()> {
    call(&a.conn, &a.creds, Method::DELETE, &resource_path(&a.path)?, Vec::new()).await?;
    Ok(())
}

#[derive(Args, Debug)]
pub struct SetAttestationPolicy {
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    creds: AdminCreds,
    #[arg(long, default_value = "default")]
    id: String,
    /// Rego file.
    policy: PathBuf,
}

pub async fn set_attestation_policy(a: SetAttestationPolicy) -> Result<()> {
    let src = std::fs::read(&a.policy).with_context(|| format!("reading {}", a.policy.display()))?;
    let body = json!({"type": "rego", "policy_id": a.id, "policy": b64::url(src)});
    call(&a.conn, &a.creds, Method::POST, "/kbs/v0/attestation-policy", serde_json::to_vec(&body)?).await?;
    Ok(())
}

#[derive(Args, Debug)]
pub struct SetResourcePolicy {
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    creds: AdminCreds,
    /// Rego file.
    policy: PathBuf,
}

pub async fn set_resource_policy(a: SetResourcePolicy) -> Result<()> {
    let src = std::fs::read(&a.policy).with_context(|| format!("reading {}", a.policy.display()))?;
    let body = json!({"policy": b64::url(src)});
    call(&a.conn, &a.creds, Method::POST, "/kbs/v0/resource-policy", serde_json::to_vec(&body)?).await?;
    Ok(())
}

#[derive(Args, Debug)]
pub struct RegisterReferenceValue {
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    creds: AdminCreds,
    /// Extractor: sample or in-toto.
    #[arg(long, default_value = "sample")]
    r#type: String,
    /// name=value pairs for a sample message (repeatable).
    #[arg(long = "sample")]
    samples: Vec<String>,
    /// File whose content is the (already base64) payload.
    #[arg(long)]
    payload_file: Option<PathBuf>,
}

pub async fn register_reference_value(a: RegisterReferenceValue) -> Result<()> {
    let payload = match &a.payload_file {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?.trim().to_string(),
        None => {
            let mut m = serde_json::Map::new();
            for s in &a.samples {
                let (k, v) = s.split_once('=').context("--sample wants name=value")?;
                let e = m.entry(k.to_string()).or_insert_with(|| json!([]));
                if let Some(arr) = e.as_array_mut() {
                    arr.push(json!(v));
                }
            }
            b64::std(serde_json::to_vec(&m)?)
        }
    };
    let body = json!({"version": "0.1.0", "type": a.r#type, "payload": payload});
    let out = call(&a.conn, &a.creds, Method::POST, "/kbs/v0/reference-value", serde_json::to_vec(&body)?).await?;
    println!("{}", String::from_utf8_lossy(&out));
    Ok(())
}

#[derive(Args, Debug)]
pub struct QueryReferenceValue {
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    creds: AdminCreds,
    name: String,
}

pub async fn query_reference_value(a: QueryReferenceValue) -> Result<()> {
    let out = call(&a.conn, &a.creds, Method::GET, &format!("/kbs/v0/reference-value/{}", a.name), Vec::new()).await?;
    println!("{}", String::from_utf8_lossy(&out));
    Ok(())
}
