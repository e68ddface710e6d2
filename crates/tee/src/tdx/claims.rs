//! Claims of a TDX quote (TD report 1.0 in v4 quotes, 1.0/1.5 in v5 quotes).

use std::collections::BTreeMap;

use dcap_qvl::quote::{Report, TDReport10};
use serde_json::{json, Value};

use crate::dcap::VerifiedQuote;

pub fn fields(report: &Report, base: &TDReport10, v: Option<&VerifiedQuote>) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    let attrs = u64::from_le_bytes(base.td_attributes);
    m.insert("mr_td".into(), json!(hex::encode(base.mr_td)));
    m.insert("rtmr0".into(), json!(hex::encode(base.rt_mr0)));
    m.insert("rtmr1".into(), json!(hex::encode(base.rt_mr1)));
    m.insert("rtmr2".into(), json!(hex::encode(base.rt_mr2)));
    m.insert("rtmr3".into(), json!(hex::encode(base.rt_mr3)));
    m.insert("mr_config_id".into(), json!(hex::encode(base.mr_config_id)));
    m.insert("mr_owner".into(), json!(hex::encode(base.mr_owner)));
    m.insert("mr_owner_config".into(), json!(hex::encode(base.mr_owner_config)));
    m.insert("mr_seam".into(), json!(hex::encode(base.mr_seam)));
    m.insert("mr_signer_seam".into(), json!(hex::encode(base.mr_signer_seam)));
    m.insert("tee_tcb_svn".into(), json!(hex::encode(base.tee_tcb_svn)));
    m.insert("td_attributes".into(), json!(hex::encode(base.td_attributes)));
    m.insert("xfam".into(), json!(hex::encode(base.xfam)));
    m.insert("debug".into(), json!(attrs & 0x1 != 0));
    m.insert("sept_ve_disable".into(), json!(attrs & (1 << 28) != 0));
    m.insert(
        "td_report_version".into(),
        json!(match report {
            Report::TD15(_) | Report::TD15Ex(_) => "1.5",
            _ => "1.0",
        }),
    );
    if let Some(r15) = report.as_td15() {
        m.insert("tee_tcb_svn2".into(), json!(hex::encode(r15.tee_tcb_svn2)));
        m.insert("mr_service_td".into(), json!(hex::encode(r15.mr_service_td)));
    }
    if let Some(v) = v {
        m.insert("quote_version".into(), json!(v.version));
        m.insert("fmspc".into(), json!(v.fmspc));
        m.insert("tcb_status".into(), json!(v.tcb_status));
        m.insert("advisory_ids".into(), json!(v.advisory_ids));
    }
    m
}
