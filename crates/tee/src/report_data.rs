//! Binding rules for report data: the expected value is a prefix of the TEE's field and the rest of
//! the field must be zero. Nothing is silently truncated.

use crate::{Error, Tee};

/// Zero-pads `data` to `field_len`; longer input is an error.
pub fn pad(tee: Tee, data: &[u8], field_len: usize) -> Result<Vec<u8>, Error> {
    if data.len() > field_len {
        return Err(Error::ReportDataTooLong { tee, len: data.len(), max: field_len });
    }
    let mut v = data.to_vec();
    v.resize(field_len, 0);
    Ok(v)
}

/// Checks that `field` starts with `expected` and is zero after it.
pub fn check(expected: &[u8], field: &[u8]) -> Result<(), Error> {
    let ok = expected.len() <= field.len()
        && field[..expected.len()] == *expected
        && field[expected.len()..].iter().all(|b| *b == 0);
    if ok {
        Ok(())
    } else {
        Err(Error::ReportDataMismatch {
            expected: hex::encode(expected),
            expected_len: expected.len(),
            found: hex::encode(field),
            found_len: field.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_and_zero_tail() {
        assert!(check(b"ab", b"ab\0\0").is_ok());
        assert!(check(b"ab", b"abc\0").is_err());
        assert!(check(b"abc", b"ab").is_err());
        assert_eq!(pad(Tee::Sgx, &[1; 65], 64), Err(Error::ReportDataTooLong { tee: Tee::Sgx, len: 65, max: 64 }));
    }
}
