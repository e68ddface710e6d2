use std::path::PathBuf;

use anyhow::{bail, Context};
use rune::Runtime;

/// create a new specification file
#[derive(clap::Args, Debug)]
pub struct Args {
    /// path to the root of the bundle directory
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// generate a configuration for a rootless container
    #[arg(long)]
    pub rootless: bool,
}

pub fn run(a: Args, _rt: &Runtime) -> anyhow::Result<()> {
    let path = a.bundle.join("config.json");
    if path.exists() {
        bail!("File {} exists. Remove it first", path.display());
    }
    let spec = rune::spec::default_spec(a.rootless)?;
    let data = serde_json::to_string_pretty(&spec)?;
    std::fs::write(&path, data).with_context(|| format!("write {}", path.display()))?;
    Ok(())
}
