//! DDL from an object definition: identifiers, literals, the table definition ([`TableDef`]),
//! SQLite's `CREATE TABLE … STRICT` and `CREATE INDEX` (PostgreSQL's index statements differ only
//! in NULL order; its `CREATE TABLE` is in [`crate::pg`]).
//!
//! The rules that keep this safe:
//! - every identifier is an [`Ident`]: validated (`[a-z_][a-z0-9_]*`, at most 63 characters, not
//!   `sqlite_*`) before it exists, and always written double-quoted;
//! - every value is either a bound parameter (at run time) or, for `DEFAULT`, rendered by the literal
//!   functions here, which escape; no SQL text is ever taken from a bundle (partial-index conditions are
//!   refused for that reason).
//!
//! Tables are `STRICT`: a value that cannot be stored losslessly in the declared type is an error, not
//! silently kept in another storage class (this matters most during table rebuilds).

use std::fmt;

use objectos_spec::model::SYSTEM_COLUMNS;
use objectos_spec::types::field::{FieldType, IndexType};
use objectos_spec::ObjectDefinition;
use objectos_sql::Dialect;

use crate::mapping::{column_for, system_columns, ColumnSpec, Storage, StorageOptions};
use crate::SchemaError;

/// The longest identifier accepted (PostgreSQL's limit, so names stay portable).
pub const MAX_IDENT_LEN: usize = 63;

/// What an identifier names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentKind {
    /// A table (an object).
    Table,
    /// A column (a field).
    Column,
    /// An index.
    Index,
}

impl fmt::Display for IdentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Table => "table",
            Self::Column => "column",
            Self::Index => "index",
        })
    }
}

/// A validated SQL identifier; the only way a name gets into SQL text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ident(String);

impl Ident {
    /// Validates `name` as a `kind` name; the error's path is the kind (use [`Ident::at`] for a JSON path).
    pub fn new(kind: IdentKind, name: &str) -> Result<Self, SchemaError> {
        Self::at(&kind.to_string(), kind, name)
    }

    /// Validates `name`, reporting a refusal at `path`.
    pub fn at(path: &str, kind: IdentKind, name: &str) -> Result<Self, SchemaError> {
        match ident_problem(name) {
            None => Ok(Self(name.to_owned())),
            Some(reason) => Err(SchemaError::InvalidIdentifier {
                path: path.to_owned(),
                kind,
                name: name.to_owned(),
                reason,
            }),
        }
    }

    /// The bare name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name double-quoted for SQL (it cannot contain a quote, so nothing needs escaping).
    pub fn quoted(&self) -> String {
        format!("\"{}\"", self.0)
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Ident {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

fn ident_problem(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Some("it is empty");
    };
    if name.len() > MAX_IDENT_LEN {
        return Some("it is longer than 63 characters");
    }
    if !(first.is_ascii_lowercase() || first == '_') {
        return Some("it must start with a lowercase letter or '_' (expected ^[a-z_][a-z0-9_]*$)");
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Some(
            "only lowercase letters, digits and '_' are allowed (expected ^[a-z_][a-z0-9_]*$)",
        );
    }
    if name.starts_with("sqlite_") {
        return Some("names starting with 'sqlite_' are reserved by SQLite");
    }
    None
}

/// A SQL text literal: `'…'` with every `'` doubled; `None` when `s` contains NUL, which SQL text cannot carry.
pub fn text_literal(s: &str) -> Option<String> {
    if s.contains('\0') {
        return None;
    }
    Some(format!("'{}'", s.replace('\'', "''")))
}

/// A SQL integer literal.
pub fn integer_literal(value: i64) -> String {
    value.to_string()
}

/// A SQL real literal that always reads back as REAL (`5.0`, `1e300`); `None` for NaN and infinities.
pub fn real_literal(value: f64) -> Option<String> {
    // `{:?}` prints the shortest round-tripping form and always includes `.` or `e`.
    value.is_finite().then(|| format!("{value:?}"))
}

/// A planned index: a validated name over validated columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    /// The index name (global in the database, so generated names start with the table's).
    pub name: Ident,
    /// Columns, in key order.
    pub columns: Vec<Ident>,
    /// `CREATE UNIQUE INDEX`.
    pub unique: bool,
}

impl IndexSpec {
    /// `CREATE [UNIQUE] INDEX "name" ON "table" ("c1", "c2")`; on PostgreSQL each key is
    /// `NULLS FIRST`, the order SQLite gives NULLs and the data API's `ORDER BY` asks for (see
    /// `order_key` in objectos-core), so the index serves a sort in either direction instead of
    /// the whole match being sorted.
    pub fn create_sql(&self, dialect: Dialect, table: &Ident) -> String {
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|c| match dialect {
                Dialect::Sqlite => c.quoted(),
                Dialect::Postgres => format!("{} NULLS FIRST", c.quoted()),
            })
            .collect();
        format!(
            "CREATE {}INDEX {} ON {} ({})",
            if self.unique { "UNIQUE " } else { "" },
            self.name.quoted(),
            table.quoted(),
            columns.join(", ")
        )
    }
}

/// A deterministic index name `uq_<table>_<c1>_<c2>…` (unique) or `idx_…`; past 63 characters it is
/// cut to 54 and suffixed with `_` and 8 hex digits of a hash of the full name, so distinct long names
/// stay distinct.
pub fn index_name(unique: bool, table: &Ident, columns: &[Ident]) -> Ident {
    let prefix = if unique { "uq" } else { "idx" };
    let mut full = format!("{prefix}_{table}");
    for column in columns {
        full.push('_');
        full.push_str(column.as_str());
    }
    if full.len() > MAX_IDENT_LEN {
        // All parts are validated ASCII identifiers, so byte slicing cannot split a character.
        full = format!("{}_{:08x}", &full[..54], fnv1a32(full.as_bytes()));
    }
    // Invariant: the prefix is a lowercase word and every part is a validated identifier, so the result
    // matches ^[a-z_][a-z0-9_]*$ and is at most 63 characters.
    Ident(full)
}

/// `full` when it fits in 63 characters, else cut to 54 and suffixed with `_` and 8 hex digits of
/// a hash of the full name (`full` must be ASCII).
pub(crate) fn shorten(full: String) -> String {
    if full.len() > MAX_IDENT_LEN {
        format!("{}_{:08x}", &full[..54], fnv1a32(full.as_bytes()))
    } else {
        full
    }
}

/// FNV-1a, 32 bits: tiny, and stable across Rust versions and platforms (unlike `DefaultHasher`).
pub(crate) fn fnv1a32(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in bytes {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// The physical table of an object: system columns, field columns in declaration order, indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    /// The table name (the object's name).
    pub name: Ident,
    /// `id`, `created_at`, `updated_at`, then one column per stored field.
    pub columns: Vec<ColumnSpec>,
    /// Unique and secondary indexes, in creation order.
    pub indexes: Vec<IndexSpec>,
}

impl TableDef {
    /// Maps an object to its table, refusing the first problem found (see [`check_object`] for all).
    pub fn from_object(object: &ObjectDefinition) -> Result<Self, SchemaError> {
        let (def, errors) = build(object);
        match errors.into_iter().next() {
            None => Ok(def),
            Some(first) => Err(first),
        }
    }

    /// `CREATE TABLE "name" (…) STRICT`, under this table's name.
    pub fn create_table_sql(&self) -> String {
        self.create_table_sql_as(&self.name)
    }

    /// The same definition under another name (the `new_<table>` of a rebuild).
    pub fn create_table_sql_as(&self, name: &Ident) -> String {
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|c| format!("  {}", c.definition_sql()))
            .collect();
        format!(
            "CREATE TABLE {} (\n{}\n) STRICT",
            name.quoted(),
            columns.join(",\n")
        )
    }

    /// One `CREATE [UNIQUE] INDEX` per index, in order.
    pub fn create_index_sql(&self, dialect: Dialect) -> Vec<String> {
        self.indexes
            .iter()
            .map(|i| i.create_sql(dialect, &self.name))
            .collect()
    }

    /// The table then its indexes: everything a fresh deploy of this object runs.
    pub fn statements(&self) -> Vec<String> {
        let mut out = vec![self.create_table_sql()];
        out.extend(self.create_index_sql(Dialect::Sqlite));
        out
    }

    /// The column of a field key or system column.
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name.as_str() == name)
    }
}

/// `CREATE TABLE` then `CREATE INDEX` statements for an object; refuses the first problem found.
pub fn create_table_sql(object: &ObjectDefinition) -> Result<Vec<String>, SchemaError> {
    Ok(TableDef::from_object(object)?.statements())
}

/// Every reason the object cannot be mapped to a table (empty when [`TableDef::from_object`] succeeds).
pub fn check_object(object: &ObjectDefinition) -> Vec<SchemaError> {
    build(object).1
}

/// What an index entry's key resolves to.
struct Target<'a> {
    column: Ident,
    field_type: Option<FieldType>,
    storage: Storage,
    key: &'a str,
}

/// The table and every problem found; the table is only usable when there are none.
fn build(object: &ObjectDefinition) -> (TableDef, Vec<SchemaError>) {
    let mut errors = Vec::new();
    let table_path = match (&object.table_name, &object.namespace) {
        (Some(_), _) => "tableName",
        (None, Some(_)) => "namespace",
        (None, None) => "name",
    };
    let table = match Ident::at(table_path, IdentKind::Table, &object.table()) {
        Ok(table) => table,
        Err(e) => {
            errors.push(e);
            // A stand-in so the fields and indexes are still checked; never returned as usable.
            Ident("invalid_table".to_owned())
        }
    };

    let mut columns = system_columns();
    // Field key → what it maps to; `None` storage column for computed fields.
    let mut targets: Vec<Target<'_>> = Vec::new();
    for (key, field) in &object.fields {
        let path = format!("fields.{key}");
        match column_for(key, field) {
            Ok(Some(spec)) => {
                if columns.iter().any(|c| c.name == spec.name) {
                    errors.push(SchemaError::DuplicateColumn {
                        path,
                        column: spec.name.to_string(),
                    });
                    continue;
                }
                targets.push(Target {
                    column: spec.name.clone(),
                    field_type: Some(field.r#type),
                    storage: spec.storage,
                    key,
                });
                columns.push(spec);
            }
            Ok(None) => {
                for (flag, set) in [
                    ("unique", field.unique),
                    ("index", field.index),
                    ("externalId", field.external_id),
                ] {
                    if set {
                        errors.push(SchemaError::ComputedNotIndexable {
                            path: format!("{path}.{flag}"),
                            field: key.clone(),
                            field_type: field.r#type,
                        });
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }

    let mut indexes = Indexes { list: Vec::new() };

    // 1. Declared indexes, with their names.
    for (i, index) in object.indexes.iter().enumerate() {
        let at = format!("indexes[{i}]");
        let mut ok = true;
        match index.r#type {
            IndexType::Btree | IndexType::Hash => {}
            other => {
                errors.push(SchemaError::UnsupportedIndexType {
                    path: format!("{at}.type"),
                    index_type: other,
                });
                ok = false;
            }
        }
        if index.partial.is_some() {
            errors.push(SchemaError::PartialIndex {
                path: format!("{at}.partial"),
            });
            ok = false;
        }
        if index.fields.is_empty() {
            errors.push(SchemaError::EmptyIndex {
                path: format!("{at}.fields"),
            });
            continue;
        }
        let mut cols = Vec::new();
        for (j, key) in index.fields.iter().enumerate() {
            let path = format!("{at}.fields[{j}]");
            match resolve(object, &targets, key) {
                Some(Resolved::Column(target)) => {
                    if index.unique {
                        if let Err(reason) = unique_allowed(target.field_type, target.storage) {
                            errors.push(SchemaError::UniqueNotSupported {
                                path,
                                field_type: target.field_type.unwrap_or(FieldType::Text),
                                reason,
                            });
                            ok = false;
                            continue;
                        }
                    }
                    cols.push(target.column.clone());
                }
                Some(Resolved::System(column)) => cols.push(column),
                Some(Resolved::Computed(field_type)) => {
                    errors.push(SchemaError::ComputedNotIndexable {
                        path,
                        field: key.clone(),
                        field_type,
                    });
                    ok = false;
                }
                Some(Resolved::Refused) => ok = false,
                None => {
                    errors.push(SchemaError::UnknownIndexField {
                        path,
                        field: key.clone(),
                    });
                    ok = false;
                }
            }
        }
        if !ok {
            continue;
        }
        let name = match &index.name {
            Some(name) => match Ident::at(&format!("{at}.name"), IdentKind::Index, name) {
                Ok(name) => name,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            },
            None => index_name(index.unique, &table, &cols),
        };
        let spec = IndexSpec {
            name,
            columns: cols,
            unique: index.unique,
        };
        if let Err(e) = indexes.add(spec, &format!("{at}.name"), Redundancy::Keep) {
            errors.push(e);
        }
    }

    // 2. `unique` validation rules: one unique index over their fields (composite when several).
    for rule in object.unique_rules() {
        let at = format!("validations[{}]", rule.index);
        if rule.fields.is_empty() {
            errors.push(SchemaError::EmptyIndex {
                path: format!("{at}.fields"),
            });
            continue;
        }
        let mut cols = Vec::new();
        let mut ok = true;
        for (j, key) in rule.fields.iter().enumerate() {
            let path = format!("{at}.fields[{j}]");
            match resolve(object, &targets, key) {
                Some(Resolved::Column(target)) => {
                    if let Err(reason) = unique_allowed(target.field_type, target.storage) {
                        errors.push(SchemaError::UniqueNotSupported {
                            path,
                            field_type: target.field_type.unwrap_or(FieldType::Text),
                            reason,
                        });
                        ok = false;
                        continue;
                    }
                    cols.push(target.column.clone());
                }
                Some(Resolved::System(column)) => cols.push(column),
                Some(Resolved::Computed(field_type)) => {
                    errors.push(SchemaError::ComputedNotIndexable {
                        path,
                        field: (*key).to_owned(),
                        field_type,
                    });
                    ok = false;
                }
                Some(Resolved::Refused) => ok = false,
                None => {
                    errors.push(SchemaError::UnknownIndexField {
                        path,
                        field: (*key).to_owned(),
                    });
                    ok = false;
                }
            }
        }
        if !ok {
            continue;
        }
        let spec = IndexSpec {
            name: index_name(true, &table, &cols),
            columns: cols,
            unique: true,
        };
        if let Err(e) = indexes.add(spec, &format!("{at}.fields"), Redundancy::SameColumns) {
            errors.push(e);
        }
    }

    // 3. Unique fields (autonumber is always unique).
    for (key, field) in &object.fields {
        let Some(target) = targets.iter().find(|t| t.key == key) else {
            continue;
        };
        if !(field.unique || field.r#type == FieldType::Autonumber) {
            continue;
        }
        let path = format!("fields.{key}.unique");
        if let Err(reason) = unique_allowed(Some(field.r#type), target.storage) {
            errors.push(SchemaError::UniqueNotSupported {
                path,
                field_type: field.r#type,
                reason,
            });
            continue;
        }
        let cols = vec![target.column.clone()];
        let spec = IndexSpec {
            name: index_name(true, &table, &cols),
            columns: cols,
            unique: true,
        };
        if let Err(e) = indexes.add(spec, &path, Redundancy::SameColumns) {
            errors.push(e);
        }
    }

    // 4. Plain indexes: `index`, `externalId`, and single-valued references.
    for (key, field) in &object.fields {
        let Some(target) = targets.iter().find(|t| t.key == key) else {
            continue;
        };
        let implied = StorageOptions::of(field).implies_index(field.r#type);
        if !(field.index || field.external_id || implied) {
            continue;
        }
        let cols = vec![target.column.clone()];
        let spec = IndexSpec {
            name: index_name(false, &table, &cols),
            columns: cols,
            unique: false,
        };
        if let Err(e) = indexes.add(
            spec,
            &format!("fields.{key}.index"),
            Redundancy::LeadingColumn,
        ) {
            errors.push(e);
        }
    }

    let def = TableDef {
        name: table,
        columns,
        indexes: indexes.list,
    };
    (def, errors)
}

enum Resolved<'t, 'a> {
    Column(&'t Target<'a>),
    System(Ident),
    Computed(FieldType),
    /// A field whose column was refused (already reported).
    Refused,
}

fn resolve<'t, 'a>(
    object: &ObjectDefinition,
    targets: &'t [Target<'a>],
    key: &str,
) -> Option<Resolved<'t, 'a>> {
    if let Some(target) = targets.iter().find(|t| t.key == key) {
        return Some(Resolved::Column(target));
    }
    if SYSTEM_COLUMNS.contains(&key) {
        // Invariant: the system column names are fixed valid identifiers.
        return Some(Resolved::System(Ident(key.to_owned())));
    }
    let field = object.fields.get(key)?;
    // A field without a target is computed, or its column was refused (already reported).
    match field.r#type {
        FieldType::Formula | FieldType::Summary => Some(Resolved::Computed(field.r#type)),
        _ => Some(Resolved::Refused),
    }
}

/// Whether a unique index over this storage means what `unique` says.
fn unique_allowed(field_type: Option<FieldType>, storage: Storage) -> Result<(), &'static str> {
    match storage {
        Storage::Json(_) => Err("it is stored as JSON text, and equal values can be written as different text (key order, spacing), so a unique index would not mean unique values"),
        Storage::Computed => Err("it has no column"),
        Storage::Column(_) if field_type == Some(FieldType::Password) => {
            Err("only salted hashes are stored, which never collide")
        }
        Storage::Column(_) => Ok(()),
    }
}

struct Indexes {
    list: Vec<IndexSpec>,
}

/// When an index implied by a field is left out because another serves it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Redundancy {
    /// Declared in `indexes[]`: always created as declared.
    Keep,
    /// A field's unique index: skipped when a unique index on exactly that column exists.
    SameColumns,
    /// A field's plain index: skipped when any index starts with that column (it serves the
    /// same lookups).
    LeadingColumn,
}

impl Indexes {
    /// Adds an index unless an identical one (same name and definition) or, per `redundancy`, an
    /// equivalent one exists; a name reused for a different definition is refused.
    fn add(
        &mut self,
        spec: IndexSpec,
        path: &str,
        redundancy: Redundancy,
    ) -> Result<(), SchemaError> {
        if let Some(same_name) = self.list.iter().find(|i| i.name == spec.name) {
            if same_name.columns == spec.columns && same_name.unique == spec.unique {
                return Ok(());
            }
            return Err(SchemaError::DuplicateIndexName {
                path: path.to_owned(),
                name: spec.name.to_string(),
            });
        }
        let redundant = self.list.iter().any(|i| match redundancy {
            Redundancy::Keep => false,
            Redundancy::SameColumns => i.unique && i.columns == spec.columns,
            Redundancy::LeadingColumn => i.columns.first() == spec.columns.first(),
        });
        if !redundant {
            self.list.push(spec);
        }
        Ok(())
    }
}

/// The crate-internal constructor for generated names: a lowercase prefix or suffix around validated
/// identifiers, shortened to 63 characters (invariant: they match `^[a-z_][a-z0-9_]*$`).
pub(crate) fn trusted_generated(name: String) -> Ident {
    debug_assert!(
        ident_problem(&name).is_none(),
        "{name} is not a valid identifier"
    );
    Ident(name)
}

/// The crate-internal constructor for names known to be valid (system columns).
pub(crate) fn trusted_ident(name: &'static str) -> Ident {
    debug_assert!(
        ident_problem(name).is_none(),
        "{name} is not a valid identifier"
    );
    Ident(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        for ok in ["a", "_x", "task_2", &"a".repeat(63)] {
            assert!(Ident::new(IdentKind::Column, ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "A",
            "2a",
            "a-b",
            "a b",
            "a\"b",
            "é",
            "sqlite_x",
            &"a".repeat(64),
        ] {
            assert!(
                matches!(
                    Ident::new(IdentKind::Column, bad),
                    Err(SchemaError::InvalidIdentifier { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn literals() {
        assert_eq!(text_literal("it's").as_deref(), Some("'it''s'"));
        assert_eq!(text_literal("a\0b"), None);
        assert_eq!(real_literal(5.0).as_deref(), Some("5.0"));
        assert_eq!(real_literal(-1.5).as_deref(), Some("-1.5"));
        assert_eq!(real_literal(1e300).as_deref(), Some("1e300"));
        assert_eq!(real_literal(f64::NAN), None);
        assert_eq!(integer_literal(-7), "-7");
    }

    #[test]
    fn long_index_names_are_hashed() {
        let table = Ident::new(IdentKind::Table, &"t".repeat(40)).unwrap();
        let a = Ident::new(IdentKind::Column, &"a".repeat(30)).unwrap();
        let b = Ident::new(IdentKind::Column, &"b".repeat(30)).unwrap();
        let one = index_name(false, &table, &[a.clone(), b.clone()]);
        let two = index_name(false, &table, &[b, a]);
        assert_eq!(one.as_str().len(), 63);
        assert_ne!(one, two);
        assert!(ident_problem(one.as_str()).is_none());
        let short = index_name(true, &Ident::new(IdentKind::Table, "t").unwrap(), &[]);
        assert_eq!(short.as_str(), "uq_t");
    }
}
