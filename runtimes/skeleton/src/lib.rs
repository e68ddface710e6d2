//! The skeleton enclave runtime: the smallest PAL that does what rune expects of one. Each
//! payload writes "Hello Inclavare Containers!" to its stdout and exits 0, like the original
//! skeleton's enclave. It has no enclave and no hardware; `pal_get_local_report` is ENOSYS.
//! `pal-skeleton-v1`, `-v2`, `-v3` export it for each PAL API version.
//!
//! Runtime args (space separated): `debug` and `no-epm` are accepted; anything else makes
//! `pal_init` fail with EINVAL.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;

use pal::export::{EnclaveRuntime, Errno, Prepared, ProcessRequest, StdioFds};

/// What every payload prints.
pub const GREETING: &str = "Hello Inclavare Containers!\n";

#[derive(Debug, Default)]
pub struct Skeleton {
    procs: Mutex<(i32, HashMap<i32, StdioFds>)>,
}

impl EnclaveRuntime for Skeleton {
    fn init(args: &str, _log_level: &str, _prepared: Option<Prepared>) -> Result<Self, Errno> {
        if args.split_whitespace().any(|a| !matches!(a, "debug" | "no-epm")) {
            return Err(Errno::EINVAL);
        }
        Ok(Skeleton::default())
    }

    fn create_process(&self, req: ProcessRequest) -> Result<i32, Errno> {
        let mut g = self.procs.lock().map_err(|_| Errno::EFAULT)?;
        g.0 += 1;
        let pid = g.0;
        g.1.insert(pid, req.stdio);
        Ok(pid)
    }

    fn exec(&self, pid: i32) -> Result<i32, Errno> {
        let stdio = self.procs.lock().map_err(|_| Errno::EFAULT)?.1.remove(&pid).ok_or(Errno::ESRCH)?;
        let mut out = std::fs::File::from(stdio.dup_stdout().map_err(|e| Errno::from_io(&e))?);
        out.write_all(GREETING.as_bytes()).map_err(|e| Errno::from_io(&e))?;
        Ok(0)
    }

    fn kill(&self, _pid: i32, _sig: i32) -> Result<(), Errno> {
        // Payloads finish immediately; there is nothing to signal.
        Ok(())
    }
}
