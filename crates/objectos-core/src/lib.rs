//! objectos' services, free of HTTP: the provisioning pipeline, tenant lifecycle, API keys, plans
//! and quotas. Generic over the control store ([`objectos_store::ControlStore`]) and the tenant
//! database provider ([`objectos_tenantdb::TenantDatabases`]).

pub mod archive;
pub mod cluster;
pub mod data;
pub mod deploy;
pub mod domains;
mod error;
pub mod events;
pub mod failpoints;
pub mod ids;
pub mod plans;
mod platform;
mod provisioning;
pub mod seed;
pub mod time;

pub use archive::{RestoreOptions, TenantArchive, ARCHIVE_FORMAT};
pub use error::{CoreError, CoreResult};
pub use platform::{
    default_lifecycle, key_view, DestroyOptions, Destroyed, KeyAuth, KeyScope, Platform,
    PlatformConfig, MAX_GRACE_PERIOD_HOURS,
};
pub use provisioning::{provisioning_result, Credentials, Provisioned};
