use std::path::PathBuf;

use anyhow::{bail, Context};
use rune::runtime::ExecOpts;
use rune::Runtime;

/// execute new process inside the container
#[derive(clap::Args, Debug)]
pub struct Args {
    /// path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// current working directory in the container
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// set environment variables
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// UID (format: <uid>[:<gid>])
    #[arg(short, long)]
    pub user: Option<String>,
    /// additional gids
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// path to the process.json
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// detach from the container's process
    #[arg(short, long)]
    pub detach: bool,
    /// specify the file to write the process id to
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// set the asm process label for the process commonly used with selinux
    #[arg(long)]
    pub process_label: Option<String>,
    /// set the apparmor profile for the process
    #[arg(long)]
    pub apparmor: Option<String>,
    /// set the no new privileges value for the process
    #[arg(long)]
    pub no_new_privs: bool,
    /// add a capability to the bounding set for the process
    #[arg(short, long = "cap")]
    pub cap: Vec<String>,
    /// pass N additional file descriptors to the container
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: i32,
    /// run the process in an (existing) sub-cgroup(s)
    #[arg(long)]
    pub cgroup: Option<String>,
    /// allow exec in a paused container
    #[arg(long)]
    pub ignore_paused: bool,
    pub container_id: String,
    /// command and arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

fn parse_user(s: &str) -> anyhow::Result<(u32, Option<u32>)> {
    let (u, g) = match s.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (s, None),
    };
    let uid = u.parse::<u32>().with_context(|| format!("invalid --user {s:?}: uid must be a number"))?;
    let gid = g
        .map(|g| g.parse::<u32>().with_context(|| format!("invalid --user {s:?}: gid must be a number")))
        .transpose()?;
    Ok((uid, gid))
}

pub fn run(a: Args, rt: &Runtime) -> anyhow::Result<i32> {
    if a.process.is_none() && a.command.is_empty() {
        bail!("exec: no command given and no --process file");
    }
    let user = a.user.as_deref().map(parse_user).transpose()?;
    if !a.detach {
        rune::executor::become_subreaper()?;
    }
    let o = ExecOpts {
        id: a.container_id,
        process: a.process,
        args: a.command,
        tty: a.tty,
        console_socket: a.console_socket,
        pid_file: a.pid_file,
        cwd: a.cwd,
        env: a.env,
        user,
        additional_gids: a.additional_gids,
        caps: a.cap,
        no_new_privs: a.no_new_privs,
        detach: a.detach,
        preserve_fds: a.preserve_fds,
        cgroup: a.cgroup,
        apparmor: a.apparmor,
        process_label: a.process_label,
        ignore_paused: a.ignore_paused,
    };
    Ok(rt.exec(&o)?)
}
