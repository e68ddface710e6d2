use std::io::Write;

use anyhow::Context;
use rune::Runtime;

/// display container events such as OOM notifications, cpu, memory, and IO usage statistics
#[derive(clap::Args, Debug)]
pub struct Args {
    /// set the stats collection interval
    #[arg(long, default_value = "5s")]
    pub interval: String,
    /// display the container's stats then exit
    #[arg(long)]
    pub stats: bool,
    pub container_id: String,
}

fn parse_secs(s: &str) -> anyhow::Result<u32> {
    let (num, mul) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3600)
    } else {
        (s, 1)
    };
    let v: u32 = num.parse().with_context(|| format!("invalid --interval {s:?}"))?;
    Ok(if mul == 0 { v.div_ceil(1000).max(1) } else { v.saturating_mul(mul).max(1) })
}

pub fn run(a: Args, rt: &Runtime) -> anyhow::Result<()> {
    let secs = parse_secs(&a.interval)?;
    let mut out = std::io::stdout().lock();
    rt.events(&a.container_id, std::time::Duration::from_secs(secs.into()), a.stats, |ev| {
        // A closed pipe (e.g. `| head`) ends the stream quietly.
        writeln!(out, "{ev}").and_then(|_| out.flush()).is_ok()
    })?;
    Ok(())
}
