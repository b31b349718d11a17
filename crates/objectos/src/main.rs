//! The `objectos` command line.

#[macro_use]
mod output;

mod client;
mod commands;
mod config;

use std::process::ExitCode;

/// mimalloc instead of the system allocator: the server allocates many small, short-lived values
/// per request (JSON, records) from several threads, where glibc's malloc showed up as ~20 % of
/// the data API's CPU time in profiles (decision 0008).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};

/// objectos: a self-hostable multi-tenant backend speaking the ObjectStack protocol. Commands:
/// serve, validate, tenant, key, deploy, deployments, control, bench.
//
// The summary above is what `objectos --help` prints first, so it names every command
// (tests/cli_help.rs checks it against the command list).
#[derive(Debug, Parser)]
#[command(name = "objectos", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (embedded SQLite by default).
    Serve(Box<config::ServeArgs>),
    /// Check a document (deploy bundle, app manifest, provisioning request, ...) against the protocol.
    Validate(commands::validate::Args),
    /// Manage tenants on a running server: create (live steps), list, show, suspend, resume,
    /// destroy, retry, plan, export, restore, move.
    Tenant(commands::tenant::Args),
    /// Manage a tenant's API keys on a running server: create, list, revoke.
    Key(commands::key::Args),
    /// Deploy a bundle to a tenant: shows the diff and the SQL, asks before destructive changes,
    /// applies it.
    Deploy(commands::deploy::Args),
    /// A tenant's deployments: list, show, rollback.
    Deployments(commands::deployments::Args),
    /// The control store: migrate (copy the embedded control.db into PostgreSQL, offline).
    Control(commands::control::Args),
    /// Measure objectos against a peer in the same run (build with --release).
    Bench(commands::bench::BenchArgs),
}

/// A command-line mistake as one line: `objectos: <what> (usage: ...; see --help)`.
fn usage_error(error: &clap::Error) -> ExitCode {
    let rendered = error.render().to_string();
    let mut message = Vec::new();
    let mut usage = None;
    for line in rendered.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(u) = line.strip_prefix("Usage:") {
            usage = Some(u.trim().to_owned());
        } else if !line.starts_with("For more information") {
            message.push(
                line.strip_prefix("error:")
                    .unwrap_or(line)
                    .trim()
                    .to_owned(),
            );
        }
    }
    let usage = usage.map_or_else(String::new, |u| format!(" (usage: {u}; see --help)"));
    eprintln!("objectos: {}{usage}", message.join(" "));
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
            _ => return usage_error(&e),
        },
    };
    // Every command but `serve` prints its result through `output`: a closed stdout ends it with
    // its own exit code or EXIT_OUTPUT, never a panic. `serve` only says where it listens, and
    // keeps serving if nobody reads that line.
    let code = match cli.command {
        Command::Serve(args) => return commands::serve::run(&args),
        Command::Validate(args) => commands::validate::run(&args),
        Command::Tenant(args) => commands::tenant::run(&args),
        Command::Key(args) => commands::key::run(&args),
        Command::Deploy(args) => commands::deploy::run(&args),
        Command::Deployments(args) => commands::deployments::run(&args),
        Command::Control(args) => commands::control::run(&args),
        Command::Bench(args) => commands::bench::run(&args),
    };
    output::finish(code)
}
