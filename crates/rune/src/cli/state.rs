use rune::Runtime;

/// output the state of a container
#[derive(clap::Args, Debug)]
pub struct Args {
    pub container_id: String,
}

pub fn run(a: Args, rt: &Runtime) -> anyhow::Result<()> {
    let s = rt.state(&a.container_id)?;
    println!("{}", serde_json::to_string_pretty(&s)?);
    Ok(())
}
