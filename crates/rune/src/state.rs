//! The state JSON runc prints for `state` and `list --format json`.

use std::collections::HashMap;
use std::path::PathBuf;

use libcontainer::container::{Container, ContainerStatus};
use serde::{Deserialize, Serialize};

/// runc's `containerState` fields, plus rune's enclave description when the container is one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StateJson {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<HashMap<String, String>>,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enclave: Option<serde_json::Value>,
}

pub fn status_str(s: ContainerStatus) -> &'static str {
    match s {
        ContainerStatus::Creating => "creating",
        ContainerStatus::Created => "created",
        ContainerStatus::Running => "running",
        ContainerStatus::Stopped => "stopped",
        ContainerStatus::Paused => "paused",
    }
}

impl StateJson {
    pub fn from_container(c: &Container, rootfs: PathBuf, enclave: Option<serde_json::Value>) -> Self {
        let st = &c.state;
        let running = matches!(c.status(), ContainerStatus::Running | ContainerStatus::Created | ContainerStatus::Paused);
        StateJson {
            oci_version: st.oci_version.clone(),
            id: st.id.clone(),
            pid: if running { st.pid.unwrap_or(0) } else { 0 },
            status: status_str(c.status()).to_string(),
            bundle: st.bundle.clone(),
            rootfs,
            created: st
                .created
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
                .unwrap_or_default(),
            annotations: st.annotations.clone().filter(|a| !a.is_empty()),
            owner: owner_name(st.creator.unwrap_or(0)),
            enclave,
        }
    }
}

fn owner_name(uid: u32) -> String {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| uid.to_string())
}
