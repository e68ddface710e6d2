//! P-384 ECDSA verification of a real SEV-SNP report with each available implementation
//! (per-core thread CPU time): aws-lc-rs with the key parsed per call (what `snp::check_signature`
//! did), aws-lc-rs with a pre-parsed key, ring, and the RustCrypto `p384` crate.
//!
//!     cargo run --release -p tee --example p384_speed [N]
#![allow(unsafe_code)]
// A measurement tool over committed inputs: a missing or bad vector should stop it loudly.
#![allow(clippy::unwrap_used)]

use x509_parser::prelude::FromDer;

fn cpu_now() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec into `ts`, a live local.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn time(name: &str, n: usize, mut f: impl FnMut() -> bool) {
    assert!(f(), "{name}: does not verify");
    let t0 = cpu_now();
    for _ in 0..n {
        assert!(f());
    }
    let us = (cpu_now() - t0) * 1e6 / n as f64;
    println!("{name:<36} {us:8.1} us  {:8.0}/s/core", 1e6 / us);
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|v| v.parse().ok()).unwrap_or(2000);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/tee/snp/");
    let raw = std::fs::read(format!("{dir}test-report.bin")).unwrap();
    let der = std::fs::read(format!("{dir}test-vcek.der")).unwrap();
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&der).unwrap();
    let sec1 = cert.public_key().subject_public_key.data.to_vec();
    let msg = &raw[..tee::snp::SIGNED_LEN];
    let sig = &raw[tee::snp::SIGNED_LEN..tee::snp::SIGNED_LEN + 144];
    let mut fixed = [0u8; 96];
    for i in 0..48 {
        fixed[i] = sig[47 - i];
        fixed[48 + i] = sig[72 + 47 - i];
    }
    println!("P-384 ECDSA-SHA384 verify of a SEV-SNP report (N={n})");
    time("tee::snp::check_signature", n, || tee::snp::check_signature(&raw, &sec1).is_ok());
    time("aws-lc-rs UnparsedPublicKey", n, || {
        aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED, &sec1)
            .verify(msg, &fixed)
            .is_ok()
    });
    let parsed =
        aws_lc_rs::signature::ParsedPublicKey::new(&aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED, &sec1).unwrap();
    time("aws-lc-rs ParsedPublicKey", n, || parsed.verify_sig(msg, &fixed).is_ok());
    time("aws-lc-rs parse only", n, || {
        aws_lc_rs::signature::ParsedPublicKey::new(&aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED, &sec1).is_ok()
    });
    time("ring 0.17", n, || {
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P384_SHA384_FIXED, &sec1)
            .verify(msg, &fixed)
            .is_ok()
    });
    {
        use p384::ecdsa::signature::Verifier;
        let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).unwrap();
        let s = p384::ecdsa::Signature::from_slice(&fixed).unwrap();
        time("p384 0.13 (RustCrypto)", n / 4, || vk.verify(msg, &s).is_ok());
    }
    time("sha384 of the signed part (aws-lc)", n * 10, || {
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA384, msg).as_ref().len() == 48
    });
}
