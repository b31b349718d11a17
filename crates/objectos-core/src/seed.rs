//! Seed data given at provisioning (`metadata.seed`).
//!
//! A tenant starts with only objectos' system tables, so seed records need objects to go into:
//! `metadata.seed` is a deploy bundle (objects and their `seedData`), checked when the request
//! arrives (422 with paths under `metadata.seed`, nothing created) and applied by the
//! `apply_seed_data` step through the deploy pipeline, in one transaction with its ledger row.
//! A re-run of the step finds the bundle deployed and changes nothing. Without a seed the step is
//! `skipped`.

use objectos_spec::{Issue, JsonPath};
use serde_json::{Map, Value};

/// The seed of a request's metadata, if any.
pub fn seed_of(metadata: Option<&Map<String, Value>>) -> Option<&Value> {
    metadata.and_then(|m| m.get("seed"))
}

/// Issues with a request's seed bundle, with paths from the request root (`metadata.seed...`).
pub fn seed_issues(metadata: Option<&Map<String, Value>>) -> Vec<Issue> {
    let Some(seed) = seed_of(metadata) else {
        return Vec::new();
    };
    let prefix = JsonPath::root().key("metadata").key("seed");
    match crate::deploy::validate_bundle(seed, &[]) {
        Ok(_) => Vec::new(),
        Err(issues) => issues
            .into_iter()
            .map(|mut issue| {
                issue.path = issue.path.prefixed(&prefix);
                issue
            })
            .collect(),
    }
}
