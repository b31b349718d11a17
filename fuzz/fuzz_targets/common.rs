//! Checks shared by the fuzz targets. Any violated invariant panics, which libFuzzer records as a
//! crash in `fuzz/artifacts/<target>/`.

use objectos_spec::{kind, parse, parse_str, Issue, IssueCode, SpecType, KINDS};
use serde_json::Value;

/// Every issue has a non-empty message, renders without panicking and is not an internal defect.
pub fn check_issues(kind: &str, issues: &[Issue]) {
    for issue in issues {
        assert!(
            !issue.message.trim().is_empty(),
            "{kind}: empty message: {issue:?}"
        );
        assert!(
            !(issue.code == IssueCode::Custom && issue.message.starts_with("internal:")),
            "{kind}: internal defect: {issue}"
        );
        let _ = issue.to_string();
    }
}

/// Validates `value` as every kind.
pub fn validate_all(value: &Value) {
    for k in KINDS {
        let validated = k.validate(value);
        check_issues(k.name, &validated.issues);
        if validated.is_valid() {
            let again = k.validate(&validated.value);
            assert!(
                again.is_valid(),
                "{}: normalised document does not validate: {:?}",
                k.name,
                again.issues
            );
        }
    }
}

/// Text and value entry points for `T`, with the round trip when the document is valid.
pub fn parse_as<T: SpecType + PartialEq + std::fmt::Debug>(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = parse_str::<T>(text) {
            assert!(!e.issues.is_empty(), "error without issues");
            let _ = e.to_string();
        }
    }
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Some(k) = kind(T::KIND) else {
        panic!("no kind {}", T::KIND)
    };
    let valid = k.validate(&value).is_valid();
    match parse::<T>(&value) {
        Ok(parsed) => {
            assert!(valid, "parse succeeded although validate reported issues");
            let output = serde_json::to_value(&parsed).expect("serialises");
            let again = k.validate(&output);
            assert!(
                again.is_valid(),
                "serialised output {output} does not validate: {:?}",
                again.issues
            );
            let reparsed: T = parse(&output).expect("serialised output parses");
            assert_eq!(reparsed, parsed, "round trip changed the value");
        }
        Err(e) => {
            assert!(!valid, "validate accepted but parse failed: {e}");
            check_issues(T::KIND, &e.issues);
        }
    }
    validate_all(&value);
}
