use std::io::Write;

use rune::Runtime;

/// lists containers started by rune with the given root
#[derive(clap::Args, Debug)]
pub struct Args {
    /// select one of: table or json
    #[arg(short, long, default_value = "table")]
    pub format: String,
    /// display only container IDs
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(a: Args, rt: &Runtime) -> anyhow::Result<()> {
    let states = rt.list()?;
    let mut out = std::io::stdout().lock();
    if a.quiet {
        for s in &states {
            writeln!(out, "{}", s.id)?;
        }
        return Ok(());
    }
    match a.format.as_str() {
        "json" => writeln!(out, "{}", serde_json::to_string(&states)?)?,
        "table" => {
            writeln!(out, "{:<12} {:<8} {:<10} {:<40} {:<30} OWNER", "ID", "PID", "STATUS", "BUNDLE", "CREATED")?;
            for s in &states {
                writeln!(
                    out,
                    "{:<12} {:<8} {:<10} {:<40} {:<30} {}",
                    s.id,
                    s.pid,
                    s.status,
                    s.bundle.display(),
                    s.created,
                    s.owner
                )?;
            }
        }
        f => anyhow::bail!("invalid --format {f:?}: expected table or json"),
    }
    Ok(())
}
