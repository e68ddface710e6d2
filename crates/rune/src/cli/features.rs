/// show the enabled features
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_a: Args) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(&rune::features::features()?)?);
    Ok(())
}
