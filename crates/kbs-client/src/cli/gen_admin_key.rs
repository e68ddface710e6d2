use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use kbs_protocol::admin_token::{AdminKeyKind, AdminSigner};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Kind {
    Ed25519,
    Es256,
}

#[derive(Args, Debug)]
pub struct GenAdminKey {
    #[arg(long, value_enum, default_value = "ed25519")]
    r#type: Kind,
    /// Writes <out>.key (private, mode 0600) and <out>.pub.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(a: GenAdminKey) -> Result<()> {
    let kind = match a.r#type {
        Kind::Ed25519 => AdminKeyKind::Ed25519,
        Kind::Es256 => AdminKeyKind::Es256,
    };
    let (_, private, public) = AdminSigner::generate(kind)?;
    let k = a.out.with_extension("key");
    let p = a.out.with_extension("pub");
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&k)
            .with_context(|| format!("writing {}", k.display()))?;
        std::io::Write::write_all(&mut f, private.as_bytes())?;
    }
    std::fs::write(&p, public).with_context(|| format!("writing {}", p.display()))?;
    println!("{}\n{}", k.display(), p.display());
    Ok(())
}
