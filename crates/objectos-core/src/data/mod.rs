//! The data engine: queries, records and their SQL.
//!
//! Everything here runs on a tenant's SQLite connection inside a transaction the caller owns; the
//! service ([`crate::Platform`]'s data methods) picks the tenant, its model and its quotas.

pub mod batch;
pub mod codec;
pub mod error;
mod group;
pub mod model;
pub mod query;
pub mod runtime;
mod service;
pub use service::{MetaItem, META_TYPES};
pub mod write;

pub use error::{DataError, DataResult};
pub use model::TenantModel;
pub use runtime::{RateDecision, RouterSettings, TenantHandle};
