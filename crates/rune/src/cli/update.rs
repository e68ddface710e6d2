use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context};
use oci_spec::runtime::{
    LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder,
};
use rune::Runtime;

/// update container resource constraints
#[derive(clap::Args, Debug)]
pub struct Args {
    /// path to the file containing the resources to update or '-' to read from the standard input
    #[arg(short, long)]
    pub resources: Option<PathBuf>,
    /// specifies per cgroup weight, range is from 10 to 1000
    #[arg(long)]
    pub blkio_weight: Option<u16>,
    /// CPU CFS period to be used for hardcapping (in usecs). 0 to use system default
    #[arg(long)]
    pub cpu_period: Option<u64>,
    /// CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period
    #[arg(long)]
    pub cpu_quota: Option<i64>,
    /// CPU shares (relative weight vs. other containers)
    #[arg(long, alias = "cpu-shares")]
    pub cpu_share: Option<u64>,
    /// CPU realtime period to be used for hardcapping (in usecs)
    #[arg(long)]
    pub cpu_rt_period: Option<u64>,
    /// CPU realtime hardcap limit (in usecs)
    #[arg(long)]
    pub cpu_rt_runtime: Option<i64>,
    /// CPU(s) to use
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// memory node(s) to use
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// memory limit (in bytes, or with a k/m/g suffix)
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// memory reservation or soft_limit (in bytes)
    #[arg(long, allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// total memory usage (memory + swap); set '-1' to enable unlimited swap
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// maximum number of pids allowed in the container
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// the string of Intel RDT/CAT L3 cache schema (not supported)
    #[arg(long)]
    pub l3_cache_schema: Option<String>,
    /// the string of Intel RDT/MBA memory bandwidth schema (not supported)
    #[arg(long)]
    pub mem_bw_schema: Option<String>,
    pub container_id: String,
}

/// Parses "1024", "100k", "64m", "1g" (binary units, as runc) and "-1".
pub fn parse_size(s: &str) -> anyhow::Result<i64> {
    let t = s.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mul): (&str, i64) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let v: f64 = num.trim().parse().with_context(|| format!("invalid size {s:?}"))?;
    if v < 0.0 {
        bail!("invalid size {s:?}: negative");
    }
    Ok((v * mul as f64) as i64)
}

fn from_flags(a: &Args) -> anyhow::Result<LinuxResources> {
    if a.l3_cache_schema.is_some() || a.mem_bw_schema.is_some() {
        bail!("Intel RDT schemas are not supported by rune update");
    }
    let mut b = LinuxResourcesBuilder::default();
    if a.memory.is_some() || a.memory_reservation.is_some() || a.memory_swap.is_some() {
        let mut m = LinuxMemoryBuilder::default();
        if let Some(v) = &a.memory {
            m = m.limit(parse_size(v)?);
        }
        if let Some(v) = &a.memory_reservation {
            m = m.reservation(parse_size(v)?);
        }
        if let Some(v) = &a.memory_swap {
            m = m.swap(parse_size(v)?);
        }
        b = b.memory(m.build()?);
    }
    let cpu_set = a.cpu_period.is_some()
        || a.cpu_quota.is_some()
        || a.cpu_share.is_some()
        || a.cpu_rt_period.is_some()
        || a.cpu_rt_runtime.is_some()
        || a.cpuset_cpus.is_some()
        || a.cpuset_mems.is_some();
    if cpu_set {
        let mut c = LinuxCpuBuilder::default();
        if let Some(v) = a.cpu_period {
            c = c.period(v);
        }
        if let Some(v) = a.cpu_quota {
            c = c.quota(v);
        }
        if let Some(v) = a.cpu_share {
            c = c.shares(v);
        }
        if let Some(v) = a.cpu_rt_period {
            c = c.realtime_period(v);
        }
        if let Some(v) = a.cpu_rt_runtime {
            c = c.realtime_runtime(v);
        }
        if let Some(v) = &a.cpuset_cpus {
            c = c.cpus(v.clone());
        }
        if let Some(v) = &a.cpuset_mems {
            c = c.mems(v.clone());
        }
        b = b.cpu(c.build()?);
    }
    if let Some(v) = a.pids_limit {
        b = b.pids(LinuxPidsBuilder::default().limit(v).build()?);
    }
    if let Some(w) = a.blkio_weight {
        b = b.block_io(LinuxBlockIoBuilder::default().weight(w).build()?);
    }
    Ok(b.build()?)
}

pub fn run(a: Args, rt: &Runtime) -> anyhow::Result<()> {
    let res: LinuxResources = match &a.resources {
        Some(p) if p.as_os_str() == "-" => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).context("read resources from stdin")?;
            serde_json::from_str(&s).context("parse resources JSON from stdin")?
        }
        Some(p) => {
            let s = std::fs::read_to_string(p).with_context(|| format!("read {}", p.display()))?;
            serde_json::from_str(&s).with_context(|| format!("parse resources JSON in {}", p.display()))?
        }
        None => from_flags(&a)?,
    };
    Ok(rt.update(&a.container_id, &res)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024").unwrap(), 1024);
        assert_eq!(parse_size("64m").unwrap(), 64 << 20);
        assert_eq!(parse_size("1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("-1").unwrap(), -1);
        assert!(parse_size("lots").is_err());
    }
}
