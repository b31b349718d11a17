//! The `objectos` command line.

mod commands;
mod config;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// objectos: a self-hostable multi-tenant backend speaking the ObjectStack protocol.
#[derive(Debug, Parser)]
#[command(name = "objectos", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (embedded SQLite by default).
    Serve(config::ServeArgs),
    /// Check a document (deploy bundle, app manifest, provisioning request, ...) against the protocol.
    Validate(commands::validate::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => commands::serve::run(&args),
        Command::Validate(args) => commands::validate::run(&args),
    }
}
