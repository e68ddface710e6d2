use rune::Runtime;

/// resumes all processes that have been previously paused
#[derive(clap::Args, Debug)]
pub struct Args {
    pub container_id: String,
}

pub fn run(a: Args, rt: &Runtime) -> anyhow::Result<()> {
    Ok(rt.resume(&a.container_id)?)
}
