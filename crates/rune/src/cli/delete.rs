use rune::Runtime;

/// delete any resources held by the container often used with detached containers
#[derive(clap::Args, Debug)]
pub struct Args {
    /// forcibly delete the container if it is still running (uses SIGKILL)
    #[arg(short, long)]
    pub force: bool,
    pub container_id: String,
}

pub fn run(a: Args, rt: &Runtime) -> anyhow::Result<()> {
    Ok(rt.delete(&a.container_id, a.force)?)
}
