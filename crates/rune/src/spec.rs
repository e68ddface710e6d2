//! `rune spec`: a default config.json, as `runc spec` writes (optionally rootless).

use oci_spec::runtime::{
    LinuxBuilder, LinuxIdMappingBuilder, LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType, Mount, Spec,
};

use crate::error::{Error, Result};

pub fn default_spec(rootless: bool) -> Result<Spec> {
    let mut spec = Spec::default();
    if rootless {
        make_rootless(&mut spec, nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw())?;
    }
    Ok(spec)
}

fn make_rootless(spec: &mut Spec, uid: u32, gid: u32) -> Result<()> {
    let err = |source| Error::OciSpec { what: "build rootless spec", source };
    let linux = spec.linux().clone().unwrap_or_default();
    let mut namespaces: Vec<LinuxNamespace> = linux
        .namespaces()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.typ() != LinuxNamespaceType::Network && n.typ() != LinuxNamespaceType::User)
        .collect();
    namespaces.push(LinuxNamespaceBuilder::default().typ(LinuxNamespaceType::User).build().map_err(err)?);
    let map = |host: u32| LinuxIdMappingBuilder::default().host_id(host).container_id(0u32).size(1u32).build();
    let new_linux = LinuxBuilder::default()
        .namespaces(namespaces)
        .uid_mappings(vec![map(uid).map_err(err)?])
        .gid_mappings(vec![map(gid).map_err(err)?])
        .masked_paths(linux.masked_paths().clone().unwrap_or_default())
        .readonly_paths(linux.readonly_paths().clone().unwrap_or_default())
        .build()
        .map_err(err)?;
    spec.set_linux(Some(new_linux));
    // No cgroup mount and no gid= options on devpts/mqueue without privileges.
    let mounts: Vec<Mount> = spec
        .mounts()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.typ().as_deref() != Some("cgroup"))
        .map(|mut m| {
            if let Some(opts) = m.options().clone() {
                m.set_options(Some(opts.into_iter().filter(|o| !o.starts_with("gid=")).collect()));
            }
            m
        })
        .collect();
    spec.set_mounts(Some(mounts));
    Ok(())
}
