use rune::Runtime;

/// executes the user defined process in a created container
#[derive(clap::Args, Debug)]
pub struct Args {
    pub container_id: String,
}

pub fn run(a: Args, rt: &Runtime) -> anyhow::Result<()> {
    Ok(rt.start(&a.container_id)?)
}
