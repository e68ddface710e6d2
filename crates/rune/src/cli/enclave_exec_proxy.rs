use rune::Runtime;

/// internal: holds an enclave exec session for `exec --detach` (agent connection on stdin)
#[derive(clap::Args, Debug)]
pub struct Args {
    pub container_id: String,
    /// the payload's pid in the enclave runtime
    pub pid: i32,
}

pub fn run(a: Args, _rt: &Runtime) -> anyhow::Result<i32> {
    Ok(rune::enclave_container::run_proxy(&a.container_id, a.pid)?)
}
