//! The exec agent: how `rune exec` runs another payload inside a running enclave container.
//!
//! The init-runelet listens on a unix socket (originally `<root>/<id>/agent.sock`); a runelet
//! connects and sends an exec request; the agent runs it through the PAL
//! (`pal_create_process` + `pal_exec`) concurrently with the main payload and replies with its
//! exit value. Paths longer than `sun_path` (108 bytes) are reached through
//! `/proc/self/fd/<dirfd>/<name>`.
//!
//! Wire format (fixes the original's space-joined argv/env): every frame is a `u32`
//! little-endian length followed by that many bytes of JSON (at most [`proto::MAX_FRAME`]).
//!
//! ```text
//! client → {"type":"exec","argv":[..],"env":[..],"cwd":"/dir"|null,"path":null}  + SCM_RIGHTS [stdin, stdout, stderr]
//! agent  → {"type":"started","pid":N}       | {"type":"error","message":..,"errno":N|null}
//! client → {"type":"kill","signal":S}        (any number, while it runs → pal_kill(N, S))
//! agent  → {"type":"exited","code":C}       | {"type":"error",...}
//!
//! client → {"type":"exec",...,"tty":true,"console_size":{"height":H,"width":W}|absent}   (no descriptors)
//! agent  → {"type":"started","pid":N} + SCM_RIGHTS [pty master]
//!          (the agent opened a pseudo-terminal in the container's /dev/ptmx; its slave is the
//!          payload's stdin, stdout and stderr; the client forwards the master, e.g. to a
//!          runc-style console socket)
//!
//! client → {"type":"local_report","target_info":[bytes]}   (instead of exec; PAL API v3)
//! agent  → {"type":"local_report","report":[bytes]}        | {"type":"error",...}
//! ```
//! If the client's connection closes while its payload still runs, the agent kills the payload
//! (`pal_kill(pid, SIGKILL)`): nobody could collect its exit value any more.
//! The PAL API has no working directory; a `cwd` is passed to the payload as `PWD=<cwd>` in its
//! environment (the sample LibOS honours it).

mod client;
mod path;
pub mod proto;
mod pty;
mod server;

pub use client::{exec, exec_tty, local_report, send_console_master, ExecKiller, ExecSession};
pub use path::SUN_PATH_MAX;
pub use proto::{ConsoleSize, ExecRequest, Request, Response};
pub use pty::open_pty;
pub use server::{AgentHandle, AgentServer, ExecHandler, PalExecHandler};
