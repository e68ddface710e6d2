//! `kbs-client`: fetch a resource through the full RCAR flow, and administer a KBS.

mod cli;

use anyhow::Result;
use clap::Parser;

fn main() -> Result<()> {
    let args = cli::Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(cli::run(args))
}
