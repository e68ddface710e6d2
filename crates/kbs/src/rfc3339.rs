//! RFC 3339 timestamps (`YYYY-MM-DDTHH:MM:SSZ`) as Unix seconds: reference-value expiry and in-toto
//! link times. The current time itself comes from the injected `tee::clock::Clock`.

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// An unsigned decimal field of exactly `b.len()` ASCII digits (no sign, no spaces).
fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |a, d| a * 10 + i64::from(d - b'0')))
}

/// `YYYY-MM-DDTHH:MM:SSZ` (fractional seconds and numeric offsets accepted) to Unix seconds.
/// Works on bytes only, so no input (multi-byte characters included) can make it slice inside a
/// character; anything that is not the ASCII grammar is `None`.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let (h, mi, se) = (digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &b[19..];
    if let Some(r) = rest.strip_prefix(b".") {
        let n = r.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = &r[n..];
    }
    let off = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (oh, om) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if oh > 23 || om > 59 {
                return None;
            }
            let v = oh * 3600 + om * 60;
            if *sign == b'+' {
                v
            } else {
                -v
            }
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo as u32, d as u32) * 86400 + h * 3600 + mi * 60 + se - off)
}

pub fn format_rfc3339(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(86400));
    let s = unix.rem_euclid(86400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", s / 3600, (s / 60) % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2030-01-01T00:00:00Z"), Some(1893456000));
        assert_eq!(parse_rfc3339("2030-01-01T01:00:00.5+01:00"), Some(1893456000));
        assert_eq!(format_rfc3339(1893456000), "2030-01-01T00:00:00Z");
        assert_eq!(parse_rfc3339("2030-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}

#[cfg(test)]
mod rfc3339_robustness {
    use super::*;

    /// Item 11: odd strings, including multi-byte characters at every position of a valid
    /// timestamp (the offset `+0é00` used to panic on a non-char-boundary slice), never panic.
    #[test]
    fn parse_rfc3339_never_panics_on_odd_input() {
        assert_eq!(parse_rfc3339("2030-01-01T00:00:00+0é00"), None);
        assert_eq!(parse_rfc3339("2030-01-01T00:00:00+é:00"), None);
        assert_eq!(parse_rfc3339("2030-01-01T00:00:00+00:é"), None);
        assert_eq!(parse_rfc3339("2030-01-01T00:00:00++1:00"), None, "sign inside a number field");
        assert_eq!(parse_rfc3339("+030-01-01T00:00:00Z"), None, "sign inside a number field");
        assert_eq!(parse_rfc3339("2030-01-01T00:00:00+24:00"), None, "offset hour out of range");
        let seeds = ["2030-01-01T00:00:00Z", "2030-01-01T01:00:00.5+01:00", "1999-12-31t23:59:60-12:30"];
        let odd = ["é", "€", "😀", "\u{0}", "\u{7f}", "\u{85}", "9", ":", "+", "-", ".", "Z", " ", "\u{feff}"];
        let mut n = 0;
        for s in seeds {
            assert!(parse_rfc3339(s).is_some(), "{s}");
            let chars: Vec<char> = s.chars().collect();
            for i in 0..=chars.len() {
                // truncation
                let t: String = chars[..i].iter().collect();
                let _ = parse_rfc3339(&t);
                for o in odd {
                    // replacement and insertion at every position
                    let mut r: String = chars[..i].iter().collect();
                    r.push_str(o);
                    let tail: String = chars[(i + 1).min(chars.len())..].iter().collect();
                    let _ = parse_rfc3339(&(r.clone() + &tail));
                    let rest: String = chars[i..].iter().collect();
                    let _ = parse_rfc3339(&(r + &rest));
                    n += 2;
                }
            }
        }
        // and a deterministic pseudo-random sweep over short strings drawn from the same alphabet
        let alphabet: Vec<char> = "0123456789-:+.TZz é€😀\u{0}".chars().collect();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut s = String::new();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // half of them: a valid date and time followed by a random tail (the offset parser)
            let len = if x & 1 == 0 {
                s.push_str("2030-01-01T00:00:00");
                (x >> 1) as usize % 9
            } else {
                18 + (x % 12) as usize
            };
            let mut y = x;
            for _ in 0..len {
                y = y.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                s.push(alphabet[(y >> 33) as usize % alphabet.len()]);
            }
            let _ = parse_rfc3339(&s);
            n += 1;
        }
        assert!(n > 20_000);
    }
}
