//! Portable tenant archives: a tenant's whole content (ledger, registered metadata, every row of
//! every deployed object) as one provider-neutral JSON document, `objectos-archive/1`.
//!
//! Values are *logical*: booleans are JSON booleans whether SQLite stored 0/1 or PostgreSQL a
//! `boolean`; JSON columns are JSON; dates and instants are their normalised strings
//! (`YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS.sssZ`); numbers are numbers; autonumbers are their raw
//! integers and passwords their stored hashes. Rows are ordered by id and metadata rows by
//! (type, name), in code-point order, so the same content gives the same document whatever the
//! provider, and the same [`TenantArchive::content_hash`]: SHA-256 (hex) of the canonical JSON of
//! `{ledger, metadata, objects}`.
//!
//! - [`Platform::export_tenant`] reads everything inside one write transaction (which also holds
//!   the tenant's other writers for its duration) while holding the tenant's deploy lock.
//! - [`Platform::restore_tenant`] verifies the archive (format, content hash, counts, the ledger's
//!   hash chain), provisions a new tenant through the normal pipeline (never applying a
//!   `metadata.seed` again), then in ONE transaction creates the head model's tables, writes the
//!   ledger and metadata rows as archived and every object row converted to the target dialect;
//!   it then exports the new tenant again and compares counts and content hash. Any failure after
//!   provisioning destroys the new tenant: a restore leaves a whole tenant or none.
//!
//! Issue paths of a refused restore are relative to a restore request `{archive, orgId}`:
//! `archive.contentHash`, `archive.objects.contact[3]`, `orgId`.

use std::collections::BTreeMap;

use objectos_schema::{Storage, StorageOptions};
use objectos_spec::canonical::canonical_json;
use objectos_spec::types::field::{Field, FieldType};
use objectos_spec::types::provisioning::{
    TenantPlan, TenantProvisioningRequest, TenantProvisioningStatus, TenantRegion,
};
use objectos_spec::{Issue, IssueCode, JsonPath, ObjectDefinition, ValidationError};
use objectos_sql::{Session, SqlError, SqlValue};
use objectos_store::{ControlStore, TenantRecord};
use objectos_tenantdb::TenantDatabases;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::data::codec;
use crate::deploy::ledger::chain_hash;
use crate::error::{CoreError, CoreResult};
use crate::platform::{DestroyOptions, Platform};
use crate::provisioning::Credentials;
use crate::time::{now_ms, rfc3339};

/// The `format` of the archives this version writes and reads.
pub const ARCHIVE_FORMAT: &str = "objectos-archive/1";

/// The columns every object table has besides its fields.
const SYSTEM_COLUMNS: [&str; 3] = ["id", "created_at", "updated_at"];

/// A whole tenant, provider-neutral (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantArchive {
    /// Always [`ARCHIVE_FORMAT`].
    pub format: String,
    /// The tenant it was exported from (never its keys or secrets).
    pub tenant: ArchivedTenant,
    /// Where it was exported from.
    pub source: ArchiveSource,
    /// When it was exported (RFC 3339).
    pub exported_at: String,
    /// The deployment ledger (`_objectos_deployments`), by `seq`.
    pub ledger: Vec<LedgerEntry>,
    /// The registered metadata (`_objectos_metadata`), by (type, name).
    pub metadata: Vec<MetadataEntry>,
    /// Per deployed object (of the ledger head's model), its rows by id with every stored column.
    pub objects: BTreeMap<String, Vec<Map<String, Value>>>,
    /// Rows per object.
    pub counts: BTreeMap<String, u64>,
    /// SHA-256 (hex) of the canonical JSON of `{ledger, metadata, objects}`.
    pub content_hash: String,
}

/// The tenant facts an archive keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArchivedTenant {
    /// Its id.
    pub id: String,
    /// Its organization.
    pub org_id: String,
    /// Display name.
    pub display_name: Option<String>,
    /// Admin email.
    pub admin_email: Option<String>,
    /// Plan.
    pub plan: TenantPlan,
    /// Region.
    pub region: TenantRegion,
    /// The provisioning request's metadata (its `seed` is never applied again by a restore).
    pub metadata: Option<Map<String, Value>>,
}

/// The provider an archive was exported from (informative: archives are provider-neutral).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArchiveSource {
    /// `sqlite`, `memory` or `postgres`.
    pub provider: String,
    /// `sqlite` or `postgresql`.
    pub dialect: String,
}

/// One ledger row; `bundle`, `model` and `record` as JSON (stored as their JSON text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LedgerEntry {
    /// Deployment id.
    pub id: String,
    /// Position, from 1.
    pub seq: u64,
    /// The deployment before it.
    pub parent_id: Option<String>,
    /// `ready`.
    pub status: String,
    /// The bundle checksum.
    pub checksum: String,
    /// The previous row's hash.
    pub prev_hash: Option<String>,
    /// The chain hash.
    pub hash: String,
    /// The bundle as deployed.
    pub bundle: Value,
    /// The model it deployed.
    pub model: Value,
    /// The deployment record.
    pub record: Value,
    /// When it was made.
    pub created_at: String,
}

/// One registered metadata row; `definition` as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetadataEntry {
    /// `object`, `view`, `flow`, `permission`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its definition.
    pub definition: Value,
    /// The deployment that registered it.
    pub deployment_id: Option<String>,
    /// When.
    pub updated_at: String,
}

/// Options of a restore.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// The organization of the new tenant (its id is derived from it); the archive's when unset.
    pub org_id: Option<String>,
}

/// A tenant's content as read from its database.
struct Content {
    ledger: Vec<LedgerEntry>,
    metadata: Vec<MetadataEntry>,
    objects: BTreeMap<String, Vec<Map<String, Value>>>,
}

/// SHA-256 (hex) of the canonical JSON of `{ledger, metadata, objects}`.
pub fn content_hash(ledger: &Value, metadata: &Value, objects: &Value) -> String {
    let document = json!({"ledger": ledger, "metadata": metadata, "objects": objects});
    hex::encode(Sha256::digest(canonical_json(&document).as_bytes()))
}

fn issue(path: JsonPath, code: IssueCode, message: impl Into<String>) -> Issue {
    Issue::new(path, code, message.into())
}

fn archive_path() -> JsonPath {
    JsonPath::root().key("archive")
}

fn invalid(issues: Vec<Issue>) -> CoreError {
    CoreError::Invalid(ValidationError::new(issues))
}

fn sql_err(e: SqlError) -> CoreError {
    CoreError::Schema(objectos_schema::SchemaError::Sql(e))
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> CoreError {
    CoreError::Conflict {
        code: "ledger_corrupt",
        message: format!("the tenant database is unreadable ({what}): {e}"),
        details: Value::Null,
    }
}

impl TenantArchive {
    /// Parses an archive document; issues (with paths under `archive`) for anything that is not
    /// one. The format is checked first, so a document of another format is refused as such.
    pub fn from_value(value: &Value) -> Result<Self, ValidationError> {
        let root = archive_path();
        let Some(map) = value.as_object() else {
            return Err(ValidationError::new(vec![issue(
                root,
                IssueCode::InvalidType,
                format!(
                    "Expected an archive object, received {}",
                    objectos_spec::json_type_name(value)
                ),
            )]));
        };
        match map.get("format").and_then(Value::as_str) {
            Some(ARCHIVE_FORMAT) => {}
            other => {
                return Err(ValidationError::new(vec![issue(
                    root.key("format"),
                    IssueCode::InvalidLiteral,
                    format!(
                        "unsupported archive format {}: this server reads \"{ARCHIVE_FORMAT}\"",
                        other.map_or_else(|| "(missing)".to_owned(), |f| format!("\"{f}\""))
                    ),
                )]))
            }
        }
        Self::deserialize(value).map_err(|e| {
            // Name the first member that does not parse, for a useful path.
            let mut issues = Vec::new();
            for (key, item_check) in [
                (
                    "tenant",
                    check_member::<ArchivedTenant> as fn(&Value) -> Option<String>,
                ),
                ("source", check_member::<ArchiveSource>),
                ("ledger", check_member::<Vec<LedgerEntry>>),
                ("metadata", check_member::<Vec<MetadataEntry>>),
                (
                    "objects",
                    check_member::<BTreeMap<String, Vec<Map<String, Value>>>>,
                ),
                ("counts", check_member::<BTreeMap<String, u64>>),
                ("exportedAt", check_member::<String>),
                ("contentHash", check_member::<String>),
            ] {
                let member = map.get(key).unwrap_or(&Value::Null);
                if let Some(message) = item_check(member) {
                    let path = match (member, key) {
                        (Value::Array(items), "ledger") => first_bad::<LedgerEntry>(items)
                            .map_or(root.key(key), |i| root.key(key).index(i)),
                        (Value::Array(items), "metadata") => first_bad::<MetadataEntry>(items)
                            .map_or(root.key(key), |i| root.key(key).index(i)),
                        _ => root.key(key),
                    };
                    issues.push(issue(path, IssueCode::InvalidType, message));
                }
            }
            if issues.is_empty() {
                issues.push(issue(root.clone(), IssueCode::Custom, e.to_string()));
            }
            ValidationError::new(issues)
        })
    }

    /// Checks what can be checked without a database: the format, the content hash (recomputed),
    /// the counts, the ledger's hash chain, and that `objects` holds exactly the head model's
    /// objects. Issues have paths under `archive`.
    pub fn verify(&self) -> Result<Vec<ObjectDefinition>, ValidationError> {
        let root = archive_path();
        let fail = |path: JsonPath, code, message: String| {
            Err(ValidationError::new(vec![issue(path, code, message)]))
        };
        if self.format != ARCHIVE_FORMAT {
            return fail(
                root.key("format"),
                IssueCode::InvalidLiteral,
                format!(
                    "unsupported archive format \"{}\": this server reads \"{ARCHIVE_FORMAT}\"",
                    self.format
                ),
            );
        }
        let recomputed = self.recompute_hash();
        if recomputed != self.content_hash {
            return fail(
                root.key("contentHash"),
                IssueCode::Custom,
                format!(
                    "the archive's content does not match its contentHash (recomputed {recomputed}): \
                     it was changed or damaged after export"
                ),
            );
        }
        let mut issues = Vec::new();
        for (name, rows) in &self.objects {
            if self.counts.get(name) != Some(&(rows.len() as u64)) {
                issues.push(issue(
                    root.key("counts").key(name),
                    IssueCode::Custom,
                    format!("object {name} has {} rows in the archive", rows.len()),
                ));
            }
        }
        for name in self.counts.keys() {
            if !self.objects.contains_key(name) {
                issues.push(issue(
                    root.key("counts").key(name),
                    IssueCode::UnrecognizedKeys,
                    format!("object {name} has no rows entry in the archive"),
                ));
            }
        }
        let mut prev: Option<&LedgerEntry> = None;
        for (i, entry) in self.ledger.iter().enumerate() {
            let at = root.key("ledger").index(i);
            if entry.seq != i as u64 + 1 {
                issues.push(issue(
                    at.key("seq"),
                    IssueCode::Custom,
                    format!("expected seq {}, found {}", i + 1, entry.seq),
                ));
            }
            let expected_prev = prev.map(|p| p.hash.as_str());
            if entry.prev_hash.as_deref() != expected_prev {
                issues.push(issue(
                    at.key("prevHash"),
                    IssueCode::Custom,
                    "prevHash is not the previous entry's hash: the ledger chain is broken",
                ));
            }
            let hash = chain_hash(
                entry.prev_hash.as_deref(),
                &entry.checksum,
                &canonical_json(&entry.model),
            );
            if hash != entry.hash {
                issues.push(issue(
                    at.key("hash"),
                    IssueCode::Custom,
                    format!("the chain hash does not match the entry (recomputed {hash})"),
                ));
            }
            prev = Some(entry);
        }
        let model: Vec<ObjectDefinition> = match self.ledger.last() {
            None => Vec::new(),
            Some(head) => match serde_json::from_value(head.model.clone()) {
                Ok(model) => model,
                Err(e) => {
                    issues.push(issue(
                        root.key("ledger").index(self.ledger.len() - 1).key("model"),
                        IssueCode::Custom,
                        format!("the head model is unreadable: {e}"),
                    ));
                    Vec::new()
                }
            },
        };
        if issues.is_empty() {
            for name in self.objects.keys() {
                if !model.iter().any(|o| &o.name == name) {
                    issues.push(issue(
                        root.key("objects").key(name),
                        IssueCode::UnrecognizedKeys,
                        format!("object {name} is not in the deployed model"),
                    ));
                }
            }
            for object in &model {
                if !self.objects.contains_key(&object.name) {
                    issues.push(issue(
                        root.key("objects"),
                        IssueCode::InvalidType,
                        format!(
                            "object {} of the deployed model has no rows entry",
                            object.name
                        ),
                    ));
                }
            }
        }
        if issues.is_empty() {
            Ok(model)
        } else {
            Err(ValidationError::new(issues))
        }
    }

    /// The content hash of this archive's content, recomputed.
    pub fn recompute_hash(&self) -> String {
        content_hash(
            &serde_json::to_value(&self.ledger).unwrap_or(Value::Null),
            &serde_json::to_value(&self.metadata).unwrap_or(Value::Null),
            &serde_json::to_value(&self.objects).unwrap_or(Value::Null),
        )
    }

    /// Total rows over every object.
    pub fn total_rows(&self) -> u64 {
        self.counts.values().sum()
    }
}

fn check_member<T: serde::de::DeserializeOwned>(value: &Value) -> Option<String> {
    T::deserialize(value).err().map(|e| e.to_string())
}

fn first_bad<T: serde::de::DeserializeOwned>(items: &[Value]) -> Option<usize> {
    items.iter().position(|item| T::deserialize(item).is_err())
}

// ---------------------------------------------------------------------------------------------
// Values

fn storage_of(field: &Field) -> Storage {
    StorageOptions::of(field).storage(field.r#type)
}

/// The stored fields of an object (every field with a column, passwords included), model order.
fn stored_fields(object: &ObjectDefinition) -> Vec<String> {
    object
        .fields
        .iter()
        .filter(|(_, f)| storage_of(f) != Storage::Computed)
        .map(|(k, _)| k.clone())
        .collect()
}

/// A stored value as its logical JSON, the same on every dialect.
fn logical(field: Option<&Field>, raw: SqlValue) -> Value {
    let json_storage = field.is_some_and(|f| matches!(storage_of(f), Storage::Json(_)));
    let boolean = field.is_some_and(|f| matches!(f.r#type, FieldType::Boolean | FieldType::Toggle));
    match raw {
        SqlValue::Null => Value::Null,
        SqlValue::Bool(b) => Value::Bool(b),
        SqlValue::Integer(i) if boolean => Value::Bool(i != 0),
        SqlValue::Integer(i) => Value::from(i),
        SqlValue::Real(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        SqlValue::Text(t) | SqlValue::Json(t) if json_storage => {
            serde_json::from_str(&t).unwrap_or(Value::String(t))
        }
        SqlValue::Json(t) => serde_json::from_str(&t).unwrap_or(Value::String(t)),
        SqlValue::Text(t) | SqlValue::Date(t) | SqlValue::Timestamp(t) => Value::String(t),
        SqlValue::Blob(b) => Value::String(String::from_utf8_lossy(&b).into_owned()),
    }
}

/// A logical value as the SQL value of column `key` (system column or field) of `object`.
fn to_stored(object: &ObjectDefinition, key: &str, value: &Value) -> SqlValue {
    match (key, value) {
        (_, Value::Null) => SqlValue::Null,
        ("created_at" | "updated_at", Value::String(s)) => SqlValue::Timestamp(s.clone()),
        ("id", Value::String(s)) => SqlValue::Text(s.clone()),
        _ => codec::to_sql(object, key, value),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading and writing a tenant database

const LEDGER_COLUMNS: &str =
    "id, seq, parent_id, status, checksum, prev_hash, hash, bundle, model, record, created_at";

fn text_of(value: Option<SqlValue>) -> Option<String> {
    value.and_then(SqlValue::into_string)
}

fn json_of(what: &str, text: Option<String>) -> CoreResult<Value> {
    let text = text.ok_or_else(|| corrupt(what, "missing"))?;
    serde_json::from_str(&text).map_err(|e| corrupt(what, e))
}

/// Reads the whole content inside one write transaction, rolled back at the end.
fn read_content(s: &dyn Session) -> CoreResult<Content> {
    s.begin().map_err(sql_err)?;
    let outcome = read_content_in(s);
    let _ = s.rollback();
    outcome
}

fn read_content_in(s: &dyn Session) -> CoreResult<Content> {
    let mut ledger = Vec::new();
    for row in s
        .query(
            &format!("SELECT {LEDGER_COLUMNS} FROM _objectos_deployments ORDER BY seq"),
            &[],
        )
        .map_err(sql_err)?
    {
        let mut v = row.into_iter();
        let id = text_of(v.next()).ok_or_else(|| corrupt("ledger id", "missing"))?;
        let seq = v.next().map_or(0, |x| x.as_count());
        let parent_id = text_of(v.next());
        let status = text_of(v.next()).unwrap_or_default();
        let checksum = text_of(v.next()).unwrap_or_default();
        let prev_hash = text_of(v.next());
        let hash = text_of(v.next()).unwrap_or_default();
        let bundle = json_of("ledger bundle", text_of(v.next()))?;
        let model = json_of("ledger model", text_of(v.next()))?;
        let record = json_of("ledger record", text_of(v.next()))?;
        let created_at = text_of(v.next()).unwrap_or_default();
        ledger.push(LedgerEntry {
            id,
            seq,
            parent_id,
            status,
            checksum,
            prev_hash,
            hash,
            bundle,
            model,
            record,
            created_at,
        });
    }
    let mut metadata = Vec::new();
    for row in s
        .query(
            "SELECT type, name, definition, deployment_id, updated_at FROM _objectos_metadata",
            &[],
        )
        .map_err(sql_err)?
    {
        let mut v = row.into_iter();
        metadata.push(MetadataEntry {
            kind: text_of(v.next()).unwrap_or_default(),
            name: text_of(v.next()).unwrap_or_default(),
            definition: json_of("metadata definition", text_of(v.next()))?,
            deployment_id: text_of(v.next()),
            updated_at: text_of(v.next()).unwrap_or_default(),
        });
    }
    // Code-point order in Rust: the databases' collations may differ.
    metadata.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));

    let model: Vec<ObjectDefinition> = match ledger.last() {
        Some(head) => {
            serde_json::from_value(head.model.clone()).map_err(|e| corrupt("ledger model", e))?
        }
        None => Vec::new(),
    };
    let mut objects = BTreeMap::new();
    for object in &model {
        let fields = stored_fields(object);
        let sql = format!(
            "SELECT {} FROM {}",
            codec::select_list(object, &fields)?,
            codec::quoted_table(object)?
        );
        let mut rows: Vec<Map<String, Value>> = s
            .query(&sql, &[])
            .map_err(sql_err)?
            .into_iter()
            .map(|row| {
                let mut out = Map::new();
                let mut values = row.into_iter();
                for name in SYSTEM_COLUMNS {
                    let raw = values.next().unwrap_or(SqlValue::Null);
                    out.insert(name.to_owned(), logical(None, raw));
                }
                for key in &fields {
                    let raw = values.next().unwrap_or(SqlValue::Null);
                    out.insert(key.clone(), logical(object.fields.get(key), raw));
                }
                out
            })
            .collect();
        rows.sort_by(|a, b| {
            let id =
                |m: &Map<String, Value>| m.get("id").and_then(Value::as_str).map(str::to_owned);
            id(a).cmp(&id(b))
        });
        objects.insert(object.name.clone(), rows);
    }
    Ok(Content {
        ledger,
        metadata,
        objects,
    })
}

/// Parameters per multi-row INSERT (well under SQLite's and PostgreSQL's limits).
const PARAMS_PER_STATEMENT: usize = 900;

/// Writes the archive's content into a fresh tenant database, in one transaction.
fn write_content(
    s: &dyn Session,
    archive: &TenantArchive,
    model: &[ObjectDefinition],
) -> CoreResult<()> {
    s.begin().map_err(sql_err)?;
    match write_content_in(s, archive, model) {
        Ok(()) => s.commit().map_err(sql_err),
        Err(e) => {
            let _ = s.rollback();
            Err(e)
        }
    }
}

fn write_content_in(
    s: &dyn Session,
    archive: &TenantArchive,
    model: &[ObjectDefinition],
) -> CoreResult<()> {
    let dialect = s.dialect();
    let diff = objectos_schema::diff(&[], model, &[]).map_err(|e| {
        invalid(vec![issue(
            archive_path().key("ledger"),
            IssueCode::Custom,
            format!("the head model cannot be created: {e}"),
        )])
    })?;
    let plan = objectos_schema::plan(dialect, &diff, model)?;
    objectos_schema::apply_in(s, &plan).map_err(|e| CoreError::Conflict {
        code: "restore_failed",
        message: format!("creating the tables of the archived model failed: {e}"),
        details: Value::Null,
    })?;
    for entry in &archive.ledger {
        s.execute(
            &format!(
                "INSERT INTO _objectos_deployments ({LEDGER_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ),
            &[
                entry.id.as_str().into(),
                SqlValue::Integer(i64::try_from(entry.seq).unwrap_or(i64::MAX)),
                entry.parent_id.clone().into(),
                entry.status.as_str().into(),
                entry.checksum.as_str().into(),
                entry.prev_hash.clone().into(),
                entry.hash.as_str().into(),
                canonical_json(&entry.bundle).into(),
                canonical_json(&entry.model).into(),
                entry.record.to_string().into(),
                entry.created_at.as_str().into(),
            ],
        )
        .map_err(sql_err)?;
    }
    // A fresh tenant has no metadata rows; a re-run inside the same transaction cannot happen.
    s.execute("DELETE FROM _objectos_metadata", &[])
        .map_err(sql_err)?;
    for entry in &archive.metadata {
        s.execute(
            "INSERT INTO _objectos_metadata (type, name, definition, deployment_id, updated_at) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                entry.kind.as_str().into(),
                entry.name.as_str().into(),
                canonical_json(&entry.definition).into(),
                entry.deployment_id.clone().into(),
                entry.updated_at.as_str().into(),
            ],
        )
        .map_err(sql_err)?;
    }
    for object in model {
        let rows = archive
            .objects
            .get(&object.name)
            .map_or(&[][..], Vec::as_slice);
        insert_rows(s, object, rows)?;
    }
    Ok(())
}

fn insert_rows(
    s: &dyn Session,
    object: &ObjectDefinition,
    rows: &[Map<String, Value>],
) -> CoreResult<()> {
    let path = archive_path().key("objects").key(&object.name);
    let mut keys: Vec<String> = SYSTEM_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    keys.extend(stored_fields(object));
    let mut columns = Vec::with_capacity(keys.len());
    for key in &keys {
        columns.push(codec::quoted_column(object, key)?);
    }
    let head = format!(
        "INSERT INTO {} ({}) VALUES ",
        codec::quoted_table(object)?,
        columns.join(", ")
    );
    let per_statement = (PARAMS_PER_STATEMENT / keys.len()).max(1);
    for (chunk_index, chunk) in rows.chunks(per_statement).enumerate() {
        let first = chunk_index * per_statement;
        let mut params = Vec::with_capacity(chunk.len() * keys.len());
        let mut groups = Vec::with_capacity(chunk.len());
        for (offset, row) in chunk.iter().enumerate() {
            if let Some(unknown) = row.keys().find(|k| !keys.contains(k)) {
                return Err(invalid(vec![issue(
                    path.index(first + offset).key(unknown),
                    IssueCode::UnrecognizedKeys,
                    format!("{unknown} is not a stored column of object {}", object.name),
                )]));
            }
            let mut placeholders = Vec::with_capacity(keys.len());
            for key in &keys {
                params.push(to_stored(object, key, row.get(key).unwrap_or(&Value::Null)));
                placeholders.push(format!("${}", params.len()));
            }
            groups.push(format!("({})", placeholders.join(", ")));
        }
        let sql = format!("{head}{}", groups.join(", "));
        s.execute(&sql, &params).map_err(|e| {
            invalid(vec![issue(
                if chunk.len() == 1 {
                    path.index(first)
                } else {
                    path.clone()
                },
                IssueCode::Custom,
                format!(
                    "rows {first}..{} of object {} cannot be stored here: {e}",
                    first + chunk.len(),
                    object.name
                ),
            )])
        })?;
    }
    Ok(())
}

/// Writes `archive` to `path` (pretty JSON), created with mode 0600 on Unix: written to a
/// temporary name beside it, synced, then renamed, so `path` is whole or absent.
pub async fn write_archive_file(archive: &TenantArchive, path: &std::path::Path) -> CoreResult<()> {
    let bytes = serde_json::to_vec_pretty(archive).map_err(|e| CoreError::Conflict {
        code: "archive_unwritable",
        message: format!("the archive cannot be serialised: {e}"),
        details: Value::Null,
    })?;
    let path = path.to_owned();
    let tenant_id = archive.tenant.id.clone();
    let io = |source: std::io::Error| {
        CoreError::TenantDb(objectos_tenantdb::TenantDbError::Io {
            tenant_id: tenant_id.clone(),
            source,
        })
    };
    let written = tokio::task::spawn_blocking(move || write_private(&path, &bytes))
        .await
        .map_err(|e| io(std::io::Error::other(e.to_string())))?;
    written.map_err(io)
}

/// Writes `bytes` to a new file at `path` readable by its owner only (see [`write_archive_file`]).
pub fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        objectos_sql::files::create_private_dir(dir)?;
    }
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".partial");
    let tmp = std::path::PathBuf::from(tmp_name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

// ---------------------------------------------------------------------------------------------
// The services

impl<S: ControlStore, D: TenantDatabases> Platform<S, D> {
    /// Exports an active or suspended tenant as a portable archive: one consistent read (a write
    /// transaction, rolled back) under the tenant's deploy lock; 409 in any other status or while
    /// a deployment runs.
    pub async fn export_tenant(&self, tenant_id: &str) -> CoreResult<TenantArchive> {
        let allowed = [
            TenantProvisioningStatus::Active,
            TenantProvisioningStatus::Suspended,
        ];
        let refuse = |status: TenantProvisioningStatus| {
            CoreError::invalid_transition(
                "export",
                tenant_id,
                status.as_str(),
                &["active", "suspended"],
            )
        };
        let tenant = self.require_tenant(tenant_id).await?;
        if !allowed.contains(&tenant.status) {
            return Err(refuse(tenant.status));
        }
        let _deploy = self
            .try_deploy_lock(tenant_id)
            .ok_or_else(|| CoreError::Conflict {
                code: "deployment_in_progress",
                message: format!(
                    "a deployment of tenant {tenant_id} is running; export once it is done"
                ),
                details: json!({"tenantId": tenant_id}),
            })?;
        let _guard = self.tenant_lock(tenant_id).await;
        let tenant = self.require_tenant(tenant_id).await?;
        if !allowed.contains(&tenant.status) {
            return Err(refuse(tenant.status));
        }
        self.export_locked(&tenant).await
    }

    /// The archive of `tenant`, whose lock the caller holds (any status).
    pub(crate) async fn export_locked(&self, tenant: &TenantRecord) -> CoreResult<TenantArchive> {
        let content = self
            .tenant_session(&tenant.id, |s| Ok(read_content(s)))
            .await??;
        let metadata = tenant
            .metadata
            .as_deref()
            .and_then(|m| serde_json::from_str::<Map<String, Value>>(m).ok());
        let mut archive = TenantArchive {
            format: ARCHIVE_FORMAT.to_owned(),
            tenant: ArchivedTenant {
                id: tenant.id.clone(),
                org_id: tenant.org_id.clone(),
                display_name: tenant.display_name.clone(),
                admin_email: tenant.admin_email.clone(),
                plan: tenant.plan,
                region: tenant.region,
                metadata,
            },
            source: ArchiveSource {
                provider: self.dbs().provider().to_owned(),
                dialect: self.dbs().dialect().as_str().to_owned(),
            },
            exported_at: rfc3339(now_ms()),
            counts: content
                .objects
                .iter()
                .map(|(name, rows)| (name.clone(), rows.len() as u64))
                .collect(),
            ledger: content.ledger,
            metadata: content.metadata,
            objects: content.objects,
            content_hash: String::new(),
        };
        archive.content_hash = archive.recompute_hash();
        Ok(archive)
    }

    /// Restores an archive as a new tenant (see the module documentation); returns it and its
    /// one-time credentials. 422 for an archive that does not verify (paths under `archive`), 409
    /// when the organization already has a tenant; nothing is left behind by a failure.
    pub async fn restore_tenant(
        &self,
        archive: TenantArchive,
        options: RestoreOptions,
    ) -> CoreResult<(TenantRecord, Credentials)> {
        let model = archive.verify()?;
        let (org_id, org_path) = match &options.org_id {
            Some(org) => (org.clone(), JsonPath::root().key("orgId")),
            None => (
                archive.tenant.org_id.clone(),
                archive_path().key("tenant").key("orgId"),
            ),
        };
        let mut metadata = archive.tenant.metadata.clone();
        if let Some(m) = metadata.as_mut() {
            // The seed was applied once, at the first provisioning; its rows are in the archive.
            m.remove("seed");
        }
        let mut request_json = json!({
            "orgId": org_id,
            "plan": archive.tenant.plan,
            "region": archive.tenant.region,
            "displayName": archive.tenant.display_name,
            "adminEmail": archive.tenant.admin_email,
            "metadata": metadata,
        });
        if let Some(map) = request_json.as_object_mut() {
            map.retain(|_, v| !v.is_null());
        }
        let request: TenantProvisioningRequest =
            objectos_spec::parse(&request_json).map_err(|e| {
                let tenant_path = archive_path().key("tenant");
                invalid(
                    e.issues
                        .into_iter()
                        .map(|mut i| {
                            let first = i.path.segments().first().cloned();
                            i.path = match first {
                                Some(objectos_spec::PathSegment::Key(k)) if k == "orgId" => {
                                    org_path.clone()
                                }
                                _ => i.path.prefixed(&tenant_path),
                            };
                            i
                        })
                        .collect(),
                )
            })?;
        let tenant_id = crate::ids::tenant_id_for_org(&request.org_id);
        let exists = || CoreError::Conflict {
            code: "tenant_exists",
            message: format!(
                "organization {org_id} already has tenant {tenant_id}: restore under another \
                 organization (orgId) or destroy that tenant first"
            ),
            details: json!({"tenantId": tenant_id, "orgId": org_id}),
        };
        if let Some(existing) = self.store().tenant(&tenant_id).await? {
            if existing.org_id != org_id {
                return Err(CoreError::Conflict {
                    code: "tenant_id_taken",
                    message: format!(
                        "tenant id {tenant_id} (derived from orgId {org_id}) already belongs to \
                         organization {}",
                        existing.org_id
                    ),
                    details: json!({"tenantId": tenant_id}),
                });
            }
            return Err(exists());
        }
        let provisioned = self.provision(request, true).await?;
        if !provisioned.created {
            return Err(exists());
        }
        let tenant = provisioned.tenant;
        let Some(credentials) = provisioned.credentials else {
            self.discard(&tenant.id).await;
            return Err(CoreError::Conflict {
                code: "restore_failed",
                message: "the new tenant was created without credentials".to_owned(),
                details: Value::Null,
            });
        };
        if tenant.status != TenantProvisioningStatus::Active {
            let error = tenant.error.clone().unwrap_or_default();
            self.discard(&tenant.id).await;
            return Err(CoreError::Conflict {
                code: "restore_failed",
                message: format!("provisioning the new tenant failed: {error}"),
                details: json!({"tenantId": tenant.id}),
            });
        }
        let archive = std::sync::Arc::new((archive, model));
        match self.fill(&tenant, archive).await {
            Ok(()) => Ok((self.require_tenant(&tenant.id).await?, credentials)),
            Err(e) => {
                self.discard(&tenant.id).await;
                Err(e)
            }
        }
    }

    /// Writes the archive into the new tenant's database, then exports it again and compares.
    async fn fill(
        &self,
        tenant: &TenantRecord,
        shared: std::sync::Arc<(TenantArchive, Vec<ObjectDefinition>)>,
    ) -> CoreResult<()> {
        {
            let _deploy = self
                .try_deploy_lock(&tenant.id)
                .ok_or_else(|| CoreError::Conflict {
                    code: "deployment_in_progress",
                    message: format!("a deployment of tenant {} is running", tenant.id),
                    details: json!({"tenantId": tenant.id}),
                })?;
            let _guard = self.tenant_lock(&tenant.id).await;
            let writing = std::sync::Arc::clone(&shared);
            self.dbs()
                .with_session(&tenant.id, move |s| {
                    Ok(write_content(s, &writing.0, &writing.1))
                })
                .await??;
            // The model changed, as after a deployment: nothing cached may serve the old one.
            self.invalidate_tenant(&tenant.id).await;
            let archive = &shared.0;
            let check = self.export_locked(tenant).await?;
            if check.content_hash != archive.content_hash || check.counts != archive.counts {
                return Err(invalid(vec![issue(
                    archive_path().key("contentHash"),
                    IssueCode::Custom,
                    format!(
                        "the restored tenant does not reproduce the archive (content hash {} \
                         instead of {}; counts {:?} instead of {:?}): restore refused",
                        check.content_hash, archive.content_hash, check.counts, archive.counts
                    ),
                )]));
            }
        }
        let archive = &shared.0;
        self.events().notify(&tenant.id);
        tracing::info!(tenant = %tenant.id, from = %archive.tenant.id, rows = archive.total_rows(),
            hash = %archive.content_hash, "tenant restored from an archive");
        Ok(())
    }

    /// Destroys a half-restored tenant (no backup); failures are logged, the original error wins.
    async fn discard(&self, tenant_id: &str) {
        let options = DestroyOptions {
            immediate: Some(true),
            grace_period_hours: Some(0),
            create_backup: Some(false),
        };
        if let Err(e) = self.destroy(tenant_id, options).await {
            tracing::error!(tenant = %tenant_id, error = %e, "could not remove a failed restore");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_ignores_key_order() {
        let a = content_hash(&json!([{"a": 1, "b": 2}]), &json!([]), &json!({}));
        let b = content_hash(&json!([{"b": 2, "a": 1}]), &json!([]), &json!({}));
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn another_format_is_refused_at_its_path() {
        let e = TenantArchive::from_value(&json!({"format": "objectos-pg-backup/1"})).unwrap_err();
        assert_eq!(e.issues[0].path.to_string(), "archive.format");
        let e = TenantArchive::from_value(&json!([])).unwrap_err();
        assert_eq!(e.issues[0].path.to_string(), "archive");
    }
}
