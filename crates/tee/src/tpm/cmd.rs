//! The few TPM 2.0 commands an attester needs, marshalled by hand (TPM 2.0 Library Part 3):
//! `CreatePrimary`, `ReadPublic`, `PCR_Read`, `PCR_Extend`, `Quote`, `FlushContext`.
//! Authorization is the empty password session (`TPM_RS_PW`), as for an AK and hierarchies
//! without auth values. Every response is bounds-checked; a non-zero response code is an error
//! naming the command.

use crate::{Error, Tee};

use super::transport::Transport;

pub const TPM_ST_NO_SESSIONS: u16 = 0x8001;
pub const TPM_ST_SESSIONS: u16 = 0x8002;
pub const TPM_RS_PW: u32 = 0x4000_0009;
pub const TPM_RH_OWNER: u32 = 0x4000_0001;
pub const TPM_RH_ENDORSEMENT: u32 = 0x4000_000B;
pub const TPM_ALG_RSA: u16 = 0x0001;
pub const TPM_ALG_SHA256: u16 = 0x000B;
pub const TPM_ALG_NULL: u16 = 0x0010;
pub const TPM_ALG_RSASSA: u16 = 0x0014;

const CC_CREATE_PRIMARY: u32 = 0x0000_0131;
const CC_EVICT_CONTROL: u32 = 0x0000_0120;
const CC_FLUSH_CONTEXT: u32 = 0x0000_0165;
const CC_QUOTE: u32 = 0x0000_0158;
const CC_READ_PUBLIC: u32 = 0x0000_0173;
const CC_PCR_READ: u32 = 0x0000_017E;
const CC_PCR_EXTEND: u32 = 0x0000_0182;

/// fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | restricted | sign: an AK
/// (the attributes `tpm2_createak` gives an RSA AK).
pub const AK_ATTRIBUTES: u32 = 0x0000_0002 | 0x0000_0010 | 0x0000_0020 | 0x0000_0040 | 0x0001_0000 | 0x0004_0000;

/// Number of PCRs in the SHA-256 bank quoted (guest-components quotes PCRs 0-23).
pub const PCR_COUNT: usize = 24;

/// TPM response code of a failed command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseCode(pub u32);

impl ResponseCode {
    /// `TPM_RC_HANDLE` (format-one, any handle/parameter number): the handle does not exist.
    pub fn is_bad_handle(self) -> bool {
        self.0 & 0x80 != 0 && self.0 & 0x3f == 0x0b
    }
}

fn tpm_err(cc: &str, rc: u32) -> Error {
    Error::Io(format!("TPM2_{cc} failed with response code {rc:#x}"))
}

fn short(what: &str) -> Error {
    Error::malformed(Tee::Tpm, format!("TPM response truncated in {what}"))
}

/// A big-endian cursor over a response.
pub struct Rd<'a> {
    b: &'a [u8],
}

impl<'a> Rd<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Rd { b }
    }
    pub fn take(&mut self, n: usize, w: &str) -> Result<&'a [u8], Error> {
        if self.b.len() < n {
            return Err(short(w));
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    pub fn u8(&mut self, w: &str) -> Result<u8, Error> {
        Ok(self.take(1, w)?[0])
    }
    pub fn u16(&mut self, w: &str) -> Result<u16, Error> {
        let s = self.take(2, w)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }
    pub fn u32(&mut self, w: &str) -> Result<u32, Error> {
        let s = self.take(4, w)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    pub fn tpm2b(&mut self, w: &str) -> Result<&'a [u8], Error> {
        let n = self.u16(w)? as usize;
        self.take(n, w)
    }
    pub fn rest(&self) -> &'a [u8] {
        self.b
    }
}

struct Cmd {
    b: Vec<u8>,
}

impl Cmd {
    fn new(sessions: bool, cc: u32) -> Self {
        let mut b = Vec::with_capacity(256);
        b.extend_from_slice(&(if sessions { TPM_ST_SESSIONS } else { TPM_ST_NO_SESSIONS }).to_be_bytes());
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&cc.to_be_bytes());
        Cmd { b }
    }
    fn u8(&mut self, v: u8) -> &mut Self {
        self.b.push(v);
        self
    }
    fn u16(&mut self, v: u16) -> &mut Self {
        self.b.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.b.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.b.extend_from_slice(v);
        self
    }
    fn tpm2b(&mut self, v: &[u8]) -> Result<&mut Self, Error> {
        let n = u16::try_from(v.len()).map_err(|_| Error::Io(format!("TPM2B of {} bytes", v.len())))?;
        Ok(self.u16(n).bytes(v))
    }
    /// One empty-password session (authorizationSize, TPMS_AUTH_COMMAND).
    fn password_session(&mut self) -> &mut Self {
        self.u32(9).u32(TPM_RS_PW).u16(0).u8(0).u16(0)
    }
    fn finish(mut self) -> Vec<u8> {
        let n = self.b.len() as u32;
        self.b[2..6].copy_from_slice(&n.to_be_bytes());
        self.b
    }
}

/// Warnings after which the same command is simply sent again (as TSS stacks do):
/// `TPM_RC_YIELDED`, `TPM_RC_TESTING`, `TPM_RC_RETRY` (e.g. the first dictionary-attack-protected
/// authorization after start-up, while the TPM records that DA is in use).
const RETRY_CODES: [u32; 3] = [0x908, 0x90A, 0x922];
const MAX_RETRIES: usize = 20;

/// Sends a command; returns the response body after the header (rc 0), or the response code.
fn call(t: &mut dyn Transport, cmd: Cmd) -> Result<Result<Vec<u8>, ResponseCode>, Error> {
    let cmd = cmd.finish();
    let mut tries = 0;
    loop {
        match call_once(t, &cmd)? {
            Err(rc) if RETRY_CODES.contains(&rc.0) && tries < MAX_RETRIES => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(tries as u64));
            }
            r => return Ok(r),
        }
    }
}

fn call_once(t: &mut dyn Transport, cmd: &[u8]) -> Result<Result<Vec<u8>, ResponseCode>, Error> {
    let resp = t.transact(cmd)?;
    let mut r = Rd::new(&resp);
    let _tag = r.u16("response tag")?;
    let size = r.u32("response size")? as usize;
    if size != resp.len() {
        return Err(Error::malformed(Tee::Tpm, format!("TPM response header says {size} bytes, got {}", resp.len())));
    }
    let rc = r.u32("response code")?;
    if rc != 0 {
        return Ok(Err(ResponseCode(rc)));
    }
    Ok(Ok(r.rest().to_vec()))
}

fn call_ok(t: &mut dyn Transport, cmd: Cmd, name: &str) -> Result<Vec<u8>, Error> {
    call(t, cmd)?.map_err(|rc| tpm_err(name, rc.0))
}

/// `TPMS_PCR_SELECTION` for the SHA-256 bank with the given PCRs.
fn pcr_select(c: &mut Cmd, pcrs: &[usize]) {
    let mut bits = [0u8; 3];
    for &i in pcrs {
        bits[i / 8] |= 1 << (i % 8);
    }
    c.u32(1).u16(TPM_ALG_SHA256).u8(3).bytes(&bits);
}

/// An RSA public key read from a `TPMT_PUBLIC`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaPublic {
    pub modulus: Vec<u8>,
    /// 0 in the TPM structure means 65537; already substituted here.
    pub exponent: u32,
    pub attributes: u32,
}

/// Parses a `TPMT_PUBLIC` (inside its TPM2B) of an RSA key.
pub fn parse_rsa_public(tpm2b_public: &[u8]) -> Result<RsaPublic, Error> {
    let mut r = Rd::new(tpm2b_public);
    let body = r.tpm2b("TPM2B_PUBLIC")?;
    let mut r = Rd::new(body);
    let ty = r.u16("TPMT_PUBLIC.type")?;
    if ty != TPM_ALG_RSA {
        return Err(Error::Unsupported {
            tee: Tee::Tpm,
            reason: format!("AK key type {ty:#x}: only RSA AKs are accepted by the tpm verifier"),
        });
    }
    let _name_alg = r.u16("nameAlg")?;
    let attributes = r.u32("objectAttributes")?;
    r.tpm2b("authPolicy")?;
    let sym = r.u16("symmetric")?;
    if sym != TPM_ALG_NULL {
        r.take(4, "symmetric keyBits/mode")?;
    }
    let scheme = r.u16("scheme")?;
    if scheme != TPM_ALG_NULL {
        r.take(2, "scheme hash")?;
    }
    let _bits = r.u16("keyBits")?;
    let exponent = match r.u32("exponent")? {
        0 => 65537,
        e => e,
    };
    let modulus = r.tpm2b("unique (modulus)")?.to_vec();
    if modulus.is_empty() {
        return Err(Error::malformed(Tee::Tpm, "AK public key has an empty modulus"));
    }
    Ok(RsaPublic { modulus, exponent, attributes })
}

/// `TPM2_CreatePrimary` of an RSA-2048 restricted signing key (RSASSA, SHA-256) under `hierarchy`:
/// returns the transient handle and the key's public part. The template is fixed, so the same
/// hierarchy seed always yields the same key.
pub fn create_primary_ak(t: &mut dyn Transport, hierarchy: u32) -> Result<(u32, RsaPublic), Error> {
    let mut c = Cmd::new(true, CC_CREATE_PRIMARY);
    c.u32(hierarchy).password_session();
    // inSensitive: TPM2B_SENSITIVE_CREATE { userAuth: empty, data: empty }.
    c.u16(4).u16(0).u16(0);
    // inPublic: TPMT_PUBLIC.
    let mut p = Cmd { b: Vec::new() };
    p.u16(TPM_ALG_RSA).u16(TPM_ALG_SHA256).u32(AK_ATTRIBUTES).u16(0);
    p.u16(TPM_ALG_NULL).u16(TPM_ALG_RSASSA).u16(TPM_ALG_SHA256).u16(2048).u32(0).u16(0);
    c.tpm2b(&p.b)?;
    // outsideInfo: empty; creationPCR: none.
    c.u16(0).u32(0);
    let body = call_ok(t, c, "CreatePrimary")?;
    let mut r = Rd::new(&body);
    let handle = r.u32("objectHandle")?;
    let _param_size = r.u32("parameterSize")?;
    let public = parse_rsa_public(r.rest())?;
    Ok((handle, public))
}

/// `TPM2_ReadPublic`: `Ok(Err(rc))` when the TPM refused (e.g. no such persistent handle).
pub fn read_public(t: &mut dyn Transport, handle: u32) -> Result<Result<RsaPublic, ResponseCode>, Error> {
    let mut c = Cmd::new(false, CC_READ_PUBLIC);
    c.u32(handle);
    match call(t, c)? {
        Ok(body) => Ok(Ok(parse_rsa_public(&body)?)),
        Err(rc) => Ok(Err(rc)),
    }
}

/// `TPM2_FlushContext` of a transient object.
pub fn flush_context(t: &mut dyn Transport, handle: u32) -> Result<(), Error> {
    let mut c = Cmd::new(false, CC_FLUSH_CONTEXT);
    c.u32(handle);
    call_ok(t, c, "FlushContext").map(|_| ())
}

/// `TPM2_EvictControl` under the owner hierarchy: makes transient `object` persistent at
/// `persistent` (provisioning an AK the way a platform would, e.g. at 0x81010002).
pub fn evict_control(t: &mut dyn Transport, object: u32, persistent: u32) -> Result<(), Error> {
    let mut c = Cmd::new(true, CC_EVICT_CONTROL);
    c.u32(TPM_RH_OWNER).u32(object).password_session().u32(persistent);
    call_ok(t, c, "EvictControl").map(|_| ())
}

/// Reads PCRs 0..24 of the SHA-256 bank, in index order. A TPM returns at most 8 digests per
/// `TPM2_PCR_Read`; the loop asks again for what is still missing.
pub fn read_pcrs(t: &mut dyn Transport) -> Result<Vec<Vec<u8>>, Error> {
    let mut out: Vec<Option<Vec<u8>>> = vec![None; PCR_COUNT];
    for _round in 0..PCR_COUNT {
        let missing: Vec<usize> = (0..PCR_COUNT).filter(|i| out[*i].is_none()).collect();
        if missing.is_empty() {
            break;
        }
        let mut c = Cmd::new(false, CC_PCR_READ);
        pcr_select(&mut c, &missing);
        let body = call_ok(t, c, "PCR_Read")?;
        let mut r = Rd::new(&body);
        let _counter = r.u32("pcrUpdateCounter")?;
        let count = r.u32("pcrSelectionOut.count")?;
        let mut got = Vec::new();
        for _ in 0..count.min(16) {
            let alg = r.u16("pcrSelectionOut.hash")?;
            let n = r.u8("sizeofSelect")? as usize;
            let bits = r.take(n, "pcrSelect")?;
            if alg != TPM_ALG_SHA256 {
                continue;
            }
            for (i, byte) in bits.iter().enumerate() {
                for bit in 0..8 {
                    if byte & (1 << bit) != 0 && i * 8 + bit < PCR_COUNT {
                        got.push(i * 8 + bit);
                    }
                }
            }
        }
        let n = r.u32("pcrValues.count")? as usize;
        if n != got.len() {
            return Err(Error::malformed(
                Tee::Tpm,
                format!("PCR_Read returned {n} digests for {} selected PCRs", got.len()),
            ));
        }
        if n == 0 {
            return Err(Error::Unsupported { tee: Tee::Tpm, reason: "the TPM has no SHA-256 PCR bank".into() });
        }
        for i in got {
            let d = r.tpm2b("PCR digest")?;
            if d.len() != 32 {
                return Err(Error::malformed(Tee::Tpm, format!("SHA-256 PCR {i} is {} bytes", d.len())));
            }
            out[i] = Some(d.to_vec());
        }
    }
    out.into_iter()
        .enumerate()
        .map(|(i, v)| v.ok_or_else(|| Error::malformed(Tee::Tpm, format!("PCR {i} never returned"))))
        .collect()
}

/// `TPM2_PCR_Extend` of the SHA-256 bank.
pub fn extend_pcr(t: &mut dyn Transport, index: usize, digest: &[u8; 32]) -> Result<(), Error> {
    if index >= PCR_COUNT {
        return Err(Error::Io(format!("PCR index {index} out of range")));
    }
    let mut c = Cmd::new(true, CC_PCR_EXTEND);
    c.u32(index as u32).password_session().u32(1).u16(TPM_ALG_SHA256).bytes(digest);
    call_ok(t, c, "PCR_Extend").map(|_| ())
}

/// `TPM2_Quote` of SHA-256 PCRs 0-23 with `qualifying` as extraData, RSASSA-SHA256: returns the
/// marshalled `TPMS_ATTEST` (without its TPM2B size) and `TPMT_SIGNATURE`.
pub fn quote(t: &mut dyn Transport, ak: u32, qualifying: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let mut c = Cmd::new(true, CC_QUOTE);
    c.u32(ak).password_session();
    c.tpm2b(qualifying)?;
    c.u16(TPM_ALG_RSASSA).u16(TPM_ALG_SHA256);
    let all: Vec<usize> = (0..PCR_COUNT).collect();
    pcr_select(&mut c, &all);
    let body = call_ok(t, c, "Quote")?;
    let mut r = Rd::new(&body);
    let psize = r.u32("parameterSize")? as usize;
    let params = r.take(psize, "Quote parameters")?;
    let mut p = Rd::new(params);
    let attest = p.tpm2b("quoted (TPM2B_ATTEST)")?.to_vec();
    let sig = p.rest().to_vec();
    // Check the signature is complete (sigAlg, hash, TPM2B).
    let mut s = Rd::new(&sig);
    s.u16("sigAlg")?;
    s.u16("signature hash")?;
    s.tpm2b("signature")?;
    if !s.rest().is_empty() {
        return Err(Error::malformed(Tee::Tpm, "trailing bytes after the quote signature"));
    }
    Ok((attest, sig))
}
