//! What the tools print (the C sample's claim listing) and how they log.

use std::sync::Arc;
use tracing_subscriber::EnvFilter;

use rats_tls::{PeerAttestation, Policy};

/// The claims as the C sample's verification callback prints them, plus a line for the verified
/// evidence's claims.
pub fn claims_report(p: &PeerAttestation) -> String {
    let mut out = format!("verify_callback called, claims_size {}, format {:?}\n", p.custom_claims.len(), p.format);
    for (i, (k, v)) in p.custom_claims.iter().enumerate() {
        out.push_str(&format!(
            "custom_claims[{i}] -> name: '{k}' value_size: {} value: '{}'\n",
            v.len(),
            String::from_utf8_lossy(v)
        ));
    }
    if let Some(c) = &p.tee_claims {
        out.push_str(&format!(
            "evidence: tee={} hardware={} fields={}\n",
            c.tee,
            c.hardware,
            serde_json::to_string(&c.fields).unwrap_or_default()
        ));
    }
    out
}

/// A policy that accepts every verified peer and prints its claims to stdout (the sample tools'
/// verification callback).
pub fn printing_policy() -> Arc<dyn Policy> {
    Arc::new(|p: &PeerAttestation| {
        print!("{}", claims_report(p));
        Ok(())
    })
}

/// Installs the process's `tracing` subscriber (stderr). `RUST_LOG` wins when set; otherwise the
/// level is the C tools' `-l` name: debug, info, warn, error, fatal (= error), off; anything else is
/// info. Records of crates that still use `log` (rustls) are forwarded.
pub fn init_tracing(level: &str) {
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
    // A second call (a subscriber already installed) keeps the first one.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
    if let Some(e) = bad_env {
        tracing::warn!("RUST_LOG ignored ({e}); logging at {level}");
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rats_tls::EvidenceFormat;

    use super::*;

    /// The e2e suites grep these lines (and the C sample prints the first three the same way).
    #[test]
    fn claims_report_lines() {
        let p = PeerAttestation {
            format: EvidenceFormat::Dice { tag: 60000 },
            tee_claims: Some(tee::Claims {
                tee: tee::Tee::Sgx,
                hardware: false,
                report_data: vec![0; 64],
                init_data: None,
                fields: BTreeMap::from([("fakeev".to_string(), serde_json::json!(true))]),
            }),
            custom_claims: BTreeMap::from([("key_0".to_string(), b"value_0".to_vec())]),
            spki_sha256: [0; 32],
        };
        assert_eq!(
            claims_report(&p),
            "verify_callback called, claims_size 1, format Dice { tag: 60000 }\n\
             custom_claims[0] -> name: 'key_0' value_size: 7 value: 'value_0'\n\
             evidence: tee=sgx hardware=false fields={\"fakeev\":true}\n"
        );
    }
}
