//! Claims of an SGX enclave quote.

use std::collections::BTreeMap;

use dcap_qvl::quote::EnclaveReport;
use serde_json::{json, Value};

use crate::dcap::VerifiedQuote;

/// CONFIGID (64 bytes) sits in the last 64 bytes of dcap-qvl's `reserved3` (Intel's report body:
/// reserved3[32] then config_id[64]).
pub fn config_id(r: &EnclaveReport) -> &[u8] {
    &r.reserved3[32..]
}

pub fn fields(r: &EnclaveReport, v: Option<&VerifiedQuote>) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    let attr_flags = u64::from_le_bytes(r.attributes[..8].try_into().unwrap_or([0; 8]));
    m.insert("mr_enclave".into(), json!(hex::encode(r.mr_enclave)));
    m.insert("mr_signer".into(), json!(hex::encode(r.mr_signer)));
    m.insert("isv_prod_id".into(), json!(r.isv_prod_id));
    m.insert("isv_svn".into(), json!(r.isv_svn));
    m.insert("cpu_svn".into(), json!(hex::encode(r.cpu_svn)));
    m.insert("misc_select".into(), json!(r.misc_select));
    m.insert("attributes".into(), json!(hex::encode(r.attributes)));
    m.insert("debug".into(), json!(attr_flags & 0x2 != 0));
    m.insert("mode64bit".into(), json!(attr_flags & 0x4 != 0));
    m.insert("config_id".into(), json!(hex::encode(config_id(r))));
    if let Some(v) = v {
        m.insert("quote_version".into(), json!(v.version));
        m.insert("fmspc".into(), json!(v.fmspc));
        m.insert("tcb_status".into(), json!(v.tcb_status));
        m.insert("advisory_ids".into(), json!(v.advisory_ids));
    }
    m
}
