//! Verification time is injected: verifiers never read the wall clock themselves.

/// Source of the verification time (unix seconds).
pub trait Clock: Send + Sync {
    fn now_unix(&self) -> u64;
}

/// A pinned time: tests, and `tee-cli verify --at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn now_unix(&self) -> u64 {
        self.0
    }
}

/// The system clock, for production services.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }
}
