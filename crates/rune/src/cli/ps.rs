use anyhow::{bail, Context};
use rune::Runtime;

/// ps displays the processes running inside a container
#[derive(clap::Args, Debug)]
pub struct Args {
    /// select one of: table or json
    #[arg(short, long, default_value = "table")]
    pub format: String,
    pub container_id: String,
    /// options passed to ps (default -ef)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_options: Vec<String>,
}

pub fn run(a: Args, rt: &Runtime) -> anyhow::Result<()> {
    let pids = rt.ps(&a.container_id)?;
    match a.format.as_str() {
        "json" => println!("{}", serde_json::to_string(&pids)?),
        "table" => {
            let opts = if a.ps_options.is_empty() { vec!["-ef".to_string()] } else { a.ps_options };
            let out = std::process::Command::new("ps").args(&opts).output().context("run ps")?;
            if !out.status.success() {
                bail!("ps {}: {}", opts.join(" "), String::from_utf8_lossy(&out.stderr).trim());
            }
            let text = String::from_utf8_lossy(&out.stdout);
            let mut lines = text.lines();
            let header = lines.next().unwrap_or_default();
            let idx = header.split_whitespace().position(|h| h == "PID").context("ps output has no PID column")?;
            println!("{header}");
            for l in lines {
                if let Some(p) = l.split_whitespace().nth(idx).and_then(|p| p.parse::<i32>().ok()) {
                    if pids.contains(&p) {
                        println!("{l}");
                    }
                }
            }
        }
        f => bail!("invalid --format {f:?}: expected table or json"),
    }
    Ok(())
}
