use rune::Runtime;

/// create and run a container
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub create: super::create::Args,
    /// detach from the container's process
    #[arg(short, long)]
    pub detach: bool,
    /// do not delete the container after it exits
    #[arg(long)]
    pub keep: bool,
    /// disable the use of the subreaper used to reap reparented processes
    #[arg(long)]
    pub no_subreaper: bool,
}

pub fn run(a: Args, rt: &Runtime) -> anyhow::Result<i32> {
    if !a.detach {
        rune::executor::become_subreaper()?;
    }
    Ok(rt.run(&a.create.opts(), a.detach, a.keep)?)
}
