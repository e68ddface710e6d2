mod common;
use common::*;
use tee::{Expected, Tee};

#[test]
#[ignore = "exploration dump"]
fn dump() {
    let s = store();
    let e = Expected::default();
    println!("SGX {:?}", tee::sgx::verify_raw_quote(&read("dcap/sgx_quote_v3.bin"), &e, &s, T_2025_06_25).map(|c| serde_json::to_string(&c).unwrap()));
    println!("TDX4 {:?}", tee::tdx::verify_raw_quote(&read("dcap/tdx_quote_v4.bin"), &e, &s, T_2025_06_25).map(|c| serde_json::to_string(&c).unwrap()));
    println!("TDX5 {:?}", tee::tdx::verify_raw_quote(&read("dcap/tdx_quote_v5.bin"), &e, &s, T_2026_03_01).map(|c| serde_json::to_string(&c).unwrap()));
    let ctx = tee::snp::SnpContext::default();
    for (r, c) in [("snp/test-report.bin", "snp/test-vcek.der"), ("snp/test-vlek-report.bin", "snp/test-vlek.der")] {
        let raw = read(r);
        let rep = tee::snp::parse_report(&raw);
        println!("{r} parse ok={} vek={:?}", rep.is_ok(), tee::snp::certs::inspect_vek(&read(c)).map(|v| (v.kind, v.generation, v.not_before, v.not_after, v.bl_spl, v.tee_spl, v.snp_spl, v.ucode_spl, v.fmc_spl)));
        println!("SNP {r} {:?}", tee::snp::verify_raw_report(&raw, Some(&read(c)), &e, &ctx, 1_750_809_600).map(|c| serde_json::to_string(&c).unwrap()));
    }
    for f in ["az-snp-vtpm/evidence-v1.json", "az-snp-vtpm/evidence-v2.json"] {
        let v = tee::az_snp_vtpm::AzSnpVtpmVerifier::new(std::sync::Arc::new(tee::snp::SnpContext::default()), std::sync::Arc::new(tee::clock::FixedClock(1_750_809_600)));
        use tee::Verifier;
        println!("AZ {f} {:?}", v.verify(&read(f), &e).map(|c| serde_json::to_string(&c).unwrap()));
    }
    use tee::Verifier;
    println!("TPM {:?}", tee::tpm::TpmVerifier.verify(&read("tpm/tpm_evidence.json"), &e).map(|c| serde_json::to_string(&c).unwrap()));
    let _ = Tee::Sgx;
}
