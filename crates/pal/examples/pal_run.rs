//! `pal_run`: load a PAL and run one payload through it, the way rune's init-runelet does
//! (open → load → pal_init → run → pal_destroy), for trying PALs by hand and for bench/pal.sh.
//!
//! usage: pal_run <pal.so> [--args A] [--log-level L] [--snapshot] [--env K=V]... -- argv...
//! Exits with the payload's exit value; PAL errors print to stderr and exit 125.

use std::path::PathBuf;

use pal::{InitOptions, PalFile, Process, Stdio};

fn main() {
    match run() {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("pal_run: {e}");
            std::process::exit(125);
        }
    }
}

fn run() -> Result<i32, String> {
    let mut it = std::env::args().skip(1);
    let so = PathBuf::from(it.next().ok_or("usage: pal_run <pal.so> [options] -- argv...")?);
    let (mut args, mut level, mut snapshot, mut env) = (String::new(), "info".to_string(), false, Vec::new());
    let mut argv = Vec::new();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--args" => args = it.next().ok_or("--args needs a value")?,
            "--log-level" => level = it.next().ok_or("--log-level needs a value")?,
            "--snapshot" => snapshot = true,
            "--env" => env.push(it.next().ok_or("--env needs K=V")?),
            "--" => {
                argv.extend(it.by_ref());
                break;
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    if argv.is_empty() {
        return Err("no payload argv after --".into());
    }
    let file = if snapshot { PalFile::snapshot(&so) } else { PalFile::open(&so) }.map_err(|e| e.to_string())?;
    let pal = file.load().map_err(|e| e.to_string())?;
    pal.init(&InitOptions { args, log_level: level, prepared: None }).map_err(|e| e.to_string())?;
    let code = pal.run(&Process::new(argv, env, Stdio::INHERIT)).map_err(|e| e.to_string());
    let destroyed = pal.destroy().map_err(|e| e.to_string());
    let code = code?;
    destroyed?;
    Ok(code)
}
