//! Batches: `batch` (one operation over many records, or mixed `operations`), `createMany`,
//! `updateMany` and `deleteMany`, at most [`MAX_BATCH`] operations.
//!
//! Options (`BatchOptions`): `atomic` (default true) runs everything in one transaction and
//! writes nothing if any operation fails; otherwise each operation has its own savepoint, and
//! `continueOnError` decides whether the batch goes on after a failure. `returnRecords` puts each
//! record in its result; `validateOnly` runs the operations and rolls them back.

use objectos_spec::{Issue, IssueCode, JsonPath, ObjectDefinition};
use objectos_sql::{Session, SessionExt, SqlValue};
use serde_json::{json, Map, Value};

use super::error::{DataError, DataResult};
use super::model::TenantModel;
use super::write::{self, json_type, truncate, WriteLimits};

/// The most operations one batch may hold.
pub const MAX_BATCH: usize = 200;

/// What one batch operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Insert.
    Create,
    /// Patch an existing record.
    Update,
    /// Update when the record exists (by id or externalId), else create.
    Upsert,
    /// Delete.
    Delete,
}

impl Action {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Upsert => "upsert",
            Self::Delete => "delete",
        }
    }

    fn parse(v: &Value) -> Option<Self> {
        match v.as_str()? {
            "create" => Some(Self::Create),
            "update" => Some(Self::Update),
            "upsert" => Some(Self::Upsert),
            "delete" => Some(Self::Delete),
            _ => None,
        }
    }
}

/// One operation of a batch.
#[derive(Debug, Clone)]
pub struct Operation {
    /// What it does.
    pub action: Action,
    /// The record id.
    pub id: Option<String>,
    /// The record data (create, update, upsert).
    pub data: Option<Value>,
    /// The value of the object's `externalId` field identifying the record.
    pub external_id: Option<String>,
    /// Where the operation is in the request body (for issue paths).
    pub at: JsonPath,
    /// Where its record data is in the request body.
    pub data_at: JsonPath,
}

/// `BatchOptions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    /// All or nothing (default true).
    pub atomic: bool,
    /// Return each record in its result.
    pub return_records: bool,
    /// Go on after a failed operation (non-atomic batches).
    pub continue_on_error: bool,
    /// Check and roll back.
    pub validate_only: bool,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self {
            atomic: true,
            return_records: false,
            continue_on_error: false,
            validate_only: false,
        }
    }
}

/// A parsed batch request.
#[derive(Debug, Clone)]
pub struct BatchRequest {
    /// The single operation of a `{operation, records}` batch (absent for mixed batches).
    pub operation: Option<Action>,
    /// The operations in order.
    pub operations: Vec<Operation>,
    /// The options.
    pub options: BatchOptions,
}

fn issue(at: JsonPath, code: IssueCode, message: impl Into<String>) -> Issue {
    Issue::new(at, code, message)
}

fn expect_object<'v>(
    v: &'v Value,
    at: &JsonPath,
    issues: &mut Vec<Issue>,
) -> Option<&'v Map<String, Value>> {
    match v {
        Value::Object(m) => Some(m),
        other => {
            issues.push(issue(
                at.clone(),
                IssueCode::InvalidType,
                format!("Expected object, received {}", json_type(other)),
            ));
            None
        }
    }
}

fn unknown_keys(
    map: &Map<String, Value>,
    allowed: &[&str],
    at: &JsonPath,
    issues: &mut Vec<Issue>,
) {
    let unknown: Vec<String> = map
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| format!("'{}'", truncate(k)))
        .collect();
    if !unknown.is_empty() {
        issues.push(issue(
            at.clone(),
            IssueCode::UnrecognizedKeys,
            format!(
                "Unrecognized key(s) in object: {}; expected {}",
                unknown.join(", "),
                allowed.join(", ")
            ),
        ));
    }
}

fn parse_options(v: Option<&Value>, at: &JsonPath, issues: &mut Vec<Issue>) -> BatchOptions {
    let mut options = BatchOptions::default();
    let Some(v) = v else {
        return options;
    };
    let Some(map) = expect_object(v, at, issues) else {
        return options;
    };
    unknown_keys(
        map,
        &["atomic", "returnRecords", "continueOnError", "validateOnly"],
        at,
        issues,
    );
    for (key, slot) in [
        ("atomic", &mut options.atomic),
        ("returnRecords", &mut options.return_records),
        ("continueOnError", &mut options.continue_on_error),
        ("validateOnly", &mut options.validate_only),
    ] {
        match map.get(key) {
            None => {}
            Some(Value::Bool(b)) => *slot = *b,
            Some(other) => issues.push(issue(
                at.key(key),
                IssueCode::InvalidType,
                format!("Expected boolean, received {}", json_type(other)),
            )),
        }
    }
    options
}

fn parse_string(
    map: &Map<String, Value>,
    key: &str,
    at: &JsonPath,
    issues: &mut Vec<Issue>,
) -> Option<String> {
    match map.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            issues.push(issue(
                at.key(key),
                IssueCode::InvalidType,
                format!("Expected string, received {}", json_type(other)),
            ));
            None
        }
    }
}

fn check_count(len: usize, at: &JsonPath, issues: &mut Vec<Issue>) -> bool {
    if len == 0 {
        issues.push(issue(
            at.clone(),
            IssueCode::TooSmall,
            "Array must contain at least 1 element(s)",
        ));
        return false;
    }
    if len > MAX_BATCH {
        issues.push(issue(
            at.clone(),
            IssueCode::TooBig,
            format!("Array must contain at most {MAX_BATCH} element(s), received {len}"),
        ));
        return false;
    }
    true
}

fn parse_record(
    v: &Value,
    action: Action,
    at: JsonPath,
    issues: &mut Vec<Issue>,
    action_key: Option<&str>,
) -> Option<Operation> {
    let map = expect_object(v, &at, issues)?;
    let mut allowed = vec!["id", "data", "externalId"];
    if let Some(k) = action_key {
        allowed.push(k);
    }
    unknown_keys(map, &allowed, &at, issues);
    let id = parse_string(map, "id", &at, issues);
    let external_id = parse_string(map, "externalId", &at, issues);
    let data = map.get("data").cloned();
    match (&data, action) {
        (Some(Value::Object(_)), _) | (None, Action::Delete) => {}
        (None, _) => issues.push(issue(at.key("data"), IssueCode::InvalidType, "Required")),
        (Some(other), _) => issues.push(issue(
            at.key("data"),
            IssueCode::InvalidType,
            format!("Expected object, received {}", json_type(other)),
        )),
    }
    if matches!(action, Action::Update | Action::Delete) && id.is_none() && external_id.is_none() {
        issues.push(issue(
            at.key("id"),
            IssueCode::InvalidType,
            format!("Required: a {} needs 'id' or 'externalId'", action.as_str()),
        ));
    }
    Some(Operation {
        action,
        id,
        data,
        external_id,
        data_at: at.key("data"),
        at,
    })
}

/// Parses `POST .../batch`: `{operation, records: [{id, data, externalId}], options}`, or a mixed
/// batch `{operations: [{action, id, data, externalId}], options}`.
pub fn parse_batch(body: &Value) -> Result<BatchRequest, Vec<Issue>> {
    let root = JsonPath::root();
    let mut issues = Vec::new();
    let Some(map) = expect_object(body, &root, &mut issues) else {
        return Err(issues);
    };
    let options = parse_options(map.get("options"), &root.key("options"), &mut issues);
    let mut operations = Vec::new();
    let mut operation = None;
    if let Some(list) = map.get("operations") {
        unknown_keys(map, &["operations", "options"], &root, &mut issues);
        let at = root.key("operations");
        match list {
            Value::Array(items) if check_count(items.len(), &at, &mut issues) => {
                for (i, item) in items.iter().enumerate() {
                    let at = at.index(i);
                    let name = item.get("action").map(|_| "action").unwrap_or("operation");
                    match item.get(name).and_then(Action::parse) {
                        Some(action) => {
                            if let Some(op) = parse_record(item, action, at, &mut issues, Some(name)) {
                                operations.push(op);
                            }
                        }
                        None => issues.push(issue(
                            at.key("action"),
                            IssueCode::InvalidEnumValue,
                            "Invalid enum value. Expected 'create' | 'update' | 'upsert' | 'delete'",
                        )),
                    }
                }
            }
            Value::Array(_) => {}
            other => issues.push(issue(
                at,
                IssueCode::InvalidType,
                format!("Expected array, received {}", json_type(other)),
            )),
        }
    } else {
        unknown_keys(
            map,
            &["operation", "records", "options"],
            &root,
            &mut issues,
        );
        let action = match map.get("operation") {
            None => {
                issues.push(issue(
                    root.key("operation"),
                    IssueCode::InvalidType,
                    "Required",
                ));
                None
            }
            Some(v) => match Action::parse(v) {
                Some(a) => Some(a),
                None => {
                    issues.push(issue(
                        root.key("operation"),
                        IssueCode::InvalidEnumValue,
                        "Invalid enum value. Expected 'create' | 'update' | 'upsert' | 'delete'",
                    ));
                    None
                }
            },
        };
        operation = action;
        let at = root.key("records");
        match map.get("records") {
            None => issues.push(issue(at, IssueCode::InvalidType, "Required")),
            Some(Value::Array(items)) => {
                if check_count(items.len(), &at, &mut issues) {
                    if let Some(action) = action {
                        for (i, item) in items.iter().enumerate() {
                            if let Some(op) =
                                parse_record(item, action, at.index(i), &mut issues, None)
                            {
                                operations.push(op);
                            }
                        }
                    }
                }
            }
            Some(other) => issues.push(issue(
                at,
                IssueCode::InvalidType,
                format!("Expected array, received {}", json_type(other)),
            )),
        }
    }
    if issues.is_empty() {
        Ok(BatchRequest {
            operation,
            operations,
            options,
        })
    } else {
        Err(issues)
    }
}

/// Parses `POST .../createMany`: an array of records, or `{records: [...]}`.
pub fn parse_create_many(body: &Value) -> Result<Vec<Operation>, Vec<Issue>> {
    let root = JsonPath::root();
    let mut issues = Vec::new();
    let (items, at) = match body {
        Value::Array(items) => (items, root.clone()),
        Value::Object(map) => {
            unknown_keys(map, &["records", "object"], &root, &mut issues);
            match map.get("records") {
                Some(Value::Array(items)) => (items, root.key("records")),
                _ => {
                    issues.push(issue(
                        root.key("records"),
                        IssueCode::InvalidType,
                        "Required: an array of records",
                    ));
                    return Err(issues);
                }
            }
        }
        other => {
            return Err(vec![issue(
                root,
                IssueCode::InvalidType,
                format!("Expected array, received {}", json_type(other)),
            )])
        }
    };
    check_count(items.len(), &at, &mut issues);
    if !issues.is_empty() {
        return Err(issues);
    }
    Ok(items
        .iter()
        .enumerate()
        .map(|(i, record)| Operation {
            action: Action::Create,
            id: None,
            data: Some(record.clone()),
            external_id: None,
            at: at.index(i),
            data_at: at.index(i),
        })
        .collect())
}

/// Parses `POST .../updateMany`: `{records: [{id, data}], options}`.
pub fn parse_update_many(body: &Value) -> Result<BatchRequest, Vec<Issue>> {
    let root = JsonPath::root();
    let mut issues = Vec::new();
    let Some(map) = expect_object(body, &root, &mut issues) else {
        return Err(issues);
    };
    unknown_keys(map, &["records", "options"], &root, &mut issues);
    let options = parse_options(map.get("options"), &root.key("options"), &mut issues);
    let at = root.key("records");
    let mut operations = Vec::new();
    match map.get("records") {
        Some(Value::Array(items)) => {
            if check_count(items.len(), &at, &mut issues) {
                for (i, item) in items.iter().enumerate() {
                    if let Some(op) =
                        parse_record(item, Action::Update, at.index(i), &mut issues, None)
                    {
                        operations.push(op);
                    }
                }
            }
        }
        _ => issues.push(issue(
            at,
            IssueCode::InvalidType,
            "Required: an array of {id, data}",
        )),
    }
    if issues.is_empty() {
        Ok(BatchRequest {
            operation: Some(Action::Update),
            operations,
            options,
        })
    } else {
        Err(issues)
    }
}

/// Parses `POST .../deleteMany`: `{ids: [...], options}`.
pub fn parse_delete_many(body: &Value) -> Result<BatchRequest, Vec<Issue>> {
    let root = JsonPath::root();
    let mut issues = Vec::new();
    let Some(map) = expect_object(body, &root, &mut issues) else {
        return Err(issues);
    };
    unknown_keys(map, &["ids", "options"], &root, &mut issues);
    let options = parse_options(map.get("options"), &root.key("options"), &mut issues);
    let at = root.key("ids");
    let mut operations = Vec::new();
    match map.get("ids") {
        Some(Value::Array(items)) => {
            if check_count(items.len(), &at, &mut issues) {
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(id) => operations.push(Operation {
                            action: Action::Delete,
                            id: Some(id.clone()),
                            data: None,
                            external_id: None,
                            at: at.index(i),
                            data_at: at.index(i),
                        }),
                        other => issues.push(issue(
                            at.index(i),
                            IssueCode::InvalidType,
                            format!("Expected string, received {}", json_type(other)),
                        )),
                    }
                }
            }
        }
        _ => issues.push(issue(
            at,
            IssueCode::InvalidType,
            "Required: an array of ids",
        )),
    }
    if issues.is_empty() {
        Ok(BatchRequest {
            operation: Some(Action::Delete),
            operations,
            options,
        })
    } else {
        Err(issues)
    }
}

/// The key of the object's `externalId: true` field.
fn external_id_field(object: &ObjectDefinition) -> Option<&str> {
    object
        .fields
        .iter()
        .find(|(_, f)| f.external_id)
        .map(|(k, _)| k.as_str())
}

fn find_id(
    conn: &dyn Session,
    object: &ObjectDefinition,
    op: &Operation,
) -> DataResult<Option<String>> {
    let table = super::codec::quoted_table(object)?;
    if let Some(id) = &op.id {
        if write::impossible_id(id) {
            return Ok(None);
        }
        let exists = conn.exists(
            &format!("SELECT 1 FROM {table} WHERE \"id\" = $1"),
            &[SqlValue::from(id.as_str())],
        )?;
        return Ok(exists.then(|| id.clone()));
    }
    let Some(external) = op.external_id.as_ref().filter(|e| !write::impossible_id(e)) else {
        return Ok(None);
    };
    let Some(key) = external_id_field(object) else {
        return Err(DataError::invalid(Issue::new(
            op.at.key("externalId"),
            IssueCode::Custom,
            format!(
                "'{}' has no field marked externalId to match on",
                object.name
            ),
        )));
    };
    let column = super::codec::quoted_column(object, key)?;
    let value = super::codec::to_sql(object, key, &Value::String(external.clone()));
    Ok(conn
        .query_opt(
            &format!("SELECT \"id\" FROM {table} WHERE {column} = $1 LIMIT 1"),
            &[value],
        )?
        .and_then(|row| row.into_iter().next())
        .and_then(SqlValue::into_string))
}

fn with_id(data: &Value, id: Option<&String>) -> Value {
    match (data, id) {
        (Value::Object(map), Some(id)) if !map.contains_key("id") => {
            let mut map = map.clone();
            map.insert("id".to_owned(), Value::String(id.clone()));
            Value::Object(map)
        }
        _ => data.clone(),
    }
}

fn with_external(data: &Value, object: &ObjectDefinition, op: &Operation) -> Value {
    match (data, &op.external_id, external_id_field(object)) {
        (Value::Object(map), Some(ext), Some(key)) if !map.contains_key(key) => {
            let mut map = map.clone();
            map.insert(key.to_owned(), Value::String(ext.clone()));
            Value::Object(map)
        }
        _ => data.clone(),
    }
}

/// Creates the record of a `create` (or of an `upsert` that found nothing), with its `id` and
/// `externalId` put into the data.
fn create_op(
    conn: &dyn Session,
    model: &TenantModel,
    object: &ObjectDefinition,
    op: &Operation,
    data: &Value,
    limits: &WriteLimits,
    now: &str,
) -> DataResult<(String, Option<Map<String, Value>>)> {
    let data = with_external(&with_id(data, op.id.as_ref()), object, op);
    let record = write::create(conn, model, object, &data, limits, now)
        .map_err(|e| e.prefixed(&op.data_at))?;
    let id = record
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok((id, Some(record)))
}

/// Runs one operation; the record (None for deletes) and its id.
fn apply(
    conn: &dyn Session,
    model: &TenantModel,
    object: &ObjectDefinition,
    op: &Operation,
    limits: &WriteLimits,
    now: &str,
) -> DataResult<(String, Option<Map<String, Value>>)> {
    let data = op.data.clone().unwrap_or(Value::Null);
    if op.action == Action::Create {
        return create_op(conn, model, object, op, &data, limits, now);
    }
    let Some(id) = find_id(conn, object, op)? else {
        if op.action == Action::Upsert {
            return create_op(conn, model, object, op, &data, limits, now);
        }
        return Err(DataError::NotFound {
            object: object.name.clone(),
            id: truncate(
                op.id
                    .as_deref()
                    .or(op.external_id.as_deref())
                    .unwrap_or_default(),
            ),
        });
    };
    if op.action == Action::Delete {
        write::delete(conn, model, object, &id)?;
        return Ok((id, None));
    }
    // Update, or an upsert of an existing record (its id comes from the match, not the data).
    let patch = if op.action == Action::Upsert {
        strip_id(&data)
    } else {
        data
    };
    let record = write::update(conn, model, object, &id, &patch, limits, now)
        .map_err(|e| e.prefixed(&op.data_at))?;
    Ok((id, Some(record)))
}

fn strip_id(data: &Value) -> Value {
    match data {
        Value::Object(map) if map.contains_key("id") => {
            let mut map = map.clone();
            map.remove("id");
            Value::Object(map)
        }
        other => other.clone(),
    }
}

/// Runs a batch in one transaction; the `BatchUpdateResponse` (without the envelope).
///
/// An atomic batch that fails returns [`DataError::BatchFailed`] with the response in it, and
/// writes nothing.
pub fn run(
    conn: &dyn Session,
    model: &TenantModel,
    object: &ObjectDefinition,
    request: &BatchRequest,
    limits: &WriteLimits,
    now: &str,
) -> DataResult<Value> {
    conn.begin()?;
    // Whatever happens below, the transaction ends: committed only on the success path.
    let response = run_in(conn, model, object, request, limits, now);
    if conn.in_transaction() {
        let _ = conn.rollback();
    }
    response
}

fn run_in(
    conn: &dyn Session,
    model: &TenantModel,
    object: &ObjectDefinition,
    request: &BatchRequest,
    limits: &WriteLimits,
    now: &str,
) -> DataResult<Value> {
    let options = request.options;
    let mut results = Vec::with_capacity(request.operations.len());
    let (mut succeeded, mut failed) = (0usize, 0usize);
    let mut first_failure: Option<(usize, DataError)> = None;
    for (index, op) in request.operations.iter().enumerate() {
        let outcome = conn.savepoint("objectos_batch_op", || {
            apply(conn, model, object, op, limits, now)
        });
        match outcome {
            Ok((id, record)) => {
                succeeded += 1;
                let mut result = json!({"id": id, "success": true, "index": index});
                if options.return_records {
                    if let Some(record) = record {
                        result["data"] = Value::Object(record);
                    }
                }
                results.push(result);
            }
            Err(DataError::Sql(e)) => return Err(DataError::Sql(e)),
            Err(e) => {
                failed += 1;
                let mut result = json!({"success": false, "index": index, "errors": [e.to_json()]});
                if let Some(id) = &op.id {
                    result["id"] = json!(id);
                }
                results.push(result);
                if first_failure.is_none() {
                    first_failure = Some((index, e));
                }
                if options.atomic || !options.continue_on_error {
                    break;
                }
            }
        }
    }
    let rolled_back = options.atomic && failed > 0;
    if rolled_back {
        // Nothing of an atomic batch is written when one operation fails: the operations that
        // had run are reported as not applied, so no result claims a write that is not there.
        let at = first_failure.as_ref().map_or(0, |(i, _)| *i);
        for result in results.iter_mut().filter(|r| r["success"] == json!(true)) {
            result["success"] = json!(false);
            result["errors"] = json!([{
                "code": "rolled_back",
                "message": format!("not applied: operation {at} failed and the batch is atomic"),
                "category": "conflict",
                "details": {"failedOperation": at},
            }]);
            if let Some(map) = result.as_object_mut() {
                map.remove("data");
            }
        }
    }
    let mut response = json!({
        "success": failed == 0,
        "total": request.operations.len(),
        "succeeded": if rolled_back { 0 } else { succeeded },
        "failed": if rolled_back { results.len() } else { failed },
        "results": results,
    });
    if let Some(action) = request.operation {
        response["operation"] = json!(action.as_str());
    }
    if options.atomic {
        if let Some((index, cause)) = first_failure {
            return Err(DataError::BatchFailed {
                index,
                cause: Box::new(cause),
                result: response,
            });
        }
    }
    if options.validate_only {
        conn.rollback()?;
    } else {
        conn.commit()?;
    }
    Ok(response)
}
