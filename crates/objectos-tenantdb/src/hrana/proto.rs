//! The Hrana-over-HTTP JSON messages (v2 and v3), as `libsql-server` reads and writes them:
//! integers travel as strings, blobs as base64, unknown fields are ignored and explicit `null`s
//! are accepted wherever a field is optional.

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `POST /v2/pipeline` and `/v3/pipeline` body.
#[derive(Debug, Deserialize)]
pub struct PipelineRequest {
    /// The stream to continue (`null` opens a new one).
    #[serde(default)]
    pub baton: Option<String>,
    /// Requests, executed in order.
    #[serde(default, deserialize_with = "null_as_default")]
    pub requests: Vec<StreamRequest>,
}

/// `POST /v3/cursor` body.
#[derive(Debug, Deserialize)]
pub struct CursorRequest {
    /// The stream to continue (`null` opens a new one).
    #[serde(default)]
    pub baton: Option<String>,
    /// The batch whose results are streamed.
    pub batch: Batch,
}

/// The pipeline's answer.
#[derive(Debug, Serialize)]
pub struct PipelineResponse {
    /// The stream's next baton (`null`: the stream is closed).
    pub baton: Option<String>,
    /// Where to send the stream's next requests (always `null`: here).
    pub base_url: Option<String>,
    /// One result per request.
    pub results: Vec<StreamResult>,
}

/// One request of a pipeline.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamRequest {
    /// Closes the stream.
    Close,
    /// Runs one statement.
    Execute {
        /// The statement.
        stmt: Stmt,
    },
    /// Runs a batch of statements with conditions.
    Batch {
        /// The batch.
        batch: Batch,
    },
    /// Runs several `;`-separated statements, ignoring rows.
    Sequence {
        /// The SQL text.
        #[serde(default)]
        sql: Option<String>,
        /// Or a stored SQL text.
        #[serde(default)]
        sql_id: Option<i32>,
    },
    /// Describes a statement without running it.
    Describe {
        /// The SQL text.
        #[serde(default)]
        sql: Option<String>,
        /// Or a stored SQL text.
        #[serde(default)]
        sql_id: Option<i32>,
    },
    /// Stores an SQL text under an id for this stream.
    StoreSql {
        /// The id.
        sql_id: i32,
        /// The text.
        sql: String,
    },
    /// Forgets a stored SQL text.
    CloseSql {
        /// The id.
        sql_id: i32,
    },
    /// Whether the stream's connection is outside a transaction (v3).
    GetAutocommit,
}

/// The result of one request.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamResult {
    /// It succeeded.
    Ok {
        /// Its response.
        response: StreamResponse,
    },
    /// It failed.
    Error {
        /// Why.
        error: Error,
    },
}

/// The response to one request (its `type` is the request's).
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamResponse {
    /// The stream is closed.
    Close {},
    /// A statement's result.
    Execute {
        /// The result.
        result: StmtResult,
    },
    /// A batch's results.
    Batch {
        /// The results.
        result: BatchResult,
    },
    /// The sequence ran.
    Sequence {},
    /// A statement's description.
    Describe {
        /// The description.
        result: DescribeResult,
    },
    /// The SQL text is stored.
    StoreSql {},
    /// The SQL text is forgotten.
    CloseSql {},
    /// Whether the connection is in autocommit mode.
    GetAutocommit {
        /// True outside a transaction.
        is_autocommit: bool,
    },
}

/// A statement with its arguments.
#[derive(Debug, Clone, Deserialize)]
pub struct Stmt {
    /// The SQL text.
    #[serde(default)]
    pub sql: Option<String>,
    /// Or a stored SQL text.
    #[serde(default)]
    pub sql_id: Option<i32>,
    /// Positional arguments.
    #[serde(default, deserialize_with = "null_as_default")]
    pub args: Vec<Value>,
    /// Named arguments.
    #[serde(default, deserialize_with = "null_as_default")]
    pub named_args: Vec<NamedArg>,
    /// Whether rows are returned (default true).
    #[serde(default)]
    pub want_rows: Option<bool>,
}

/// A named argument.
#[derive(Debug, Clone, Deserialize)]
pub struct NamedArg {
    /// The parameter's name, with or without its `:`, `@` or `$` prefix.
    pub name: String,
    /// Its value.
    pub value: Value,
}

/// A batch: steps, each run when its condition holds.
#[derive(Debug, Clone, Deserialize)]
pub struct Batch {
    /// The steps.
    #[serde(default, deserialize_with = "null_as_default")]
    pub steps: Vec<BatchStep>,
}

/// One step of a batch.
#[derive(Debug, Clone, Deserialize)]
pub struct BatchStep {
    /// When to run it (always when absent).
    #[serde(default)]
    pub condition: Option<BatchCond>,
    /// The statement.
    pub stmt: Stmt,
}

/// A batch step's condition.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BatchCond {
    /// The step ran and succeeded.
    Ok {
        /// The step's index.
        step: u32,
    },
    /// The step ran and failed.
    Error {
        /// The step's index.
        step: u32,
    },
    /// Negation.
    Not {
        /// The condition negated.
        cond: Box<BatchCond>,
    },
    /// All hold.
    And {
        /// The conditions.
        #[serde(default, deserialize_with = "null_as_default")]
        conds: Vec<BatchCond>,
    },
    /// One holds.
    Or {
        /// The conditions.
        #[serde(default, deserialize_with = "null_as_default")]
        conds: Vec<BatchCond>,
    },
    /// The connection is outside a transaction (v3).
    IsAutocommit,
}

/// A statement's result.
#[derive(Debug, Clone, Serialize, Default)]
pub struct StmtResult {
    /// The columns.
    pub cols: Vec<Col>,
    /// The rows (empty when `want_rows` was false).
    pub rows: Vec<Vec<Value>>,
    /// Rows changed by a writing statement.
    pub affected_row_count: u64,
    /// The connection's last inserted rowid, as a string.
    pub last_insert_rowid: Option<String>,
    /// Rows returned (SQLite does not count rows read).
    pub rows_read: u64,
    /// Rows changed.
    pub rows_written: u64,
    /// How long it ran.
    pub query_duration_ms: f64,
}

/// A result column.
#[derive(Debug, Clone, Serialize)]
pub struct Col {
    /// Its name.
    pub name: Option<String>,
    /// Its declared type.
    pub decltype: Option<String>,
}

/// A batch's results: one entry per step in both lists, `null` where not applicable.
#[derive(Debug, Clone, Serialize, Default)]
pub struct BatchResult {
    /// Results of the steps that succeeded.
    pub step_results: Vec<Option<StmtResult>>,
    /// Errors of the steps that failed.
    pub step_errors: Vec<Option<Error>>,
}

/// A statement's description.
#[derive(Debug, Clone, Serialize)]
pub struct DescribeResult {
    /// Its parameters.
    pub params: Vec<DescribeParam>,
    /// Its result columns.
    pub cols: Vec<DescribeCol>,
    /// Whether it is an `EXPLAIN`.
    pub is_explain: bool,
    /// Whether it only reads.
    pub is_readonly: bool,
}

/// A parameter of a described statement.
#[derive(Debug, Clone, Serialize)]
pub struct DescribeParam {
    /// Its name (`null` for `?`).
    pub name: Option<String>,
}

/// A column of a described statement.
#[derive(Debug, Clone, Serialize)]
pub struct DescribeCol {
    /// Its name.
    pub name: String,
    /// Its declared type.
    pub decltype: Option<String>,
}

/// An error: a message for people and a code for programs (always present: clients require it).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Error {
    /// For people.
    pub message: String,
    /// For programs (`SQLITE_CONSTRAINT_UNIQUE`, `SQL_PARSE_ERROR`, `STREAM_EXPIRED`, ...).
    pub code: String,
}

impl Error {
    /// An error with a code.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: code.to_owned(),
        }
    }
}

/// A value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `NULL`.
    Null,
    /// A 64-bit integer (a string on the wire).
    Integer(i64),
    /// A float.
    Float(f64),
    /// Text.
    Text(String),
    /// Bytes (base64 on the wire).
    Blob(Vec<u8>),
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(2))?;
        match self {
            Value::Null => map.serialize_entry("type", "null")?,
            Value::Integer(i) => {
                map.serialize_entry("type", "integer")?;
                map.serialize_entry("value", &i.to_string())?;
            }
            Value::Float(f) => {
                map.serialize_entry("type", "float")?;
                map.serialize_entry("value", f)?;
            }
            Value::Text(t) => {
                map.serialize_entry("type", "text")?;
                map.serialize_entry("value", t)?;
            }
            Value::Blob(b) => {
                map.serialize_entry("type", "blob")?;
                map.serialize_entry(
                    "base64",
                    &base64::engine::general_purpose::STANDARD_NO_PAD.encode(b),
                )?;
            }
        }
        map.end()
    }
}

/// The wire shape of a value, before conversion.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum RawValue {
    Null,
    Integer { value: IntOnWire },
    Float { value: f64 },
    Text { value: String },
    Blob { base64: String },
}

/// Integers are strings on the wire; a JSON number is accepted too.
#[derive(Deserialize)]
#[serde(untagged)]
enum IntOnWire {
    Text(String),
    Number(i64),
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        Ok(match RawValue::deserialize(d)? {
            RawValue::Null => Value::Null,
            RawValue::Integer { value } => Value::Integer(match value {
                IntOnWire::Number(i) => i,
                IntOnWire::Text(s) => s
                    .trim()
                    .parse()
                    .map_err(|_| D::Error::custom(format!("invalid integer {s:?}")))?,
            }),
            RawValue::Float { value } => Value::Float(value),
            RawValue::Text { value } => Value::Text(value),
            RawValue::Blob { base64 } => {
                let trimmed = base64.trim_end_matches('=');
                Value::Blob(
                    base64::engine::general_purpose::STANDARD_NO_PAD
                        .decode(trimmed)
                        .or_else(|_| {
                            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(trimmed)
                        })
                        .map_err(|e| D::Error::custom(format!("invalid base64 blob: {e}")))?,
                )
            }
        })
    }
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One line of a `/v3/cursor` response body (after the first line, [`CursorHead`]).
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CursorEntry {
    /// A step starts; its columns.
    StepBegin {
        /// The step's index.
        step: u32,
        /// Its columns.
        cols: Vec<Col>,
    },
    /// A row of the current step.
    Row {
        /// The values.
        row: Vec<Value>,
    },
    /// The current step ended.
    StepEnd {
        /// Rows changed.
        affected_row_count: u64,
        /// The last inserted rowid.
        last_insert_rowid: Option<String>,
    },
    /// A step failed.
    StepError {
        /// The step's index.
        step: u32,
        /// Why.
        error: Error,
    },
    /// The cursor failed as a whole.
    Error {
        /// Why.
        error: Error,
    },
}

/// The first line of a `/v3/cursor` response body.
#[derive(Debug, Serialize)]
pub struct CursorHead {
    /// The stream's next baton.
    pub baton: Option<String>,
    /// Always `null`.
    pub base_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_have_the_wire_format() {
        let v = vec![
            Value::Null,
            Value::Integer(-9_007_199_254_740_993),
            Value::Float(1.5),
            Value::Text("é".into()),
            Value::Blob(vec![0, 1, 2, 255]),
        ];
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"type": "null"},
                {"type": "integer", "value": "-9007199254740993"},
                {"type": "float", "value": 1.5},
                {"type": "text", "value": "é"},
                {"type": "blob", "base64": "AAEC/w"},
            ])
        );
        let back: Vec<Value> = serde_json::from_value(json).unwrap();
        assert_eq!(back, v);
        // Padded base64 and integers as JSON numbers are read too.
        let padded: Value = serde_json::from_str(r#"{"type":"blob","base64":"AAEC/w=="}"#).unwrap();
        assert_eq!(padded, Value::Blob(vec![0, 1, 2, 255]));
        let number: Value = serde_json::from_str(r#"{"type":"integer","value":7}"#).unwrap();
        assert_eq!(number, Value::Integer(7));
        for bad in [
            r#"{"type":"integer","value":"x"}"#,
            r#"{"type":"integer","value":"99999999999999999999"}"#,
            r#"{"type":"blob","base64":"!!"}"#,
            r#"{"type":"what"}"#,
        ] {
            assert!(serde_json::from_str::<Value>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn explicit_nulls_and_unknown_fields_are_accepted() {
        let req: PipelineRequest = serde_json::from_str(
            r#"{"baton":null,"requests":[{"type":"execute","stmt":{"sql":"SELECT 1","sql_id":null,"args":null,"named_args":[],"want_rows":null,"replication_index":null},"extra":1},{"type":"batch","batch":{"steps":[{"condition":null,"stmt":{"sql":"SELECT 2"}}],"replication_index":null}},{"type":"get_autocommit"},{"type":"close"}]}"#,
        )
        .unwrap();
        assert_eq!(req.requests.len(), 4);
    }
}
