//! Logging in runc's formats. containerd's runc shim and docker read the `--log` file after a failed
//! call and take the last line whose `level` is `error` (json format: `{"level","msg","time"}`), so
//! the final error of every failed command is written there too.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

impl std::str::FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            _ => Err(Error::LogFormat(s.to_string())),
        }
    }
}

enum Sink {
    Stderr,
    File(File),
}

/// Where log lines go. Cloneable handle so the binary can write the final error itself.
#[derive(Clone)]
pub struct Logger {
    sink: Arc<Mutex<Sink>>,
    format: Format,
    max: Option<Level>,
}

impl Logger {
    pub fn new(path: Option<&Path>, format: Format, debug: bool) -> Result<Self> {
        let sink = match path {
            Some(p) => Sink::File(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(Error::io(format!("open log file {}", p.display())))?,
            ),
            None => Sink::Stderr,
        };
        // Without --log, stderr carries only the final one-line error (printed by the binary)
        // unless --debug asks for more.
        let max = match (debug, path.is_some()) {
            (true, _) => Some(Level::DEBUG),
            (false, true) => Some(Level::ERROR),
            (false, false) => None,
        };
        Ok(Logger { sink: Arc::new(Mutex::new(sink)), format, max })
    }

    /// True when log lines go to stderr (so the binary need not print the error twice).
    pub fn to_stderr(&self) -> bool {
        matches!(self.sink.lock().map(|s| matches!(*s, Sink::Stderr)), Ok(true))
    }

    /// Installs this logger as the process-wide tracing subscriber (for libcontainer's events).
    pub fn install(&self) {
        let _ = tracing_subscriber::registry().with(self.clone()).try_init();
    }

    pub fn write(&self, level: Level, msg: &str) {
        let line = format_line(self.format, level, msg);
        if let Ok(mut s) = self.sink.lock() {
            let _ = match &mut *s {
                Sink::Stderr => std::io::stderr().write_all(line.as_bytes()),
                Sink::File(f) => f.write_all(line.as_bytes()),
            };
        }
    }
}

fn level_str(l: Level) -> &'static str {
    match l {
        Level::ERROR => "error",
        Level::WARN => "warning",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

pub fn format_line(format: Format, level: Level, msg: &str) -> String {
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    match format {
        Format::Json => {
            let v = serde_json::json!({"level": level_str(level), "msg": msg, "time": time});
            format!("{v}\n")
        }
        Format::Text => format!("time=\"{time}\" level={} msg={:?}\n", level_str(level), msg),
    }
}

struct MsgVisitor(String);

impl Visit for MsgVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for Logger {
    fn enabled(&self, meta: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        self.max.is_some_and(|m| *meta.level() <= m)
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let level = *event.metadata().level();
        if self.max.is_none_or(|m| level > m) {
            return;
        }
        let mut v = MsgVisitor(String::new());
        event.record(&mut v);
        self.write(level, v.0.trim_start());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn json_line_is_what_containerd_parses() {
        let l = format_line(Format::Json, Level::ERROR, "boom \"x\"");
        let v: serde_json::Value = serde_json::from_str(l.trim()).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "boom \"x\"");
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
    }
}
