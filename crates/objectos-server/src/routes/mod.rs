//! Route handlers, one module per resource.

pub mod data;
pub mod deployments;
pub mod domains;
pub mod events;
pub mod hrana;
pub mod keys;
pub mod meta;
pub mod ops;
pub mod tenants;
