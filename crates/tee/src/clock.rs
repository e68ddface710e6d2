//! The one time seam of the workspace: verifiers, RA-TLS certificates, the KBS (sessions, tokens,
//! reference-value expiry) and the EAA services read the time only through [`Clock`], so tests pin or
//! step it and run in milliseconds with the same result every run.
//!
//! Binaries construct [`SystemClock`] (or [`FixedClock`] for `--at`); library code never calls
//! `SystemTime::now()` itself.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Source of the current time.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// The current time in whole seconds since the Unix epoch (0 for a time before 1970).
    fn now_unix(&self) -> u64 {
        self.now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }
}

/// A pinned time in Unix seconds: tests, and `--at` on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.0)
    }

    fn now_unix(&self) -> u64 {
        self.0
    }
}

/// The system clock, for production services.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told to, with millisecond steps: expiry and replay tests.
/// Compiled for tests and with the `testing` feature only, so no release service can run on it.
#[cfg(any(test, feature = "testing"))]
#[derive(Debug)]
pub struct ManualClock(std::sync::atomic::AtomicU64);

#[cfg(any(test, feature = "testing"))]
impl ManualClock {
    /// Starts at `secs` Unix seconds.
    pub fn at_unix(secs: u64) -> Self {
        ManualClock(std::sync::atomic::AtomicU64::new(secs.saturating_mul(1000)))
    }

    /// Moves the clock forward by `d` (millisecond resolution).
    pub fn advance(&self, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self.0.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(any(test, feature = "testing"))]
impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_is_unix_seconds() {
        let c = FixedClock(1_800_000_000);
        assert_eq!(c.now_unix(), 1_800_000_000);
        assert_eq!(c.now(), UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::at_unix(100);
        assert_eq!(c.now_unix(), 100);
        c.advance(Duration::from_millis(999));
        assert_eq!(c.now_unix(), 100);
        assert_eq!(c.now(), UNIX_EPOCH + Duration::from_millis(100_999));
        c.advance(Duration::from_millis(1));
        assert_eq!(c.now_unix(), 101);
    }

    #[test]
    fn system_clock_is_after_2024() {
        // 2024-01-01: a sanity bound, not a pinned time
        assert!(SystemClock.now_unix() > 1_704_067_200);
    }
}
