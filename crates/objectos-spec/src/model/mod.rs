//! The object/field metadata model: what a bundle's untyped `objects[]` holds, typed by objectos.

mod object;

pub use object::{
    field_rule_issues, ApiMethod, ObjectCapabilities, ObjectDefinition, OPTION_TYPES,
    RELATION_TYPES, RESERVED_OBJECT_PREFIXES, SYSTEM_COLUMNS,
};
