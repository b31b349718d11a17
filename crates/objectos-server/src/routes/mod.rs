//! Route handlers, one module per resource.

pub mod events;
pub mod keys;
pub mod ops;
pub mod tenants;
