//! Host TEE devices and services made visible to an enclave container.
//!
//! For each device path of the container's TEE that exists on the host as a character device
//! with major number 10 (the misc class the SGX and Nitro drivers register under), the spec gets
//! a `linux.devices` entry with the host's major/minor/mode/owner and a device-cgroup `rwm` rule.
//! Devices already listed in `linux.devices` are left alone. For SGX, `/var/run/aesmd` (the
//! AESM socket directory) and `/var/run/epm` (the enclave pool manager) are bind-mounted when
//! they exist on the host and no mount already targets them.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    LinuxBuilder, LinuxDeviceBuilder, LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxResourcesBuilder, MountBuilder,
    Spec,
};

use crate::config::EnclaveType;
use crate::error::DeviceError;

/// The misc-device major number.
pub const MISC_MAJOR: u64 = 10;

/// Device paths probed for each TEE.
pub fn device_paths(t: EnclaveType) -> &'static [&'static str] {
    match t {
        EnclaveType::IntelSgx => &[
            "/dev/sgx_enclave",
            "/dev/sgx/enclave",
            "/dev/sgx_provision",
            "/dev/sgx/provision",
            "/dev/isgx",
            "/dev/gsgx",
        ],
        EnclaveType::AwsNitroEnclaves => &["/dev/nitro_enclaves"],
        EnclaveType::Jailhouse | EnclaveType::Sample => &[],
    }
}

/// Host directories bind-mounted for each TEE.
pub fn service_dirs(t: EnclaveType) -> &'static [&'static str] {
    match t {
        EnclaveType::IntelSgx => &["/var/run/aesmd", "/var/run/epm"],
        _ => &[],
    }
}

/// What [`inject`] added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Injected {
    /// Container paths of the devices added.
    pub devices: Vec<PathBuf>,
    /// Destinations of the bind mounts added.
    pub mounts: Vec<PathBuf>,
}

fn host_path(host_root: &Path, p: &str) -> PathBuf {
    host_root.join(p.trim_start_matches('/'))
}

fn spec_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(oci_spec::OciSpecError) -> DeviceError + 'a {
    move |e| DeviceError::Spec { what, path: path.to_path_buf(), reason: e.to_string() }
}

/// Adds the TEE's host devices and service mounts to `spec`. `host_root` is `/` in production;
/// tests point it at a directory with fake device nodes.
pub fn inject(spec: &mut Spec, t: EnclaveType, host_root: &Path) -> Result<Injected, DeviceError> {
    let mut out = Injected::default();
    for dev in device_paths(t) {
        let hp = host_path(host_root, dev);
        let md = match std::fs::metadata(&hp) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(DeviceError::Stat { path: hp, errno: pal::Errno::from_io(&e) }),
        };
        let rdev = md.rdev();
        let (major, minor) = (nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev));
        if !md.file_type().is_char_device() || major != MISC_MAJOR {
            continue;
        }
        let cpath = PathBuf::from(dev);
        let linux = match spec.linux_mut() {
            Some(l) => l,
            None => {
                spec.set_linux(Some(LinuxBuilder::default().build().map_err(spec_err("linux", &cpath))?));
                spec.linux_mut().as_mut().ok_or(DeviceError::Spec {
                    what: "linux",
                    path: cpath.clone(),
                    reason: "could not create linux section".into(),
                })?
            }
        };
        if linux.devices().as_ref().is_some_and(|ds| ds.iter().any(|d| d.path() == &cpath)) {
            continue;
        }
        let device = LinuxDeviceBuilder::default()
            .path(cpath.clone())
            .typ(LinuxDeviceType::C)
            .major(major as i64)
            .minor(minor as i64)
            .file_mode(md.mode() & 0o7777)
            .uid(md.uid())
            .gid(md.gid())
            .build()
            .map_err(spec_err("device", &cpath))?;
        linux.devices_mut().get_or_insert_with(Vec::new).push(device);
        let rule = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::C)
            .major(major as i64)
            .minor(minor as i64)
            .access("rwm")
            .build()
            .map_err(spec_err("device cgroup rule", &cpath))?;
        if linux.resources().is_none() {
            linux.set_resources(Some(LinuxResourcesBuilder::default().build().map_err(spec_err("resources", &cpath))?));
        }
        if let Some(r) = linux.resources_mut() {
            r.devices_mut().get_or_insert_with(Vec::new).push(rule);
        }
        out.devices.push(cpath);
    }
    for dir in service_dirs(t) {
        let hp = host_path(host_root, dir);
        if !hp.is_dir() {
            continue;
        }
        let dest = PathBuf::from(dir);
        if spec.mounts().as_ref().is_some_and(|ms| ms.iter().any(|m| m.destination() == &dest)) {
            continue;
        }
        let m = MountBuilder::default()
            .destination(dest.clone())
            .typ("bind")
            .source(hp)
            .options(vec!["rbind".to_string(), "rprivate".to_string()])
            .build()
            .map_err(spec_err("mount", &dest))?;
        spec.mounts_mut().get_or_insert_with(Vec::new).push(m);
        out.mounts.push(dest);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use nix::sys::stat::{makedev, mknod, Mode, SFlag};
    use oci_spec::runtime::SpecBuilder;

    fn fake_host() -> Option<tempfile::TempDir> {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("dev/sgx")).unwrap();
        let node = |p: &str, kind: SFlag, maj, min| {
            mknod(&d.path().join(p), kind, Mode::from_bits_truncate(0o660), makedev(maj, min))
        };
        if node("dev/sgx_enclave", SFlag::S_IFCHR, 10, 125).is_err() {
            return None; // not root: cannot make device nodes
        }
        node("dev/sgx/provision", SFlag::S_IFCHR, 10, 126).unwrap();
        node("dev/isgx", SFlag::S_IFCHR, 11, 1).unwrap(); // wrong major: ignored
        node("dev/gsgx", SFlag::S_IFBLK, 10, 3).unwrap(); // block device: ignored
        std::fs::write(d.path().join("dev/sgx_provision"), b"").unwrap(); // regular file: ignored
        node("dev/nitro_enclaves", SFlag::S_IFCHR, 10, 200).unwrap();
        std::fs::create_dir_all(d.path().join("var/run/aesmd")).unwrap();
        Some(d)
    }

    #[test]
    fn sgx_devices_rules_and_mounts() {
        let Some(host) = fake_host() else {
            eprintln!("skipped: mknod needs root");
            return;
        };
        let existing = LinuxDeviceBuilder::default()
            .path("/dev/sgx/provision")
            .typ(LinuxDeviceType::C)
            .major(10)
            .minor(99)
            .build()
            .unwrap();
        let mut spec = SpecBuilder::default().build().unwrap();
        spec.linux_mut().as_mut().unwrap().set_devices(Some(vec![existing.clone()]));
        let got = inject(&mut spec, EnclaveType::IntelSgx, host.path()).unwrap();
        assert_eq!(got.devices, [PathBuf::from("/dev/sgx_enclave")]);
        assert_eq!(got.mounts, [PathBuf::from("/var/run/aesmd")]);
        let linux = spec.linux().as_ref().unwrap();
        let devs = linux.devices().as_ref().unwrap();
        assert_eq!(devs.len(), 2);
        assert_eq!(devs[0], existing, "pre-existing device left alone");
        let d = &devs[1];
        assert_eq!(
            (d.path().to_str().unwrap(), d.typ(), d.major(), d.minor()),
            ("/dev/sgx_enclave", LinuxDeviceType::C, 10, 125)
        );
        let host_mode = std::fs::metadata(host.path().join("dev/sgx_enclave")).unwrap().mode() & 0o7777;
        assert_eq!(d.file_mode(), Some(host_mode), "mode copied from the host node");
        let rules = linux.resources().as_ref().unwrap().devices().as_ref().unwrap();
        let r = rules.last().unwrap();
        assert_eq!(
            (r.allow(), r.typ(), r.major(), r.minor(), r.access().as_deref()),
            (true, Some(LinuxDeviceType::C), Some(10), Some(125), Some("rwm"))
        );
        assert_eq!(rules.iter().filter(|r| r.allow()).count(), 1, "one rule per injected device");
        let m =
            spec.mounts().as_ref().unwrap().iter().find(|m| m.destination() == Path::new("/var/run/aesmd")).unwrap();
        assert_eq!(m.source().as_deref(), Some(host.path().join("var/run/aesmd").as_path()));
        assert_eq!(m.options().as_deref(), Some(&["rbind".to_string(), "rprivate".to_string()][..]));

        // Idempotent: a second pass adds nothing.
        let again = inject(&mut spec, EnclaveType::IntelSgx, host.path()).unwrap();
        assert_eq!(again, Injected::default());
    }

    #[test]
    fn nitro_and_software_tee() {
        let Some(host) = fake_host() else {
            return;
        };
        let mut spec = SpecBuilder::default().build().unwrap();
        let got = inject(&mut spec, EnclaveType::AwsNitroEnclaves, host.path()).unwrap();
        assert_eq!(got, Injected { devices: vec!["/dev/nitro_enclaves".into()], mounts: vec![] });
        let mut spec2 = SpecBuilder::default().build().unwrap();
        let before = spec2.clone();
        assert_eq!(inject(&mut spec2, EnclaveType::Sample, host.path()).unwrap(), Injected::default());
        assert_eq!(spec2, before);
        // A host without any SGX device: nothing injected, no error.
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(inject(&mut spec2, EnclaveType::IntelSgx, empty.path()).unwrap(), Injected::default());
    }
}
