//! Claims of an SEV-SNP attestation report.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sev::firmware::guest::AttestationReport;

use super::certs::{VekKind, VerifiedVek};

pub fn fields(r: &AttestationReport, vek: Option<&VerifiedVek>) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    m.insert("version".into(), json!(r.version));
    m.insert("guest_svn".into(), json!(r.guest_svn));
    m.insert("policy".into(), json!(format!("{:#x}", r.policy.0)));
    m.insert("policy_debug_allowed".into(), json!(r.policy.debug_allowed()));
    m.insert("policy_migrate_ma".into(), json!(r.policy.migrate_ma_allowed()));
    m.insert("policy_smt_allowed".into(), json!(r.policy.smt_allowed()));
    m.insert("policy_single_socket".into(), json!(r.policy.single_socket_required()));
    m.insert("policy_abi_major".into(), json!(r.policy.abi_major()));
    m.insert("policy_abi_minor".into(), json!(r.policy.abi_minor()));
    m.insert("family_id".into(), json!(hex::encode(r.family_id)));
    m.insert("image_id".into(), json!(hex::encode(r.image_id)));
    m.insert("vmpl".into(), json!(r.vmpl));
    m.insert("measurement".into(), json!(hex::encode(r.measurement)));
    m.insert("host_data".into(), json!(hex::encode(r.host_data)));
    m.insert("id_key_digest".into(), json!(hex::encode(r.id_key_digest)));
    m.insert("author_key_digest".into(), json!(hex::encode(r.author_key_digest)));
    m.insert("report_id".into(), json!(hex::encode(r.report_id)));
    m.insert("chip_id".into(), json!(hex::encode(r.chip_id)));
    let tcb = |t: &sev::firmware::host::TcbVersion| json!({"bootloader": t.bootloader, "tee": t.tee, "snp": t.snp, "microcode": t.microcode, "fmc": t.fmc});
    m.insert("reported_tcb".into(), tcb(&r.reported_tcb));
    m.insert("current_tcb".into(), tcb(&r.current_tcb));
    m.insert("committed_tcb".into(), tcb(&r.committed_tcb));
    m.insert("launch_tcb".into(), tcb(&r.launch_tcb));
    m.insert("platform_smt_enabled".into(), json!(r.plat_info.smt_enabled()));
    m.insert("platform_tsme_enabled".into(), json!(r.plat_info.tsme_enabled()));
    if let Some(v) = vek {
        m.insert(
            "endorsement_key".into(),
            json!(match v.kind {
                VekKind::Vcek => "VCEK",
                VekKind::Vlek => "VLEK",
            }),
        );
        m.insert("generation".into(), json!(v.generation.as_str()));
    }
    m
}
