//! Rust types for the protocol's JSON Schemas, one module per source file of the spec.
//!
//! Field names serialise as camelCase. Fields with a schema default are plain values (always present
//! in output); fields without one are `Option`s omitted when `None`, since the schemas do not allow
//! `null` for them. Build these from untrusted input with [`crate::parse`], never with serde directly:
//! the validator fills defaults and reports every issue with its path first.

pub mod app;
pub mod context;
pub mod deploy;
pub mod driver;
pub mod field;
pub mod provisioning;
pub mod tenant;
pub mod turso;
