//! RFC 8785 JSON Canonicalization Scheme over `serde_json::Value`.
//!
//! Object members are sorted by their UTF-16 code units, strings use the ECMAScript
//! `JSON.stringify` escapes, numbers use the ECMAScript shortest form (`1e+21`, `1e-7`, `0.000001`).

use serde_json::Value;

use crate::Error;

/// Canonical bytes of `v`.
pub fn to_vec(v: &Value) -> Result<Vec<u8>, Error> {
    let mut out = String::new();
    write_value(&mut out, v)?;
    Ok(out.into_bytes())
}

/// Canonical bytes of any serialisable value.
pub fn to_vec_of<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, Error> {
    let v = serde_json::to_value(v).map_err(|e| Error::json("canonical JSON input", e))?;
    to_vec(&v)
}

fn write_value(out: &mut String, v: &Value) -> Result<(), Error> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n)?,
        Value::String(s) => write_string(out, s),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, x)?;
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_value(out, &m[k.as_str()])?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_number(out: &mut String, n: &serde_json::Number) -> Result<(), Error> {
    if let Some(i) = n.as_i64() {
        return write_f64_or_int(out, i as f64, Some(i.to_string()));
    }
    if let Some(u) = n.as_u64() {
        return write_f64_or_int(out, u as f64, Some(u.to_string()));
    }
    let f = n.as_f64().ok_or_else(|| Error::NonFiniteNumber(n.to_string()))?;
    write_f64_or_int(out, f, None)
}

fn write_f64_or_int(out: &mut String, f: f64, int_repr: Option<String>) -> Result<(), Error> {
    // Integers that are exact doubles print as ECMAScript would; larger ones are rounded to the
    // double ECMAScript would see, as RFC 8785 requires.
    if let Some(s) = int_repr {
        if f.abs() < 9_007_199_254_740_992.0 {
            out.push_str(&s);
            return Ok(());
        }
    }
    out.push_str(&es_number(f)?);
    Ok(())
}

/// ECMAScript Number::toString for a finite double.
pub fn es_number(f: f64) -> Result<String, Error> {
    if !f.is_finite() {
        return Err(Error::NonFiniteNumber(f.to_string()));
    }
    if f == 0.0 {
        return Ok("0".into());
    }
    let neg = f < 0.0;
    // `{:e}` gives the shortest round-trip digits: d[.ddd]e<exp>
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').ok_or(Error::NonFiniteNumber(sci.clone()))?;
    let exp: i32 = exp.parse().map_err(|_| Error::NonFiniteNumber(sci.clone()))?;
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i32;
    let n = exp + 1;
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    if k <= n && n <= 21 {
        s.push_str(&digits);
        s.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        s.push_str(&digits[..n as usize]);
        s.push('.');
        s.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        s.push_str("0.");
        s.extend(std::iter::repeat_n('0', (-n) as usize));
        s.push_str(&digits);
    } else {
        s.push_str(&digits[..1]);
        if k > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push('e');
        s.push(if n >= 1 { '+' } else { '-' });
        s.push_str(&(n - 1).abs().to_string());
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_and_escapes() {
        let v = json!({"b": [1, "x\n\u{1}"], "a": {"z": null, "é": true, "A": 1.5}});
        assert_eq!(
            String::from_utf8(to_vec(&v).unwrap()).unwrap(),
            "{\"a\":{\"A\":1.5,\"z\":null,\"é\":true},\"b\":[1,\"x\\n\\u0001\"]}"
        );
    }

    #[test]
    fn utf16_order() {
        // RFC 8785 3.2.3: U+20AC (€) sorts before U+1F600 (surrogates D83D..) in UTF-16.
        let v = json!({"\u{1F600}": 1, "\u{20AC}": 2, "\r": 3});
        assert_eq!(String::from_utf8(to_vec(&v).unwrap()).unwrap(), "{\"\\r\":3,\"€\":2,\"😀\":1}");
    }

    #[test]
    fn numbers_like_ecmascript() {
        // Values from RFC 8785 appendix B.
        for (f, s) in [
            (1e21, "1e+21"),
            (1e-7, "1e-7"),
            (0.000001, "0.000001"),
            (333333333.3333333, "333333333.3333333"),
            (-5e-324, "-5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (295147905179352830000.0, "295147905179352830000"),
            (4.5, "4.5"),
            (0.002, "0.002"),
            (9007199254740994.0, "9007199254740994"),
        ] {
            assert_eq!(es_number(f).unwrap(), s, "{f}");
        }
    }
}
