//! AK endorsement: an AK certificate chain (AK certificate first, then issuing CAs) that leads
//! to a root the verifier is configured with (the platform's EK/AK CA, e.g. a privacy CA that
//! certifies AKs after TPM2_ActivateCredential against the EK certificate).
//!
//! Per link: issuer name = subject name, signature by the issuer's key (RSA PKCS#1 v1.5 with
//! SHA-256/384/512, ECDSA P-256/P-384 with SHA-256/384; ring), the issuer is a CA
//! (basicConstraints cA, keyCertSign when key usage is present, path length). Every certificate,
//! the root included, must be valid at the verification time; unrecognised critical extensions
//! are refused. The AK certificate must certify exactly the AK that signed the quote and, when it
//! has a key usage, allow digitalSignature. The chain's top certificate is either a configured
//! root (byte for byte) or signed by one; a root carried in the evidence is never trusted by
//! itself. Revocation is not checked (no CRL/OCSP source is configured).

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::time::ASN1Time;

use super::{strip, RsaKey};
use crate::{Error, Tee};

/// Longest AK certificate chain accepted (AK certificate + issuing CAs).
pub const MAX_CHAIN: usize = 8;
/// Largest certificate accepted (DER bytes). Real EK/AK certificates are 1-2 kB.
pub const MAX_CERT: usize = 16 * 1024;

const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_SHA256_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const OID_SHA384_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
const OID_SHA512_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const OID_ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];

fn untrusted(tee: Tee, reason: impl Into<String>) -> Error {
    Error::UntrustedChain { tee, reason: reason.into() }
}

/// Roots (DER) from PEM or DER certificate files; each must parse.
pub fn roots_from_certs(tee: Tee, bytes: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let mut out = Vec::new();
    if bytes.first() == Some(&0x30) {
        out.push(bytes.to_vec());
    } else {
        for pem in x509_parser::pem::Pem::iter_from_buffer(bytes) {
            let pem = pem.map_err(|e| Error::malformed(tee, format!("AK root certificate PEM: {e}")))?;
            if pem.label == "CERTIFICATE" {
                out.push(pem.contents);
            }
        }
    }
    if out.is_empty() {
        return Err(Error::malformed(tee, "no certificate in the AK root file"));
    }
    for r in &out {
        parse(tee, r, "AK root")?;
    }
    Ok(out)
}

fn parse<'a>(tee: Tee, der: &'a [u8], what: &str) -> Result<X509Certificate<'a>, Error> {
    let (rest, c) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| Error::malformed(tee, format!("{what} certificate: {e}")))?;
    if !rest.is_empty() {
        return Err(Error::malformed(tee, format!("{what} certificate: {} bytes after the certificate", rest.len())));
    }
    Ok(c)
}

fn name(c: &X509Certificate<'_>) -> String {
    c.subject().to_string()
}

/// Checks that `child` is signed by `issuer`'s key under `issuer`'s name.
fn check_signed_by(tee: Tee, child: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> Result<(), Error> {
    use ring::signature as sig;
    if child.issuer().as_raw() != issuer.subject().as_raw() {
        return Err(untrusted(
            tee,
            format!("{:?} is issued by {:?}, not by {:?}", name(child), child.issuer().to_string(), name(issuer)),
        ));
    }
    let spki = issuer.public_key();
    let key_alg = spki.algorithm.algorithm.as_bytes();
    let curve = spki.algorithm.parameters.as_ref().map(|p| p.data);
    let alg: &'static dyn sig::VerificationAlgorithm =
        match (child.signature_algorithm.algorithm.as_bytes(), key_alg, curve) {
            (OID_SHA256_WITH_RSA, OID_RSA_ENCRYPTION, _) => &sig::RSA_PKCS1_2048_8192_SHA256,
            (OID_SHA384_WITH_RSA, OID_RSA_ENCRYPTION, _) => &sig::RSA_PKCS1_2048_8192_SHA384,
            (OID_SHA512_WITH_RSA, OID_RSA_ENCRYPTION, _) => &sig::RSA_PKCS1_2048_8192_SHA512,
            (OID_ECDSA_SHA256, OID_EC_PUBLIC_KEY, Some(OID_P256)) => &sig::ECDSA_P256_SHA256_ASN1,
            (OID_ECDSA_SHA384, OID_EC_PUBLIC_KEY, Some(OID_P256)) => &sig::ECDSA_P256_SHA384_ASN1,
            (OID_ECDSA_SHA256, OID_EC_PUBLIC_KEY, Some(OID_P384)) => &sig::ECDSA_P384_SHA256_ASN1,
            (OID_ECDSA_SHA384, OID_EC_PUBLIC_KEY, Some(OID_P384)) => &sig::ECDSA_P384_SHA384_ASN1,
            _ => {
                return Err(Error::Unsupported {
                    tee,
                    reason: format!(
                        "signature algorithm {} on {:?} with a {} issuer key",
                        child.signature_algorithm.algorithm,
                        name(child),
                        spki.algorithm.algorithm
                    ),
                })
            }
        };
    sig::UnparsedPublicKey::new(alg, spki.subject_public_key.data.as_ref())
        .verify(child.tbs_certificate.as_ref(), child.signature_value.data.as_ref())
        .map_err(|_| {
            untrusted(tee, format!("signature on {:?} does not verify with the key of {:?}", name(child), name(issuer)))
        })
}

/// `below` = number of CA certificates between this issuer and the AK certificate.
fn check_ca(tee: Tee, c: &X509Certificate<'_>, below: usize) -> Result<(), Error> {
    match c.basic_constraints().map_err(|e| untrusted(tee, format!("{:?} basicConstraints: {e}", name(c))))? {
        Some(b) if b.value.ca => {
            if let Some(len) = b.value.path_len_constraint {
                if below > len as usize {
                    return Err(untrusted(
                        tee,
                        format!("{:?} path length {len} exceeded ({below} CAs below it)", name(c)),
                    ));
                }
            }
        }
        _ => return Err(untrusted(tee, format!("{:?} issues certificates but is not a CA", name(c)))),
    }
    if let Some(ku) = c.key_usage().map_err(|e| untrusted(tee, format!("{:?} keyUsage: {e}", name(c))))? {
        if !ku.value.key_cert_sign() {
            return Err(untrusted(tee, format!("{:?} key usage does not allow certificate signing", name(c))));
        }
    }
    Ok(())
}

fn check_extensions(tee: Tee, c: &X509Certificate<'_>) -> Result<(), Error> {
    for e in c.extensions() {
        match e.parsed_extension() {
            ParsedExtension::UnsupportedExtension { .. } if e.critical => {
                return Err(untrusted(tee, format!("{:?} has an unrecognised critical extension {}", name(c), e.oid)));
            }
            ParsedExtension::ParseError { error } => {
                return Err(untrusted(tee, format!("{:?} extension {}: {error}", name(c), e.oid)));
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_time(tee: Tee, c: &X509Certificate<'_>, now: u64) -> Result<(), Error> {
    let t = i64::try_from(now)
        .ok()
        .and_then(|n| ASN1Time::from_timestamp(n).ok())
        .ok_or_else(|| Error::CollateralExpired { tee, at: now, reason: "verification time out of range".into() })?;
    if !c.validity().is_valid_at(t) {
        return Err(Error::CollateralExpired {
            tee,
            at: now,
            reason: format!(
                "certificate {:?} is valid from {} to {}",
                name(c),
                c.validity().not_before,
                c.validity().not_after
            ),
        });
    }
    Ok(())
}

/// Verifies that `chain` (AK certificate first) certifies `ak` and leads to one of `roots` at
/// `now`. Returns the subject names, AK certificate to root.
pub fn verify_ak_chain(
    tee: Tee,
    chain: &[Vec<u8>],
    roots: &[Vec<u8>],
    ak: &RsaKey,
    now: u64,
) -> Result<Vec<String>, Error> {
    if chain.is_empty() {
        return Err(Error::UnendorsedAk { tee });
    }
    if chain.len() > MAX_CHAIN {
        return Err(Error::FieldTooLarge {
            tee,
            field: "ak_cert_chain",
            len: chain.len(),
            max: MAX_CHAIN,
            unit: "certificates",
        });
    }
    let certs = chain
        .iter()
        .enumerate()
        .map(|(i, d)| parse(tee, d, if i == 0 { "AK" } else { "AK issuing CA" }))
        .collect::<Result<Vec<_>, _>>()?;
    let roots = roots.iter().map(|r| parse(tee, r, "AK root").map(|c| (r, c))).collect::<Result<Vec<_>, _>>()?;
    // The AK certificate certifies the key that signed the quote.
    let leaf = &certs[0];
    let certified = match leaf.public_key().parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(k)) => strip(k.modulus) == ak.n && strip(k.exponent) == ak.e,
        _ => false,
    };
    if !certified {
        return Err(Error::BindingMismatch {
            tee,
            reason: format!(
                "the AK certificate {:?} certifies another key than the AK that signed the quote",
                name(leaf)
            ),
        });
    }
    if let Some(ku) = leaf.key_usage().map_err(|e| untrusted(tee, format!("AK certificate keyUsage: {e}")))? {
        if !ku.value.digital_signature() {
            return Err(untrusted(tee, "the AK certificate's key usage does not allow digitalSignature"));
        }
    }
    for (i, c) in certs.iter().enumerate() {
        check_extensions(tee, c)?;
        check_time(tee, c, now)?;
        if let Some(issuer) = certs.get(i + 1) {
            check_ca(tee, issuer, i)?;
            check_signed_by(tee, c, issuer)?;
        }
    }
    let mut names: Vec<String> = certs.iter().map(name).collect();
    let top_i = certs.len() - 1;
    let top = &certs[top_i];
    // The top certificate is a configured root itself, or is signed by one.
    if roots.iter().any(|(der, _)| *der == &chain[top_i]) {
        return Ok(names);
    }
    let mut last_err = None;
    for (_, root) in &roots {
        if root.subject().as_raw() != top.issuer().as_raw() {
            continue;
        }
        let r = check_ca(tee, root, top_i)
            .and_then(|_| check_signed_by(tee, top, root))
            .and_then(|_| check_time(tee, root, now));
        match r {
            Ok(()) => {
                names.push(name(root));
                return Ok(names);
            }
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| untrusted(tee, format!("{:?} is not issued by a configured AK root", name(top)))))
}
