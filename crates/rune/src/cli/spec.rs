use std::path::PathBuf;

use anyhow::{bail, Context};

/// create a new specification file
#[derive(clap::Args, Debug)]
pub struct Args {
    /// path to the root of the bundle directory
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
}

/// `rootless` is the global `--rootless` flag given explicitly (`rune spec --rootless`).
pub fn run(a: Args, rootless: bool) -> anyhow::Result<()> {
    let path = a.bundle.join("config.json");
    if path.exists() {
        bail!("File {} exists. Remove it first", path.display());
    }
    let spec = rune::spec::default_spec(rootless)?;
    let data = serde_json::to_string_pretty(&spec)?;
    std::fs::write(&path, data).with_context(|| format!("write {}", path.display()))?;
    Ok(())
}
