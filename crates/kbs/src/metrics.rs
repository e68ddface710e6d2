//! Prometheus text-format counters (hand-rolled: a few atomics do not need a metrics stack).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Metrics {
    pub auth_requests: AtomicU64,
    pub attest_success: AtomicU64,
    pub attest_failure: AtomicU64,
    pub resource_served: AtomicU64,
    pub resource_denied: AtomicU64,
    pub resource_errors: AtomicU64,
    pub admin_ok: AtomicU64,
    pub admin_refused: AtomicU64,
    pub as_requests: AtomicU64,
}

pub fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    pub fn render(&self, active_sessions: usize) -> String {
        let mut s = String::new();
        let mut c = |name: &str, help: &str, kind: &str, v: u64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        c("kbs_auth_requests_total", "RCAR auth requests", "counter", g(&self.auth_requests));
        c("kbs_attestation_successes_total", "accepted attestations", "counter", g(&self.attest_success));
        c("kbs_attestation_failures_total", "refused attestations", "counter", g(&self.attest_failure));
        c("kbs_resources_served_total", "resources released", "counter", g(&self.resource_served));
        c(
            "kbs_resources_denied_total",
            "resource requests denied by policy or authentication",
            "counter",
            g(&self.resource_denied),
        );
        c("kbs_resource_errors_total", "resource requests that failed otherwise", "counter", g(&self.resource_errors));
        c("kbs_admin_requests_total", "authorised admin requests", "counter", g(&self.admin_ok));
        c("kbs_admin_refused_total", "refused admin requests", "counter", g(&self.admin_refused));
        c("kbs_as_requests_total", "attestation-service API requests", "counter", g(&self.as_requests));
        c("kbs_active_sessions", "open RCAR sessions", "gauge", active_sessions as u64);
        s
    }
}
