//! The state JSON runc prints for `state` and `list --format json`, and the modes of the state
//! directory (0700 directories, 0600 files: they hold the container's config, its sockets and
//! its session keyring name).

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
        let running =
            matches!(c.status(), ContainerStatus::Running | ContainerStatus::Created | ContainerStatus::Paused);
        StateJson {
            oci_version: st.oci_version.clone(),
            id: st.id.clone(),
            pid: if running { st.pid.unwrap_or(0) } else { 0 },
            status: status_str(c.status()).to_string(),
            bundle: st.bundle.clone(),
            rootfs,
            created: st.created.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)).unwrap_or_default(),
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

/// A container's state directory: the directory 0700, every regular file in it 0600 (sockets
/// are reachable only through the directory). Both create paths write their files with the
/// process umask first; this runs once the container exists.
pub fn restrict(dir: &std::path::Path) -> crate::error::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let err = |p: &std::path::Path| crate::Error::io(format!("restrict the mode of {}", p.display()));
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err(dir))?;
    for ent in std::fs::read_dir(dir).map_err(err(dir))? {
        let ent = ent.map_err(err(dir))?;
        let ft = ent.file_type().map_err(err(&ent.path()))?;
        if ft.is_file() {
            std::fs::set_permissions(ent.path(), std::fs::Permissions::from_mode(0o600)).map_err(err(&ent.path()))?;
        } else if ft.is_dir() {
            std::fs::set_permissions(ent.path(), std::fs::Permissions::from_mode(0o700)).map_err(err(&ent.path()))?;
        }
    }
    Ok(())
}

/// Writes a new state file with mode 0600 from the start.
pub fn write_private(path: &std::path::Path, data: &[u8]) -> crate::error::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(data))
        .map_err(crate::Error::io(format!("write {}", path.display())))
}

/// Saves a container's state as libcontainer's `Container::save` does (same JSON, same file), but
/// atomically: a temporary file in the same directory renamed over `state.json`. A rune killed
/// while saving leaves the previous state or the new one, never an empty or half-written file
/// (libcontainer truncates in place; a SIGKILL there left a container that no `delete` could load).
pub fn save_atomic(c: &Container) -> crate::error::Result<()> {
    write_atomic(&c.root, STATE_FILE, &c.state)
}

/// `value` as JSON in `dir/name` (mode 0600), through a temporary file renamed over it.
pub fn write_atomic(dir: &std::path::Path, name: &str, value: &impl Serialize) -> crate::error::Result<()> {
    let data =
        serde_json::to_vec(value).map_err(|source| crate::Error::Json { what: format!("serialize {name}"), source })?;
    let path = dir.join(name);
    // Per process: two verbs saving the same container at once must not share a temporary file.
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    write_private(&tmp, &data)?;
    std::fs::rename(&tmp, &path).map_err(crate::Error::io(format!("replace {}", path.display())))
}

/// libcontainer's state file name inside a container's directory.
pub const STATE_FILE: &str = "state.json";
/// libcontainer's file for what later verbs need from the spec (hooks, cgroup path).
pub const CONFIG_FILE: &str = "youki_config.json";

/// Why a container's state file cannot be used, when it exists but does not parse (a write
/// interrupted before rune saved atomically, or a file damaged by hand). `None` when it parses.
pub fn damage(dir: &std::path::Path) -> Option<String> {
    let path = dir.join(STATE_FILE);
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) => return Some(format!("cannot read: {e}")),
    };
    if data.is_empty() {
        return Some("empty".into());
    }
    serde_json::from_slice::<libcontainer::container::State>(&data).err().map(|e| format!("malformed: {e}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn state_dir_is_private() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("c1");
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(d.join("state.json"), "{}").unwrap();
        std::fs::set_permissions(d.join("state.json"), std::fs::Permissions::from_mode(0o644)).unwrap();
        super::restrict(&d).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&d), 0o700);
        assert_eq!(mode(&d.join("state.json")), 0o600);
        super::write_private(&d.join("x.json"), b"{}").unwrap();
        assert_eq!(mode(&d.join("x.json")), 0o600);
    }

    #[test]
    fn state_saved_atomically_reads_back_through_libcontainer() {
        use libcontainer::container::{Container, ContainerStatus};
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("c1");
        std::fs::create_dir(&d).unwrap();
        let mut c = Container::new("c1", ContainerStatus::Creating, None, t.path(), &d).unwrap();
        c.set_annotations(Some([("a".to_string(), "b".to_string())].into()));
        super::save_atomic(&c).unwrap();
        assert_eq!(super::damage(&d), None);
        assert_eq!(mode(&d.join("state.json")), 0o600);
        // Byte for byte what libcontainer's own save writes, and it loads back.
        let theirs = t.path().join("lc");
        std::fs::create_dir(&theirs).unwrap();
        c.state.save(&theirs).unwrap();
        assert_eq!(std::fs::read(d.join("state.json")).unwrap(), std::fs::read(theirs.join("state.json")).unwrap());
        let back = Container::load(d.clone()).unwrap();
        assert_eq!(back.id(), "c1");
        assert_eq!(back.state.annotations, c.state.annotations);
        let names: Vec<_> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("state.json")], "no temporary file left");
    }

    #[test]
    fn damaged_state_files_are_named() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("state.json"), "").unwrap();
        assert_eq!(super::damage(t.path()).as_deref(), Some("empty"));
        std::fs::write(t.path().join("state.json"), "{\"id\": ").unwrap();
        assert!(super::damage(t.path()).unwrap().starts_with("malformed"));
    }

    fn mode(p: &std::path::Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }
}
