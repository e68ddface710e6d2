//! Minimal COSE_Sign1 (RFC 9052) handling for CCA tokens: decode, build the Sig_structure,
//! verify ES256/ES384 signatures (aws-lc-rs).

use ciborium::Value;

use crate::{Error, Tee};

const TEE: Tee = Tee::Cca;

/// A decoded COSE_Sign1.
#[derive(Debug, Clone)]
pub struct Sign1 {
    pub protected: Vec<u8>,
    pub alg: i64,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

pub fn decode_value(b: &[u8], what: &str) -> Result<Value, Error> {
    ciborium::de::from_reader(b).map_err(|e| Error::malformed(TEE, format!("{what} is not CBOR: {e}")))
}

pub fn untag(v: Value) -> Value {
    match v {
        Value::Tag(_, inner) => *inner,
        v => v,
    }
}

pub fn map_get(m: &[(Value, Value)], key: i128) -> Option<&Value> {
    m.iter().find(|(k, _)| matches!(k, Value::Integer(i) if i128::from(*i) == key)).map(|(_, v)| v)
}

pub fn decode_sign1(b: &[u8], what: &str) -> Result<Sign1, Error> {
    let v = untag(decode_value(b, what)?);
    let Value::Array(a) = v else { return Err(Error::malformed(TEE, format!("{what} is not a COSE_Sign1 array"))) };
    let [Value::Bytes(protected), _unprotected, Value::Bytes(payload), Value::Bytes(signature)] =
        <[Value; 4]>::try_from(a).map_err(|_| Error::malformed(TEE, format!("{what}: COSE_Sign1 needs 4 elements")))?
    else {
        return Err(Error::malformed(TEE, format!("{what}: COSE_Sign1 element types")));
    };
    let hdr = if protected.is_empty() { Value::Map(vec![]) } else { decode_value(&protected, "protected header")? };
    let Value::Map(h) = hdr else {
        return Err(Error::malformed(TEE, format!("{what}: protected header is not a map")));
    };
    let alg = match map_get(&h, 1) {
        Some(Value::Integer(i)) => i64::try_from(i128::from(*i)).unwrap_or(0),
        _ => return Err(Error::malformed(TEE, format!("{what}: no alg in protected header"))),
    };
    Ok(Sign1 { protected, alg, payload, signature })
}

/// Verifies `s` with an uncompressed SEC1 EC public key.
pub fn verify(s: &Sign1, sec1_pub: &[u8], what: &str) -> Result<(), Error> {
    let alg = match s.alg {
        -7 => &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
        -35 => &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED,
        -36 => &aws_lc_rs::signature::ECDSA_P521_SHA512_FIXED,
        a => return Err(Error::Unsupported { tee: TEE, reason: format!("{what}: COSE alg {a}") }),
    };
    let tbs = Value::Array(vec![
        Value::Text("Signature1".into()),
        Value::Bytes(s.protected.clone()),
        Value::Bytes(vec![]),
        Value::Bytes(s.payload.clone()),
    ]);
    let mut buf = Vec::new();
    ciborium::ser::into_writer(&tbs, &mut buf).map_err(|e| Error::Io(e.to_string()))?;
    aws_lc_rs::signature::UnparsedPublicKey::new(alg, sec1_pub).verify(&buf, &s.signature).map_err(|_| {
        Error::BadSignature { tee: TEE, what: what.into(), reason: "COSE_Sign1 signature does not verify".into() }
    })
}

/// EC public key from a COSE_Key map (kty 2) or a raw SEC1 point.
pub fn ec_key(b: &[u8]) -> Result<Vec<u8>, Error> {
    if b.first() == Some(&0x04) {
        return Ok(b.to_vec());
    }
    let Value::Map(m) = decode_value(b, "COSE_Key")? else {
        return Err(Error::malformed(TEE, "COSE_Key is not a map"));
    };
    match (map_get(&m, -2), map_get(&m, -3)) {
        (Some(Value::Bytes(x)), Some(Value::Bytes(y))) => Ok([&[0x04][..], x, y].concat()),
        _ => Err(Error::malformed(TEE, "COSE_Key without x/y")),
    }
}
