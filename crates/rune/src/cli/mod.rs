//! Command line, one file per verb. Three groups: OCI standard verbs, runc extras, rune-only.
//! Flags are accepted before and after the container id (`create ID --bundle DIR`), and global
//! flags may also follow the verb.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use rune::logging::{Format, Logger};
use rune::Runtime;

// OCI standard verbs
mod create;
mod delete;
mod kill;
mod start;
mod state;
// runc extras
mod events;
mod exec;
mod features;
mod list;
mod pause;
mod ps;
mod resume;
mod run;
mod spec;
mod update;
// rune only
mod attest;
mod enclave_exec_proxy;

#[derive(Parser, Debug)]
#[command(name = "rune", about = "OCI runtime for plain and enclave containers (runc-compatible CLI)")]
#[command(disable_version_flag = true)]
pub struct Opts {
    /// enable debug logging
    #[arg(long, global = true)]
    pub debug: bool,
    /// set the log file to write rune logs to (default is '/dev/stderr')
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// set the log format ('text' (default), or 'json')
    #[arg(long, global = true, default_value = "text")]
    pub log_format: String,
    /// root directory for storage of container state (this should be located in tmpfs)
    #[arg(long, global = true, default_value = rune::runtime::DEFAULT_ROOT)]
    pub root: PathBuf,
    /// enable systemd cgroup support
    #[arg(long, global = true)]
    pub systemd_cgroup: bool,
    /// ignore cgroup permission errors ('true', 'false', or 'auto')
    #[arg(long, global = true, num_args = 0..=1, default_missing_value = "true", default_value = "auto")]
    pub rootless: String,
    /// path to the criu binary (accepted for runc compatibility; checkpoint is not supported)
    #[arg(long, global = true, hide = true)]
    pub criu: Option<PathBuf>,
    /// allow enclave runtimes (PALs) beneath DIR: ENCLAVE_RUNTIME_PATH / enclave.runtime.path must
    /// name a root-owned file beneath an allowed directory (repeatable; adds to pal_dirs of the
    /// config file, default /usr/lib/rune/pal and /usr/local/lib/rune/pal)
    #[arg(long = "pal-dir", value_name = "DIR", global = true)]
    pub pal_dirs: Vec<PathBuf>,
    /// rune's config file (default /etc/rune/config.toml; may be missing)
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// print the version
    #[arg(short = 'v', long)]
    pub version: bool,
    #[command(subcommand)]
    pub cmd: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    // --- OCI runtime command line (standard)
    Create(create::Args),
    Start(start::Args),
    State(state::Args),
    Kill(kill::Args),
    Delete(delete::Args),
    // --- runc extras
    Run(run::Args),
    Exec(exec::Args),
    List(list::Args),
    Ps(ps::Args),
    Pause(pause::Args),
    Resume(resume::Args),
    Update(update::Args),
    Events(events::Args),
    Spec(spec::Args),
    Features(features::Args),
    // --- rune only
    Attest(attest::Args),
    #[command(name = "enclave-exec-proxy", hide = true)]
    EnclaveExecProxy(enclave_exec_proxy::Args),
}

fn version() {
    println!("rune version {}", env!("CARGO_PKG_VERSION"));
    println!("spec: {}", oci_spec::runtime::VERSION);
}

/// Runs the command and returns the process exit status.
pub fn dispatch(opts: Opts) -> i32 {
    if opts.version {
        version();
        return 0;
    }
    let format = match opts.log_format.parse::<Format>() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("rune: {e}");
            return 1;
        }
    };
    let logger = match Logger::new(opts.log.as_deref(), format, opts.debug) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("rune: {e}");
            return 1;
        }
    };
    logger.install();
    let opts_rootless_explicit = opts.rootless == "true";
    let rootless = match opts.rootless.as_str() {
        "true" => true,
        "false" => false,
        "auto" => !nix::unistd::geteuid().is_root(),
        other => {
            report(&logger, &anyhow::anyhow!("invalid --rootless value {other:?}: expected true, false or auto"));
            return 1;
        }
    };
    let Some(cmd) = opts.cmd else {
        use clap::CommandFactory;
        let _ = Opts::command().print_help();
        return 0;
    };
    // The verbs that clone processes into containers run from a sealed clone of rune's binary,
    // so that no container process can write the host's (see `rune::exe`).
    if matches!(cmd, Cmd::Create(_) | Cmd::Run(_) | Cmd::Exec(_)) {
        if let Err(e) = rune::exe::reexec_sealed() {
            report(&logger, &anyhow::Error::new(e));
            return 1;
        }
    }
    // The config file is read only by the verbs that load PALs: a broken file must not stop
    // `delete` or `kill`.
    let pal_dirs = if matches!(cmd, Cmd::Create(_) | Cmd::Run(_)) {
        match rune::config::Config::load(opts.config.as_deref(), &opts.pal_dirs) {
            Ok(c) => c.pal_dirs,
            Err(e) => {
                report(&logger, &anyhow::Error::new(e));
                return 1;
            }
        }
    } else {
        enclave::PalDirs::default()
    };
    let rt = Runtime { root: opts.root.clone(), systemd_cgroup: opts.systemd_cgroup, rootless, pal_dirs };
    if matches!(cmd, Cmd::State(_) | Cmd::List(_) | Cmd::Ps(_) | Cmd::Events(_) | Cmd::Features(_)) {
        rune::signal::restore_default_sigpipe();
    }
    let res: anyhow::Result<i32> = match cmd {
        Cmd::Create(a) => create::run(a, &rt).map(|_| 0),
        Cmd::Start(a) => start::run(a, &rt).map(|_| 0),
        Cmd::State(a) => state::run(a, &rt).map(|_| 0),
        Cmd::Kill(a) => kill::run(a, &rt).map(|_| 0),
        Cmd::Delete(a) => delete::run(a, &rt).map(|_| 0),
        Cmd::Run(a) => run::run(a, &rt),
        Cmd::Exec(a) => exec::run(a, &rt),
        Cmd::List(a) => list::run(a, &rt).map(|_| 0),
        Cmd::Ps(a) => ps::run(a, &rt).map(|_| 0),
        Cmd::Pause(a) => pause::run(a, &rt).map(|_| 0),
        Cmd::Resume(a) => resume::run(a, &rt).map(|_| 0),
        Cmd::Update(a) => update::run(a, &rt).map(|_| 0),
        Cmd::Events(a) => events::run(a, &rt).map(|_| 0),
        Cmd::Spec(a) => spec::run(a, opts_rootless_explicit).map(|_| 0),
        Cmd::Features(a) => features::run(a).map(|_| 0),
        Cmd::Attest(a) => attest::run(a, &rt).map(|_| 0),
        Cmd::EnclaveExecProxy(a) => enclave_exec_proxy::run(a, &rt),
    };
    match res {
        Ok(code) => code,
        Err(e) => {
            report(&logger, &e);
            1
        }
    }
}

/// One line with the whole cause chain, to stderr and (when `--log` is a file) to the log.
fn report(logger: &Logger, e: &anyhow::Error) {
    // libcontainer's errors often repeat their source in their own message: drop repeats.
    let mut msg = String::new();
    for part in e.chain().map(|c| c.to_string()) {
        if msg.contains(part.as_str()) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&part);
    }
    if !logger.to_stderr() {
        logger.write(tracing::Level::ERROR, &msg);
    }
    eprintln!("rune: {msg}");
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        // Catches clashing flags (e.g. a verb redefining a global flag with another type).
        super::Opts::command().debug_assert();
    }

    #[test]
    fn flags_after_the_id() {
        use clap::Parser;
        let o = super::Opts::try_parse_from(["rune", "create", "ID", "--bundle", "/b", "--root", "/r"]).unwrap();
        assert_eq!(o.root, std::path::PathBuf::from("/r"));
        assert!(
            matches!(o.cmd, Some(super::Cmd::Create(ref c)) if c.container_id == "ID" && c.bundle.as_os_str() == "/b")
        );
        let o = super::Opts::try_parse_from(["rune", "spec", "--rootless"]).unwrap();
        assert_eq!(o.rootless, "true");
    }
}
