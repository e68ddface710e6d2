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
            if !e.use_stderr() {
                let _ = e.print(); // --help
                std::process::exit(0);
            }
            // One line naming the problem, as for every other failure.
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid command line");
            eprintln!("rune: {}", first.trim_start_matches("error: "));
            std::process::exit(1);
        }
    };
    std::process::exit(cli::dispatch(opts));
}
