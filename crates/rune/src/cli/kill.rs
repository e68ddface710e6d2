use rune::Runtime;

/// kill sends the specified signal (default: SIGTERM) to the container's init process
#[derive(clap::Args, Debug)]
pub struct Args {
    /// send the specified signal to all processes inside the container
    #[arg(short, long)]
    pub all: bool,
    pub container_id: String,
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

pub fn run(a: Args, rt: &Runtime) -> anyhow::Result<()> {
    let sig = rune::signal::parse(&a.signal)?;
    Ok(rt.kill(&a.container_id, sig, a.all)?)
}
