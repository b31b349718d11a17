//! Validation issues: a JSON path, a Zod-like code and a message naming what was expected and given.

use std::fmt;

use serde::{Serialize, Serializer};

/// One step of a [`JsonPath`]: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSegment {
    /// An object member.
    Key(String),
    /// An array element.
    Index(usize),
}

/// Where in a document an issue sits, rendered as `objects[2].fields.due_date.type`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct JsonPath(Vec<PathSegment>);

impl JsonPath {
    /// The document root.
    pub fn root() -> Self {
        Self::default()
    }

    /// This path extended by an object key.
    pub fn key(&self, key: &str) -> Self {
        let mut next = self.clone();
        next.0.push(PathSegment::Key(key.to_owned()));
        next
    }

    /// This path extended by an array index.
    pub fn index(&self, index: usize) -> Self {
        let mut next = self.clone();
        next.0.push(PathSegment::Index(index));
        next
    }

    /// Appends a key in place (used by the validator's walk).
    pub(crate) fn push_key(&mut self, key: &str) {
        self.0.push(PathSegment::Key(key.to_owned()));
    }

    /// Appends an index in place (used by the validator's walk).
    pub(crate) fn push_index(&mut self, index: usize) {
        self.0.push(PathSegment::Index(index));
    }

    /// Removes the last segment (used by the validator's walk).
    pub(crate) fn pop(&mut self) {
        self.0.pop();
    }

    /// The segments, root first.
    pub fn segments(&self) -> &[PathSegment] {
        &self.0
    }

    /// True for the document root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// `prefix` followed by this path: re-roots issues of an embedded document.
    pub fn prefixed(&self, prefix: &JsonPath) -> Self {
        let mut joined = prefix.clone();
        joined.0.extend(self.0.iter().cloned());
        joined
    }
}

fn is_plain_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                PathSegment::Index(n) => write!(f, "[{n}]")?,
                PathSegment::Key(k) if is_plain_key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                PathSegment::Key(k) => {
                    // Keys that are not identifiers are quoted JSON strings, so the path stays unambiguous.
                    write!(f, "[{}]", serde_json::Value::String(k.clone()))?;
                }
            }
        }
        Ok(())
    }
}

impl Serialize for JsonPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The kind of problem, named as Zod names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueCode {
    /// Wrong JSON type, or a required key is missing (message `Required`).
    InvalidType,
    /// A value differs from the one constant the schema allows.
    InvalidLiteral,
    /// A string outside the enum.
    InvalidEnumValue,
    /// Keys the schema does not know.
    UnrecognizedKeys,
    /// A string failing a pattern or format (email, datetime, uuid, semver...).
    InvalidString,
    /// Below a minimum (length, value or count).
    TooSmall,
    /// Above a maximum (length, value or count).
    TooBig,
    /// No variant of a union matched.
    InvalidUnion,
    /// A discriminated union's discriminator has no matching variant.
    InvalidUnionDiscriminator,
    /// A rule beyond the JSON shape (references, duplicates, reserved names...).
    Custom,
    /// Valid per the protocol, but objectos does not implement its meaning yet: refused rather than
    /// accepted and ignored.
    Unsupported,
}

impl IssueCode {
    /// The code as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidType => "invalid_type",
            Self::InvalidLiteral => "invalid_literal",
            Self::InvalidEnumValue => "invalid_enum_value",
            Self::UnrecognizedKeys => "unrecognized_keys",
            Self::InvalidString => "invalid_string",
            Self::TooSmall => "too_small",
            Self::TooBig => "too_big",
            Self::InvalidUnion => "invalid_union",
            Self::InvalidUnionDiscriminator => "invalid_union_discriminator",
            Self::Custom => "custom",
            Self::Unsupported => "unsupported",
        }
    }
}

impl fmt::Display for IssueCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// Where the problem is.
    pub path: JsonPath,
    /// What kind of problem it is.
    pub code: IssueCode,
    /// What was expected and what was given.
    pub message: String,
}

impl Issue {
    /// A new issue.
    pub fn new(path: JsonPath, code: IssueCode, message: impl Into<String>) -> Self {
        Self {
            path,
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_root() {
            "(root)".to_owned()
        } else {
            self.path.to_string()
        };
        write!(f, "{path}: {} ({})", self.message, self.code)
    }
}

/// Issues listed at most per document: a document with more is reported with its first
/// `MAX_ISSUES` (in document order) and the total count. This bounds the memory a malformed
/// document can cost while it is checked and the size of the answer that reports it.
pub const MAX_ISSUES: usize = 100;

/// Issues as they are found: the first [`MAX_ISSUES`] are kept, the rest only counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Issues {
    list: Vec<Issue>,
    total: usize,
}

impl Issues {
    /// No issues yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an issue (kept while fewer than [`MAX_ISSUES`] are).
    pub fn push(&mut self, issue: Issue) {
        self.total += 1;
        if self.list.len() < MAX_ISSUES {
            self.list.push(issue);
        }
    }

    /// Records issues in order.
    pub fn extend(&mut self, issues: impl IntoIterator<Item = Issue>) {
        for issue in issues {
            self.push(issue);
        }
    }

    /// Counts `n` issues found but not kept (already cut from a nested list).
    pub fn count_dropped(&mut self, n: usize) {
        self.total += n;
    }

    /// Whether no issue was found.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Whether [`MAX_ISSUES`] are kept: further issues are only counted.
    pub fn is_full(&self) -> bool {
        self.list.len() >= MAX_ISSUES
    }

    /// How many issues were found (kept or not).
    pub fn total(&self) -> usize {
        self.total
    }

    /// The kept issues, in the order found.
    pub fn as_slice(&self) -> &[Issue] {
        &self.list
    }

    /// The kept issues and the total.
    pub fn into_parts(self) -> (Vec<Issue>, usize) {
        (self.list, self.total)
    }
}

/// A document was rejected; its issues are listed in document order, at most [`MAX_ISSUES`] of
/// them, and `total` counts every issue found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} validation issue(s): {}", .total, summary(.issues))]
pub struct ValidationError {
    /// The first issues (at most [`MAX_ISSUES`]), never empty.
    pub issues: Vec<Issue>,
    /// Every issue found; more than `issues.len()` when the list was cut.
    pub total: usize,
}

fn summary(issues: &[Issue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl ValidationError {
    /// Wraps a non-empty list of issues, keeping the first [`MAX_ISSUES`].
    pub fn new(issues: Vec<Issue>) -> Self {
        let total = issues.len();
        Self::with_total(issues, total)
    }

    /// Wraps issues of which `total` were found (at least as many as listed); the list is cut to
    /// [`MAX_ISSUES`].
    pub fn with_total(mut issues: Vec<Issue>, total: usize) -> Self {
        let total = total.max(issues.len());
        issues.truncate(MAX_ISSUES);
        Self { issues, total }
    }

    /// Whether more issues were found than are listed.
    pub fn is_truncated(&self) -> bool {
        self.total > self.issues.len()
    }
}

impl From<Issues> for ValidationError {
    fn from(issues: Issues) -> Self {
        let (list, total) = issues.into_parts();
        Self::with_total(list, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_paths_like_javascript_accessors() {
        let path = JsonPath::root()
            .key("objects")
            .index(2)
            .key("fields")
            .key("due_date")
            .key("type");
        assert_eq!(path.to_string(), "objects[2].fields.due_date.type");
        assert_eq!(JsonPath::root().to_string(), "");
        assert_eq!(
            JsonPath::root().key("metadata").key("a b").to_string(),
            r#"metadata["a b"]"#
        );
        assert_eq!(JsonPath::root().index(0).key("x").to_string(), "[0].x");
    }

    #[test]
    fn issues_keep_the_first_hundred_and_count_the_rest() {
        let mut issues = Issues::new();
        for i in 0..250 {
            issues.push(Issue::new(
                JsonPath::root().index(i),
                IssueCode::Custom,
                "x",
            ));
        }
        assert!(issues.is_full());
        assert_eq!((issues.as_slice().len(), issues.total()), (MAX_ISSUES, 250));
        assert_eq!(issues.as_slice()[99].path.to_string(), "[99]");
        let error = ValidationError::from(issues);
        assert!(error.is_truncated());
        assert_eq!(error.total, 250);
        assert!(error.to_string().starts_with("250 validation issue(s)"));
        let many = vec![Issue::new(JsonPath::root(), IssueCode::Custom, "y"); 150];
        let error = ValidationError::new(many);
        assert_eq!((error.issues.len(), error.total), (MAX_ISSUES, 150));
    }

    #[test]
    fn issue_display_names_code_and_root() {
        let issue = Issue::new(JsonPath::root(), IssueCode::InvalidType, "Expected object");
        assert_eq!(issue.to_string(), "(root): Expected object (invalid_type)");
    }
}
