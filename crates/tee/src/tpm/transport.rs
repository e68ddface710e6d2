//! How TPM 2.0 command buffers reach a TPM: the kernel character device (`/dev/tpmrm0`, or
//! `/dev/tpm0` without the in-kernel resource manager) or swtpm's TCP command channel (raw TPM
//! commands, the same bytes as the device; tests use it with a real software TPM).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{Error, Tee};

/// The largest response we accept (TPM2 responses are at most a few KiB).
pub const MAX_RESPONSE: usize = 8192;

/// Sends one marshalled command and returns the whole response.
pub trait Transport: Send {
    fn transact(&mut self, command: &[u8]) -> Result<Vec<u8>, Error>;
    /// Human-readable peer name for error messages.
    fn describe(&self) -> String;
}

fn io(what: &str, e: std::io::Error) -> Error {
    Error::Io(format!("TPM {what}: {e}"))
}

/// The Linux TPM character device: one `write` of the command, one `read` of the response.
pub struct DeviceTransport {
    path: PathBuf,
    file: std::fs::File,
}

impl DeviceTransport {
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::NotAvailable { tee: Tee::Tpm, reason: format!("{}: {e}", path.display()) })?;
        Ok(DeviceTransport { path, file })
    }
}

impl Transport for DeviceTransport {
    fn transact(&mut self, command: &[u8]) -> Result<Vec<u8>, Error> {
        self.file.write_all(command).map_err(|e| io(&format!("write {}", self.path.display()), e))?;
        let mut buf = vec![0u8; MAX_RESPONSE];
        let n = self.file.read(&mut buf).map_err(|e| io(&format!("read {}", self.path.display()), e))?;
        buf.truncate(n);
        Ok(buf)
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

/// swtpm's TCP server channel (`swtpm socket --server type=tcp,port=P`): raw TPM commands; the
/// response length comes from its header. Reads time out after 5 minutes (RSA key generation in
/// a software TPM on a loaded machine takes seconds).
pub struct TcpTransport {
    addr: SocketAddr,
    stream: TcpStream,
}

impl TcpTransport {
    pub fn connect(addr: SocketAddr) -> Result<Self, Error> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(|e| Error::NotAvailable { tee: Tee::Tpm, reason: format!("swtpm at {addr}: {e}") })?;
        if let Err(e) = stream.set_read_timeout(Some(Duration::from_secs(300))) {
            tracing::warn!(%addr, error = %e, "swtpm connection: no read timeout, a stuck peer blocks the attester");
        }
        Ok(TcpTransport { addr, stream })
    }
}

impl Transport for TcpTransport {
    fn transact(&mut self, command: &[u8]) -> Result<Vec<u8>, Error> {
        self.stream.write_all(command).map_err(|e| io(&format!("send to {}", self.addr), e))?;
        let mut hdr = [0u8; 10];
        self.stream.read_exact(&mut hdr).map_err(|e| io(&format!("receive from {}", self.addr), e))?;
        let size = u32::from_be_bytes([hdr[2], hdr[3], hdr[4], hdr[5]]) as usize;
        if !(10..=MAX_RESPONSE).contains(&size) {
            return Err(Error::Io(format!("TPM response from {} claims {size} bytes", self.addr)));
        }
        let mut rest = vec![0u8; size - 10];
        self.stream.read_exact(&mut rest).map_err(|e| io(&format!("receive from {}", self.addr), e))?;
        Ok([hdr.to_vec(), rest].concat())
    }

    fn describe(&self) -> String {
        format!("swtpm {}", self.addr)
    }
}
