//! `objectos control migrate --to postgres://...`: copies a data dir's embedded control store
//! (`control.db`) into an empty PostgreSQL control store, offline, and verifies the copy.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use objectos_store::{ControlStore, PgControlOptions, PgControlStore, SqliteControlStore};

use objectos_store::MOVED_TO_SETTING as MOVED_TO;

/// `objectos control ...`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Copy the embedded control store (control.db) into an empty PostgreSQL control store,
    /// with the server stopped; then start the server with --control-url.
    Migrate(MigrateArgs),
}

/// `objectos control migrate`.
#[derive(Debug, clap::Args)]
struct MigrateArgs {
    /// The PostgreSQL control store to copy into (its schema objectos_control must be empty or
    /// absent), e.g. postgres://objectos@127.0.0.1:5432/objectos.
    #[arg(long, value_name = "URL", hide_env_values = true)]
    to: String,
    /// Data directory holding control.db [default: ./objectos-data].
    #[arg(long, env = "OBJECTOS_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// Runs `objectos control ...`.
pub fn run(args: &Args) -> ExitCode {
    let Command::Migrate(args) = &args.command;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("objectos control migrate: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(migrate(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("objectos control migrate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate(args: &MigrateArgs) -> anyhow::Result<()> {
    if !(args.to.starts_with("postgres://") || args.to.starts_with("postgresql://")) {
        bail!("--to must be a postgres:// URL");
    }
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("objectos-data"));
    let control = objectos_store::embedded_path(&data_dir);
    if !control.is_file() {
        bail!(
            "{}: no embedded control store here (wrong --data-dir?)",
            control.display()
        );
    }
    // Offline only: the lock a running server holds on the data dir is taken, and kept until
    // the copy is verified, so no server can start (and write) meanwhile.
    let _lock = lock_data_dir(&data_dir)?;
    let source = SqliteControlStore::open(&control)
        .with_context(|| format!("{}: cannot open", control.display()))?;
    if let Some(moved) = source.setting(MOVED_TO).await? {
        bail!(
            "{}: already moved to {moved}; start the server with --control-url instead",
            control.display()
        );
    }
    let target = PgControlStore::connect(&PgControlOptions::new(args.to.clone()))
        .await
        .context("cannot open the PostgreSQL control store")?;
    let dump = source.dump().await.context("cannot read control.db")?;
    let expected = dump.summary();
    target.load(&dump).await?;
    let copied = target
        .dump()
        .await
        .context("cannot read the copy back")?
        .summary();
    if copied != expected {
        bail!(
            "the copy in {} differs from control.db (expected {:?}, found {:?}); nothing else was \
             changed: empty the schema objectos_control there and run the migration again",
            target.target(),
            expected,
            copied
        );
    }
    // control.db is kept (a backup of the moment of the move) but marked, so a server started
    // on it by mistake refuses instead of serving stale tenants.
    source
        .set_setting(MOVED_TO, target.target())
        .await
        .context("copied and verified, but control.db could not be marked as moved")?;
    source.checkpoint().await?;
    target.close().await;

    println!(
        "Copied the control store of {} to {} (schema {}):",
        data_dir.display(),
        target.target(),
        objectos_store::PG_SCHEMA
    );
    for (table, rows) in &expected.counts {
        println!("  {table:<9} {rows:>8} rows");
    }
    println!("  content hash {} (verified)", expected.content_hash);
    println!();
    println!("Next: start the server on the PostgreSQL control store, with the same data dir:");
    println!();
    println!(
        "  objectos serve --data-dir {} --control-url '<the URL you gave to --to>'",
        shell_path(&data_dir)
    );
    println!();
    println!(
        "(or [control] url in objectos.toml, or OBJECTOS_CONTROL_URL). {} stays as a backup, \
         marked as moved: a server started on it without --control-url refuses to start.",
        control.display()
    );
    Ok(())
}

/// The data dir's lock, taken; refused while a server holds it.
fn lock_data_dir(data_dir: &Path) -> anyhow::Result<std::fs::File> {
    let path = data_dir.join("lock");
    let file = objectos_sql::files::open_private_file(&path, false)
        .with_context(|| format!("{}: cannot open", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "{}: in use by a running objectos server; stop it first (the control store is \
             copied offline)",
            data_dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("{}: cannot lock", path.display()))
        }
    }
}

/// A path as a shell word (quoted when it has anything but plain characters).
fn shell_path(path: &Path) -> String {
    let text = path.display().to_string();
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
    {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}
