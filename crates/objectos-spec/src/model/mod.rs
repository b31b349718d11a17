//! The object/field metadata model: what a bundle's untyped `objects[]` holds, typed by objectos.

mod object;
mod rules;
mod values;

pub use object::{
    field_rule_issues, ApiMethod, ObjectCapabilities, ObjectDefinition, UniqueRule,
    DEFAULT_DATASOURCE, OPTION_TYPES, RELATION_TYPES, RESERVED_OBJECT_PREFIXES, SYSTEM_COLUMNS,
};
pub use rules::{
    compile_rule_regex, state_fields_of_update, write_rule_issues, RuleEvent, MAX_RULE_REGEX_LEN,
    MAX_RULE_REGEX_SIZE,
};
pub use values::{
    check_record, is_email, is_http_url, is_phone, is_read_only_type, is_record_id,
    normalise_datetime, normalise_time, CheckedRecord, ReferenceCheck, WriteMode, ADDRESS_KEYS,
    DEFAULT_MAX_RATING, EMAIL_PATTERN, PASSWORD_MIN_LENGTH,
};
