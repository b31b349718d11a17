//! Canonical JSON (RFC 8785, the JSON Canonicalization Scheme) and the bundle checksum.
//!
//! The canonical form of a value: no whitespace; object members sorted by their keys' UTF-16 code
//! units; strings with only `"`, `\` and control characters escaped; numbers as ECMAScript prints
//! them (`1e+21`, `0.000001`, `4.5`). Two documents that differ only in key order, whitespace or
//! number spelling (`1.0` vs `1`) have the same canonical form, and so the same checksum.

use std::fmt::Write as _;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The RFC 8785 canonical serialisation of `value`.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// SHA-256 (lowercase hex) of the canonical form of `value`.
pub fn canonical_sha256(value: &Value) -> String {
    hex::encode(Sha256::digest(canonical_json(value).as_bytes()))
}

/// A deploy bundle's checksum: SHA-256 of the canonical form of the bundle *as sent*, with
/// `manifest.checksum` itself removed (a checksum cannot cover itself). Defaults are not filled
/// first, so a client can compute it from the document it sends.
pub fn bundle_checksum(bundle: &Value) -> String {
    let mut copy = bundle.clone();
    if let Some(manifest) = copy.get_mut("manifest").and_then(Value::as_object_mut) {
        manifest.remove("checksum");
    }
    canonical_sha256(&copy)
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
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
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// ECMAScript's Number::toString for the number's IEEE-754 double value.
fn write_number(out: &mut String, n: &serde_json::Number) {
    let Some(x) = n.as_f64() else {
        out.push_str(&n.to_string());
        return;
    };
    if x == 0.0 {
        out.push('0'); // also -0
        return;
    }
    if x.is_sign_negative() {
        out.push('-');
    }
    // Rust's `{:e}` prints the shortest digits that round-trip, as ECMAScript requires.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let k = digits.len() as i32;
    let n = exponent + 1; // the decimal point sits after `n` digits
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = n - 1;
        let _ = write!(out, "e{}{}", if e < 0 { '-' } else { '+' }, e.abs());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn number(text: &str) -> String {
        canonical_json(&serde_json::from_str(text).unwrap())
    }

    #[test]
    fn numbers_print_as_ecmascript_does() {
        // RFC 8785 appendix B and §3.2.2.3.
        for (input, expected) in [
            ("0", "0"),
            ("-0.0", "0"),
            ("1", "1"),
            ("1.0", "1"),
            ("4.50", "4.5"),
            ("2e-3", "0.002"),
            ("0.000001", "0.000001"),
            ("1e-7", "1e-7"),
            ("1e21", "1e+21"),
            ("1e20", "100000000000000000000"),
            ("1e30", "1e+30"),
            ("333333333.33333329", "333333333.3333333"),
            ("-1.5e-10", "-1.5e-10"),
            ("9007199254740993", "9007199254740992"),
            ("123456789012345678901234", "1.2345678901234569e+23"),
            ("5e-324", "5e-324"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            // Printed by node's String(x) for the same doubles.
            ("0.1", "0.1"),
            ("0.3333333333333333", "0.3333333333333333"),
            ("1152921504606846976", "1152921504606847000"),
            ("-0.000001", "-0.000001"),
            ("0.99609375", "0.99609375"),
            ("123.456", "123.456"),
        ] {
            assert_eq!(number(input), expected, "{input}");
        }
    }

    #[test]
    fn keys_sort_by_utf16_code_units_and_strings_escape_minimally() {
        // RFC 8785 §3.2.3: U+1F600 (a surrogate pair, D83D...) sorts before U+FB33.
        let value: Value = serde_json::from_str(
            r#"{"\u20ac":1,"\r":2,"\ufb33":3,"1":4,"\ud83d\ude00":5,"\u0080":6,"\u00f6":7}"#,
        )
        .unwrap();
        assert_eq!(
            canonical_json(&value),
            "{\"\\r\":2,\"1\":4,\"\u{80}\":6,\"ö\":7,\"€\":1,\"😀\":5,\"\u{fb33}\":3}"
        );
        assert_eq!(
            canonical_json(&json!({"b": [1, {"y": null, "x": true}], "a": "q\"\\\u{1}\n/é"})),
            r#"{"a":"q\"\\\u0001\n/é","b":[1,{"x":true,"y":null}]}"#
        );
    }

    #[test]
    fn the_checksum_ignores_layout_and_its_own_field() {
        let a = json!({"manifest": {"version": "1.0.0", "checksum": "abc"}, "objects": [{"name": "t", "fields": {}}]});
        let b: Value = serde_json::from_str(
            r#"{ "objects": [ {"fields": {}, "name": "t"} ], "manifest": {"version": "1.0.0"} }"#,
        )
        .unwrap();
        assert_eq!(bundle_checksum(&a), bundle_checksum(&b));
        assert_eq!(bundle_checksum(&a).len(), 64);
        let c = json!({"manifest": {"version": "1.0.1"}, "objects": [{"name": "t", "fields": {}}]});
        assert_ne!(bundle_checksum(&a), bundle_checksum(&c));
    }
}
