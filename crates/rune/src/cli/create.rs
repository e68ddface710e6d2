use std::path::PathBuf;

use rune::runtime::CreateOpts;
use rune::Runtime;

/// create a container
#[derive(clap::Args, Debug)]
pub struct Args {
    /// path to the root of the bundle directory
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// specify the file to write the process id to
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// do not use pivot root to jail process inside rootfs
    #[arg(long)]
    pub no_pivot: bool,
    /// do not create a new session keyring for the container
    #[arg(long)]
    pub no_new_keyring: bool,
    /// pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: i32,
    pub container_id: String,
}

impl Args {
    pub fn opts(&self) -> CreateOpts {
        CreateOpts {
            id: self.container_id.clone(),
            bundle: self.bundle.clone(),
            console_socket: self.console_socket.clone(),
            pid_file: self.pid_file.clone(),
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds,
        }
    }
}

pub fn run(a: Args, rt: &Runtime) -> anyhow::Result<()> {
    rt.create(&a.opts(), true)?;
    Ok(())
}
