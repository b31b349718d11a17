//! ObjectStack protocol types (spec 4.0.1), Zod-style validation and the object/field model.
//!
//! Untrusted documents go through [`parse`] (or [`Kind::validate`]): the embedded JSON Schemas of
//! `@objectstack/spec@4.0.1` are applied the way Zod parses input — defaults fill missing fields,
//! unknown keys are rejected — and *every* issue is reported with its JSON path, a Zod-like code and
//! a message naming what was expected and what was given. Nothing here panics on input.
//!
//! ```
//! use objectos_spec::{parse, types::provisioning::{TenantProvisioningRequest, TenantPlan}};
//! let request: TenantProvisioningRequest = parse(&serde_json::json!({"orgId": "acme"})).unwrap();
//! assert_eq!(request.plan, TenantPlan::Free); // the schema's default
//! ```

pub mod canonical;
mod engine;
mod issue;
mod kind;
pub mod model;
mod suggest;
pub mod types;

pub use engine::CompileError;
pub use issue::{Issue, IssueCode, Issues, JsonPath, PathSegment, ValidationError, MAX_ISSUES};
pub use kind::{
    infer, json_type_name, kind, parse, parse_str, Inference, Kind, SpecType, Validated, KINDS,
};
pub use model::{ObjectDefinition, DEFAULT_DATASOURCE};
pub use suggest::{did_you_mean, quoted_with_suggestion};

use types::{
    app::*, context::*, deploy::*, driver::*, field::*, provisioning::*, tenant::*, turso::*,
};

macro_rules! spec_types {
    ($($ty:ty => $kind:literal),* $(,)?) => {
        $(impl SpecType for $ty { const KIND: &'static str = $kind; })*
    };
}

spec_types! {
    DeployBundle => "DeployBundle",
    DeployManifest => "DeployManifest",
    ObjectDefinition => "ObjectDefinition",
    Field => "Field",
    Dataset => "Dataset",
    Index => "Index",
    SelectOption => "SelectOption",
    AppManifest => "AppManifest",
    AppInstallRequest => "AppInstallRequest",
    AppInstallResult => "AppInstallResult",
    AppCompatibilityCheck => "AppCompatibilityCheck",
    TenantProvisioningRequest => "TenantProvisioningRequest",
    TenantProvisioningResult => "TenantProvisioningResult",
    ProvisioningStep => "ProvisioningStep",
    Tenant => "Tenant",
    TenantConnectionConfig => "TenantConnectionConfig",
    TenantIsolationConfig => "TenantIsolationConfig",
    TenantSecurityPolicy => "TenantSecurityPolicy",
    TenantQuota => "TenantQuota",
    TenantUsage => "TenantUsage",
    QuotaEnforcementResult => "QuotaEnforcementResult",
    DeployDiff => "DeployDiff",
    DeployValidationIssue => "DeployValidationIssue",
    DeployValidationResult => "DeployValidationResult",
    MigrationPlan => "MigrationPlan",
    TursoMultiTenantConfig => "TursoMultiTenantConfig",
    TursoGroup => "TursoGroup",
    TenantDatabaseLifecycle => "TenantDatabaseLifecycle",
    KernelContext => "KernelContext",
    TenantRuntimeContext => "TenantRuntimeContext",
    DataTypeMapping => "DataTypeMapping",
    TenantPlan => "TenantPlan",
    TenantRegion => "TenantRegion",
    TenantProvisioningStatus => "TenantProvisioningStatusEnum",
    TenantIsolationLevel => "TenantIsolationLevel",
    DeployStatus => "DeployStatusEnum",
    TenantResolverStrategy => "TenantResolverStrategy",
    FieldType => "FieldType",
    DatasetMode => "DatasetMode",
    SqlDialect => "SQLDialect",
}
