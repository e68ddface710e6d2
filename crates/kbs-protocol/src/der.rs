//! Just enough DER to move RSA public keys between JWK (`n`, `e`) and SubjectPublicKeyInfo.

use crate::Error;

const RSA_ALG_ID: [u8; 15] = [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];

fn len(out: &mut Vec<u8>, n: usize) {
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let b = n.to_be_bytes();
        let skip = b.iter().take_while(|x| **x == 0).count();
        out.push(0x80 | (b.len() - skip) as u8);
        out.extend_from_slice(&b[skip..]);
    }
}

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    len(&mut out, body.len());
    out.extend_from_slice(body);
    out
}

fn uint(v: &[u8]) -> Vec<u8> {
    let v = &v[v.iter().take_while(|x| **x == 0).count()..];
    let mut body = Vec::with_capacity(v.len() + 1);
    if v.first().is_none_or(|b| b & 0x80 != 0) {
        body.push(0);
    }
    body.extend_from_slice(v);
    tlv(0x02, &body)
}

/// SPKI DER of an RSA key from big-endian modulus and exponent.
pub fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut seq = uint(n);
    seq.extend(uint(e));
    let rsa_pk = tlv(0x30, &seq);
    let mut bits = vec![0u8];
    bits.extend(rsa_pk);
    let mut spki = RSA_ALG_ID.to_vec();
    spki.extend(tlv(0x03, &bits));
    tlv(0x30, &spki)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn next(&mut self, tag: u8) -> Result<&'a [u8], Error> {
        let bad = || Error::Jwk("malformed RSA public key DER".into());
        let (&t, rest) = self.0.split_first().ok_or_else(bad)?;
        if t != tag {
            return Err(bad());
        }
        let (&l0, mut rest) = rest.split_first().ok_or_else(bad)?;
        let l = if l0 < 0x80 {
            l0 as usize
        } else {
            let nb = (l0 & 0x7f) as usize;
            if nb == 0 || nb > 4 || rest.len() < nb {
                return Err(bad());
            }
            let l = rest[..nb].iter().fold(0usize, |a, b| (a << 8) | *b as usize);
            rest = &rest[nb..];
            l
        };
        if rest.len() < l {
            return Err(bad());
        }
        let (body, tail) = rest.split_at(l);
        self.0 = tail;
        Ok(body)
    }
}

/// (n, e) without leading zeros from RSA SPKI DER.
pub fn rsa_from_spki(spki: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let mut r = Reader(spki);
    let mut s = Reader(r.next(0x30)?);
    s.next(0x30)?;
    let bits = s.next(0x03)?;
    let mut k = Reader(bits.get(1..).unwrap_or_default());
    let mut seq = Reader(k.next(0x30)?);
    let strip = |v: &[u8]| v[v.iter().take_while(|x| **x == 0).count()..].to_vec();
    let n = strip(seq.next(0x02)?);
    let e = strip(seq.next(0x02)?);
    Ok((n, e))
}

#[cfg(test)]
mod tests {
    #[test]
    fn roundtrip() {
        let n = [0xc5u8; 256];
        let spki = super::rsa_spki(&n, &[1, 0, 1]);
        assert_eq!(super::rsa_from_spki(&spki).unwrap(), (n.to_vec(), vec![1, 0, 1]));
    }
}
