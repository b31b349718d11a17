//! Record values checked and normalised against an object's field definitions, without a database.
//!
//! [`check_record`] is what the data engine runs on every write (issue #5) and what the deploy
//! validator runs on every seed record (issue #4). It reports *every* problem at once, each with a
//! path relative to the record (`title`, `tags[2]`, `location.lat`); callers re-root the paths
//! (`seedData[0].records[3].title`) with [`JsonPath::prefixed`].
//!
//! The values it returns are the JSON forms the storage layer writes, per `docs/field-types.md`:
//!
//! | type | accepted | returned |
//! |---|---|---|
//! | text, textarea, markdown, html, richtext, code, signature, qrcode | string (`minLength`/`maxLength` in code points) | as given (html is not sanitised) |
//! | email | string matching the spec's `adminEmail` pattern | as given |
//! | url | absolute `http://` or `https://` URL with a host, no spaces | as given |
//! | phone | `^\+?[0-9(][0-9 ().-]*$` with 3–15 digits (E.164-ish, no extensions) | as given |
//! | password | string, at least `minLength` (default 8) code points | the clear text, listed in [`CheckedRecord::passwords`] for hashing |
//! | number, currency, percent | number; `scale` limits decimals (`scale: 0` → integers), `precision` total digits, `min`/`max` | integer JSON when `scale: 0`, else as given |
//! | slider, progress | number within `min`/`max` (progress: 0–100 by default) | as given |
//! | rating | integer 0..=`maxRating` (5), halves with `allowHalf` | integer, or the number with `allowHalf` |
//! | date | `YYYY-MM-DD`, a real calendar date | as given |
//! | datetime | RFC 3339 with `Z` or an offset (`T`, `t` or space; any fraction) | UTC `YYYY-MM-DDTHH:MM:SS.sssZ` (fraction truncated to ms) |
//! | time | `HH:MM`, `HH:MM:SS` or `HH:MM:SS.f` (1–3 digits) | `HH:MM:SS` or `HH:MM:SS.sss` |
//! | boolean, toggle | JSON `true`/`false` only | the boolean (0/1 is the storage layer's job) |
//! | select, radio | one option `value` | as given |
//! | select + `multiple`, multiselect, checkboxes | array of distinct option values | as given |
//! | tags | array of distinct strings | as given |
//! | lookup | record id (`[A-Za-z0-9_-]{1,64}`); array of distinct ids with `multiple` | as given; listed in [`CheckedRecord::references`] |
//! | master_detail, tree | one record id (`multiple` has no effect) | as given; listed in references (tree: its own object unless `reference`) |
//! | file, image, video, audio | non-empty string reference; array with `multiple` | as given |
//! | avatar | non-empty string reference (`multiple` has no effect) | as given |
//! | color | `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa`, `rgb(r, g, b)`, `rgba(r, g, b, a)`, `hsl(h, s%, l%)`, `hsla(h, s%, l%, a)`; `colorFormat` narrows to one family, `allowAlpha: false` refuses alpha | as given |
//! | location | `{"lat": -90..=90, "lng": -180..=180}`, no other keys | `{"lat", "lng"}` |
//! | address | object of strings with keys among `street`, `city`, `state`, `postalCode`, `country` | keys in that order |
//! | vector | array of numbers, exactly `vectorConfig.dimensions` long when set | as given |
//! | json | any JSON | as given |
//! | formula, summary, autonumber | nothing: read-only (`custom` issue when given) | left to the storage layer |
//!
//! `null` clears an optional field; on a required field it is `invalid_type` "Required". A required
//! field also refuses a blank string (`""`, or only whitespace): `too_small` "Required: ...".
//!
//! Record-level rules: on [`WriteMode::Create`] missing fields take their `defaultValue` (checked like
//! input; an array-valued field accepts one value, `"a"` → `["a"]`, as the DDL does) and missing
//! required fields are `Required`; on [`WriteMode::Update`] only the given keys are checked. `id` may be
//! given on create only; `created_at`/`updated_at` never. Issues come in this order: `id`, the fields in
//! declaration order, `created_at`/`updated_at`, then one `unrecognized_keys` issue at the record root.
//! Fields left out stay out of [`CheckedRecord::values`]: the storage layer writes NULL (or assigns).

use std::collections::HashMap;
use std::sync::OnceLock;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::engine::{quote, type_name};
use crate::issue::{Issue, IssueCode, JsonPath};
use crate::model::ObjectDefinition;
use crate::types::field::{Field, FieldColorFormat, FieldType};

/// The pattern of the spec's `TenantProvisioningRequest.adminEmail`, used for `email` fields.
pub const EMAIL_PATTERN: &str = r"^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$";

/// The default minimum length of a `password` field without `minLength`.
pub const PASSWORD_MIN_LENGTH: u64 = 8;

/// The default maximum of a `rating` field without `maxRating`.
pub const DEFAULT_MAX_RATING: f64 = 5.0;

/// Whether a write creates a record or updates (patches) one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteMode {
    /// A new record: required fields must be given or defaulted; defaults are applied.
    Create,
    /// A partial update: only the given fields are checked; required fields may not become null.
    Update,
}

/// Record ids a reference field points at, for the data engine to verify they exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceCheck {
    /// The referencing field's key.
    pub field: String,
    /// The object the ids belong to.
    pub object: String,
    /// The ids, in the order given, without duplicates.
    pub ids: Vec<String>,
}

/// A record that passed [`check_record`], with values in their storage form.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckedRecord {
    /// The `id` given on create (the storage layer generates one when absent).
    pub id: Option<String>,
    /// Normalised values by field key, in declaration order: given fields, plus defaults on create.
    pub values: IndexMap<String, Value>,
    /// Keys of password fields whose value is clear text: hash before storing, never return.
    pub passwords: Vec<String>,
    /// Reference targets to verify, one entry per non-null reference field.
    pub references: Vec<ReferenceCheck>,
    /// Keys of fields filled from their `defaultValue`.
    pub defaulted: Vec<String>,
}

/// True when `id` is a valid record id: 1–64 characters of `[A-Za-z0-9_-]`.
pub fn is_record_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// True for field types computed or assigned by objectos, which a write may not set.
pub fn is_read_only_type(ty: FieldType) -> bool {
    matches!(
        ty,
        FieldType::Formula | FieldType::Summary | FieldType::Autonumber
    )
}

/// Checks a record against `object`'s fields; all issues at once, paths relative to the record.
pub fn check_record(
    object: &ObjectDefinition,
    record: &Map<String, Value>,
    mode: WriteMode,
) -> Result<CheckedRecord, Vec<Issue>> {
    let mut issues = Vec::new();
    let root = JsonPath::root();
    let mut out = CheckedRecord {
        id: None,
        values: IndexMap::new(),
        passwords: Vec::new(),
        references: Vec::new(),
        defaulted: Vec::new(),
    };

    if let Some(id) = record.get("id") {
        let at = root.key("id");
        match (mode, id) {
            (WriteMode::Update, _) => issues.push(Issue::new(
                at,
                IssueCode::Custom,
                "'id' cannot be changed; it is given by the record's URL",
            )),
            (WriteMode::Create, Value::String(s)) if is_record_id(s) => out.id = Some(s.clone()),
            (WriteMode::Create, Value::String(s)) => issues.push(Issue::new(
                at,
                IssueCode::InvalidString,
                format!(
                    "Invalid record id: expected 1 to 64 characters of [A-Za-z0-9_-], received {}",
                    quote(&Value::String(s.clone()))
                ),
            )),
            (WriteMode::Create, other) => issues.push(Issue::new(
                at,
                IssueCode::InvalidType,
                format!("Expected string, received {}", type_name(other)),
            )),
        }
    }

    for (key, field) in &object.fields {
        let at = root.key(key);
        let given = record.get(key.as_str());
        if is_read_only_type(field.r#type) {
            if given.is_some() {
                issues.push(Issue::new(
                    at,
                    IssueCode::Custom,
                    format!(
                        "'{key}' is a {} field: its value is {} by objectos and cannot be written",
                        field.r#type.as_str(),
                        if field.r#type == FieldType::Autonumber {
                            "assigned"
                        } else {
                            "computed"
                        }
                    ),
                ));
            }
            continue;
        }
        match given {
            Some(Value::Null) => {
                if field.required {
                    issues.push(required(at));
                } else {
                    out.values.insert(key.clone(), Value::Null);
                }
            }
            Some(value) if contains_nul(value) => issues.push(Issue::new(
                at,
                IssueCode::InvalidString,
                "A value may not contain the NUL character (U+0000)",
            )),
            Some(value) if field.required && is_blank(value) => issues.push(blank(at)),
            Some(value) => {
                let mut found = Vec::new();
                if let Some(v) = check_value(field, value, &at, &mut found) {
                    if found.is_empty() {
                        record_value(&mut out, object, key, field, v, &at, &mut found);
                    }
                }
                issues.extend(found);
            }
            None if mode == WriteMode::Create => {
                match field.default_value.as_ref().filter(|d| !d.is_null()) {
                    Some(default) => {
                        let mut found = Vec::new();
                        if field.r#type == FieldType::Password {
                            found.push(Issue::new(
                                at.clone(),
                                IssueCode::Custom,
                                "A password field cannot have a defaultValue",
                            ));
                        } else if field.required && is_blank(default) {
                            found.push(blank(at.clone()));
                        } else {
                            let default = wrap_default(field, default);
                            if let Some(v) = check_value(field, &default, &at, &mut found) {
                                if found.is_empty() {
                                    record_value(&mut out, object, key, field, v, &at, &mut found);
                                    out.defaulted.push(key.clone());
                                }
                            }
                        }
                        issues.extend(found.into_iter().map(|issue| Issue {
                            message: format!(
                                "Invalid defaultValue {} of field '{key}': {}",
                                quote(default),
                                issue.message
                            ),
                            ..issue
                        }));
                    }
                    None if field.required => issues.push(required(at)),
                    None => {}
                }
            }
            None => {}
        }
    }

    let mut unknown = Vec::new();
    for key in record.keys() {
        match key.as_str() {
            "id" => {}
            "created_at" | "updated_at" => issues.push(Issue::new(
                root.key(key),
                IssueCode::Custom,
                format!("'{key}' is maintained by objectos and cannot be written"),
            )),
            k if object.fields.contains_key(k) => {}
            k => unknown.push(crate::quoted_with_suggestion(
                k,
                object
                    .fields
                    .iter()
                    .filter(|(name, f)| !is_read_only_type(f.r#type) && !record.contains_key(*name))
                    .map(|(name, _)| name.as_str()),
            )),
        }
    }
    if !unknown.is_empty() {
        let mut allowed: Vec<&str> = Vec::new();
        if mode == WriteMode::Create {
            allowed.push("id");
        }
        allowed.extend(
            object
                .fields
                .iter()
                .filter(|(_, f)| !is_read_only_type(f.r#type))
                .map(|(k, _)| k.as_str()),
        );
        issues.push(Issue::new(
            root,
            IssueCode::UnrecognizedKeys,
            format!(
                "Unrecognized key(s) in object: {}; allowed keys: {}",
                unknown.join(", "),
                allowed.join(", ")
            ),
        ));
    }

    if issues.is_empty() {
        Ok(out)
    } else {
        Err(issues)
    }
}

fn required(at: JsonPath) -> Issue {
    Issue::new(at, IssueCode::InvalidType, "Required")
}

/// A string that is empty or only whitespace (Unicode `White_Space`): what a required field may
/// not hold, as it may not hold `null`. Whitespace-only counts as blank: to a reader `"  "` is as
/// empty as `""` (see `docs/validation.md`). Values are stored as given, never trimmed.
fn is_blank(value: &Value) -> bool {
    matches!(value, Value::String(s) if s.chars().all(char::is_whitespace))
}

fn blank(at: JsonPath) -> Issue {
    Issue::new(
        at,
        IssueCode::TooSmall,
        "Required: the value may not be empty or only whitespace",
    )
}

/// Array-valued fields accept one value as a default (`"a"` → `["a"]`), as the DDL does.
fn wrap_default(field: &Field, default: &Value) -> Value {
    if is_array_valued(field) && !default.is_array() {
        Value::Array(vec![default.clone()])
    } else {
        default.clone()
    }
}

fn is_array_valued(field: &Field) -> bool {
    match field.r#type {
        FieldType::Multiselect | FieldType::Checkboxes | FieldType::Tags => true,
        FieldType::Select
        | FieldType::Lookup
        | FieldType::File
        | FieldType::Image
        | FieldType::Video
        | FieldType::Audio => field.multiple,
        _ => false,
    }
}

/// Stores a checked value and notes what the storage layer must do with it.
fn record_value(
    out: &mut CheckedRecord,
    object: &ObjectDefinition,
    key: &str,
    field: &Field,
    value: Value,
    at: &JsonPath,
    issues: &mut Vec<Issue>,
) {
    if field.r#type == FieldType::Password {
        out.passwords.push(key.to_owned());
    }
    if matches!(
        field.r#type,
        FieldType::Lookup | FieldType::MasterDetail | FieldType::Tree
    ) {
        let target = match (&field.reference, field.r#type) {
            (Some(target), _) => target.clone(),
            (None, FieldType::Tree) => object.name.clone(),
            (None, ty) => {
                issues.push(Issue::new(
                    at.clone(),
                    IssueCode::Custom,
                    format!(
                        "The {} field '{key}' has no reference object to check against",
                        ty.as_str()
                    ),
                ));
                return;
            }
        };
        let ids: Vec<String> = match &value {
            Value::String(id) => vec![id.clone()],
            Value::Array(items) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        if !ids.is_empty() {
            out.references.push(ReferenceCheck {
                field: key.to_owned(),
                object: target,
                ids,
            });
        }
    }
    out.values.insert(key.to_owned(), value);
}

/// Checks one non-null value; the normalised value, or `None` when it has the wrong shape.
/// Rule violations push issues but may still return a value: callers use it only without issues.
fn check_value(
    field: &Field,
    value: &Value,
    at: &JsonPath,
    issues: &mut Vec<Issue>,
) -> Option<Value> {
    let mut push = |path: JsonPath, code: IssueCode, message: String| {
        issues.push(Issue::new(path, code, message))
    };
    match field.r#type {
        FieldType::Text
        | FieldType::Textarea
        | FieldType::Markdown
        | FieldType::Html
        | FieldType::Richtext
        | FieldType::Code
        | FieldType::Signature
        | FieldType::Qrcode => {
            let s = expect_string(value, at, &mut push)?;
            check_lengths(field, s, None, at, &mut push);
        }
        FieldType::Password => {
            let s = expect_string(value, at, &mut push)?;
            check_lengths(field, s, Some(PASSWORD_MIN_LENGTH), at, &mut push);
        }
        FieldType::Email => {
            let s = expect_string(value, at, &mut push)?;
            check_lengths(field, s, None, at, &mut push);
            if !is_email(s) {
                push(
                    at.clone(),
                    IssueCode::InvalidString,
                    format!("Invalid email, received {}", quote(value)),
                );
            }
        }
        FieldType::Url => {
            let s = expect_string(value, at, &mut push)?;
            check_lengths(field, s, None, at, &mut push);
            if !is_http_url(s) {
                push(
                    at.clone(),
                    IssueCode::InvalidString,
                    format!(
                        "Invalid url: expected an absolute http:// or https:// URL, received {}",
                        quote(value)
                    ),
                );
            }
        }
        FieldType::Phone => {
            let s = expect_string(value, at, &mut push)?;
            check_lengths(field, s, None, at, &mut push);
            if !is_phone(s) {
                push(
                    at.clone(),
                    IssueCode::InvalidString,
                    format!(
                        "Invalid phone number: expected an optional '+', then 3 to 15 digits with optional spaces, dots, dashes or parentheses (E.164 recommended), received {}",
                        quote(value)
                    ),
                );
            }
        }
        FieldType::Color => {
            let s = expect_string(value, at, &mut push)?;
            check_lengths(field, s, None, at, &mut push);
            if let Err(expected) = check_color(field, s) {
                push(
                    at.clone(),
                    IssueCode::InvalidString,
                    format!(
                        "Invalid color: expected {expected}, received {}",
                        quote(value)
                    ),
                );
            }
        }
        FieldType::Number | FieldType::Currency | FieldType::Percent => {
            return check_number(field, value, at, field.min, field.max, &mut push);
        }
        FieldType::Slider => {
            let n = expect_number(value, at, &mut push)?;
            check_bounds(n, field.min, field.max, at, &mut push);
        }
        FieldType::Progress => {
            let n = expect_number(value, at, &mut push)?;
            check_bounds(
                n,
                Some(field.min.unwrap_or(0.0)),
                Some(field.max.unwrap_or(100.0)),
                at,
                &mut push,
            );
        }
        FieldType::Rating => return check_rating(field, value, at, &mut push),
        FieldType::Date => {
            let s = expect_string(value, at, &mut push)?;
            if parse_date(s).is_none() {
                push(
                    at.clone(),
                    IssueCode::InvalidString,
                    format!(
                        "Invalid date: expected a calendar date YYYY-MM-DD such as 2026-01-31, received {}",
                        quote(value)
                    ),
                );
            }
        }
        FieldType::Datetime => {
            let s = expect_string(value, at, &mut push)?;
            return match normalise_datetime(s) {
                Some(utc) => Some(Value::String(utc)),
                None => {
                    push(
                        at.clone(),
                        IssueCode::InvalidString,
                        format!(
                            "Invalid datetime: expected an RFC 3339 timestamp with Z or an offset, such as 2026-01-31T09:30:00Z, received {}",
                            quote(value)
                        ),
                    );
                    None
                }
            };
        }
        FieldType::Time => {
            let s = expect_string(value, at, &mut push)?;
            return match normalise_time(s) {
                Some(t) => Some(Value::String(t)),
                None => {
                    push(
                        at.clone(),
                        IssueCode::InvalidString,
                        format!(
                            "Invalid time: expected HH:MM, HH:MM:SS or HH:MM:SS.sss such as 09:30, received {}",
                            quote(value)
                        ),
                    );
                    None
                }
            };
        }
        FieldType::Boolean | FieldType::Toggle => {
            if !value.is_boolean() {
                push(
                    at.clone(),
                    IssueCode::InvalidType,
                    format!("Expected boolean, received {}", type_name(value)),
                );
                return None;
            }
        }
        FieldType::Radio => check_option(field, value, at, &mut push),
        FieldType::Select if !field.multiple => {
            check_option(field, value, at, &mut push);
        }
        FieldType::Select | FieldType::Multiselect | FieldType::Checkboxes => {
            let items = expect_array(value, at, &mut push)?;
            for (i, item) in items.iter().enumerate() {
                check_option(field, item, &at.index(i), &mut push);
            }
            check_distinct(items, at, "value", &mut push);
        }
        FieldType::Tags => {
            let items = expect_array(value, at, &mut push)?;
            for (i, item) in items.iter().enumerate() {
                expect_string(item, &at.index(i), &mut push);
            }
            check_distinct(items, at, "tag", &mut push);
        }
        FieldType::Lookup if field.multiple => {
            let items = expect_array(value, at, &mut push)?;
            for (i, item) in items.iter().enumerate() {
                check_record_id(item, &at.index(i), &mut push);
            }
            check_distinct(items, at, "id", &mut push);
        }
        FieldType::Lookup | FieldType::MasterDetail | FieldType::Tree => {
            check_record_id(value, at, &mut push)?;
        }
        FieldType::File | FieldType::Image | FieldType::Video | FieldType::Audio
            if field.multiple =>
        {
            let items = expect_array(value, at, &mut push)?;
            for (i, item) in items.iter().enumerate() {
                check_file_ref(item, &at.index(i), &mut push);
            }
        }
        FieldType::File
        | FieldType::Image
        | FieldType::Video
        | FieldType::Audio
        | FieldType::Avatar => {
            check_file_ref(value, at, &mut push)?;
        }
        FieldType::Location => return check_location(value, at, &mut push),
        FieldType::Address => return check_address(value, at, &mut push),
        FieldType::Vector => {
            let items = expect_array(value, at, &mut push)?;
            for (i, item) in items.iter().enumerate() {
                expect_number(item, &at.index(i), &mut push);
            }
            if let Some(config) = &field.vector_config {
                let n = items.len() as u64;
                let d = config.dimensions;
                if n != d {
                    push(
                        at.clone(),
                        if n < d {
                            IssueCode::TooSmall
                        } else {
                            IssueCode::TooBig
                        },
                        format!("Array must contain exactly {d} element(s), received {n}"),
                    );
                }
            }
        }
        FieldType::Json => {}
        FieldType::Formula | FieldType::Summary | FieldType::Autonumber => {
            push(
                at.clone(),
                IssueCode::Custom,
                format!("A {} field cannot be written", field.r#type.as_str()),
            );
            return None;
        }
    }
    Some(value.clone())
}

type Push<'a> = dyn FnMut(JsonPath, IssueCode, String) + 'a;

/// True when a string anywhere in `value` holds U+0000, which no PostgreSQL text or jsonb can
/// store: refused on every database, so a record is accepted by all of them or by none.
fn contains_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

fn expect_string<'v>(value: &'v Value, at: &JsonPath, push: &mut Push<'_>) -> Option<&'v str> {
    match value {
        Value::String(s) => Some(s),
        other => {
            push(
                at.clone(),
                IssueCode::InvalidType,
                format!("Expected string, received {}", type_name(other)),
            );
            None
        }
    }
}

fn expect_number<'v>(value: &'v Value, at: &JsonPath, push: &mut Push<'_>) -> Option<&'v Number> {
    match value {
        Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => Some(n),
        Value::Number(n) => {
            push(
                at.clone(),
                IssueCode::InvalidType,
                format!("Expected a finite number, received {n}"),
            );
            None
        }
        other => {
            push(
                at.clone(),
                IssueCode::InvalidType,
                format!("Expected number, received {}", type_name(other)),
            );
            None
        }
    }
}

fn expect_array<'v>(value: &'v Value, at: &JsonPath, push: &mut Push<'_>) -> Option<&'v [Value]> {
    match value {
        Value::Array(items) => Some(items),
        other => {
            push(
                at.clone(),
                IssueCode::InvalidType,
                format!("Expected array, received {}", type_name(other)),
            );
            None
        }
    }
}

/// A length limit from the model, when it is a whole number ≥ 0 (the deploy rules refuse others).
fn length_limit(value: Option<f64>) -> Option<u64> {
    value
        .filter(|v| v.is_finite() && *v >= 0.0 && v.fract() == 0.0)
        .map(|v| v as u64)
}

fn check_lengths(
    field: &Field,
    s: &str,
    default_min: Option<u64>,
    at: &JsonPath,
    push: &mut Push<'_>,
) {
    let len = s.chars().count() as u64;
    if let Some(min) = length_limit(field.min_length).or(default_min) {
        if len < min {
            push(
                at.clone(),
                IssueCode::TooSmall,
                format!("String must contain at least {min} character(s), received {len}"),
            );
        }
    }
    if let Some(max) = length_limit(field.max_length) {
        if len > max {
            push(
                at.clone(),
                IssueCode::TooBig,
                format!("String must contain at most {max} character(s), received {len}"),
            );
        }
    }
}

fn check_bounds(
    n: &Number,
    min: Option<f64>,
    max: Option<f64>,
    at: &JsonPath,
    push: &mut Push<'_>,
) {
    let Some(x) = n.as_f64() else { return };
    if let Some(min) = min.filter(|m| x < *m) {
        push(
            at.clone(),
            IssueCode::TooSmall,
            format!("Number must be greater than or equal to {min}, received {n}"),
        );
    }
    if let Some(max) = max.filter(|m| x > *m) {
        push(
            at.clone(),
            IssueCode::TooBig,
            format!("Number must be less than or equal to {max}, received {n}"),
        );
    }
}

/// Digits before and after the decimal point of a number's shortest decimal form.
fn digit_counts(n: &Number) -> (usize, usize) {
    let text = if n.is_f64() {
        n.as_f64()
            .map(|x| format!("{}", x.abs()))
            .unwrap_or_default()
    } else {
        n.to_string().trim_start_matches('-').to_owned()
    };
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let int = int.trim_start_matches('0');
    (int.len(), frac.trim_end_matches('0').len())
}

/// A whole-number model setting (`scale`, `precision`), ignored when it is not one.
fn whole(value: Option<f64>) -> Option<usize> {
    value
        .filter(|v| v.is_finite() && *v >= 0.0 && v.fract() == 0.0 && *v <= 1000.0)
        .map(|v| v as usize)
}

fn check_number(
    field: &Field,
    value: &Value,
    at: &JsonPath,
    min: Option<f64>,
    max: Option<f64>,
    push: &mut Push<'_>,
) -> Option<Value> {
    let n = expect_number(value, at, push)?;
    let scale = whole(field.scale);
    let (int_digits, decimals) = digit_counts(n);
    let mut out = value.clone();
    if scale == Some(0) {
        // Stored as INTEGER: whole numbers within the 64-bit range, returned as JSON integers.
        if decimals > 0 {
            push(
                at.clone(),
                IssueCode::InvalidType,
                "Expected integer, received float".to_owned(),
            );
            return None;
        }
        let int = n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|x| x.fract() == 0.0 && *x >= i64::MIN as f64 && *x < i64::MAX as f64)
                .map(|x| x as i64)
        });
        match int {
            Some(i) => out = Value::from(i),
            None => {
                push(
                    at.clone(),
                    IssueCode::TooBig,
                    format!(
                        "Number must be a 64-bit integer (at most {}), received {n}",
                        i64::MAX
                    ),
                );
                return None;
            }
        }
    }
    let max_decimals = scale.or_else(|| {
        (field.r#type == FieldType::Currency)
            .then(|| field.currency_config.as_ref().map(|c| c.precision as usize))
            .flatten()
    });
    if let Some(places) = max_decimals.filter(|p| scale != Some(0) && decimals > *p) {
        push(
            at.clone(),
            IssueCode::Custom,
            format!("Number must have at most {places} decimal place(s), received {n}"),
        );
    }
    if let Some(precision) = whole(field.precision) {
        match scale {
            Some(s) if precision >= s && int_digits > precision - s => push(
                at.clone(),
                IssueCode::TooBig,
                format!(
                    "Number must have at most {} digit(s) before the decimal point (precision {precision}, scale {s}), received {n}",
                    precision - s
                ),
            ),
            None if int_digits + decimals > precision => push(
                at.clone(),
                IssueCode::TooBig,
                format!("Number must have at most {precision} digit(s) in total, received {n}"),
            ),
            _ => {}
        }
    }
    check_bounds(n, min, max, at, push);
    Some(out)
}

fn check_rating(field: &Field, value: &Value, at: &JsonPath, push: &mut Push<'_>) -> Option<Value> {
    let n = expect_number(value, at, push)?;
    let x = n.as_f64()?;
    let half = field.allow_half == Some(true);
    let max = field
        .max_rating
        .filter(|m| m.is_finite())
        .unwrap_or(DEFAULT_MAX_RATING);
    if half && (x * 2.0).fract() != 0.0 {
        push(
            at.clone(),
            IssueCode::Custom,
            format!("Rating must be a whole or half number of stars, received {n}"),
        );
        return None;
    }
    if !half && x.fract() != 0.0 {
        push(
            at.clone(),
            IssueCode::InvalidType,
            "Expected integer, received float".to_owned(),
        );
        return None;
    }
    check_bounds(n, Some(0.0), Some(max), at, push);
    if half {
        Some(value.clone())
    } else {
        // Whole, and within 0..=max (a finite f64), so the cast is exact for any sane maxRating.
        Some(Value::from(x as i64))
    }
}

fn check_option(field: &Field, value: &Value, at: &JsonPath, push: &mut Push<'_>) {
    let options = field.options.as_deref().unwrap_or_default();
    let expected = || {
        options
            .iter()
            .map(|o| format!("'{}'", o.value))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    match value {
        Value::String(s) if options.iter().any(|o| o.value == *s) => {}
        Value::String(s) => push(
            at.clone(),
            IssueCode::InvalidEnumValue,
            format!(
                "Invalid enum value. Expected {}, received {}{}",
                expected(),
                quote(value),
                crate::did_you_mean(s, options.iter().map(|o| o.value.as_str()))
                    .map_or_else(String::new, |m| format!("; did you mean '{m}'?"))
            ),
        ),
        other => push(
            at.clone(),
            IssueCode::InvalidType,
            format!("Expected {}, received {}", expected(), type_name(other)),
        ),
    }
}

/// Reports repeated strings in an array, at the repeat, naming the first occurrence.
fn check_distinct(items: &[Value], at: &JsonPath, what: &str, push: &mut Push<'_>) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        if let Value::String(s) = item {
            if let Some(first) = seen.insert(s.as_str(), i) {
                seen.insert(s.as_str(), first);
                push(
                    at.index(i),
                    IssueCode::Custom,
                    format!("Duplicate {what} {} (first at index {first})", quote(item)),
                );
            }
        }
    }
}

fn check_record_id(value: &Value, at: &JsonPath, push: &mut Push<'_>) -> Option<()> {
    let s = expect_string(value, at, push)?;
    if is_record_id(s) {
        Some(())
    } else {
        push(
            at.clone(),
            IssueCode::InvalidString,
            format!(
                "Invalid record id: expected 1 to 64 characters of [A-Za-z0-9_-], received {}",
                quote(value)
            ),
        );
        None
    }
}

fn check_file_ref(value: &Value, at: &JsonPath, push: &mut Push<'_>) -> Option<()> {
    let s = expect_string(value, at, push)?;
    if s.trim().is_empty() {
        push(
            at.clone(),
            IssueCode::TooSmall,
            "Expected a file reference (storage key or URL), received an empty string".to_owned(),
        );
        return None;
    }
    Some(())
}

fn expect_object<'v>(
    value: &'v Value,
    at: &JsonPath,
    push: &mut Push<'_>,
) -> Option<&'v Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map),
        other => {
            push(
                at.clone(),
                IssueCode::InvalidType,
                format!("Expected object, received {}", type_name(other)),
            );
            None
        }
    }
}

fn unknown_keys(map: &Map<String, Value>, allowed: &[&str], at: &JsonPath, push: &mut Push<'_>) {
    let unknown: Vec<String> = map
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| crate::quoted_with_suggestion(k, allowed.iter().copied()))
        .collect();
    if !unknown.is_empty() {
        push(
            at.clone(),
            IssueCode::UnrecognizedKeys,
            format!(
                "Unrecognized key(s) in object: {}; allowed keys: {}",
                unknown.join(", "),
                allowed.join(", ")
            ),
        );
    }
}

fn check_location(value: &Value, at: &JsonPath, push: &mut Push<'_>) -> Option<Value> {
    let map = expect_object(value, at, push)?;
    let mut out = Map::new();
    let mut ok = true;
    for (key, limit) in [("lat", 90.0), ("lng", 180.0)] {
        let path = at.key(key);
        match map.get(key) {
            None | Some(Value::Null) => {
                push(path, IssueCode::InvalidType, "Required".to_owned());
                ok = false;
            }
            Some(v) => match expect_number(v, &path, push) {
                Some(n) => {
                    check_bounds(n, Some(-limit), Some(limit), &path, push);
                    out.insert(key.to_owned(), v.clone());
                }
                None => ok = false,
            },
        }
    }
    unknown_keys(map, &["lat", "lng"], at, push);
    ok.then_some(Value::Object(out))
}

/// The keys an `address` value may have, in their stored order.
pub const ADDRESS_KEYS: &[&str] = &["street", "city", "state", "postalCode", "country"];

fn check_address(value: &Value, at: &JsonPath, push: &mut Push<'_>) -> Option<Value> {
    let map = expect_object(value, at, push)?;
    let mut out = Map::new();
    for key in ADDRESS_KEYS {
        if let Some(v) = map.get(*key) {
            if expect_string(v, &at.key(key), push).is_some() {
                out.insert((*key).to_owned(), v.clone());
            }
        }
    }
    unknown_keys(map, ADDRESS_KEYS, at, push);
    Some(Value::Object(out))
}

fn email_regex() -> Option<&'static fancy_regex::Regex> {
    static EMAIL: OnceLock<Option<fancy_regex::Regex>> = OnceLock::new();
    EMAIL
        .get_or_init(|| fancy_regex::Regex::new(EMAIL_PATTERN).ok())
        .as_ref()
}

/// True when `s` matches [`EMAIL_PATTERN`] (a regex that gives up counts as no match).
pub fn is_email(s: &str) -> bool {
    email_regex().is_some_and(|re| re.is_match(s).unwrap_or(false))
}

/// True for an absolute `http`/`https` URL with a valid host, optional port, and no spaces.
pub fn is_http_url(s: &str) -> bool {
    let scheme_len = if s
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
    {
        8
    } else if s
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("http://"))
    {
        7
    } else {
        return false;
    };
    let rest = s.get(scheme_len..).unwrap_or_default();
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let port_ok = |port: &str| {
        port.is_empty()
            || (port.len() <= 5
                && port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u32>().is_ok_and(|p| p <= 65_535))
    };
    if let Some(v6) = host_port.strip_prefix('[') {
        let Some((inner, after)) = v6.split_once(']') else {
            return false;
        };
        let inner_ok = inner.contains(':')
            && inner
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
        return inner_ok
            && (after.is_empty()
                || after
                    .strip_prefix(':')
                    .is_some_and(|p| !p.is_empty() && port_ok(p)));
    }
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() => (h, p),
        Some(_) => return false,
        None => (host_port, ""),
    };
    let host_ok = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        });
    port_ok(port) && host_ok
}

/// True for a phone number: optional `+`, then digits, spaces, dots, dashes, parentheses; 3–15 digits.
pub fn is_phone(s: &str) -> bool {
    let body = s.strip_prefix('+').unwrap_or(s);
    let starts_ok = body
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || c == '(');
    let chars_ok = body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '(' | ')' | '.' | '-'));
    let digits = body.chars().filter(char::is_ascii_digit).count();
    starts_ok && chars_ok && (3..=15).contains(&digits)
}

/// Checks a colour; `Err` names what was expected.
fn check_color(field: &Field, s: &str) -> Result<(), &'static str> {
    let alpha = field.allow_alpha != Some(false);
    let hex = |s: &str| {
        s.strip_prefix('#').is_some_and(|h| {
            h.bytes().all(|b| b.is_ascii_hexdigit())
                && (matches!(h.len(), 3 | 6) || (alpha && matches!(h.len(), 4 | 8)))
        })
    };
    let rgb = |s: &str| css_function(s, "rgb", 3, false);
    let rgba = |s: &str| alpha && css_function(s, "rgba", 4, false);
    let hsl =
        |s: &str| css_function(s, "hsl", 3, true) || (alpha && css_function(s, "hsla", 4, true));
    match field.color_format {
        None => {
            if hex(s) || rgb(s) || rgba(s) || hsl(s) {
                Ok(())
            } else if alpha {
                Err("#rgb, #rgba, #rrggbb, #rrggbbaa, rgb(r, g, b), rgba(r, g, b, a), hsl(h, s%, l%) or hsla(h, s%, l%, a)")
            } else {
                Err("#rgb, #rrggbb, rgb(r, g, b) or hsl(h, s%, l%) (no alpha)")
            }
        }
        Some(FieldColorFormat::Hex) => hex(s).then_some(()).ok_or(if alpha {
            "#rgb, #rgba, #rrggbb or #rrggbbaa"
        } else {
            "#rgb or #rrggbb"
        }),
        Some(FieldColorFormat::Rgb) => rgb(s)
            .then_some(())
            .ok_or("rgb(r, g, b) with r, g, b in 0..255"),
        Some(FieldColorFormat::Rgba) => (rgba(s) || rgb(s))
            .then_some(())
            .ok_or("rgba(r, g, b, a) with r, g, b in 0..255 and a in 0..1"),
        Some(FieldColorFormat::Hsl) => hsl(s)
            .then_some(())
            .ok_or("hsl(h, s%, l%) with h in 0..360 and s, l in 0..100"),
    }
}

/// `name(a, b, c[, alpha])`: rgb channels 0–255, or hsl hue 0–360 and percentages 0–100; alpha 0–1.
fn css_function(s: &str, name: &str, arity: usize, hsl: bool) -> bool {
    let Some(args) = s
        .strip_prefix(name)
        .and_then(|r| r.trim_start().strip_prefix('('))
        .and_then(|r| r.strip_suffix(')'))
    else {
        return false;
    };
    let parts: Vec<&str> = args.split(',').map(str::trim).collect();
    if parts.len() != arity {
        return false;
    }
    let num = |p: &str| -> Option<f64> {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return None;
        }
        p.parse::<f64>().ok().filter(|x| x.is_finite())
    };
    parts.iter().enumerate().all(|(i, p)| {
        if i == 3 {
            return num(p).is_some_and(|a| (0.0..=1.0).contains(&a));
        }
        if hsl {
            if i == 0 {
                num(p.strip_suffix("deg").unwrap_or(p)).is_some_and(|h| h <= 360.0)
            } else {
                p.strip_suffix('%')
                    .and_then(num)
                    .is_some_and(|v| v <= 100.0)
            }
        } else {
            num(p).is_some_and(|v| v <= 255.0)
        }
    })
}

fn two_digits(b: &[u8]) -> Option<u32> {
    match b {
        [a, c] if a.is_ascii_digit() && c.is_ascii_digit() => {
            Some(u32::from(a - b'0') * 10 + u32::from(c - b'0'))
        }
        _ => None,
    }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses `YYYY-MM-DD` into a valid calendar date.
fn parse_date(s: &str) -> Option<(i64, u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !b[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let year = i64::from(two_digits(&b[0..2])? * 100 + two_digits(&b[2..4])?);
    let month = two_digits(&b[5..7])?;
    let day = two_digits(&b[8..10])?;
    ((1..=12).contains(&month) && (1..=days_in_month(year, month)).contains(&day))
        .then_some((year, month, day))
}

/// Parses `HH:MM:SS` (seconds optional when `seconds_optional`); returns the rest of the input.
/// Hours, minutes and seconds.
type Clock = (u32, u32, u32);

fn parse_clock(b: &[u8], seconds_optional: bool) -> Option<(Clock, &[u8])> {
    let hour = two_digits(b.get(0..2)?)?;
    if b.get(2) != Some(&b':') {
        return None;
    }
    let minute = two_digits(b.get(3..5)?)?;
    let (second, rest) = match b.get(5) {
        Some(b':') => (two_digits(b.get(6..8)?)?, &b[8..]),
        _ if seconds_optional => (0, &b[5..]),
        _ => return None,
    };
    (hour < 24 && minute < 60 && second < 60).then_some(((hour, minute, second), rest))
}

/// Splits a leading `.digits` fraction; `None` when the dot has no digits.
fn parse_fraction(b: &[u8]) -> Option<(&[u8], &[u8])> {
    match b.first() {
        Some(b'.') => {
            let digits = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            (digits > 0).then(|| (&b[1..=digits], &b[1 + digits..]))
        }
        _ => Some((&[][..], b)),
    }
}

fn millis(fraction: &[u8]) -> u32 {
    fraction
        .iter()
        .chain(std::iter::repeat(&b'0'))
        .take(3)
        .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
}

/// Normalises `HH:MM[:SS[.f{1,3}]]` to `HH:MM:SS[.sss]`.
pub fn normalise_time(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let ((h, m, sec), rest) = parse_clock(b, true)?;
    let had_seconds = b.get(5) == Some(&b':');
    let (fraction, rest) = parse_fraction(rest)?;
    if !rest.is_empty() || fraction.len() > 3 || (!had_seconds && !fraction.is_empty()) {
        return None;
    }
    Some(if fraction.is_empty() {
        format!("{h:02}:{m:02}:{sec:02}")
    } else {
        format!("{h:02}:{m:02}:{sec:02}.{:03}", millis(fraction))
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = (if y >= 0 { y } else { y - 399 }) / 400;
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = (if z >= 0 { z } else { z - 146_096 }) / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Normalises an RFC 3339 timestamp to UTC `YYYY-MM-DDTHH:MM:SS.sssZ` (fraction truncated to ms).
pub fn normalise_datetime(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let (year, month, day) = parse_date(s.get(..10)?)?;
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let ((h, m, sec), rest) = parse_clock(&b[11..], false)?;
    let (fraction, rest) = parse_fraction(rest)?;
    let offset_minutes: i64 = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), hh0, hh1, b':', mm0, mm1] => {
            let oh = two_digits(&[*hh0, *hh1])?;
            let om = two_digits(&[*mm0, *mm1])?;
            if oh > 23 || om > 59 {
                return None;
            }
            let total = i64::from(oh * 60 + om);
            if *sign == b'-' {
                -total
            } else {
                total
            }
        }
        _ => return None,
    };
    let seconds = days_from_civil(year, month, day) * 86_400
        + i64::from(h) * 3600
        + i64::from(m) * 60
        + i64::from(sec)
        - offset_minutes * 60;
    let (days, secs) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (y, mo, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return None;
    }
    Some(format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        millis(fraction)
    ))
}

#[cfg(test)]
#[path = "values_tests.rs"]
mod tests;
