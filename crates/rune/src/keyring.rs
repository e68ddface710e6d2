//! Session keyrings, as runc gives them: every container joins its own named session keyring
//! `_ses.<id>` (unless `--no-new-keyring`), so that it does not see or use the keys of the session
//! that started it (a shell's, containerd-shim's), and `exec`'d processes join the same keyring.
//!
//! libcontainer 0.7 has no keyring support, and its hook points into the container's init process
//! come after seccomp is loaded (docker's default profile forbids `keyctl`). So rune joins the
//! keyring in its own process just before it clones the container: the session keyring is
//! inherited across fork/clone, and the rune process exits (or only waits) afterwards.
#![allow(unsafe_code)] // keyctl(2) has no wrapper in nix or std: raw syscalls, each with a SAFETY note.

use std::ffi::CString;

use crate::error::{Error, Result};

const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
const KEYCTL_SETPERM: libc::c_long = 5;
const KEYCTL_DESCRIBE: libc::c_long = 6;
/// "search" for the key's owner (KEY_USR_SEARCH), what runc adds without a user namespace so that
/// `exec` can find the keyring by name again.
const KEY_USR_SEARCH: u32 = 0x0008_0000;
/// "search" for others (KEY_OTH_SEARCH): with a user namespace the container's root is not the owner.
const KEY_OTH_SEARCH: u32 = 0x0000_0008;

/// runc's name for a container's session keyring.
pub fn session_name(id: &str) -> String {
    format!("_ses.{id}")
}

/// What [`join`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    /// The process now has this keyring (serial number) as its session keyring.
    Keyring(i32),
    /// The kernel has no key management (ENOSYS): nothing to isolate, as runc tolerates.
    Unsupported,
}

/// Joins (creating it when it does not exist) the session keyring `name` and makes it searchable
/// for its owner, or for others when the container has a user namespace.
pub fn join(name: &str, user_namespace: bool) -> Result<Joined> {
    let cname = CString::new(name).map_err(|_| Error::KeyringName(name.to_string()))?;
    // SAFETY: KEYCTL_JOIN_SESSION_KEYRING takes a NUL-terminated name that the kernel only reads;
    // `cname` outlives the call. The unused arguments are passed as 0.
    let id = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, cname.as_ptr(), 0, 0, 0) };
    if id < 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::ENOSYS) {
            return Ok(Joined::Unsupported);
        }
        return Err(Error::Io { what: format!("join session keyring {name}"), source: err });
    }
    let id = i32::try_from(id).map_err(|_| Error::KeyringSerial(id))?;
    let perm = describe_perm(id)?;
    let add = if user_namespace { KEY_OTH_SEARCH } else { KEY_USR_SEARCH };
    if perm & add != add {
        // SAFETY: KEYCTL_SETPERM takes a key serial and a permission mask by value; no memory is shared.
        let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_SETPERM, id, perm | add, 0, 0) };
        if r < 0 {
            return Err(Error::Io {
                what: format!("make session keyring {name} searchable"),
                source: std::io::Error::last_os_error(),
            });
        }
    }
    Ok(Joined::Keyring(id))
}

/// The permission mask of key `id`, from KEYCTL_DESCRIBE ("type;uid;gid;perm;description").
fn describe_perm(id: i32) -> Result<u32> {
    let mut buf = vec![0u8; 512];
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`, which stays alive and
    // exclusively borrowed for the call.
    let n = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_DESCRIBE, id, buf.as_mut_ptr(), buf.len(), 0) };
    if n < 0 {
        return Err(Error::Io { what: format!("describe keyring {id}"), source: std::io::Error::last_os_error() });
    }
    let len = usize::try_from(n).unwrap_or(0).min(buf.len());
    parse_perm(&buf[..len]).ok_or(Error::KeyringDescription(id))
}

fn parse_perm(desc: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(desc).ok()?.trim_end_matches('\0');
    let perm = text.split(';').nth(3)?;
    u32::from_str_radix(perm, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_describe_output() {
        assert_eq!(parse_perm(b"keyring;0;0;3f130000;_ses.c1\0"), Some(0x3f13_0000));
        assert_eq!(parse_perm(b"keyring;0;0"), None);
        assert_eq!(parse_perm(b"keyring;0;0;zz;x"), None);
    }

    #[test]
    fn names_like_runc() {
        assert_eq!(session_name("abc"), "_ses.abc");
    }
}
