//! `events`: container statistics in runc's JSON shape (`{"type":"stats","id","data":{cpu,memory,
//! pids,blkio,hugetlb}}`), one object per line, taken from the container's cgroup.

use libcgroups::stats::{BlkioDeviceStat, MemoryData, Stats};
use serde_json::{json, Value};

fn mem(d: &MemoryData) -> Value {
    json!({"usage": d.usage, "max": d.max_usage, "failcnt": d.fail_count, "limit": d.limit})
}

fn blk(v: &[BlkioDeviceStat]) -> Value {
    Value::Array(
        v.iter()
            .map(|d| json!({"major": d.major, "minor": d.minor, "op": d.op_type.clone().unwrap_or_default(), "value": d.value}))
            .collect(),
    )
}

/// Converts libcgroups statistics to runc's `types.Stats` JSON.
pub fn runc_stats(s: &Stats) -> Value {
    let hugetlb: serde_json::Map<String, Value> = s
        .hugetlb
        .iter()
        .map(|(k, v)| (k.clone(), json!({"usage": v.usage, "max": v.max_usage, "failcnt": v.fail_count})))
        .collect();
    json!({
        "cpu": {
            "usage": {
                "total": s.cpu.usage.usage_total,
                "percpu": s.cpu.usage.per_core_usage_total,
                "percpu_kernel": s.cpu.usage.per_core_usage_kernel,
                "percpu_user": s.cpu.usage.per_core_usage_user,
                "kernel": s.cpu.usage.usage_kernel,
                "user": s.cpu.usage.usage_user,
            },
            "throttling": {
                "periods": s.cpu.throttling.periods,
                "throttledPeriods": s.cpu.throttling.throttled_periods,
                "throttledTime": s.cpu.throttling.throttled_time,
            },
        },
        "memory": {
            "cache": s.memory.cache,
            "usage": mem(&s.memory.memory),
            "swap": mem(&s.memory.memswap),
            "kernel": mem(&s.memory.kernel),
            "kernelTCP": mem(&s.memory.kernel_tcp),
            "raw": s.memory.stats,
        },
        "pids": {"current": s.pids.current, "limit": s.pids.limit},
        "blkio": {
            "ioServiceBytesRecursive": blk(&s.blkio.service_bytes),
            "ioServicedRecursive": blk(&s.blkio.serviced),
            "ioQueueRecursive": blk(&s.blkio.queued),
            "ioServiceTimeRecursive": blk(&s.blkio.service_time),
            "ioWaitTimeRecursive": blk(&s.blkio.wait_time),
            "ioMergedRecursive": blk(&s.blkio.merged),
            "ioTimeRecursive": blk(&s.blkio.time),
            "sectorsRecursive": blk(&s.blkio.sectors),
        },
        "hugetlb": hugetlb,
    })
}

pub fn stats_event(id: &str, s: &Stats) -> Value {
    json!({"type": "stats", "id": id, "data": runc_stats(s)})
}
