//! The `objectos` command line.

mod commands;

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
    /// Check a document (deploy bundle, app manifest, provisioning request, ...) against the protocol.
    Validate(commands::validate::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate(args) => commands::validate::run(&args),
    }
}
