#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Mutation testing of every parser: at least 1,000,000 mutated / truncated inputs per parser
//! (override with TEE_MUTANTS), seeded from the real vectors, zero panics allowed.
//!
//! Parsing only (no signature verification) so the whole run fits in make-test time; the full
//! verifiers are additionally run on a smaller share of mutants (`verify_*` targets) because
//! they parse before checking signatures.
mod common;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use common::*;
use tee::{Expected, Tee};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Applies 1..=4 random edits: bit flip, byte set, interesting value, truncation, duplication,
/// deletion. For text inputs, edits favour structural characters.
fn mutate(rng: &mut Rng, seed: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(seed);
    let edits = 1 + rng.below(4);
    for _ in 0..edits {
        if out.is_empty() {
            out.push(rng.next() as u8);
            continue;
        }
        let i = rng.below(out.len());
        match rng.below(10) {
            0..=2 => out[i] ^= 1 << rng.below(8),
            3 => out[i] = rng.next() as u8,
            4 => out[i] = [0u8, 0xff, 0x7f, 0x80, b'"', b'{', b'[', b'0', b'-', b'9'][rng.below(10)],
            5 => out.truncate(i),
            6 => {
                let n = rng.below(64).min(out.len() - i);
                let s: Vec<u8> = out[i..i + n].to_vec();
                let j = rng.below(out.len());
                out.splice(j..j, s);
            }
            7 => {
                let n = rng.below(16).min(out.len() - i);
                out.drain(i..i + n);
            }
            8 => {
                // Length-like fields: set 4 bytes to a big little-endian number.
                for (k, b) in [0xffu8, 0xff, 0xff, 0x7f].iter().enumerate() {
                    if let Some(x) = out.get_mut(i + k) {
                        *x = *b;
                    }
                }
            }
            _ => {
                let k = rng.below(out.len());
                out.swap(i, k);
            }
        }
    }
}

type Target = (&'static str, Vec<Vec<u8>>, Box<dyn Fn(&[u8]) + Send + Sync>, u64);

fn targets(n: u64) -> Vec<Target> {
    let s = store();
    let snp = Arc::new(tee::snp::SnpContext::default());
    let sgx_q = read("dcap/sgx_quote_v3.bin");
    let tdx4 = read("dcap/tdx_quote_v4.bin");
    let tdx5 = read("dcap/tdx_quote_v5.bin");
    let snp_raw = read("snp/test-report.bin");
    let vcek = read("snp/test-vcek.der");
    let vlek = read("snp/test-vlek.der");
    let snp_json = tee::snp::evidence_json(&snp_raw, Some((&vcek, tee::snp::VekKind::Vcek))).unwrap();
    let tpm_json = read("tpm/tpm_evidence.json");
    let tpm_msg = tee::tpm::decode_evidence(&tpm_json).unwrap().quote.message;
    let cert = |f: &str| tee::tpm::certs::roots_from_certs(Tee::Tpm, &read(f)).unwrap().remove(0);
    let (ak_leaf, ak_ca) = (cert("tpm/test-ak-cert.pem"), cert("tpm/test-ak-ca-intermediate.pem"));
    let ak_roots = vec![cert("tpm/test-ak-ca-root.pem")];
    let ak_key = tee::tpm::RsaKey::from_spki_der(Tee::Tpm, &read("tpm/test-ak-spki.der")).unwrap();
    assert!(tee::tpm::certs::verify_ak_chain(
        Tee::Tpm,
        &[ak_leaf.clone(), ak_ca.clone()],
        &ak_roots,
        &ak_key,
        1_811_808_000
    )
    .is_ok());
    let az1 = read("az-snp-vtpm/evidence-v1.json");
    let hcl = tee::az_snp_vtpm::decode_evidence(&az1).unwrap().2;
    let b64 = |b: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(b)
    };
    let sgx_json = serde_json::to_vec(&tee::sgx::SgxEvidence { quote: b64(&sgx_q) }).unwrap();
    let tdx_json = serde_json::to_vec(&tee::tdx::TdxEvidence {
        cc_eventlog: Some(b64(&read("other/CCEL_data")[..512])),
        quote: b64(&tdx4),
    })
    .unwrap();
    let sample = tee::sample::SampleAttester::new().with_measurement("ab").evidence(&[1; 32]).unwrap().bytes;
    let coll = read("dcap/tdx_v4_collateral.json");
    let csv_json = read("other/csv_evidence.json");
    let csv_raw: Vec<u8> = serde_json::from_slice::<serde_json::Value>(&csv_json).unwrap()["attestation_report"]
        ["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_u64().unwrap() as u8)
        .collect();
    let nv_report = |f: &str| hex::decode(String::from_utf8(read(&format!("nvidia/{f}"))).unwrap().trim()).unwrap();
    let nv_hopper = nv_report("hopperAttestationReport.txt");
    let nv_coco = nv_report("hopper_coco_report1.txt");
    let nv_bw = nv_report("blackwellAttestationReport.txt");
    let nv_hchain = read("nvidia/hopper_cert_chain_case1.txt");
    let nv_bchain = read("nvidia/blackwell_cert_chain_case1.txt");
    let nv_split = |pem: &[u8]| tee::nvidia::certs::split_chain(pem).unwrap();
    let nv_leaves = vec![nv_split(&nv_hchain)[0].clone(), nv_split(&nv_bchain)[0].clone()];
    let nv_chain_der: Vec<u8> = nv_split(&nv_hchain).concat();
    let nv_json = tee::nvidia::evidence_json(&[(tee::nvidia::Arch::Hopper, &nv_hopper, &nv_hchain)]);
    let nv_hchain_v = nv_split(&nv_hchain);
    let nv_roots = tee::nvidia::NvidiaRoots::builtin();
    let nv_roots2 = nv_roots.clone();
    let s1 = s.clone();
    let snp1 = snp.clone();
    let aztdx1 = read("az-tdx-vtpm/evidence-v1.json");
    let aztdx0 = read("az-tdx-vtpm/evidence-v0.json");
    let aztdx_hcl = read("az-tdx-vtpm/hcl-report.bin");
    let aztdx_store = Arc::new(tee::dcap::CollateralStore::new());
    aztdx_store.insert_json(Tee::AzTdxVtpm, &read("az-tdx-vtpm/tdx_00806F050000_collateral.json")).unwrap();
    let aztdx_verifier =
        tee::az_tdx_vtpm::AzTdxVtpmVerifier::new(aztdx_store, Arc::new(tee::clock::FixedClock(1_761_955_200)));
    use tee::Attester;
    vec![
        (
            "dcap quote (SGX v3, TDX v4, v5)",
            vec![
                sgx_q.clone(),
                tdx4.clone(),
                tdx5,
                read("other/tdx_quote_4.dat"),
                read("other/tdx_quote_5.dat"),
                read("other/occlum_quote.dat"),
            ],
            Box::new(|b: &[u8]| {
                if let Ok(q) = tee::dcap::parse_quote(Tee::Tdx, b) {
                    // PCK certificate chain -> FMSPC (X.509 + Intel extension parsing) on a share.
                    if b.len().is_multiple_of(8) {
                        let _ = tee::dcap::collateral_key_for(Tee::Tdx, &q);
                    }
                }
            }),
            n,
        ),
        (
            "snp report (raw)",
            vec![snp_raw.clone(), read("snp/test-vlek-report.bin")],
            Box::new(|b: &[u8]| {
                let _ = tee::snp::parse_report(b);
            }),
            n,
        ),
        (
            "snp evidence JSON",
            vec![snp_json],
            Box::new(|b: &[u8]| {
                let _ = tee::snp::decode_evidence(b);
            }),
            n,
        ),
        (
            "x509 VCEK/VLEK certificate",
            vec![vcek.clone(), vlek],
            Box::new(|b: &[u8]| {
                let _ = tee::snp::certs::inspect_vek(b);
            }),
            n,
        ),
        (
            "tpm TPMS_ATTEST",
            vec![tpm_msg],
            Box::new(|b: &[u8]| {
                let _ = tee::tpm::parse_quote_info(Tee::Tpm, b);
                let _ = tee::tpm::parse_signature(Tee::Tpm, b);
            }),
            n,
        ),
        (
            "tpm evidence JSON",
            vec![tpm_json],
            Box::new(|b: &[u8]| {
                let _ = tee::tpm::decode_evidence(b);
            }),
            n,
        ),
        (
            "verify: tpm AK certificate chain (AK certificate, issuing CA)",
            vec![ak_leaf.clone(), ak_ca.clone()],
            Box::new(move |b: &[u8]| {
                let _ = tee::tpm::certs::verify_ak_chain(
                    Tee::Tpm,
                    &[b.to_vec(), ak_ca.clone()],
                    &ak_roots,
                    &ak_key,
                    1_811_808_000,
                );
                let _ = tee::tpm::certs::verify_ak_chain(
                    Tee::Tpm,
                    &[ak_leaf.clone(), b.to_vec()],
                    &ak_roots,
                    &ak_key,
                    1_811_808_000,
                );
            }),
            n / 20,
        ),
        (
            "azure HCL report",
            vec![hcl],
            Box::new(|b: &[u8]| {
                let _ = tee::az_snp_vtpm::hcl::parse(Tee::AzSnpVtpm, b);
            }),
            n,
        ),
        (
            "az-snp-vtpm evidence JSON",
            vec![az1, read("az-snp-vtpm/evidence-genoa.json")],
            Box::new(|b: &[u8]| {
                let _ = tee::az_snp_vtpm::decode_evidence(b);
            }),
            n,
        ),
        (
            "az-tdx-vtpm evidence JSON (v1)",
            vec![aztdx1.clone()],
            Box::new(|b: &[u8]| {
                if let Ok(ev) = tee::az_tdx_vtpm::decode_evidence(b) {
                    let _ = tee::az_tdx_vtpm::parse_hcl(&ev.hcl_report);
                    let _ = tee::tpm::parse_quote_info(Tee::AzTdxVtpm, &ev.tpm_quote.message);
                }
            }),
            n,
        ),
        // v0 is 26 kB of JSON integer arrays (the CSV case again): a tenth of the count.
        (
            "az-tdx-vtpm evidence JSON (v0 byte arrays)",
            vec![aztdx0],
            Box::new(|b: &[u8]| {
                let _ = tee::az_tdx_vtpm::decode_evidence(b);
            }),
            n / 10,
        ),
        (
            "azure HCL report (TDX) + variable data",
            vec![aztdx_hcl],
            Box::new(|b: &[u8]| {
                if let Ok(h) = tee::az_tdx_vtpm::parse_hcl(b) {
                    let _ = tee::azure_vtpm::ak_from_var_data(Tee::AzTdxVtpm, h.var_data);
                }
            }),
            n,
        ),
        (
            "sgx/tdx/sample evidence JSON",
            vec![sgx_json, tdx_json, sample],
            Box::new(|b: &[u8]| {
                let _ = tee::sgx::quote_from_evidence(b);
                let _ = tee::tdx::decode_evidence(b);
                let _ = tee::Verifier::verify(
                    &tee::sample::SampleVerifier::new(tee::danger::AcceptSoftwareTee),
                    b,
                    &Expected::unbound(tee::danger::SkipReportDataCheck),
                );
            }),
            n,
        ),
        (
            "cca token (CBOR/COSE)",
            vec![read("other/cca-example-token.cbor")],
            Box::new(|b: &[u8]| {
                if let Ok(t) = tee::cca::parse_token(b) {
                    let _ = tee::cca::cose::decode_value(&t.realm.payload, "realm");
                }
            }),
            n,
        ),
        (
            "csv attestation report (v1 raw)",
            vec![csv_raw.clone()],
            Box::new(|b: &[u8]| {
                // Mutated data as v1, and as v2 (other offsets, no anonce).
                let _ = tee::csv::report::parse(tee::csv::Version::V1, b);
                let _ = tee::csv::report::parse(tee::csv::Version::V2, b);
                let _ = tee::csv::report::parse_cert(b.get(336..336 + 2084).unwrap_or(b));
            }),
            n,
        ),
        // The CSV JSON is 14 kB of integer arrays (~10x the cost of the other JSON seeds per
        // mutant); its hand-written part, the binary report / certificate parser, gets the full
        // count above, the serde wrapper a tenth.
        (
            "csv evidence JSON",
            vec![csv_json],
            Box::new(|b: &[u8]| {
                if let Ok(e) = tee::csv::parse_evidence(b) {
                    let _ = tee::csv::fields(&e);
                }
            }),
            n / 10,
        ),
        (
            "nvidia SPDM report",
            vec![nv_hopper.clone(), nv_coco, nv_bw],
            Box::new(|b: &[u8]| {
                if let Ok(r) = tee::nvidia::parse_report(b) {
                    let _ = tee::nvidia::opaque::fields(&r.response.opaque);
                }
            }),
            n,
        ),
        (
            "nvidia leaf certificate (FWID, DiceTcbInfo)",
            nv_leaves,
            Box::new(|b: &[u8]| {
                let _ = tee::nvidia::certs::leaf_fwid(b, tee::nvidia::Arch::Hopper);
                let _ = tee::nvidia::certs::leaf_fwid(b, tee::nvidia::Arch::Blackwell);
            }),
            n,
        ),
        // The evidence JSON is 12 kB (hex report + base64 PEM), as the CSV JSON a tenth.
        (
            "nvidia evidence JSON",
            vec![nv_json],
            Box::new(|b: &[u8]| {
                let _ = tee::nvidia::decode_evidence(b);
            }),
            n / 10,
        ),
        (
            "dcap collateral JSON",
            vec![coll],
            Box::new(|b: &[u8]| {
                if let Ok(c) = tee::dcap::Collateral::from_json(Tee::Tdx, b) {
                    let _ = c.validity();
                }
            }),
            n,
        ),
        // Full verifiers (signature checks included) on a share of mutants.
        (
            "verify: SNP raw report + VCEK",
            vec![snp_raw],
            Box::new(move |b: &[u8]| {
                let _ = tee::snp::verify_raw_report(
                    b,
                    Some(&vcek),
                    &Expected::unbound(tee::danger::SkipReportDataCheck),
                    &snp1,
                    1_750_809_600,
                );
            }),
            n / 50,
        ),
        (
            "verify: CSV report SM2 signature",
            vec![csv_raw.clone()],
            Box::new(|b: &[u8]| {
                if let Ok(r) = tee::csv::report::parse(tee::csv::Version::V1, b) {
                    let _ = tee::csv::verify_report_signature(&r, &r.signer_pek);
                }
            }),
            n / 50,
        ),
        (
            "verify: az-tdx-vtpm evidence (TD quote + HCL + TPM quote)",
            vec![aztdx1],
            Box::new(move |b: &[u8]| {
                let _ = tee::Verifier::verify(&aztdx_verifier, b, &Expected::new(b"challenge"));
            }),
            n / 1000,
        ),
        // Chain verification (up to 5 P-384 signatures) and full report verification.
        (
            "verify: NVIDIA certificate chain (DER)",
            vec![nv_chain_der],
            Box::new(move |b: &[u8]| {
                if let Ok(c) = tee::nvidia::certs::split_chain(b) {
                    let _ = tee::nvidia::certs::verify_chain(&c, &nv_roots, tee::nvidia::Arch::Hopper, 1_767_225_600);
                }
            }),
            n / 200,
        ),
        (
            "verify: NVIDIA report + chain",
            vec![nv_hopper],
            Box::new(move |b: &[u8]| {
                let _ =
                    tee::nvidia::verify_device(tee::nvidia::Arch::Hopper, b, &nv_hchain_v, &nv_roots2, 1_767_225_600);
            }),
            n / 200,
        ),
        (
            "verify: SGX/TDX quote",
            vec![sgx_q, tdx4],
            Box::new(move |b: &[u8]| {
                let _ = tee::sgx::verify_raw_quote(
                    b,
                    &Expected::unbound(tee::danger::SkipReportDataCheck),
                    &s1,
                    1_750_809_600,
                );
                let _ = tee::tdx::verify_raw_quote(
                    b,
                    &Expected::unbound(tee::danger::SkipReportDataCheck),
                    &s1,
                    1_750_809_600,
                );
            }),
            n / 1000,
        ),
    ]
}

#[test]
fn every_parser_survives_mutants() {
    let n: u64 = std::env::var("TEE_MUTANTS").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let ts = targets(n);
    let start = Instant::now();
    let results: Vec<(String, u64, f64)> = std::thread::scope(|sc| {
        let threads = 2u64;
        let mut hs = Vec::new();
        for (name, seeds, f, count) in &ts {
            for t in 0..threads {
                let f = &**f;
                hs.push(sc.spawn(move || {
                    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (t + 1).wrapping_mul(0x1000_0001) ^ name.len() as u64);
                    let mut buf = Vec::new();
                    let per = count.div_ceil(threads);
                    let t0 = Instant::now();
                    for i in 0..per {
                        let seed = &seeds[(i as usize) % seeds.len()];
                        mutate(&mut rng, seed, &mut buf);
                        if catch_unwind(AssertUnwindSafe(|| f(&buf))).is_err() {
                            panic!("{name}: panic on mutant {i} (thread {t}): {}", hex::encode(&buf));
                        }
                    }
                    (name.to_string(), per, t0.elapsed().as_secs_f64())
                }));
            }
        }
        hs.into_iter().map(|h| h.join().expect("mutation thread panicked")).collect()
    });
    let mut total = 0;
    let mut by: std::collections::BTreeMap<String, (u64, f64)> = Default::default();
    for (name, c, s) in results {
        let e = by.entry(name).or_default();
        e.0 += c;
        e.1 += s;
        total += c;
    }
    for (name, (c, s)) in &by {
        eprintln!("mutants: {c:>9} {name} ({s:.1} thread-s)");
    }
    eprintln!("mutants: {total} total in {:.1}s, 0 panics", start.elapsed().as_secs_f64());
    assert!(by.values().filter(|(c, _)| *c >= n).count() >= 14);
}
