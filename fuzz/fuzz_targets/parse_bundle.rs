//! Untrusted bytes → JSON → `DeployBundle`, plus validation against every kind and kind inference.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use objectos_spec::types::deploy::DeployBundle;

fuzz_target!(|data: &[u8]| {
    common::parse_as::<DeployBundle>(data);
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Some(inference) = objectos_spec::infer(&value) {
            assert!(value.is_object(), "infer chose a kind for a non-object");
            if inference.valid {
                assert!(
                    inference.kind.validate(&value).is_valid(),
                    "infer said {} is valid, validate disagrees",
                    inference.kind.name
                );
            }
        }
    }
});
