//! The whole content of a control store as values: what `objectos control migrate` reads from one
//! store, writes into another, and compares (counts per table and a content hash).

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::records::{DomainRecord, EventRecord, KeyRecord, StepRecord, TenantRecord};

/// A step row with the tenant it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepRow {
    /// The tenant.
    pub tenant_id: String,
    /// The step.
    pub step: StepRecord,
}

/// One row of `settings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingRecord {
    /// Its name (`installation_id`, `admin_token_sha256`, ...).
    pub name: String,
    /// Its value.
    pub value: String,
}

/// Every row of every table of a control store, each table in a fixed order (by key), so two
/// stores with the same content give equal dumps and the same [`ControlDump::content_hash`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ControlDump {
    /// `tenants`, by id.
    pub tenants: Vec<TenantRecord>,
    /// `steps`, by tenant id and position.
    pub steps: Vec<StepRow>,
    /// `events`, by sequence number.
    pub events: Vec<EventRecord>,
    /// `api_keys`, by key id.
    pub keys: Vec<KeyRecord>,
    /// `domains`, by domain.
    pub domains: Vec<DomainRecord>,
    /// `settings`, by name.
    pub settings: Vec<SettingRecord>,
}

/// Row counts per table and the content hash of a dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DumpSummary {
    /// `(table, rows)`, in a fixed order.
    pub counts: Vec<(&'static str, usize)>,
    /// SHA-256 (hex) of the dump's JSON.
    pub content_hash: String,
}

impl ControlDump {
    /// Rows per table, in a fixed order.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("tenants", self.tenants.len()),
            ("steps", self.steps.len()),
            ("events", self.events.len()),
            ("api_keys", self.keys.len()),
            ("domains", self.domains.len()),
            ("settings", self.settings.len()),
        ]
    }

    /// SHA-256 (hex) of the dump serialised as JSON: equal for equal content, whatever the
    /// database it was read from.
    pub fn content_hash(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(sha2::Sha256::digest(&json))
    }

    /// Counts and content hash.
    pub fn summary(&self) -> DumpSummary {
        DumpSummary {
            counts: self.counts(),
            content_hash: self.content_hash(),
        }
    }

    /// True when no table has a row.
    pub fn is_empty(&self) -> bool {
        self.counts().iter().all(|(_, n)| *n == 0)
    }
}
