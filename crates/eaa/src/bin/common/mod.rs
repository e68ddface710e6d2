//! What the eaa binaries share: their log set-up.

use tracing_subscriber::EnvFilter;

/// Logs to stderr through `tracing`. `RUST_LOG` (env-filter syntax, e.g. `eaa=debug,rustls=warn`)
/// wins when set; otherwise `level` applies, named as the C tools' `-l` option (`debug`, `info`,
/// `warn`, `error`, `fatal` (= error), `off`; anything else is `info`). `log` records of rats-tls and
/// rustls are carried over.
pub fn init_logging(level: &str) {
    let level = match level.to_ascii_lowercase().as_str() {
        l @ ("trace" | "debug" | "info" | "warn" | "error" | "off") => l.to_string(),
        "fatal" => "error".to_string(),
        _ => "info".to_string(),
    };
    let from_env = std::env::var_os(EnvFilter::DEFAULT_ENV).map(|_| EnvFilter::try_from_default_env());
    let (filter, bad_env) = match from_env {
        Some(Ok(f)) => (f, None),
        Some(Err(e)) => (EnvFilter::new(&level), Some(e)),
        None => (EnvFilter::new(&level), None),
    };
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
    if let Some(e) = bad_env {
        tracing::warn!("RUST_LOG ignored ({e}); logging at {level}");
    }
}
