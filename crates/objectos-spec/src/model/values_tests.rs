//! Tests of record value checking: every field type, valid and invalid, and the record-level rules.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::*;
use crate::issue::IssueCode::*;

fn object(fields: Value) -> ObjectDefinition {
    crate::parse(&json!({"name": "thing", "fields": fields})).expect("object definition")
}

fn record(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// Checks `{"f": value}` on create against one field `f`.
fn check_f(field: &Value, value: Value) -> Result<Value, Vec<Issue>> {
    let object = object(json!({ "f": field }));
    check_record(&object, &record(json!({ "f": value })), WriteMode::Create)
        .map(|checked| checked.values.get("f").cloned().unwrap_or(Value::Null))
}

fn codes(issues: &[Issue]) -> Vec<(String, IssueCode)> {
    issues
        .iter()
        .map(|i| (i.path.to_string(), i.code))
        .collect()
}

/// Asserts each valid value is accepted (and normalised as given, when a pair is given).
#[track_caller]
fn accepts(field: Value, valid: &[(Value, Value)]) {
    for (input, expected) in valid {
        match check_f(&field, input.clone()) {
            Ok(out) => assert_eq!(&out, expected, "field {field} input {input}"),
            Err(issues) => panic!("field {field} refused {input}: {issues:?}"),
        }
    }
}

/// Asserts each invalid value is refused with exactly one issue of that path and code.
#[track_caller]
fn refuses(field: Value, invalid: &[(Value, &str, IssueCode)]) {
    for (input, path, code) in invalid {
        match check_f(&field, input.clone()) {
            Ok(out) => panic!("field {field} accepted {input} as {out}"),
            Err(issues) => assert_eq!(
                codes(&issues),
                vec![((*path).to_owned(), *code)],
                "field {field} input {input}: {issues:?}"
            ),
        }
    }
}

fn same(values: &[Value]) -> Vec<(Value, Value)> {
    values.iter().map(|v| (v.clone(), v.clone())).collect()
}

#[test]
fn text_types_take_strings_with_lengths_in_code_points() {
    for ty in [
        "text",
        "textarea",
        "markdown",
        "html",
        "richtext",
        "code",
        "signature",
        "qrcode",
    ] {
        accepts(
            json!({"type": ty, "minLength": 2, "maxLength": 4}),
            &same(&[json!("ab"), json!("éèêë"), json!("a<b>")]),
        );
        refuses(
            json!({"type": ty, "minLength": 2, "maxLength": 4}),
            &[
                (json!(5), "f", InvalidType),
                (json!(true), "f", InvalidType),
                (json!(["a"]), "f", InvalidType),
                (json!("a"), "f", TooSmall),
                (json!("abcde"), "f", TooBig),
            ],
        );
    }
    let issues = check_f(&json!({"type": "text"}), json!(5)).unwrap_err();
    assert_eq!(issues[0].message, "Expected string, received number");
    // html is stored as given, never sanitised.
    accepts(
        json!({"type": "html"}),
        &same(&[json!("<script>alert(1)</script>")]),
    );
}

#[test]
fn email_uses_the_admin_email_pattern() {
    accepts(
        json!({"type": "email"}),
        &same(&[
            json!("a@b.co"),
            json!("first.last+tag@example.com"),
            json!("o'hara@sub.example.org"),
        ]),
    );
    refuses(
        json!({"type": "email", "maxLength": 20}),
        &[
            (json!("no-at-sign"), "f", InvalidString),
            (json!(".lead@example.com"), "f", InvalidString),
            (json!("a..b@example.com"), "f", InvalidString),
            (json!("a@b"), "f", InvalidString),
            (json!("a@b.c"), "f", InvalidString),
            (json!(42), "f", InvalidType),
        ],
    );
    let issues = check_f(&json!({"type": "email", "maxLength": 5}), json!("x")).unwrap_err();
    assert_eq!(codes(&issues), vec![("f".to_owned(), InvalidString)]);
    assert_eq!(issues[0].message, "Invalid email, received 'x'");
    assert!(is_email("a@b.co"));
}

#[test]
fn url_is_absolute_http_or_https() {
    accepts(
        json!({"type": "url"}),
        &same(&[
            json!("https://example.com"),
            json!("http://localhost:7700/api?q=1#x"),
            json!("HTTPS://user:pw@Example.COM/path"),
            json!("http://[::1]:8080/"),
            json!("https://bücher.example/"),
        ]),
    );
    refuses(
        json!({"type": "url"}),
        &[
            (json!("ftp://example.com"), "f", InvalidString),
            (json!("example.com"), "f", InvalidString),
            (json!("/relative/path"), "f", InvalidString),
            (json!("https://"), "f", InvalidString),
            (json!("https://exa mple.com"), "f", InvalidString),
            (json!("https://example.com:99999"), "f", InvalidString),
            (json!("https://example.com:"), "f", InvalidString),
            (json!("javascript:alert(1)"), "f", InvalidString),
            (json!("https://-bad.com"), "f", InvalidString),
            (json!(1), "f", InvalidType),
        ],
    );
}

#[test]
fn phone_is_permissive_e164() {
    accepts(
        json!({"type": "phone"}),
        &same(&[
            json!("+14155552671"),
            json!("+44 20 7946 0958"),
            json!("(415) 555-2671"),
            json!("112"),
            json!("030.1234.5678"),
        ]),
    );
    refuses(
        json!({"type": "phone"}),
        &[
            (json!("12"), "f", InvalidString),
            (json!("+1234567890123456"), "f", InvalidString),
            (json!("call me"), "f", InvalidString),
            (json!("++1 555"), "f", InvalidString),
            (json!("-555-1234"), "f", InvalidString),
            (json!("555 1234 ext 5"), "f", InvalidString),
            (json!(14155552671_i64), "f", InvalidType),
        ],
    );
}

#[test]
fn password_needs_eight_characters_unless_min_length_says_otherwise() {
    accepts(json!({"type": "password"}), &same(&[json!("12345678")]));
    refuses(
        json!({"type": "password"}),
        &[
            (json!("1234567"), "f", TooSmall),
            (json!(12345678), "f", InvalidType),
        ],
    );
    accepts(
        json!({"type": "password", "minLength": 4}),
        &same(&[json!("abcd")]),
    );
    refuses(
        json!({"type": "password", "maxLength": 10}),
        &[(json!("01234567890"), "f", TooBig)],
    );
    let object = object(json!({"pw": {"type": "password"}, "name": {"type": "text"}}));
    let checked = check_record(
        &object,
        &record(json!({"pw": "correct horse", "name": "x"})),
        WriteMode::Create,
    )
    .unwrap();
    assert_eq!(checked.passwords, vec!["pw".to_owned()]);
    // Clearing a password is not a password to hash.
    let checked = check_record(&object, &record(json!({"pw": null})), WriteMode::Update).unwrap();
    assert!(checked.passwords.is_empty());
}

#[test]
fn numbers_respect_scale_precision_and_bounds() {
    for ty in ["number", "currency", "percent"] {
        accepts(
            json!({"type": ty}),
            &same(&[
                json!(0),
                json!(-3),
                json!(1.5),
                json!(1e300),
                json!(u64::MAX),
            ]),
        );
        refuses(
            json!({"type": ty, "min": 0, "max": 10}),
            &[
                (json!("5"), "f", InvalidType),
                (json!(true), "f", InvalidType),
                (json!(-0.5), "f", TooSmall),
                (json!(10.01), "f", TooBig),
            ],
        );
        // scale 0: integers only, normalised to JSON integers (the column is INTEGER).
        accepts(
            json!({"type": ty, "scale": 0}),
            &[
                (json!(3.0), json!(3)),
                (json!(-7), json!(-7)),
                (json!(i64::MAX), json!(i64::MAX)),
            ],
        );
        refuses(
            json!({"type": ty, "scale": 0}),
            &[
                (json!(1.5), "f", InvalidType),
                (json!(u64::MAX), "f", TooBig),
                (json!(1e30), "f", TooBig),
            ],
        );
        accepts(
            json!({"type": ty, "scale": 2, "precision": 5}),
            &same(&[json!(123.45), json!(0.5), json!(-999.99), json!(100)]),
        );
        refuses(
            json!({"type": ty, "scale": 2, "precision": 5}),
            &[(json!(1.234), "f", Custom), (json!(1000), "f", TooBig)],
        );
        refuses(
            json!({"type": ty, "precision": 3}),
            &[(json!(12.34), "f", TooBig)],
        );
    }
    let issues = check_f(&json!({"type": "number", "scale": 0}), json!(1.5)).unwrap_err();
    assert_eq!(issues[0].message, "Expected integer, received float");
    let issues = check_f(&json!({"type": "number", "max": 10}), json!(11)).unwrap_err();
    assert_eq!(
        issues[0].message,
        "Number must be less than or equal to 10, received 11"
    );
    // A currency's currencyConfig.precision limits decimals when scale is not set.
    let currency = json!({"type": "currency", "currencyConfig": {"precision": 2, "currencyMode": "fixed", "defaultCurrency": "USD"}});
    accepts(currency.clone(), &same(&[json!(9.99)]));
    refuses(currency, &[(json!(9.999), "f", Custom)]);
}

#[test]
fn slider_and_progress_are_bounded_numbers() {
    accepts(
        json!({"type": "slider", "min": -1, "max": 1}),
        &same(&[json!(-1), json!(0.25), json!(1)]),
    );
    refuses(
        json!({"type": "slider", "min": -1, "max": 1}),
        &[
            (json!(-1.5), "f", TooSmall),
            (json!(2), "f", TooBig),
            (json!("0"), "f", InvalidType),
        ],
    );
    accepts(json!({"type": "slider"}), &same(&[json!(1e9)]));
    accepts(
        json!({"type": "progress"}),
        &same(&[json!(0), json!(42.5), json!(100)]),
    );
    refuses(
        json!({"type": "progress"}),
        &[(json!(-1), "f", TooSmall), (json!(101), "f", TooBig)],
    );
    accepts(
        json!({"type": "progress", "max": 1000}),
        &same(&[json!(500)]),
    );
}

#[test]
fn rating_is_whole_or_half_stars() {
    accepts(
        json!({"type": "rating"}),
        &[
            (json!(0), json!(0)),
            (json!(5), json!(5)),
            (json!(3.0), json!(3)),
        ],
    );
    refuses(
        json!({"type": "rating"}),
        &[
            (json!(6), "f", TooBig),
            (json!(-1), "f", TooSmall),
            (json!(2.5), "f", InvalidType),
            (json!("3"), "f", InvalidType),
        ],
    );
    accepts(
        json!({"type": "rating", "maxRating": 10, "allowHalf": true}),
        &same(&[json!(2.5), json!(10), json!(0.5)]),
    );
    refuses(
        json!({"type": "rating", "maxRating": 10, "allowHalf": true}),
        &[(json!(2.25), "f", Custom), (json!(10.5), "f", TooBig)],
    );
}

#[test]
fn dates_are_real_calendar_days() {
    accepts(
        json!({"type": "date"}),
        &same(&[
            json!("2026-01-31"),
            json!("2024-02-29"),
            json!("2000-02-29"),
        ]),
    );
    refuses(
        json!({"type": "date"}),
        &[
            (json!("2026-02-29"), "f", InvalidString),
            (json!("1900-02-29"), "f", InvalidString),
            (json!("2026-13-01"), "f", InvalidString),
            (json!("2026-04-31"), "f", InvalidString),
            (json!("2026-1-31"), "f", InvalidString),
            (json!("2026-01-31T00:00:00Z"), "f", InvalidString),
            (json!("31/01/2026"), "f", InvalidString),
            (json!(20260131), "f", InvalidType),
        ],
    );
}

#[test]
fn datetimes_are_normalised_to_utc_milliseconds() {
    accepts(
        json!({"type": "datetime"}),
        &[
            (
                json!("2026-01-31T09:30:00Z"),
                json!("2026-01-31T09:30:00.000Z"),
            ),
            (
                json!("2026-01-31t09:30:00.5z"),
                json!("2026-01-31T09:30:00.500Z"),
            ),
            (
                json!("2026-01-31 09:30:00.123456+02:00"),
                json!("2026-01-31T07:30:00.123Z"),
            ),
            (
                json!("2026-01-31T23:30:00-01:00"),
                json!("2026-02-01T00:30:00.000Z"),
            ),
            (
                json!("2024-03-01T00:15:00+01:00"),
                json!("2024-02-29T23:15:00.000Z"),
            ),
            (
                json!("1970-01-01T00:00:00.999Z"),
                json!("1970-01-01T00:00:00.999Z"),
            ),
            (
                json!("0001-01-01T00:00:00Z"),
                json!("0001-01-01T00:00:00.000Z"),
            ),
        ],
    );
    refuses(
        json!({"type": "datetime"}),
        &[
            (json!("2026-01-31T09:30:00"), "f", InvalidString),
            (json!("2026-01-31T09:30Z"), "f", InvalidString),
            (json!("2026-01-31"), "f", InvalidString),
            (json!("2026-02-30T00:00:00Z"), "f", InvalidString),
            (json!("2026-01-31T24:00:00Z"), "f", InvalidString),
            (json!("2026-01-31T23:59:60Z"), "f", InvalidString),
            (json!("2026-01-31T09:30:00.Z"), "f", InvalidString),
            (json!("2026-01-31T09:30:00+2:00"), "f", InvalidString),
            (json!("2026-01-31T09:30:00+24:00"), "f", InvalidString),
            (json!("9999-12-31T23:00:00-02:00"), "f", InvalidString),
            (json!("0000-01-01T00:00:00+01:00"), "f", InvalidString),
            (json!("now"), "f", InvalidString),
            (json!(1_700_000_000), "f", InvalidType),
        ],
    );
}

#[test]
fn times_are_normalised_to_seconds() {
    accepts(
        json!({"type": "time"}),
        &[
            (json!("09:30"), json!("09:30:00")),
            (json!("23:59:59"), json!("23:59:59")),
            (json!("00:00:00.5"), json!("00:00:00.500")),
            (json!("12:34:56.789"), json!("12:34:56.789")),
        ],
    );
    refuses(
        json!({"type": "time"}),
        &[
            (json!("24:00"), "f", InvalidString),
            (json!("12:60"), "f", InvalidString),
            (json!("9:30"), "f", InvalidString),
            (json!("12:00:00.1234"), "f", InvalidString),
            (json!("12:00.5"), "f", InvalidString),
            (json!("12:00:00Z"), "f", InvalidString),
            (json!(930), "f", InvalidType),
        ],
    );
}

#[test]
fn booleans_are_json_booleans_only() {
    for ty in ["boolean", "toggle"] {
        accepts(json!({"type": ty}), &same(&[json!(true), json!(false)]));
        refuses(
            json!({"type": ty}),
            &[
                (json!(1), "f", InvalidType),
                (json!("true"), "f", InvalidType),
                (json!(0), "f", InvalidType),
            ],
        );
    }
}

fn options() -> Value {
    json!([{"label": "Open", "value": "open"}, {"label": "Closed", "value": "closed"}])
}

#[test]
fn select_and_radio_take_one_option_value() {
    for ty in ["select", "radio"] {
        let field = json!({"type": ty, "options": options()});
        accepts(field.clone(), &same(&[json!("open"), json!("closed")]));
        refuses(
            field.clone(),
            &[
                (json!("Open"), "f", InvalidEnumValue),
                (json!("other"), "f", InvalidEnumValue),
                (json!(1), "f", InvalidType),
                (json!(["open"]), "f", InvalidType),
            ],
        );
    }
    let issues = check_f(&json!({"type": "select", "options": options()}), json!("x")).unwrap_err();
    assert_eq!(
        issues[0].message,
        "Invalid enum value. Expected 'open' | 'closed', received 'x'"
    );
    // radio ignores `multiple` (single by nature).
    refuses(
        json!({"type": "radio", "multiple": true, "options": options()}),
        &[(json!(["open"]), "f", InvalidType)],
    );
}

#[test]
fn multi_option_fields_take_arrays_of_distinct_values() {
    for field in [
        json!({"type": "select", "multiple": true, "options": options()}),
        json!({"type": "multiselect", "options": options()}),
        json!({"type": "checkboxes", "options": options()}),
    ] {
        accepts(
            field.clone(),
            &same(&[json!([]), json!(["open"]), json!(["closed", "open"])]),
        );
        refuses(
            field.clone(),
            &[
                (json!("open"), "f", InvalidType),
                (json!(["open", "nope"]), "f[1]", InvalidEnumValue),
                (json!(["open", 3]), "f[1]", InvalidType),
                (json!(["open", "closed", "open"]), "f[2]", Custom),
            ],
        );
    }
}

#[test]
fn tags_are_arrays_of_distinct_strings() {
    accepts(
        json!({"type": "tags"}),
        &same(&[json!([]), json!(["a", "b"])]),
    );
    refuses(
        json!({"type": "tags"}),
        &[
            (json!("a"), "f", InvalidType),
            (json!(["a", 1]), "f[1]", InvalidType),
            (json!(["a", "b", "a"]), "f[2]", Custom),
        ],
    );
}

#[test]
fn references_are_record_ids_and_are_listed_for_checking() {
    for ty in ["lookup", "master_detail", "tree"] {
        let field = json!({"type": ty, "reference": "account"});
        accepts(field.clone(), &same(&[json!("acc_1"), json!("A-b_9")]));
        refuses(
            field,
            &[
                (json!(""), "f", InvalidString),
                (json!("a b"), "f", InvalidString),
                (json!("x".repeat(65)), "f", InvalidString),
                (json!("x'; DROP TABLE t; --"), "f", InvalidString),
                (json!(12), "f", InvalidType),
                (json!(["acc_1"]), "f", InvalidType),
            ],
        );
    }
    let multi = json!({"type": "lookup", "reference": "account", "multiple": true});
    accepts(multi.clone(), &same(&[json!([]), json!(["a", "b"])]));
    refuses(
        multi,
        &[
            (json!("a"), "f", InvalidType),
            (json!(["a", "b c"]), "f[1]", InvalidString),
            (json!(["a", "a"]), "f[1]", Custom),
        ],
    );
    // master_detail and tree are single by nature: `multiple` has no effect.
    refuses(
        json!({"type": "master_detail", "reference": "account", "multiple": true}),
        &[(json!(["a"]), "f", InvalidType)],
    );

    let object = object(json!({
        "account": {"type": "lookup", "reference": "account"},
        "owners": {"type": "lookup", "reference": "user", "multiple": true},
        "parent": {"type": "tree"},
        "master": {"type": "master_detail", "reference": "deal"},
        "empty": {"type": "lookup", "reference": "user", "multiple": true},
    }));
    let checked = check_record(
        &object,
        &record(json!({"account": "a1", "owners": ["u1", "u2"], "parent": "t0", "master": null, "empty": []})),
        WriteMode::Create,
    )
    .unwrap();
    assert_eq!(
        checked.references,
        vec![
            ReferenceCheck {
                field: "account".into(),
                object: "account".into(),
                ids: vec!["a1".into()]
            },
            ReferenceCheck {
                field: "owners".into(),
                object: "user".into(),
                ids: vec!["u1".into(), "u2".into()]
            },
            ReferenceCheck {
                field: "parent".into(),
                object: "thing".into(),
                ids: vec!["t0".into()]
            },
        ]
    );
}

#[test]
fn file_types_take_references() {
    for ty in ["file", "image", "avatar", "video", "audio"] {
        accepts(
            json!({"type": ty}),
            &same(&[json!("uploads/a.png"), json!("https://cdn.example/a.mp4")]),
        );
        refuses(
            json!({"type": ty}),
            &[
                (json!(""), "f", TooSmall),
                (json!(3), "f", InvalidType),
                (json!({"key": "a"}), "f", InvalidType),
            ],
        );
    }
    for ty in ["file", "image", "video", "audio"] {
        let field = json!({"type": ty, "multiple": true});
        accepts(field.clone(), &same(&[json!([]), json!(["a", "b"])]));
        refuses(
            field,
            &[
                (json!("a"), "f", InvalidType),
                (json!(["a", " "]), "f[1]", TooSmall),
            ],
        );
    }
    // avatar is single by nature.
    refuses(
        json!({"type": "avatar", "multiple": true}),
        &[(json!(["a"]), "f", InvalidType)],
    );
}

#[test]
fn colors_follow_color_format() {
    accepts(
        json!({"type": "color"}),
        &same(&[
            json!("#fff"),
            json!("#FFFFFF"),
            json!("#ffffff80"),
            json!("#ffff"),
            json!("rgb(255, 0, 10)"),
            json!("rgba(0,0,0,0.5)"),
            json!("hsl(120, 50%, 50%)"),
            json!("hsla(120deg, 50%, 50%, 1)"),
        ]),
    );
    refuses(
        json!({"type": "color"}),
        &[
            (json!("fff"), "f", InvalidString),
            (json!("#ggg"), "f", InvalidString),
            (json!("#fffff"), "f", InvalidString),
            (json!("rgb(256, 0, 0)"), "f", InvalidString),
            (json!("rgb(1, 2)"), "f", InvalidString),
            (json!("rgba(0,0,0,2)"), "f", InvalidString),
            (json!("hsl(120, 50, 50)"), "f", InvalidString),
            (json!("red"), "f", InvalidString),
            (json!(0xffffff), "f", InvalidType),
        ],
    );
    refuses(
        json!({"type": "color", "colorFormat": "hex"}),
        &[(json!("rgb(1, 2, 3)"), "f", InvalidString)],
    );
    refuses(
        json!({"type": "color", "allowAlpha": false}),
        &[
            (json!("#ffffff80"), "f", InvalidString),
            (json!("rgba(0,0,0,1)"), "f", InvalidString),
        ],
    );
    accepts(
        json!({"type": "color", "colorFormat": "rgb"}),
        &same(&[json!("rgb(1, 2, 3)")]),
    );
    refuses(
        json!({"type": "color", "colorFormat": "rgb"}),
        &[(json!("#fff"), "f", InvalidString)],
    );
    accepts(
        json!({"type": "color", "colorFormat": "rgba"}),
        &same(&[json!("rgba(1, 2, 3, 0.1)"), json!("rgb(1, 2, 3)")]),
    );
    accepts(
        json!({"type": "color", "colorFormat": "hsl"}),
        &same(&[json!("hsl(0, 0%, 100%)")]),
    );
    refuses(
        json!({"type": "color", "colorFormat": "hsl"}),
        &[(json!("#fff"), "f", InvalidString)],
    );
}

#[test]
fn json_takes_anything() {
    accepts(
        json!({"type": "json"}),
        &same(&[
            json!(1),
            json!("s"),
            json!([1, {"a": null}]),
            json!({"x": [true]}),
            json!(false),
        ]),
    );
}

#[test]
fn location_is_lat_lng() {
    accepts(
        json!({"type": "location"}),
        &[
            (
                json!({"lat": 48.85, "lng": 2.35}),
                json!({"lat": 48.85, "lng": 2.35}),
            ),
            (
                json!({"lng": -180, "lat": 90}),
                json!({"lat": 90, "lng": -180}),
            ),
        ],
    );
    refuses(
        json!({"type": "location"}),
        &[
            (json!([1, 2]), "f", InvalidType),
            (json!({"lat": 91, "lng": 0}), "f.lat", TooBig),
            (json!({"lat": 0, "lng": -181}), "f.lng", TooSmall),
            (json!({"lat": "1", "lng": 0}), "f.lat", InvalidType),
            (json!({"lat": 0}), "f.lng", InvalidType),
            (json!({"lat": 0, "lng": 0, "alt": 3}), "f", UnrecognizedKeys),
        ],
    );
}

#[test]
fn address_is_an_object_of_known_strings() {
    accepts(
        json!({"type": "address"}),
        &[
            (json!({}), json!({})),
            (
                json!({"country": "FR", "street": "1 rue X", "city": "Paris", "state": "IDF", "postalCode": "75001"}),
                json!({"street": "1 rue X", "city": "Paris", "state": "IDF", "postalCode": "75001", "country": "FR"}),
            ),
        ],
    );
    refuses(
        json!({"type": "address"}),
        &[
            (json!("1 rue X"), "f", InvalidType),
            (json!({"city": 75}), "f.city", InvalidType),
            (json!({"zip": "75001"}), "f", UnrecognizedKeys),
        ],
    );
}

#[test]
fn vectors_are_numbers_of_the_configured_dimension() {
    accepts(
        json!({"type": "vector"}),
        &same(&[json!([]), json!([0.1, -2, 3e10])]),
    );
    let field = json!({"type": "vector", "vectorConfig": {"dimensions": 3}});
    accepts(field.clone(), &same(&[json!([1, 2, 3])]));
    refuses(
        field,
        &[
            (json!([1, 2]), "f", TooSmall),
            (json!([1, 2, 3, 4]), "f", TooBig),
            (json!([1, "2", 3]), "f[1]", InvalidType),
            (json!("[1,2,3]"), "f", InvalidType),
        ],
    );
}

#[test]
fn computed_and_assigned_fields_are_read_only() {
    let object = object(json!({
        "total": {"type": "formula", "expression": "a + b"},
        "count": {"type": "summary", "summaryOperations": {"object": "line", "field": "amount", "function": "sum"}},
        "number": {"type": "autonumber", "required": true},
    }));
    let issues = check_record(
        &object,
        &record(json!({"total": 1, "count": null, "number": 7})),
        WriteMode::Create,
    )
    .unwrap_err();
    assert_eq!(
        codes(&issues),
        vec![
            ("total".to_owned(), Custom),
            ("count".to_owned(), Custom),
            ("number".to_owned(), Custom)
        ]
    );
    // Missing read-only fields are fine even when required: the storage layer fills them.
    let checked = check_record(&object, &Map::new(), WriteMode::Create).unwrap();
    assert!(checked.values.is_empty());
}

#[test]
fn system_columns_and_unknown_keys() {
    let object = object(json!({"title": {"type": "text"}}));
    let checked = check_record(
        &object,
        &record(json!({"id": "rec_01-A", "title": "x"})),
        WriteMode::Create,
    )
    .unwrap();
    assert_eq!(checked.id.as_deref(), Some("rec_01-A"));
    assert!(!checked.values.contains_key("id"));

    let issues = check_record(
        &object,
        &record(json!({"id": "bad id", "created_at": "2026-01-01T00:00:00Z", "updated_at": null, "nope": 1, "other": 2})),
        WriteMode::Create,
    )
    .unwrap_err();
    assert_eq!(
        codes(&issues),
        vec![
            ("id".to_owned(), InvalidString),
            ("created_at".to_owned(), Custom),
            ("updated_at".to_owned(), Custom),
            (String::new(), UnrecognizedKeys),
        ]
    );
    assert_eq!(
        issues[3].message,
        "Unrecognized key(s) in object: 'nope', 'other'; allowed keys: id, title"
    );
    let issues = check_record(&object, &record(json!({"id": 5})), WriteMode::Create).unwrap_err();
    assert_eq!(codes(&issues), vec![("id".to_owned(), InvalidType)]);
    let issues =
        check_record(&object, &record(json!({"id": "abc"})), WriteMode::Update).unwrap_err();
    assert_eq!(codes(&issues), vec![("id".to_owned(), Custom)]);
    assert!(is_record_id(&"a".repeat(64)) && !is_record_id(&"a".repeat(65)));
}

#[test]
fn required_fields_on_create_and_update() {
    let object = object(json!({
        "title": {"type": "text", "required": true},
        "note": {"type": "text"},
        "done": {"type": "boolean", "required": true, "defaultValue": false},
    }));
    // Create: missing required → Required; the default fills `done`.
    let issues = check_record(&object, &Map::new(), WriteMode::Create).unwrap_err();
    assert_eq!(codes(&issues), vec![("title".to_owned(), InvalidType)]);
    assert_eq!(issues[0].message, "Required");
    let checked = check_record(&object, &record(json!({"title": "t"})), WriteMode::Create).unwrap();
    assert_eq!(
        checked.values.iter().collect::<Vec<_>>(),
        vec![
            (&"title".to_owned(), &json!("t")),
            (&"done".to_owned(), &json!(false))
        ]
    );
    assert_eq!(checked.defaulted, vec!["done".to_owned()]);
    // null on a required field is Required, on an optional one it clears.
    let issues = check_record(
        &object,
        &record(json!({"title": null, "note": null})),
        WriteMode::Create,
    )
    .unwrap_err();
    assert_eq!(codes(&issues), vec![("title".to_owned(), InvalidType)]);
    // Update: partial, no defaults, required may not become null.
    let checked = check_record(&object, &record(json!({"note": null})), WriteMode::Update).unwrap();
    assert_eq!(checked.values.get("note"), Some(&Value::Null));
    assert_eq!(checked.values.len(), 1);
    assert!(checked.defaulted.is_empty());
    let checked = check_record(&object, &Map::new(), WriteMode::Update).unwrap();
    assert!(checked.values.is_empty());
    let issues = check_record(
        &object,
        &record(json!({"title": null, "done": null})),
        WriteMode::Update,
    )
    .unwrap_err();
    assert_eq!(
        codes(&issues),
        vec![
            ("title".to_owned(), InvalidType),
            ("done".to_owned(), InvalidType)
        ]
    );
    // A given value wins over the default.
    let checked = check_record(
        &object,
        &record(json!({"title": "t", "done": true})),
        WriteMode::Create,
    )
    .unwrap();
    assert_eq!(checked.values.get("done"), Some(&json!(true)));
    assert!(checked.defaulted.is_empty());
}

#[test]
fn a_required_field_refuses_blank_strings_an_optional_one_keeps_them() {
    let object = object(json!({
        "title": {"type": "text", "required": true},
        "mail": {"type": "email", "required": true},
        "note": {"type": "text"},
        "code": {"type": "text", "required": true, "defaultValue": ""},
    }));
    for blank in ["", " ", "\t\n", "\u{3000}"] {
        for mode in [WriteMode::Create, WriteMode::Update] {
            let issues = check_record(
                &object,
                &record(json!({"title": blank, "mail": blank, "note": blank, "code": "c"})),
                mode,
            )
            .unwrap_err();
            assert_eq!(
                codes(&issues),
                vec![
                    ("title".to_owned(), TooSmall),
                    ("mail".to_owned(), TooSmall)
                ],
                "{blank:?} {mode:?}"
            );
            assert!(
                issues[0].message.starts_with("Required"),
                "{}",
                issues[0].message
            );
        }
    }
    // Text around the whitespace is a value, stored as given (never trimmed).
    let checked = check_record(
        &object,
        &record(json!({"title": " t ", "mail": "a@b.co", "note": "", "code": "c"})),
        WriteMode::Create,
    )
    .unwrap();
    assert_eq!(checked.values.get("title"), Some(&json!(" t ")));
    assert_eq!(checked.values.get("note"), Some(&json!("")));
    // A blank default cannot fill a required field either.
    let issues = check_record(
        &object,
        &record(json!({"title": "t", "mail": "a@b.co"})),
        WriteMode::Create,
    )
    .unwrap_err();
    assert_eq!(codes(&issues), vec![("code".to_owned(), TooSmall)]);
}

#[test]
fn defaults_are_validated_and_normalised() {
    let object = object(json!({
        "when": {"type": "datetime", "defaultValue": "2026-01-01T01:00:00+01:00"},
        "labels": {"type": "multiselect", "options": options(), "defaultValue": "open"},
        "count": {"type": "number", "scale": 0, "defaultValue": 2.0},
        "none": {"type": "text", "defaultValue": null},
    }));
    let checked = check_record(&object, &Map::new(), WriteMode::Create).unwrap();
    assert_eq!(
        checked.values.get("when"),
        Some(&json!("2026-01-01T00:00:00.000Z"))
    );
    assert_eq!(checked.values.get("labels"), Some(&json!(["open"])));
    assert_eq!(checked.values.get("count"), Some(&json!(2)));
    assert!(!checked.values.contains_key("none"));
    assert_eq!(checked.defaulted, vec!["when", "labels", "count"]);

    let bad = object_with_bad_defaults();
    let issues = check_record(&bad, &Map::new(), WriteMode::Create).unwrap_err();
    assert_eq!(
        codes(&issues),
        vec![
            ("size".to_owned(), TooBig),
            // A single default is wrapped like the DDL does ("a" → ["a"]), so the path is the element.
            ("tags[0]".to_owned(), InvalidType),
            ("pw".to_owned(), Custom),
        ]
    );
    assert_eq!(
        issues[0].message,
        "Invalid defaultValue 99 of field 'size': Number must be less than or equal to 10, received 99"
    );
    assert!(issues.iter().all(|i| i.message.contains("defaultValue")));
    // A bad default does not matter when a value is given.
    let checked = check_record(
        &bad,
        &record(json!({"size": 1, "tags": ["a"], "pw": "long enough"})),
        WriteMode::Create,
    )
    .unwrap();
    assert_eq!(checked.values.len(), 3);
}

fn object_with_bad_defaults() -> ObjectDefinition {
    let mut object = object(json!({
        "size": {"type": "number", "max": 10},
        "tags": {"type": "tags"},
        "pw": {"type": "password"},
    }));
    // Set directly: the deploy validator would refuse some of these, check_record must cope anyway.
    object.fields["size"].default_value = Some(json!(99));
    object.fields["tags"].default_value = Some(json!(5));
    object.fields["pw"].default_value = Some(json!("secret-secret"));
    object
}

#[test]
fn every_issue_is_reported_at_once_with_its_path() {
    let object = rich_object();
    let issues = check_record(
        &object,
        &record(json!({
            "title": 5,
            "email": "not-an-email",
            "tags": ["a", 2, "a"],
            "status": "unknown",
            "amount": 1.234,
            "due": "2026-02-30",
            "location": {"lat": 100, "lng": "x"},
            "total": 3,
            "created_at": "x",
            "bogus": true,
        })),
        WriteMode::Create,
    )
    .unwrap_err();
    assert_eq!(
        codes(&issues),
        vec![
            ("title".to_owned(), InvalidType),
            ("email".to_owned(), InvalidString),
            ("status".to_owned(), InvalidEnumValue),
            ("amount".to_owned(), Custom),
            ("due".to_owned(), InvalidString),
            ("tags[1]".to_owned(), InvalidType),
            ("tags[2]".to_owned(), Custom),
            ("owner".to_owned(), InvalidType),
            ("total".to_owned(), Custom),
            ("location.lat".to_owned(), TooBig),
            ("location.lng".to_owned(), InvalidType),
            ("created_at".to_owned(), Custom),
            (String::new(), UnrecognizedKeys),
        ],
        "{issues:#?}"
    );
    // Callers re-root paths into their document.
    let prefix = JsonPath::root()
        .key("seedData")
        .index(0)
        .key("records")
        .index(3);
    assert_eq!(
        issues[6].path.prefixed(&prefix).to_string(),
        "seedData[0].records[3].tags[2]"
    );
}

/// An object with one field of every type (and a few variants).
fn rich_object() -> ObjectDefinition {
    let mut fields = json!({
        "title": {"type": "text", "required": true, "maxLength": 20},
        "body": {"type": "textarea"},
        "email": {"type": "email"},
        "site": {"type": "url"},
        "phone": {"type": "phone"},
        "secret": {"type": "password"},
        "notes": {"type": "markdown"},
        "page": {"type": "html"},
        "rich": {"type": "richtext"},
        "status": {"type": "select", "options": options(), "defaultValue": "open"},
        "amount": {"type": "currency", "scale": 2, "precision": 10, "min": 0},
        "ratio": {"type": "percent"},
        "qty": {"type": "number", "scale": 0},
        "due": {"type": "date"},
        "at": {"type": "datetime"},
        "time": {"type": "time"},
        "done": {"type": "boolean", "defaultValue": false},
        "on": {"type": "toggle"},
        "labels": {"type": "multiselect", "options": options()},
        "pick": {"type": "radio", "options": options()},
        "checks": {"type": "checkboxes", "options": options()},
        "tags": {"type": "tags"},
        "owner": {"type": "lookup", "reference": "user", "required": true},
        "watchers": {"type": "lookup", "reference": "user", "multiple": true},
        "deal": {"type": "master_detail", "reference": "deal"},
        "parent": {"type": "tree"},
        "photo": {"type": "image"},
        "docs": {"type": "file", "multiple": true},
        "face": {"type": "avatar"},
        "clip": {"type": "video"},
        "sound": {"type": "audio"},
    });
    let more = json!({
        "total": {"type": "formula", "expression": "amount * 2"},
        "sum": {"type": "summary", "summaryOperations": {"object": "line", "field": "amount", "function": "sum"}},
        "ref": {"type": "autonumber"},
        "location": {"type": "location"},
        "address": {"type": "address"},
        "snippet": {"type": "code"},
        "meta": {"type": "json"},
        "color": {"type": "color"},
        "stars": {"type": "rating", "allowHalf": true},
        "level": {"type": "slider", "min": 0, "max": 10},
        "sign": {"type": "signature"},
        "qr": {"type": "qrcode"},
        "pct": {"type": "progress"},
        "embedding": {"type": "vector", "vectorConfig": {"dimensions": 2}},
    });
    if let (Value::Object(all), Value::Object(more)) = (&mut fields, more) {
        all.extend(more);
    }
    object(fields)
}

#[test]
fn a_full_valid_record_round_trips_in_declaration_order() {
    let object = rich_object();
    assert_eq!(object.fields.len(), 45);
    let input = json!({
        "embedding": [0.5, 1],
        "title": "Hello",
        "body": "multi\nline",
        "email": "a@example.com",
        "site": "https://example.com",
        "phone": "+33 1 23 45 67 89",
        "secret": "hunter22hunter22",
        "notes": "# hi",
        "page": "<p>x</p>",
        "rich": "<b>y</b>",
        "amount": 10.5,
        "ratio": 12.5,
        "qty": 3,
        "due": "2026-01-31",
        "at": "2026-01-31T10:00:00+01:00",
        "time": "10:00",
        "on": true,
        "labels": ["open"],
        "pick": "closed",
        "checks": [],
        "tags": ["x"],
        "owner": "u1",
        "watchers": ["u2", "u3"],
        "deal": "d1",
        "parent": "p1",
        "photo": "img/1.png",
        "docs": ["a.pdf"],
        "face": "me.png",
        "clip": "v.mp4",
        "sound": "s.mp3",
        "location": {"lat": 1, "lng": 2},
        "address": {"city": "Paris"},
        "snippet": "fn main() {}",
        "meta": {"k": [1]},
        "color": "#112233",
        "stars": 4.5,
        "level": 3,
        "sign": "data:image/png;base64,AAAA",
        "qr": "hello",
        "pct": 50,
    });
    let checked = check_record(&object, &record(input), WriteMode::Create).unwrap();
    let keys: Vec<&str> = checked.values.keys().map(String::as_str).collect();
    let declared: Vec<&str> = object
        .fields
        .keys()
        .map(String::as_str)
        .filter(|k| checked.values.contains_key(*k))
        .collect();
    assert_eq!(keys, declared);
    assert_eq!(keys.first(), Some(&"title"));
    assert_eq!(keys.last(), Some(&"embedding"));
    assert_eq!(checked.values["at"], json!("2026-01-31T09:00:00.000Z"));
    assert_eq!(checked.values["time"], json!("10:00:00"));
    assert_eq!(checked.values["status"], json!("open"));
    assert_eq!(checked.values["done"], json!(false));
    assert_eq!(checked.defaulted, vec!["status", "done"]);
    assert_eq!(checked.passwords, vec!["secret"]);
    let targets: Vec<(&str, &str, usize)> = checked
        .references
        .iter()
        .map(|r| (r.field.as_str(), r.object.as_str(), r.ids.len()))
        .collect();
    assert_eq!(
        targets,
        vec![
            ("owner", "user", 1),
            ("watchers", "user", 2),
            ("deal", "deal", 1),
            ("parent", "thing", 1)
        ]
    );
    assert!(!checked.values.contains_key("total"));
    assert!(!checked.values.contains_key("ref"));
}

#[test]
fn datetime_helpers_agree_with_known_epochs() {
    assert_eq!(
        normalise_datetime("2000-03-01T00:00:00Z").as_deref(),
        Some("2000-03-01T00:00:00.000Z")
    );
    for days in [-719_468_i64, -1, 0, 1, 59, 60, 10_957, 2_932_896] {
        let (y, m, d) = super::civil_from_days(days);
        assert_eq!(super::days_from_civil(y, m, d), days);
    }
    assert_eq!(super::days_from_civil(1970, 1, 1), 0);
    assert_eq!(super::days_from_civil(2000, 1, 1), 10_957);
    assert_eq!(normalise_time("7:00"), None);
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![
            ".*",
            "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,12})?(Z|[+-][0-9]{2}:[0-9]{2})?",
            "[0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{0,5})?)?",
            "#[0-9a-fA-F]{0,9}",
            "(rgb|rgba|hsl|hsla)\\([0-9., %deg]{0,20}\\)",
            "https?://[^ ]{0,20}",
            "[a-z.]{0,8}@[a-z.]{0,8}",
            "\\+?[0-9 ()-.]{0,20}",
            "open|closed|a|b",
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof!["lat|lng|city|street|zip|x".prop_map(String::from), ".{0,4}"],
                    inner
                ),
                0..4
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn arb_key() -> impl Strategy<Value = String> {
    let keys: Vec<String> = rich_object()
        .fields
        .keys()
        .cloned()
        .chain(["id", "created_at", "updated_at"].map(String::from))
        .collect();
    prop_oneof![4 => prop::sample::select(keys), 1 => ".{0,6}"]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// check_record never panics, and what it accepts only holds declared, writable fields.
    #[test]
    fn check_record_never_panics(
        pairs in prop::collection::vec((arb_key(), arb_json()), 0..16),
        update in any::<bool>(),
    ) {
        let object = rich_object();
        let record: Map<String, Value> = pairs.into_iter().collect();
        let mode = if update { WriteMode::Update } else { WriteMode::Create };
        match check_record(&object, &record, mode) {
            Ok(checked) => {
                for key in checked.values.keys() {
                    let field = &object.fields[key.as_str()];
                    prop_assert!(!is_read_only_type(field.r#type));
                    prop_assert!(!field.required || !checked.values[key].is_null());
                }
                if let Some(at) = checked.values.get("at").and_then(Value::as_str) {
                    prop_assert_eq!(at.len(), 24);
                    let again = normalise_datetime(at);
                    prop_assert_eq!(again.as_deref(), Some(at));
                }
            }
            Err(issues) => prop_assert!(!issues.is_empty()),
        }
    }

    /// Any valid RFC 3339 timestamp normalises to a fixed-width UTC form that is a fixed point.
    #[test]
    fn datetime_normalisation_is_idempotent(s in "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])") {
        if let Some(utc) = normalise_datetime(&s) {
            prop_assert_eq!(utc.len(), 24);
            prop_assert_eq!(normalise_datetime(&utc), Some(utc.clone()));
        }
    }
}

#[test]
fn long_inputs_are_refused_or_accepted_without_hanging() {
    let long = "a".repeat(100_000);
    assert!(!is_email(&format!("{long}@")));
    assert!(is_email(&format!("{long}@example.com")) || !is_email(&long));
    assert!(!is_http_url(&format!("https://{long}.")));
    assert!(!is_phone(&"1".repeat(100_000)));
    assert_eq!(normalise_datetime(&long), None);
}

#[test]
fn nul_characters_are_refused_in_any_value() {
    let object =
        object(json!({"t": {"type": "text"}, "j": {"type": "json"}, "tags": {"type": "tags"}}));
    for (key, value) in [
        ("t", json!("a\u{0}b")),
        ("j", json!({"k": ["x\u{0}"]})),
        ("j", json!({"k\u{0}": 1})),
        ("tags", json!(["ok", "n\u{0}"])),
    ] {
        let issues = check_record(&object, &record(json!({ key: value })), WriteMode::Create)
            .expect_err("NUL refused");
        assert_eq!(
            codes(&issues),
            vec![(key.to_owned(), InvalidString)],
            "{key}"
        );
    }
    assert!(check_record(&object, &record(json!({"t": "a\\0b"})), WriteMode::Create).is_ok());
}
