//! Route handlers, one module per resource.

pub mod deployments;
pub mod events;
pub mod keys;
pub mod ops;
pub mod tenants;
