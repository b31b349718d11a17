//! Settings of `objectos serve`, layered: command-line flags beat `OBJECTOS_*` environment
//! variables, which beat `objectos.toml`, which beats the built-in defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use objectos_core::plans::PlanTable;
use objectos_server::app::AppOptions;
use objectos_spec::types::provisioning::TenantPlan;
use objectos_spec::types::tenant::TenantQuota;
use objectos_spec::types::turso::TenantDatabaseLifecycle;
use objectos_tenantdb::{PgIsolation, SynchronousCommit, TenantDbConfig};
use serde::Deserialize;

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Flags of `objectos serve`; each also reads its `OBJECTOS_*` variable.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Data directory [default: ./objectos-data].
    #[arg(long, env = "OBJECTOS_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:7700].
    #[arg(long, env = "OBJECTOS_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Log format [default: text].
    #[arg(long, env = "OBJECTOS_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Settings file [default: ./objectos.toml when present].
    #[arg(long, env = "OBJECTOS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Largest request body in bytes [default: 1048576].
    #[arg(long, env = "OBJECTOS_BODY_LIMIT", value_name = "BYTES")]
    pub body_limit: Option<usize>,
    /// Largest body of a restore (`POST /api/v1/tenants/restore`), in bytes [default: 268435456].
    #[arg(long, env = "OBJECTOS_ARCHIVE_BODY_LIMIT", value_name = "BYTES")]
    pub archive_body_limit: Option<usize>,
    /// Seconds a running provisioning step's lease lasts; renewed while the step runs [default: 10].
    #[arg(long, env = "OBJECTOS_STEP_LEASE_SECS", value_name = "SECS")]
    pub step_lease_secs: Option<u64>,
    /// Seconds one provisioning step may take before it fails [default: 30].
    #[arg(long, env = "OBJECTOS_STEP_TIMEOUT_SECS", value_name = "SECS")]
    pub step_timeout_secs: Option<u64>,
    /// Seconds between checks for destructions whose grace period is over [default: 60].
    #[arg(long, env = "OBJECTOS_REAPER_INTERVAL_SECS", value_name = "SECS")]
    pub reaper_interval_secs: Option<u64>,
    /// Seconds shutdown waits for in-flight requests [default: 10].
    #[arg(long, env = "OBJECTOS_SHUTDOWN_GRACE_SECS", value_name = "SECS")]
    pub shutdown_grace_secs: Option<u64>,
    /// Seconds a client has to send a complete request head; also how long a kept-alive
    /// connection may stay idle between requests [default: 10].
    #[arg(long, env = "OBJECTOS_HEADER_READ_TIMEOUT_SECS", value_name = "SECS")]
    pub header_read_timeout_secs: Option<u64>,
    /// Seconds a client has to send a request's whole body once its head is in; slower, the
    /// request is answered 408 and the connection closed [default: 60].
    #[arg(long, env = "OBJECTOS_BODY_READ_TIMEOUT_SECS", value_name = "SECS")]
    pub body_read_timeout_secs: Option<u64>,
    /// Client connections served at once; more wait in the listen backlog [default: 1024,
    /// lowered to fit the open-file limit].
    #[arg(long, env = "OBJECTOS_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<u64>,
    /// How the data API finds a request's tenant: token, header, subdomain, path or lookup
    /// [default: token].
    #[arg(long, env = "OBJECTOS_TENANT_RESOLVER", value_name = "STRATEGY")]
    pub tenant_resolver: Option<String>,
    /// Base domain of the subdomain strategy: tenants are `{tenant}.<domain>` [default: localhost].
    #[arg(long, env = "OBJECTOS_BASE_DOMAIN", value_name = "DOMAIN")]
    pub base_domain: Option<String>,
    /// Tenants kept resolved with an open connection (LRU) [default: 100].
    #[arg(long, env = "OBJECTOS_MAX_CACHED_CONNECTIONS", value_name = "N")]
    pub max_cached_connections: Option<u64>,
    /// Seconds a cached tenant connection lives [default: 300].
    #[arg(long, env = "OBJECTOS_CONNECTION_CACHE_TTL", value_name = "SECS")]
    pub connection_cache_ttl: Option<u64>,
    /// Use this admin token (at least 32 characters), replacing the stored one: how the token is
    /// set by automation or rotated. Without it the stored token stays (created on first start).
    #[arg(
        long,
        env = "OBJECTOS_ADMIN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,
    /// Where tenant databases live: sqlite (one file per tenant under the data dir), memory
    /// (in-memory SQLite, lost on restart: tests and sandboxes) or postgres [default: sqlite].
    #[arg(long, env = "OBJECTOS_TENANT_PROVIDER", value_name = "PROVIDER")]
    pub tenant_provider: Option<String>,
    /// The PostgreSQL database holding the tenants (postgres provider), e.g.
    /// postgres://objectos@127.0.0.1:5432/objectos.
    #[arg(
        long,
        env = "OBJECTOS_TENANT_DB_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub tenant_db_url: Option<String>,
    /// Connections the postgres provider's shared pool holds at most [default: 16].
    #[arg(long, env = "OBJECTOS_TENANT_DB_MAX_CONNECTIONS", value_name = "N")]
    pub tenant_db_max_connections: Option<u32>,
    /// postgres provider: a schema per tenant, or a database per tenant [default: schema].
    #[arg(
        long,
        env = "OBJECTOS_TENANT_DB_ISOLATION",
        value_name = "schema|database"
    )]
    pub tenant_db_isolation: Option<String>,
    /// postgres provider: the server's synchronous_commit for objectos' sessions, `off` for the
    /// durability of the sqlite provider [default: the server's own setting].
    #[arg(
        long,
        env = "OBJECTOS_TENANT_DB_SYNCHRONOUS_COMMIT",
        value_name = "on|off|local|remote_write|remote_apply"
    )]
    pub tenant_db_synchronous_commit: Option<String>,
    /// The control store on PostgreSQL, e.g. postgres://objectos@127.0.0.1:5432/objectos
    /// [default: the embedded control.db in the data dir].
    #[arg(
        long,
        env = "OBJECTOS_CONTROL_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub control_url: Option<String>,
    /// Connections the PostgreSQL control store's pool holds at most [default: 8].
    #[arg(long, env = "OBJECTOS_CONTROL_MAX_CONNECTIONS", value_name = "N")]
    pub control_max_connections: Option<u32>,
    /// Failure injection, `step=fail|hang|delay(ms)` (builds with the `failpoints` feature only).
    #[arg(long, env = "OBJECTOS_FAILPOINTS", value_name = "SPEC", hide = true)]
    pub failpoints: Option<String>,
}

/// `objectos.toml`. Unknown keys are errors, so a typo does not silently fall back to a default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    log_format: Option<LogFormat>,
    body_limit: Option<usize>,
    archive_body_limit: Option<usize>,
    step_lease_secs: Option<u64>,
    step_timeout_secs: Option<u64>,
    reaper_interval_secs: Option<u64>,
    shutdown_grace_secs: Option<u64>,
    header_read_timeout_secs: Option<u64>,
    body_read_timeout_secs: Option<u64>,
    max_connections: Option<u64>,
    tenant_resolver: Option<String>,
    base_domain: Option<String>,
    max_cached_connections: Option<u64>,
    connection_cache_ttl: Option<u64>,
    /// `TenantDatabaseLifecycle`, in the spec's camelCase.
    lifecycle: Option<toml::Value>,
    /// Per-plan `TenantQuota` overrides: `[plans.free] maxObjects = 50`.
    plans: Option<toml::Table>,
    /// `[tenants]`: where tenant databases live.
    tenants: Option<TenantsFile>,
    /// `[control]`: where the control store lives.
    control: Option<ControlFile>,
    /// `[hrana]`: the libSQL (Hrana) endpoint.
    hrana: Option<HranaFile>,
}

/// `[control]` of `objectos.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlFile {
    url: Option<String>,
    max_connections: Option<u32>,
}

/// `[hrana]` of `objectos.toml` (docs/hrana.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HranaFile {
    ddl_tenants: Option<Vec<String>>,
    body_limit: Option<usize>,
    idle_timeout_secs: Option<u64>,
    transaction_timeout_secs: Option<u64>,
    request_timeout_secs: Option<u64>,
    max_streams: Option<usize>,
    max_streams_per_tenant: Option<usize>,
}

/// The largest `[hrana] transaction_timeout_secs`: below the 5 s the data API's writers wait
/// for the database lock, so that a held transaction is rolled back before they give up.
const MAX_HRANA_TRANSACTION_TIMEOUT_SECS: u64 = 4;

/// Applies `[hrana]` to the server settings, refusing values out of bounds.
fn hrana_settings(
    file: HranaFile,
    settings: &mut objectos_server::HranaSettings,
    path: &Path,
) -> anyhow::Result<()> {
    let at = |key: &str| format!("{}: hrana.{key}", path.display());
    if let Some(tenants) = file.ddl_tenants {
        for id in &tenants {
            objectos_tenantdb::validate_tenant_id(id)
                .map_err(|_| anyhow::anyhow!("{}: {id:?} is not a tenant id", at("ddl_tenants")))?;
        }
        settings.ddl_tenants = tenants.into_iter().collect();
    }
    if let Some(n) = file.body_limit {
        if n == 0 || n > 64 * 1024 * 1024 {
            bail!(
                "{} must be between 1 and 67108864 (64 MiB)",
                at("body_limit")
            );
        }
        settings.body_limit = n;
    }
    if let Some(s) = file.idle_timeout_secs {
        if !(1..=3600).contains(&s) {
            bail!("{} must be between 1 and 3600", at("idle_timeout_secs"));
        }
        settings.limits.idle_timeout = Duration::from_secs(s);
    }
    if let Some(s) = file.transaction_timeout_secs {
        if !(1..=MAX_HRANA_TRANSACTION_TIMEOUT_SECS).contains(&s) {
            bail!(
                "{} must be between 1 and {MAX_HRANA_TRANSACTION_TIMEOUT_SECS} (below the 5 s the data API's writers wait for a lock)",
                at("transaction_timeout_secs")
            );
        }
        settings.limits.transaction_timeout = Duration::from_secs(s);
    }
    if let Some(s) = file.request_timeout_secs {
        if !(1..=3600).contains(&s) {
            bail!("{} must be between 1 and 3600", at("request_timeout_secs"));
        }
        settings.limits.request_timeout = Duration::from_secs(s);
    }
    if let Some(n) = file.max_streams {
        if !(1..=100_000).contains(&n) {
            bail!("{} must be between 1 and 100000", at("max_streams"));
        }
        settings.limits.max_streams = n;
    }
    if let Some(n) = file.max_streams_per_tenant {
        if !(1..=100_000).contains(&n) {
            bail!(
                "{} must be between 1 and 100000",
                at("max_streams_per_tenant")
            );
        }
        settings.limits.max_streams_per_tenant = n;
    }
    Ok(())
}

/// `[tenants]` of `objectos.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantsFile {
    provider: Option<String>,
    url: Option<String>,
    max_connections: Option<u32>,
    isolation: Option<String>,
    statement_timeout_secs: Option<u64>,
    lock_timeout_secs: Option<u64>,
    synchronous_commit: Option<String>,
}

/// The effective settings.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Options for the server.
    pub app: AppOptions,
    /// Log format.
    pub log_format: LogFormat,
    /// Which file was read, if any.
    pub file: Option<PathBuf>,
}

fn parse_spec_value<T: objectos_spec::SpecType>(
    value: toml::Value,
    what: &str,
    file: &Path,
) -> anyhow::Result<T> {
    let json =
        serde_json::to_value(value).with_context(|| format!("{}: {what}", file.display()))?;
    objectos_spec::parse::<T>(&json).map_err(|e| {
        let lines: Vec<String> = e.issues.iter().map(|i| format!("{what}.{i}")).collect();
        anyhow::anyhow!("{}: {}", file.display(), lines.join("; "))
    })
}

impl ServeConfig {
    /// Resolves the layers.
    pub fn resolve(args: &ServeArgs) -> anyhow::Result<Self> {
        let (file, path) = match &args.config {
            Some(path) => (Some(read_file(path)?), Some(path.clone())),
            None if Path::new("objectos.toml").exists() => {
                let path = PathBuf::from("objectos.toml");
                (Some(read_file(&path)?), Some(path))
            }
            None => (None, None),
        };
        let file_config = file.unwrap_or_default();
        let data_dir = args
            .data_dir
            .clone()
            .or(file_config.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from("objectos-data"));
        let mut app = AppOptions::new(data_dir);
        if let Some(listen) = args.listen.or(file_config.listen) {
            app.listen = listen;
        }
        if let Some(limit) = args.body_limit.or(file_config.body_limit) {
            if limit == 0 {
                bail!("body_limit must be greater than 0");
            }
            app.settings.body_limit = limit;
        }
        if let Some(limit) = args.archive_body_limit.or(file_config.archive_body_limit) {
            let max = objectos_server::MAX_ARCHIVE_BODY_LIMIT;
            if limit == 0 || limit > max {
                bail!("archive_body_limit must be between 1 and {max} (4 GiB)");
            }
            app.settings.archive_body_limit = limit;
        }
        let secs =
            |flag: Option<u64>, file: Option<u64>, name: &str| -> anyhow::Result<Option<u64>> {
                match flag.or(file) {
                    Some(0) => bail!("{name} must be greater than 0"),
                    other => Ok(other),
                }
            };
        if let Some(s) = secs(
            args.step_lease_secs,
            file_config.step_lease_secs,
            "step_lease_secs",
        )? {
            app.platform.step_lease_ms = i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX);
        }
        if let Some(s) = secs(
            args.step_timeout_secs,
            file_config.step_timeout_secs,
            "step_timeout_secs",
        )? {
            app.platform.step_timeout_ms =
                i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX);
        }
        if let Some(s) = secs(
            args.reaper_interval_secs,
            file_config.reaper_interval_secs,
            "reaper_interval_secs",
        )? {
            app.reaper_interval = Duration::from_secs(s);
        }
        if let Some(s) = args.shutdown_grace_secs.or(file_config.shutdown_grace_secs) {
            app.shutdown_grace = Duration::from_secs(s);
        }
        if let Some(s) = secs(
            args.header_read_timeout_secs,
            file_config.header_read_timeout_secs,
            "header_read_timeout_secs",
        )? {
            app.settings.connections.header_read_timeout = Duration::from_secs(s);
        }
        if let Some(s) = secs(
            args.body_read_timeout_secs,
            file_config.body_read_timeout_secs,
            "body_read_timeout_secs",
        )? {
            app.settings.connections.body_read_timeout = Duration::from_secs(s);
        }
        if let Some(n) = secs(
            args.max_connections,
            file_config.max_connections,
            "max_connections",
        )? {
            app.settings.connections.max_connections = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(name) = args
            .tenant_resolver
            .clone()
            .or(file_config.tenant_resolver.clone())
        {
            app.settings.resolver =
                serde_json::from_value(serde_json::Value::String(name.clone())).map_err(|_| {
                    anyhow::anyhow!(
                        "tenant_resolver: unknown strategy '{name}'; expected token, header, subdomain, path or lookup"
                    )
                })?;
        }
        if let Some(domain) = args.base_domain.clone().or(file_config.base_domain.clone()) {
            let Some(domain) = objectos_core::domains::normalise_domain(&domain)
                .or_else(|| (domain == "localhost").then(|| domain.clone()))
            else {
                bail!("base_domain: '{domain}' is not a domain name");
            };
            app.settings.base_domain = Some(domain);
        }
        if let Some(n) = secs(
            args.max_cached_connections,
            file_config.max_cached_connections,
            "max_cached_connections",
        )? {
            app.platform.router.max_cached_connections = n;
        }
        if let Some(s) = secs(
            args.connection_cache_ttl,
            file_config.connection_cache_ttl,
            "connection_cache_ttl",
        )? {
            app.platform.router.connection_cache_ttl_secs = s;
        }
        app.failpoints = args.failpoints.clone();
        if let Some(token) = &args.admin_token {
            if token.trim().len() < 32 || token.chars().any(char::is_whitespace) {
                bail!("the admin token must be at least 32 characters with no spaces");
            }
            app.admin_token = Some(token.clone());
        }
        let config_path = path
            .clone()
            .unwrap_or_else(|| PathBuf::from("objectos.toml"));
        if let Some(lifecycle) = file_config.lifecycle {
            app.platform.lifecycle =
                parse_spec_value::<TenantDatabaseLifecycle>(lifecycle, "lifecycle", &config_path)?;
            let hours = app.platform.lifecycle.on_tenant_delete.grace_period_hours;
            if hours > objectos_core::MAX_GRACE_PERIOD_HOURS {
                bail!(
                    "{}: lifecycle.onTenantDelete.gracePeriodHours must be at most {} (10 years), is {hours}",
                    config_path.display(),
                    objectos_core::MAX_GRACE_PERIOD_HOURS
                );
            }
        }
        if let Some(plans) = file_config.plans {
            app.platform.plans = plan_table(plans, &config_path)?;
        }
        tenant_databases(
            args,
            file_config.tenants.unwrap_or_default(),
            &mut app.tenant_databases,
        )?;
        control_store(
            args,
            file_config.control.unwrap_or_default(),
            &mut app.control,
        )?;
        hrana_settings(
            file_config.hrana.unwrap_or_default(),
            &mut app.settings.hrana,
            &config_path,
        )?;
        Ok(Self {
            app,
            log_format: args
                .log_format
                .or(file_config.log_format)
                .unwrap_or(LogFormat::Text),
            file: path,
        })
    }
}

/// The tenant database provider and its settings: flags beat `[tenants]`, which beats defaults.
fn tenant_databases(
    args: &ServeArgs,
    file: TenantsFile,
    config: &mut TenantDbConfig,
) -> anyhow::Result<()> {
    let provider = args
        .tenant_provider
        .clone()
        .or(file.provider)
        .unwrap_or_else(|| "sqlite".to_owned());
    if !["sqlite", "memory", "postgres"].contains(&provider.as_str()) {
        bail!(
            "tenant_provider: unknown provider '{provider}'; expected sqlite, memory or postgres"
        );
    }
    let url = args.tenant_db_url.clone().or(file.url);
    let max_connections = args.tenant_db_max_connections.or(file.max_connections);
    let isolation = args.tenant_db_isolation.clone().or(file.isolation);
    let synchronous_commit = args
        .tenant_db_synchronous_commit
        .clone()
        .or(file.synchronous_commit);
    let postgres_only = [
        ("tenant_db_url", url.is_some()),
        ("tenant_db_max_connections", max_connections.is_some()),
        ("tenant_db_isolation", isolation.is_some()),
        ("tenant_db_synchronous_commit", synchronous_commit.is_some()),
        (
            "tenants.statement_timeout_secs",
            file.statement_timeout_secs.is_some(),
        ),
        (
            "tenants.lock_timeout_secs",
            file.lock_timeout_secs.is_some(),
        ),
    ];
    if provider != "postgres" {
        if let Some((name, _)) = postgres_only.iter().find(|(_, given)| *given) {
            bail!("{name} is a setting of the postgres provider, but the tenant provider is {provider}");
        }
    }
    config.provider = provider.clone();
    if provider != "postgres" {
        return Ok(());
    }
    let Some(url) = url else {
        bail!("the postgres provider needs a database URL: --tenant-db-url, OBJECTOS_TENANT_DB_URL or [tenants] url");
    };
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        bail!("tenant_db_url must be a postgres:// URL");
    }
    let pg = &mut config.postgres;
    pg.url = url;
    if let Some(n) = max_connections {
        if n == 0 {
            bail!("tenant_db_max_connections must be greater than 0");
        }
        pg.max_connections = n;
    }
    if let Some(isolation) = isolation {
        pg.isolation = match isolation.as_str() {
            "schema" => PgIsolation::Schema,
            "database" => PgIsolation::Database,
            other => bail!("tenant_db_isolation: '{other}'; expected schema or database"),
        };
    }
    if let Some(level) = synchronous_commit {
        pg.synchronous_commit = Some(
            level
                .parse::<SynchronousCommit>()
                .map_err(|e| anyhow::anyhow!("tenant_db_synchronous_commit: {e}"))?,
        );
    }
    for (secs, slot, name) in [
        (
            file.statement_timeout_secs,
            &mut pg.statement_timeout,
            "statement_timeout_secs",
        ),
        (
            file.lock_timeout_secs,
            &mut pg.lock_timeout,
            "lock_timeout_secs",
        ),
    ] {
        match secs {
            Some(0) => bail!("tenants.{name} must be greater than 0"),
            Some(s) => *slot = Some(Duration::from_secs(s)),
            None => {}
        }
    }
    Ok(())
}

/// Where the control store is: `--control-url` beats `[control] url`; none is the embedded store.
fn control_store(
    args: &ServeArgs,
    file: ControlFile,
    config: &mut objectos_store::ControlConfig,
) -> anyhow::Result<()> {
    let url = args.control_url.clone().or(file.url);
    let max_connections = args.control_max_connections.or(file.max_connections);
    let Some(url) = url else {
        if max_connections.is_some() {
            bail!("control_max_connections is a setting of a PostgreSQL control store, but no control URL is given (--control-url, OBJECTOS_CONTROL_URL or [control] url)");
        }
        return Ok(());
    };
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        bail!("control_url must be a postgres:// URL (leave it out for the embedded control.db)");
    }
    if let Some(n) = max_connections {
        if n == 0 {
            bail!("control_max_connections must be greater than 0");
        }
        config.max_connections = n;
    }
    config.url = Some(url);
    Ok(())
}

fn plan_table(plans: toml::Table, file: &Path) -> anyhow::Result<PlanTable> {
    let mut table = PlanTable::default();
    for (name, value) in plans {
        let plan: TenantPlan = serde_json::from_value(serde_json::Value::String(name.clone()))
            .map_err(|_| {
                anyhow::anyhow!(
                    "{}: plans.{name}: unknown plan; expected free, pro or enterprise",
                    file.display()
                )
            })?;
        let given = parse_spec_value::<TenantQuota>(value, &format!("plans.{name}"), file)?;
        // Keys given override the built-in quota; keys left out keep it.
        let base = table.quota(plan).clone();
        let merged = TenantQuota {
            max_users: given.max_users.or(base.max_users),
            api_rate_limit: given.api_rate_limit.or(base.api_rate_limit),
            max_objects: given.max_objects.or(base.max_objects),
            max_records_per_object: given.max_records_per_object.or(base.max_records_per_object),
            max_deployments_per_day: given
                .max_deployments_per_day
                .or(base.max_deployments_per_day),
            max_storage_bytes: given.max_storage_bytes.or(base.max_storage_bytes),
        };
        table.set(plan, merged);
    }
    Ok(table)
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, text: &str) -> PathBuf {
        let path = dir.path().join("objectos.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "listen = \"127.0.0.1:9000\"\ndata_dir = \"/tmp/from-file\"\nstep_lease_secs = 5\n",
        );
        let args = ServeArgs {
            config: Some(path),
            data_dir: Some(PathBuf::from("/tmp/from-flag")),
            ..ServeArgs::default()
        };
        let config = ServeConfig::resolve(&args).unwrap();
        assert_eq!(config.app.data_dir, PathBuf::from("/tmp/from-flag"));
        assert_eq!(config.app.listen.port(), 9000);
        assert_eq!(config.app.platform.step_lease_ms, 5000);
        assert_eq!(config.app.platform.step_timeout_ms, 30_000);
        assert_eq!(config.log_format, LogFormat::Text);
    }

    #[test]
    fn plans_and_lifecycle_use_the_spec_shapes() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "[plans.free]\nmaxObjects = 3\nmaxStorage = 1000\n[lifecycle.onTenantCreate]\n[lifecycle.onTenantDelete]\nimmediate = true\n[lifecycle.onTenantSuspend]\nreadOnly = false\n",
        );
        let config = ServeConfig::resolve(&ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        })
        .unwrap();
        let free = config.app.platform.plans.quota(TenantPlan::Free);
        assert_eq!(free.max_objects, Some(3));
        assert_eq!(free.max_storage_bytes, Some(1000));
        // Keys left out keep the built-in quota.
        assert_eq!(free.max_users, PlanTable::default().free.max_users);
        assert!(config.app.platform.lifecycle.on_tenant_delete.immediate);
        assert_eq!(
            config
                .app
                .platform
                .lifecycle
                .on_tenant_delete
                .grace_period_hours,
            72
        );
        assert!(!config.app.platform.lifecycle.on_tenant_suspend.read_only);
    }

    #[test]
    fn mistakes_in_the_file_are_reported_with_their_place() {
        let dir = tempfile::tempdir().unwrap();
        for (text, needle) in [
            ("listen = 5\n", "objectos.toml"),
            ("lisen = \"127.0.0.1:1\"\n", "unknown field `lisen`"),
            ("[plans.gold]\nmaxObjects = 1\n", "plans.gold: unknown plan"),
            ("[plans.free]\nmaxObjects = 0\n", "plans.free.maxObjects"),
            (
                "step_lease_secs = 0\n",
                "step_lease_secs must be greater than 0",
            ),
            (
                "[lifecycle.onTenantCreate]\n[lifecycle.onTenantSuspend]\n[lifecycle.onTenantDelete]\ngracePeriodHours = 100000\n",
                "gracePeriodHours must be at most",
            ),
        ] {
            let path = write(&dir, text);
            let err = ServeConfig::resolve(&ServeArgs {
                config: Some(path),
                ..ServeArgs::default()
            })
            .unwrap_err();
            assert!(format!("{err:#}").contains(needle), "{text:?}: {err:#}");
        }
    }
}

#[cfg(test)]
mod tenant_provider_tests {
    use super::*;

    pub(super) fn resolve(args: ServeArgs, file: Option<&str>) -> anyhow::Result<ServeConfig> {
        let dir = tempfile::tempdir().unwrap();
        let config = file.map(|text| {
            let path = dir.path().join("objectos.toml");
            std::fs::write(&path, text).unwrap();
            path
        });
        ServeConfig::resolve(&ServeArgs { config, ..args })
    }

    #[test]
    fn hrana_settings_come_from_the_file_within_bounds() {
        let config = resolve(ServeArgs::default(), None).unwrap();
        assert!(config.app.settings.hrana.ddl_tenants.is_empty());
        let config = resolve(
            ServeArgs::default(),
            Some(
                "[hrana]\nddl_tenants = [\"acme\"]\nbody_limit = 1000\nidle_timeout_secs = 30\n\
                 transaction_timeout_secs = 2\nrequest_timeout_secs = 7\nmax_streams = 9\nmax_streams_per_tenant = 3\n",
            ),
        )
        .unwrap();
        let h = &config.app.settings.hrana;
        assert!(h.ddl_tenants.contains("acme"));
        assert_eq!(h.body_limit, 1000);
        assert_eq!(h.limits.idle_timeout, Duration::from_secs(30));
        assert_eq!(h.limits.transaction_timeout, Duration::from_secs(2));
        assert_eq!(h.limits.request_timeout, Duration::from_secs(7));
        assert_eq!(
            (h.limits.max_streams, h.limits.max_streams_per_tenant),
            (9, 3)
        );
        for (bad, says) in [
            ("ddl_tenants = [\"Not OK\"]", "hrana.ddl_tenants"),
            (
                "transaction_timeout_secs = 5",
                "hrana.transaction_timeout_secs",
            ),
            (
                "transaction_timeout_secs = 0",
                "hrana.transaction_timeout_secs",
            ),
            ("idle_timeout_secs = 0", "hrana.idle_timeout_secs"),
            ("request_timeout_secs = 0", "hrana.request_timeout_secs"),
            ("max_streams = 0", "hrana.max_streams"),
            ("max_streams_per_tenant = 0", "hrana.max_streams_per_tenant"),
            ("body_limit = 0", "hrana.body_limit"),
            ("typo = 1", "typo"),
        ] {
            let e = resolve(ServeArgs::default(), Some(&format!("[hrana]\n{bad}\n"))).unwrap_err();
            assert!(format!("{e:#}").contains(says), "{bad}: {e:#}");
        }
    }

    #[test]
    fn sqlite_is_the_default_and_postgres_takes_its_settings() {
        let config = resolve(ServeArgs::default(), None).unwrap();
        assert_eq!(config.app.tenant_databases.provider, "sqlite");
        let config = resolve(
            ServeArgs::default(),
            Some(
                "[tenants]\nprovider = \"postgres\"\nurl = \"postgres://u@db:5432/os\"\n\
                 max_connections = 4\nisolation = \"database\"\nstatement_timeout_secs = 5\n\
                 synchronous_commit = \"remote_write\"\n",
            ),
        )
        .unwrap();
        let pg = &config.app.tenant_databases.postgres;
        assert_eq!(config.app.tenant_databases.provider, "postgres");
        assert_eq!(pg.url, "postgres://u@db:5432/os");
        assert_eq!(pg.max_connections, 4);
        assert_eq!(pg.isolation, PgIsolation::Database);
        assert_eq!(pg.statement_timeout, Some(Duration::from_secs(5)));
        assert_eq!(pg.synchronous_commit, Some(SynchronousCommit::RemoteWrite));
        // Flags beat the file.
        let config = resolve(
            ServeArgs {
                tenant_db_url: Some("postgres://flag@h/db".into()),
                tenant_db_max_connections: Some(9),
                tenant_db_synchronous_commit: Some("off".into()),
                ..ServeArgs::default()
            },
            Some(
                "[tenants]\nprovider = \"postgres\"\nurl = \"postgres://file@h/db\"\n\
                 synchronous_commit = \"on\"\n",
            ),
        )
        .unwrap();
        assert_eq!(
            config.app.tenant_databases.postgres.url,
            "postgres://flag@h/db"
        );
        assert_eq!(config.app.tenant_databases.postgres.max_connections, 9);
        assert_eq!(
            config.app.tenant_databases.postgres.synchronous_commit,
            Some(SynchronousCommit::Off)
        );
    }

    #[test]
    fn provider_mistakes_are_refused_with_their_setting() {
        for (args, file, needle) in [
            (
                ServeArgs {
                    tenant_provider: Some("turso".into()),
                    ..ServeArgs::default()
                },
                None,
                "unknown provider 'turso'",
            ),
            (
                ServeArgs {
                    tenant_provider: Some("postgres".into()),
                    ..ServeArgs::default()
                },
                None,
                "needs a database URL",
            ),
            (
                ServeArgs {
                    tenant_db_url: Some("postgres://h/db".into()),
                    ..ServeArgs::default()
                },
                None,
                "tenant_db_url is a setting of the postgres provider",
            ),
            (
                ServeArgs::default(),
                Some("[tenants]\nprovider = \"postgres\"\nurl = \"mysql://h/db\"\n"),
                "must be a postgres:// URL",
            ),
            (
                ServeArgs::default(),
                Some("[tenants]\nprovider = \"postgres\"\nurl = \"postgres://h/db\"\nisolation = \"table\"\n"),
                "tenant_db_isolation: 'table'",
            ),
            (
                ServeArgs::default(),
                Some("[tenants]\nprovider = \"postgres\"\nurl = \"postgres://h/db\"\nsynchronous_commit = \"maybe\"\n"),
                "tenant_db_synchronous_commit: 'maybe'; expected on, off, local, remote_write or remote_apply",
            ),
            (
                ServeArgs {
                    tenant_db_synchronous_commit: Some("off".into()),
                    ..ServeArgs::default()
                },
                None,
                "tenant_db_synchronous_commit is a setting of the postgres provider",
            ),
            (
                ServeArgs::default(),
                Some("[tenants]\nprovder = \"postgres\"\n"),
                "unknown field `provder`",
            ),
            (
                ServeArgs::default(),
                Some("[tenants]\nprovider = \"postgres\"\nurl = \"postgres://h/db\"\nmax_connections = 0\n"),
                "tenant_db_max_connections must be greater than 0",
            ),
        ] {
            let err = resolve(args, file).unwrap_err();
            assert!(format!("{err:#}").contains(needle), "{needle}: {err:#}");
        }
    }
}

#[cfg(test)]
mod admin_token_tests {
    use super::*;

    #[test]
    fn a_given_admin_token_must_be_long_and_spaceless() {
        let ok = ServeArgs {
            admin_token: Some("x".repeat(32)),
            ..ServeArgs::default()
        };
        assert_eq!(
            ServeConfig::resolve(&ok).unwrap().app.admin_token,
            Some("x".repeat(32))
        );
        for bad in ["short", &format!("{} y", "x".repeat(40))] {
            let args = ServeArgs {
                admin_token: Some(bad.to_owned()),
                ..ServeArgs::default()
            };
            let err = ServeConfig::resolve(&args).unwrap_err();
            assert!(err.to_string().contains("at least 32 characters"), "{err}");
        }
    }
}

#[cfg(test)]
mod control_store_tests {
    use super::*;
    use tenant_provider_tests::resolve;

    #[test]
    fn the_control_store_is_embedded_unless_a_postgres_url_is_given() {
        let config = resolve(ServeArgs::default(), None).unwrap();
        assert_eq!(config.app.control.url, None);
        let config = resolve(
            ServeArgs::default(),
            Some("[control]\nurl = \"postgres://u@db:5432/control\"\nmax_connections = 3\n"),
        )
        .unwrap();
        assert_eq!(
            config.app.control.url.as_deref(),
            Some("postgres://u@db:5432/control")
        );
        assert_eq!(config.app.control.max_connections, 3);
        // The flag (or OBJECTOS_CONTROL_URL, which clap reads into it) beats the file.
        let config = resolve(
            ServeArgs {
                control_url: Some("postgresql://flag@h/c".into()),
                control_max_connections: Some(12),
                ..ServeArgs::default()
            },
            Some("[control]\nurl = \"postgres://file@h/c\"\nmax_connections = 3\n"),
        )
        .unwrap();
        assert_eq!(
            config.app.control.url.as_deref(),
            Some("postgresql://flag@h/c")
        );
        assert_eq!(config.app.control.max_connections, 12);
    }

    #[test]
    fn control_store_mistakes_are_refused_with_their_setting() {
        for (args, file, needle) in [
            (
                ServeArgs {
                    control_url: Some("mysql://h/db".into()),
                    ..ServeArgs::default()
                },
                None,
                "control_url must be a postgres:// URL",
            ),
            (
                ServeArgs::default(),
                Some("[control]\nurl = \"control.db\"\n"),
                "control_url must be a postgres:// URL",
            ),
            (
                ServeArgs::default(),
                Some("[control]\nurl = \"postgres://h/db\"\nmax_connections = 0\n"),
                "control_max_connections must be greater than 0",
            ),
            (
                ServeArgs {
                    control_max_connections: Some(4),
                    ..ServeArgs::default()
                },
                None,
                "no control URL is given",
            ),
            (
                ServeArgs::default(),
                Some("[control]\nuri = \"postgres://h/db\"\n"),
                "unknown field `uri`",
            ),
        ] {
            let err = resolve(args, file).unwrap_err();
            assert!(format!("{err:#}").contains(needle), "{needle}: {err:#}");
        }
    }
}

#[cfg(test)]
mod body_read_timeout_tests {
    use super::*;

    #[test]
    fn the_body_read_timeout_comes_from_the_flag_or_the_file_and_is_positive() {
        let config = ServeConfig::resolve(&ServeArgs::default()).unwrap();
        assert_eq!(
            config.app.settings.connections.body_read_timeout,
            objectos_server::serve::DEFAULT_BODY_READ_TIMEOUT
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("objectos.toml");
        std::fs::write(&path, "body_read_timeout_secs = 7\n").unwrap();
        let from_file = ServeArgs {
            config: Some(path.clone()),
            ..ServeArgs::default()
        };
        let config = ServeConfig::resolve(&from_file).unwrap();
        assert_eq!(
            config.app.settings.connections.body_read_timeout,
            Duration::from_secs(7)
        );
        let flag = ServeArgs {
            config: Some(path),
            body_read_timeout_secs: Some(3),
            ..ServeArgs::default()
        };
        let config = ServeConfig::resolve(&flag).unwrap();
        assert_eq!(
            config.app.settings.connections.body_read_timeout,
            Duration::from_secs(3)
        );
        let zero = ServeArgs {
            body_read_timeout_secs: Some(0),
            ..ServeArgs::default()
        };
        let err = ServeConfig::resolve(&zero).unwrap_err();
        assert!(
            err.to_string()
                .contains("body_read_timeout_secs must be greater than 0"),
            "{err}"
        );
    }
}
