//! What the data engine refuses, and why; mapped once to HTTP by the server.

use objectos_spec::types::tenant::QuotaEnforcementResult;
use objectos_spec::Issue;

/// Why a data operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The object is not deployed in this tenant.
    #[error("object '{0}' is not deployed in this tenant")]
    UnknownObject(String),
    /// The object is deployed but not served by the data API (`active: false`, `abstract: true`).
    #[error("object '{object}' is deployed but not served: {reason}")]
    NotServed {
        /// The object.
        object: String,
        /// Why, for people.
        reason: &'static str,
    },
    /// No record with this id.
    #[error("record '{id}' of '{object}' not found")]
    NotFound {
        /// The object.
        object: String,
        /// The record id.
        id: String,
    },
    /// The input breaks the object's rules; every issue, with JSON paths relative to the body.
    #[error("invalid input ({} issue(s))", .0.len())]
    Invalid(Vec<Issue>),
    /// A unique field already holds the value (or the id is taken).
    #[error("{message}")]
    Duplicate {
        /// What happened, for people.
        message: String,
        /// The field keys of the violated unique constraint.
        fields: Vec<String>,
    },
    /// A delete refused by a `restrict` reference, or a `set_null` on a required field.
    #[error("{message}")]
    Restricted {
        /// What happened, for people.
        message: String,
        /// The referencing object, field and number of records.
        details: serde_json::Value,
    },
    /// A quota (`maxRecordsPerObject`, `maxStorageBytes`) refuses the write.
    #[error("quota exceeded: {}", .0.message.clone().unwrap_or_default())]
    Quota(Box<QuotaEnforcementResult>),
    /// An atomic batch failed at one operation; nothing was written.
    #[error("batch failed at operation {index}; nothing was written")]
    BatchFailed {
        /// The index of the failed operation.
        index: usize,
        /// Its error.
        cause: Box<DataError>,
        /// The batch result (every operation, the failed one with its errors).
        result: serde_json::Value,
    },
    /// An internal failure that is not the caller's (password hashing, a lost group commit, a
    /// tenant database that could not be reached); never described to callers.
    #[error("internal: {0}")]
    Internal(String),
    /// An aggregation beyond the range it is computed in: a `distinct` sum of whole numbers
    /// beyond 64 bits, or a sum or average of numbers beyond the range of doubles (a plain sum of
    /// whole numbers never overflows). Holds the aliases of the aggregations that can overflow.
    #[error(
        "an aggregation is beyond the range it is computed in (a distinct sum of whole numbers beyond -2^63..2^63-1, or a sum or average beyond ±1.8e308); it is one of: {}",
        .0.join(", ")
    )]
    Overflow(Vec<String>),
    /// The database failed.
    #[error("storage error: {0}")]
    Sql(#[from] objectos_sql::SqlError),
}

impl From<objectos_schema::SchemaError> for DataError {
    /// Identifiers come from the deployed (validated) model: one that does not validate is a bug,
    /// never the caller's.
    fn from(e: objectos_schema::SchemaError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl DataError {
    /// One issue as a 400/422 refusal.
    pub fn invalid(issue: Issue) -> Self {
        Self::Invalid(vec![issue])
    }

    /// Issues with `prefix` prepended to their paths (records inside a batch body).
    pub fn prefixed(self, prefix: &objectos_spec::JsonPath) -> Self {
        match self {
            Self::Invalid(issues) => Self::Invalid(
                issues
                    .into_iter()
                    .map(|i| Issue {
                        path: i.path.prefixed(prefix),
                        ..i
                    })
                    .collect(),
            ),
            other => other,
        }
    }
}

/// Result of data operations.
pub type DataResult<T> = Result<T, DataError>;

impl DataError {
    /// The HTTP status the protocol gives this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::UnknownObject(_) | Self::NotServed { .. } | Self::NotFound { .. } => 404,
            Self::Invalid(_) => 400,
            Self::Overflow(_) => 422,
            Self::Duplicate { .. } | Self::Restricted { .. } => 409,
            Self::Quota(_) => 403,
            Self::BatchFailed { cause, .. } => cause.status(),
            Self::Internal(_) | Self::Sql(_) => 500,
        }
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownObject(_) => "object_not_found",
            Self::NotServed { .. } => "object_not_served",
            Self::NotFound { .. } => "record_not_found",
            Self::Invalid(_) => "validation_error",
            Self::Overflow(_) => "aggregate_overflow",
            Self::Duplicate { .. } => "duplicate_value",
            Self::Restricted { .. } => "delete_restricted",
            Self::Quota(_) => "quota_exceeded",
            Self::BatchFailed { .. } => "batch_failed",
            Self::Internal(_) | Self::Sql(_) => "internal",
        }
    }

    /// The error category (`validation`, `not_found`, `conflict`, `quota`, `server`).
    pub fn category(&self) -> &'static str {
        match self {
            Self::UnknownObject(_) | Self::NotServed { .. } | Self::NotFound { .. } => "not_found",
            Self::Invalid(_) | Self::Overflow(_) => "validation",
            Self::Duplicate { .. } | Self::Restricted { .. } => "conflict",
            Self::Quota(_) => "quota",
            Self::BatchFailed { cause, .. } => cause.category(),
            Self::Internal(_) | Self::Sql(_) => "server",
        }
    }

    /// The message shown to callers: storage errors are never described (no SQL text leaks).
    pub fn public_message(&self) -> String {
        match self {
            Self::Internal(_) | Self::Sql(_) => "internal error".to_owned(),
            Self::Invalid(issues) => format!(
                "{} validation issue(s); first: {}",
                issues.len(),
                issues.first().map(ToString::to_string).unwrap_or_default()
            ),
            other => other.to_string(),
        }
    }

    /// Structured details: issues with paths, the conflicting fields, the quota result...
    pub fn details(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Self::UnknownObject(name) => json!({"object": name}),
            Self::NotServed { object, reason } => json!({"object": object, "reason": reason}),
            Self::NotFound { object, id } => json!({"object": object, "id": id}),
            Self::Invalid(issues) => json!({"issues": issues
                .iter()
                .map(|i| json!({"path": i.path.to_string(), "code": i.code, "message": i.message}))
                .collect::<Vec<_>>()}),
            Self::Duplicate { fields, .. } => json!({"fields": fields}),
            Self::Restricted { details, .. } => details.clone(),
            Self::Quota(result) => serde_json::to_value(&**result).unwrap_or_default(),
            Self::BatchFailed { result, .. } => result.clone(),
            Self::Overflow(aliases) => json!({"aggregations": aliases}),
            Self::Internal(_) | Self::Sql(_) => serde_json::Value::Null,
        }
    }

    /// `{code, message, category, details}` as a batch result lists it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "code": self.code(),
            "message": self.public_message(),
            "category": self.category(),
            "details": self.details(),
        })
    }
}
