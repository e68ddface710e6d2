use rune::Runtime;

/// pause suspends all processes inside the container
#[derive(clap::Args, Debug)]
pub struct Args {
    pub container_id: String,
}

pub fn run(a: Args, rt: &Runtime) -> anyhow::Result<()> {
    Ok(rt.pause(&a.container_id)?)
}
