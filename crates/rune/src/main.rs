//! `rune`: thin binary. Parses runc's command line, sets up logging, dispatches to `cli/<verb>.rs`,
//! and reports a failure the way runc does (one line on stderr, an `error` line in the `--log` file,
//! exit status 1).
mod cli;

use clap::Parser;

fn main() {
    let opts = match cli::Opts::try_parse() {
        Ok(o) => o,
        Err(e) => {
            // Unknown verb or flag: clap's message, exit 1 (2 for usage is clap's default; runc uses 1
            // for everything except --help/--version).
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    std::process::exit(cli::dispatch(opts));
}
