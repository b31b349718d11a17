//! Seed data given at provisioning (`metadata.seed`).
//!
//! A tenant starts with only objectos' system tables, so seed records have nowhere to go until
//! objects are deployed. Seeding therefore rides on the deploy pipeline: until this build has it,
//! a request carrying `metadata.seed` is refused up front (422, nothing created) rather than
//! accepted and half-applied, and `apply_seed_data` is `skipped` for every tenant.

use objectos_spec::{Issue, IssueCode, JsonPath};
use serde_json::{Map, Value};

/// The seed of a request's metadata, if any.
pub fn seed_of(metadata: Option<&Map<String, Value>>) -> Option<&Value> {
    metadata.and_then(|m| m.get("seed"))
}

/// Issues with a request's seed (paths from the request root).
pub fn seed_issues(metadata: Option<&Map<String, Value>>) -> Vec<Issue> {
    match seed_of(metadata) {
        None => Vec::new(),
        Some(_) => vec![Issue::new(
            JsonPath::root().key("metadata").key("seed"),
            IssueCode::Custom,
            "Seeding at provisioning needs the deploy pipeline, which this build does not include; \
             create the tenant without metadata.seed and deploy a bundle with seedData once it is active",
        )],
    }
}
