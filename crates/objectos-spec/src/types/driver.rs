//! SQL driver vocabulary (`data/driver-sql.zod.ts`): dialects, type mappings and SQLite's defaults and limits.

use serde::{Deserialize, Serialize};

spec_enum! {
    /// SqlDialect.
    SqlDialect {
        Postgresql => "postgresql",
        Mysql => "mysql",
        Sqlite => "sqlite",
        Mssql => "mssql",
        Oracle => "oracle",
        Mariadb => "mariadb",
    }
}

/// DataTypeMapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataTypeMapping {
    /// SQL type for text fields (e.g., VARCHAR, TEXT).
    pub text: String,
    /// SQL type for number fields (e.g., NUMERIC, DECIMAL, INT).
    pub number: String,
    /// SQL type for boolean fields (e.g., BOOLEAN, BIT).
    pub boolean: String,
    /// SQL type for date fields (e.g., DATE).
    pub date: String,
    /// SQL type for datetime fields (e.g., TIMESTAMP, DATETIME).
    pub datetime: String,
    /// SQL type for JSON fields (e.g., JSON, JSONB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<String>,
    /// SQL type for UUID fields (e.g., UUID, CHAR(36)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// SQL type for binary fields (e.g., BLOB, BYTEA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<String>,
}

/// SQLite's column type for each logical kind (`SQLiteDataTypeMappingDefaults`).
pub const SQLITE_DATA_TYPE_MAPPING_DEFAULTS: SqliteTypeNames = SqliteTypeNames {
    text: "TEXT",
    number: "REAL",
    boolean: "INTEGER",
    date: "TEXT",
    datetime: "TEXT",
    json: "TEXT",
    uuid: "TEXT",
    binary: "BLOB",
};

/// Column type names per logical kind, as compile-time constants (see [`DataTypeMapping`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteTypeNames {
    /// Text.
    pub text: &'static str,
    /// Numbers.
    pub number: &'static str,
    /// Booleans.
    pub boolean: &'static str,
    /// Dates.
    pub date: &'static str,
    /// Date-times.
    pub datetime: &'static str,
    /// JSON documents.
    pub json: &'static str,
    /// UUIDs.
    pub uuid: &'static str,
    /// Binary data.
    pub binary: &'static str,
}

impl From<SqliteTypeNames> for DataTypeMapping {
    fn from(names: SqliteTypeNames) -> Self {
        Self {
            text: names.text.to_owned(),
            number: names.number.to_owned(),
            boolean: names.boolean.to_owned(),
            date: names.date.to_owned(),
            datetime: names.datetime.to_owned(),
            json: Some(names.json.to_owned()),
            uuid: Some(names.uuid.to_owned()),
            binary: Some(names.binary.to_owned()),
        }
    }
}

/// What SQLite's ALTER TABLE can and cannot do (`SQLiteAlterTableLimitations`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlterTableLimitations {
    /// `ALTER TABLE ... ADD COLUMN`.
    pub supports_add_column: bool,
    /// `ALTER TABLE ... RENAME COLUMN` (SQLite 3.25+).
    pub supports_rename_column: bool,
    /// `ALTER TABLE ... DROP COLUMN` (SQLite 3.35+).
    pub supports_drop_column: bool,
    /// Changing a column's type or constraints in place.
    pub supports_modify_column: bool,
    /// Adding a table constraint in place.
    pub supports_add_constraint: bool,
    /// How changes ALTER cannot express are made.
    pub rebuild_strategy: &'static str,
}

/// SQLite's ALTER TABLE limits; anything else needs a table rebuild (create, copy, drop, rename).
pub const SQLITE_ALTER_TABLE_LIMITATIONS: AlterTableLimitations = AlterTableLimitations {
    supports_add_column: true,
    supports_rename_column: true,
    supports_drop_column: true,
    supports_modify_column: false,
    supports_add_constraint: false,
    rebuild_strategy: "create_copy_drop_rename",
};
