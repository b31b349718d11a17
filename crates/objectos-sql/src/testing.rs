//! A throw-away PostgreSQL database for tests: created on the server named by
//! `OBJECTOS_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), dropped with
//! everything in it (and the roles and databases made for it, named with its
//! [`role_prefix`]) when the value is dropped. Each instance has its
//! own database, so test runs and parallel tests never collide.

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};

/// The server tests use unless `OBJECTOS_TEST_PG_URL` says otherwise.
pub const DEFAULT_TEST_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database created for one test (see the module documentation).
#[derive(Debug)]
pub struct TestDatabase {
    admin_url: String,
    /// The database's name (`objectos_test_<pid>_<random>`).
    pub name: String,
    /// Its URL.
    pub url: String,
}

impl TestDatabase {
    /// Creates a fresh database; panics with a clear message when the server cannot be reached
    /// (the suite needs it: see README, "Set up").
    pub async fn create() -> Self {
        let admin_url = std::env::var("OBJECTOS_TEST_PG_URL")
            .unwrap_or_else(|_| DEFAULT_TEST_PG_URL.to_owned());
        let name = format!("objectos_test_{}_{:08x}", std::process::id(), rand_u32());
        let options: PgConnectOptions = admin_url
            .parse()
            .unwrap_or_else(|e| panic!("OBJECTOS_TEST_PG_URL {admin_url:?} is not a URL: {e}"));
        let mut conn = options.connect().await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is needed by this test and is not reachable at {admin_url} ({e}); \
                 start it or point OBJECTOS_TEST_PG_URL at one"
            )
        });
        sweep_stale(&mut conn, &options).await;
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let _ = conn.close().await;
        let url = options.database(&name).to_url_lossy().to_string();
        Self {
            admin_url,
            name,
            url,
        }
    }

    /// A small pool on the database.
    pub async fn pool(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(4)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.url))
    }
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish() as u32
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Dropped from sync code, possibly inside a runtime: a thread of its own does the work.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let Ok(mut conn) = sqlx::postgres::PgConnection::connect(&admin_url).await else {
                    return;
                };
                drop_all(&mut conn, &name).await;
            });
        })
        .join();
    }
}

pub use crate::postgres::role_prefix;

/// Drops test database `name`, the databases and the roles made for it (named with its
/// [`role_prefix`]); what is already gone is skipped.
async fn drop_all(conn: &mut sqlx::postgres::PgConnection, name: &str) {
    let conn = &mut *conn;
    let _ = sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut *conn)
    .await;
    // Databases made for this one (a provider's dedicated tier) carry the same prefix
    // as its roles, and go first: their objects belong to those roles.
    let databases: Vec<(String,)> =
        sqlx::query_as("SELECT datname::text FROM pg_database WHERE starts_with(datname, $1)")
            .bind(role_prefix(name))
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    for (database,) in databases {
        let _ = sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
        )))
        .execute(&mut *conn)
        .await;
    }
    // Roles made for this database carry its name as their prefix.
    let roles: Vec<(String,)> =
        sqlx::query_as("SELECT rolname::text FROM pg_roles WHERE starts_with(rolname, $1)")
            .bind(role_prefix(name))
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    for (role,) in roles {
        let _ = sqlx::raw_sql(AssertSqlSafe(format!("DROP ROLE IF EXISTS \"{role}\"")))
            .execute(&mut *conn)
            .await;
    }
}

/// Once per process, on a server of this machine: drops the test databases left by test processes
/// that no longer run (a test binary that aborted never ran its drops), recognised by the pid in
/// their name.
async fn sweep_stale(conn: &mut sqlx::postgres::PgConnection, options: &PgConnectOptions) {
    static SWEPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let local = ["127.0.0.1", "localhost", "::1"].contains(&options.get_host());
    if !local || SWEPT.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT datname::text FROM pg_database WHERE starts_with(datname, 'objectos_test_')",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap_or_default();
    for (name,) in names {
        let pid = name
            .strip_prefix("objectos_test_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        if let Some(pid) = pid {
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                drop_all(conn, &name).await;
            }
        }
    }
}
