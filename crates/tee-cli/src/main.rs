//! `tee-cli`: produce evidence on this machine, or verify evidence offline.
//!
//!   tee-cli evidence --report-data HEX [--danger-software-tee] [--tpm-ak-cert FILE]
//!   tee-cli verify --tee T --evidence FILE (--report-data HEX | --danger-skip-report-data)
//!                  [--init-data HEX] [--collateral DIR] [--at TIME] [--tpm-ak-root FILE]...
//!                  [--danger-accept-software-tee] [--danger-accept-unendorsed-tpm]
//!   tee-cli parse --tee csv --evidence FILE      (decode without verifying; csv is parse-only)
//!
//! Logic lives in the `tee` library; this binary parses arguments and prints JSON. Diagnostics
//! (the library's `tracing` events, warnings about `--danger-*` flags) go to stderr; the level is
//! `warn` unless `RUST_LOG` says otherwise.

mod evidence;
mod parse;
mod verify;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "tee-cli", about = "TEE evidence and offline verification", version)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print evidence (JSON) from the detected TEE, bound to --report-data.
    Evidence(evidence::Args),
    /// Verify evidence; print claims (JSON) or the reason for rejection (exit 1).
    Verify(verify::Args),
    /// Decode evidence WITHOUT verifying it and print its fields (JSON). Only for TEEs this
    /// crate cannot verify (csv); the output says `"verified": false`.
    Parse(parse::Args),
}

fn main() {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
    let r = match cli.cmd {
        Cmd::Evidence(a) => evidence::run(a),
        Cmd::Verify(a) => verify::run(a),
        Cmd::Parse(a) => parse::run(a),
    };
    if let Err(e) = r {
        eprintln!("tee-cli: {e:#}");
        std::process::exit(1);
    }
}
