//! Compiles the JSON Schema dialect the protocol is published in into an arena of [`Node`]s.
//!
//! Only the keywords the published schemas use are understood; any other validation keyword is a
//! compile error, so a refreshed schema that needs more cannot be silently half-enforced.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Index of a node in the arena.
pub(crate) type NodeId = usize;

/// A JSON type as named by JSON Schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    String,
    Number,
    Integer,
    Boolean,
    Object,
    Array,
    Null,
}

/// A string format with a Zod-style name for its error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Email,
    DateTime,
    Uuid,
    Other,
}

/// What an object does with keys it does not list.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Additional {
    /// Allowed and kept as given.
    Any,
    /// Rejected (`unrecognized_keys`).
    Deny,
    /// Each value is checked against this node.
    Schema(NodeId),
}

/// A compiled regular expression with its source, for messages.
#[derive(Debug)]
pub(crate) struct Pattern {
    pub(crate) source: String,
    pub(crate) regex: fancy_regex::Regex,
}

/// One compiled schema node; absent keywords are `None` / empty.
#[derive(Debug, Default)]
pub(crate) struct Node {
    pub(crate) ty: Option<Ty>,
    pub(crate) enum_values: Option<Vec<Value>>,
    pub(crate) const_value: Option<Value>,
    pub(crate) default: Option<Value>,
    pub(crate) min_length: Option<u64>,
    pub(crate) max_length: Option<u64>,
    pub(crate) pattern: Option<Pattern>,
    pub(crate) format: Option<Format>,
    pub(crate) minimum: Option<f64>,
    pub(crate) maximum: Option<f64>,
    pub(crate) exclusive_minimum: Option<f64>,
    pub(crate) exclusive_maximum: Option<f64>,
    pub(crate) properties: Vec<(String, NodeId)>,
    pub(crate) required: Vec<String>,
    pub(crate) additional: Option<Additional>,
    pub(crate) property_names: Option<NodeId>,
    pub(crate) items: Option<NodeId>,
    pub(crate) min_items: Option<u64>,
    pub(crate) max_items: Option<u64>,
    pub(crate) all_of: Vec<NodeId>,
    pub(crate) any_of: Vec<NodeId>,
    pub(crate) one_of: Vec<NodeId>,
    pub(crate) reference: Option<NodeId>,
}

/// Why a schema could not be compiled: a defect of the embedded schemas, caught by tests.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The document is not valid JSON.
    #[error("schema {id}: not JSON: {source}")]
    Json {
        /// The document's `$id`.
        id: String,
        /// The parse error.
        source: serde_json::Error,
    },
    /// A keyword has a value of the wrong shape.
    #[error("schema {id}: keyword `{keyword}` at {pointer} is malformed")]
    Malformed {
        /// The document's `$id`.
        id: String,
        /// The keyword.
        keyword: String,
        /// JSON pointer of the node.
        pointer: String,
    },
    /// A keyword the engine does not implement.
    #[error("schema {id}: unsupported keyword `{keyword}` at {pointer}")]
    Unsupported {
        /// The document's `$id`.
        id: String,
        /// The keyword.
        keyword: String,
        /// JSON pointer of the node.
        pointer: String,
    },
    /// A `$ref` that names no known document or node.
    #[error("schema {id}: unresolved $ref `{reference}`")]
    Unresolved {
        /// The document's `$id`.
        id: String,
        /// The reference.
        reference: String,
    },
    /// A pattern the regex engine rejects.
    #[error("schema {id}: bad pattern `{pattern}`: {message}")]
    Pattern {
        /// The document's `$id`.
        id: String,
        /// The pattern.
        pattern: String,
        /// The regex engine's complaint.
        message: String,
    },
}

/// Keywords that carry no validation meaning here.
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$defs",
    "description",
    "title",
    "examples",
    "x-spec-version",
    "deprecated",
    "$comment",
];

/// All compiled documents, addressable by `$id`.
#[derive(Debug, Default)]
pub(crate) struct Arena {
    pub(crate) nodes: Vec<Node>,
    /// Compiled nodes by absolute location (`$id` + `#` + JSON pointer).
    by_location: HashMap<String, NodeId>,
    /// Raw documents by `$id`.
    documents: HashMap<String, Value>,
}

impl Arena {
    /// Registers a raw document; compile it later with [`Arena::compile_document`].
    pub(crate) fn add_document(
        &mut self,
        id_hint: &str,
        text: &str,
    ) -> Result<String, CompileError> {
        let value: Value = serde_json::from_str(text).map_err(|source| CompileError::Json {
            id: id_hint.to_owned(),
            source,
        })?;
        let id = value
            .get("$id")
            .and_then(Value::as_str)
            .unwrap_or(id_hint)
            .to_owned();
        self.documents.insert(id.clone(), value);
        Ok(id)
    }

    /// Compiles the root of a registered document.
    pub(crate) fn compile_document(&mut self, id: &str) -> Result<NodeId, CompileError> {
        self.resolve(id, "")
    }

    pub(crate) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// Compiles (once) the node at `pointer` inside document `doc`.
    fn resolve(&mut self, doc: &str, pointer: &str) -> Result<NodeId, CompileError> {
        let location = format!("{doc}#{pointer}");
        if let Some(&id) = self.by_location.get(&location) {
            return Ok(id);
        }
        let raw = self
            .documents
            .get(doc)
            .and_then(|d| {
                if pointer.is_empty() {
                    Some(d)
                } else {
                    d.pointer(pointer)
                }
            })
            .cloned()
            .ok_or_else(|| CompileError::Unresolved {
                id: doc.to_owned(),
                reference: location.clone(),
            })?;
        // Reserve the slot first so recursive references resolve to it.
        let id = self.nodes.len();
        self.nodes.push(Node::default());
        self.by_location.insert(location, id);
        let node = self.build(doc, pointer, &raw)?;
        self.nodes[id] = node;
        Ok(id)
    }

    fn build(&mut self, doc: &str, pointer: &str, raw: &Value) -> Result<Node, CompileError> {
        let malformed = |keyword: &str| CompileError::Malformed {
            id: doc.to_owned(),
            keyword: keyword.to_owned(),
            pointer: pointer.to_owned(),
        };
        let obj: &Map<String, Value> = match raw {
            Value::Object(map) => map,
            // `true` / `{}` accept anything.
            Value::Bool(true) => return Ok(Node::default()),
            _ => return Err(malformed("(schema)")),
        };
        let mut node = Node::default();
        for (keyword, value) in obj {
            let child = |suffix: &str| format!("{pointer}/{keyword}{suffix}");
            match keyword.as_str() {
                k if ANNOTATIONS.contains(&k) => {}
                "format" => {
                    node.format = Some(match value.as_str().ok_or_else(|| malformed(keyword))? {
                        "email" => Format::Email,
                        "date-time" => Format::DateTime,
                        "uuid" => Format::Uuid,
                        _ => Format::Other,
                    })
                }
                "type" => {
                    node.ty = Some(match value.as_str().ok_or_else(|| malformed(keyword))? {
                        "string" => Ty::String,
                        "number" => Ty::Number,
                        "integer" => Ty::Integer,
                        "boolean" => Ty::Boolean,
                        "object" => Ty::Object,
                        "array" => Ty::Array,
                        "null" => Ty::Null,
                        _ => return Err(malformed(keyword)),
                    })
                }
                "enum" => {
                    node.enum_values =
                        Some(value.as_array().ok_or_else(|| malformed(keyword))?.clone())
                }
                "const" => node.const_value = Some(value.clone()),
                "default" => node.default = Some(value.clone()),
                "minLength" => {
                    node.min_length = Some(value.as_u64().ok_or_else(|| malformed(keyword))?)
                }
                "maxLength" => {
                    node.max_length = Some(value.as_u64().ok_or_else(|| malformed(keyword))?)
                }
                "minItems" => {
                    node.min_items = Some(value.as_u64().ok_or_else(|| malformed(keyword))?)
                }
                "maxItems" => {
                    node.max_items = Some(value.as_u64().ok_or_else(|| malformed(keyword))?)
                }
                "minimum" => node.minimum = Some(value.as_f64().ok_or_else(|| malformed(keyword))?),
                "maximum" => node.maximum = Some(value.as_f64().ok_or_else(|| malformed(keyword))?),
                "exclusiveMinimum" => {
                    node.exclusive_minimum = Some(value.as_f64().ok_or_else(|| malformed(keyword))?)
                }
                "exclusiveMaximum" => {
                    node.exclusive_maximum = Some(value.as_f64().ok_or_else(|| malformed(keyword))?)
                }
                "pattern" => {
                    let source = value.as_str().ok_or_else(|| malformed(keyword))?;
                    let regex =
                        fancy_regex::Regex::new(&ecmascript_classes(source)).map_err(|e| {
                            CompileError::Pattern {
                                id: doc.to_owned(),
                                pattern: source.to_owned(),
                                message: e.to_string(),
                            }
                        })?;
                    node.pattern = Some(Pattern {
                        source: source.to_owned(),
                        regex,
                    });
                }
                "required" => {
                    node.required = value
                        .as_array()
                        .ok_or_else(|| malformed(keyword))?
                        .iter()
                        .map(|v| {
                            v.as_str()
                                .map(str::to_owned)
                                .ok_or_else(|| malformed(keyword))
                        })
                        .collect::<Result<_, _>>()?
                }
                "properties" => {
                    let props = value.as_object().ok_or_else(|| malformed(keyword))?;
                    for name in props.keys() {
                        let id =
                            self.resolve(doc, &child(&format!("/{}", escape_pointer(name))))?;
                        node.properties.push((name.clone(), id));
                    }
                }
                "additionalProperties" => {
                    node.additional = Some(match value {
                        Value::Bool(false) => Additional::Deny,
                        Value::Bool(true) => Additional::Any,
                        Value::Object(m) if m.is_empty() => Additional::Any,
                        Value::Object(_) => Additional::Schema(self.resolve(doc, &child(""))?),
                        _ => return Err(malformed(keyword)),
                    })
                }
                "propertyNames" => node.property_names = Some(self.resolve(doc, &child(""))?),
                "items" => node.items = Some(self.resolve(doc, &child(""))?),
                "allOf" | "anyOf" | "oneOf" => {
                    let branches = value.as_array().ok_or_else(|| malformed(keyword))?;
                    let mut ids = Vec::with_capacity(branches.len());
                    for i in 0..branches.len() {
                        ids.push(self.resolve(doc, &child(&format!("/{i}")))?);
                    }
                    match keyword.as_str() {
                        "allOf" => node.all_of = ids,
                        "anyOf" => node.any_of = ids,
                        _ => node.one_of = ids,
                    }
                }
                "$ref" => {
                    let reference = value.as_str().ok_or_else(|| malformed(keyword))?;
                    let (target_doc, target_pointer) = match reference.split_once('#') {
                        Some(("", fragment)) => (doc.to_owned(), fragment.to_owned()),
                        Some((d, fragment)) => (d.to_owned(), fragment.to_owned()),
                        None => (reference.to_owned(), String::new()),
                    };
                    if !self.documents.contains_key(&target_doc) {
                        return Err(CompileError::Unresolved {
                            id: doc.to_owned(),
                            reference: reference.to_owned(),
                        });
                    }
                    node.reference = Some(self.resolve(&target_doc, &target_pointer)?);
                }
                other => {
                    return Err(CompileError::Unsupported {
                        id: doc.to_owned(),
                        keyword: other.to_owned(),
                        pointer: pointer.to_owned(),
                    })
                }
            }
        }
        Ok(node)
    }
}

/// ECMAScript's `\d` and `\w` (what Zod's regexes mean) are ASCII-only; Rust's are Unicode.
/// Rewrites them to explicit ASCII classes, inside and outside brackets.
fn ecmascript_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut in_class = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('d') if in_class => out.push_str("0-9"),
                Some('d') => out.push_str("[0-9]"),
                Some('w') if in_class => out.push_str("A-Za-z0-9_"),
                Some('w') => out.push_str("[A-Za-z0-9_]"),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    #[test]
    fn digit_and_word_classes_are_ascii_as_in_ecmascript() {
        assert_eq!(
            super::ecmascript_classes(r"^\d{4}-[\d.]\w\-$"),
            r"^[0-9]{4}-[0-9.][A-Za-z0-9_]\-$"
        );
        let re = fancy_regex::Regex::new(&super::ecmascript_classes(r"^\d+$")).unwrap();
        assert!(re.is_match("2026").unwrap());
        assert!(!re.is_match("٢٠٢٦").unwrap());
    }
}
