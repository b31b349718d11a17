//! `objectos deployments list|show|rollback --tenant T`: a tenant's deployment ledger over HTTP.
//! A rollback is a new deployment back to the parent model, planned and confirmed like
//! `objectos deploy`.

use std::process::ExitCode;

use clap::Subcommand;
use reqwest::Method;
use serde_json::Value;

use super::deploy::{
    check_acks, color_enabled, print_plan_record, report, timings_line, Flow, Target,
};
use crate::client::{print_json, print_table, runtime, text, CliResult, Client, ConnectArgs};

/// Arguments of `objectos deployments`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Print the response's JSON `data` instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: DeploymentsCommand,
}

#[derive(Debug, Subcommand)]
enum DeploymentsCommand {
    /// List a tenant's recorded deployments, newest first.
    List(TenantArg),
    /// Show one deployment: its diff, its SQL and its timings.
    Show(ShowArgs),
    /// Roll a deployment back: a new deployment back to its parent's model (asks before
    /// destructive changes unless --yes).
    Rollback(RollbackArgs),
}

#[derive(Debug, clap::Args)]
struct TenantArg {
    /// Tenant id.
    #[arg(long, value_name = "ID")]
    tenant: String,
}

#[derive(Debug, clap::Args)]
struct ShowArgs {
    /// Tenant id.
    #[arg(long, value_name = "ID")]
    tenant: String,
    /// Deployment id (as `deployments list` shows it).
    id: String,
}

#[derive(Debug, clap::Args)]
struct RollbackArgs {
    /// Tenant id.
    #[arg(long, value_name = "ID")]
    tenant: String,
    /// The deployment to roll back.
    id: String,
    /// Plan only: print the diff and the DDL, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Apply without asking, confirming every destructive change the plan lists.
    #[arg(long, short = 'y')]
    yes: bool,
    /// Acknowledge a destructive change: `object:NAME` or `field:OBJECT.FIELD` (repeatable).
    #[arg(long = "ack", value_name = "ENTITY")]
    ack: Vec<String>,
}

/// Runs `objectos deployments ...`.
pub fn run(args: &Args) -> ExitCode {
    let context = match &args.command {
        DeploymentsCommand::List(a) => format!("tenant {}", a.tenant),
        DeploymentsCommand::Show(a) => format!("tenant {}", a.tenant),
        DeploymentsCommand::Rollback(a) => format!("rollback of {} on tenant {}", a.id, a.tenant),
    };
    match execute(args) {
        Ok(code) => code,
        Err(e) => report(&e, &context),
    }
}

fn execute(args: &Args) -> CliResult<ExitCode> {
    if let DeploymentsCommand::Rollback(r) = &args.command {
        check_acks(&r.ack)?;
    }
    let client = Client::from_args(&args.connect)?;
    let rt = runtime()?;
    rt.block_on(async {
        match &args.command {
            DeploymentsCommand::List(a) => list(&client, &a.tenant, args.json).await,
            DeploymentsCommand::Show(a) => show(&client, a, args.json).await,
            DeploymentsCommand::Rollback(r) => {
                Flow {
                    client: &client,
                    tenant: &r.tenant,
                    target: Target::Rollback { id: r.id.clone() },
                    acks: r.ack.clone(),
                    yes: r.yes,
                    dry_run: r.dry_run,
                    json: args.json,
                }
                .run()
                .await
            }
        }
    })
}

fn changes(record: &Value) -> String {
    let summary = record
        .get("diff")
        .and_then(|d| d.get("summary"))
        .cloned()
        .unwrap_or(Value::Null);
    let n = |k: &str| summary.get(k).and_then(Value::as_u64).unwrap_or(0);
    format!("+{} ~{} -{}", n("added"), n("modified"), n("removed"))
}

fn seq(record: &Value) -> String {
    record
        .get("seq")
        .and_then(Value::as_u64)
        .map_or_else(|| "-".to_owned(), |s| s.to_string())
}

fn total_ms(record: &Value) -> String {
    record
        .get("timings")
        .and_then(|t| t.get("totalMs"))
        .and_then(Value::as_f64)
        .map_or_else(|| "-".to_owned(), |v| format!("{v:.1} ms"))
}

async fn list(client: &Client, tenant: &str, as_json: bool) -> CliResult<ExitCode> {
    let reply = client
        .call(
            Method::GET,
            &["api", "v1", "tenants", tenant, "deployments"],
            &[],
            None,
        )
        .await?;
    if as_json {
        print_json(&reply.data);
        return Ok(ExitCode::SUCCESS);
    }
    let records = reply.data.as_array().cloned().unwrap_or_default();
    if records.is_empty() {
        outln!("tenant {tenant} has no deployments");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            let note = match r.get("rollbackOf").and_then(Value::as_str) {
                Some(of) => format!("rollback of {of}"),
                None => String::new(),
            };
            vec![
                seq(r),
                text(r, "id").to_owned(),
                text(r, "status").to_owned(),
                text(r, "createdAt").to_owned(),
                changes(r),
                total_ms(r),
                note,
            ]
        })
        .collect();
    print_table(
        &["SEQ", "ID", "STATUS", "CREATED", "CHANGES", "TOTAL", "NOTE"],
        &rows,
    );
    outln!("\n{} deployment(s)", records.len());
    Ok(ExitCode::SUCCESS)
}

async fn show(client: &Client, args: &ShowArgs, as_json: bool) -> CliResult<ExitCode> {
    let reply = client
        .call(
            Method::GET,
            &[
                "api",
                "v1",
                "tenants",
                &args.tenant,
                "deployments",
                &args.id,
            ],
            &[],
            None,
        )
        .await?;
    let r = &reply.data;
    if as_json {
        print_json(r);
        return Ok(ExitCode::SUCCESS);
    }
    let field = |label: &str, value: &str| outln!("  {label:<14}{value}");
    let list = |key: &str| -> String {
        let items: Vec<String> = r
            .get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        if items.is_empty() {
            "-".to_owned()
        } else {
            items.join(", ")
        }
    };
    outln!("Deployment {} of tenant {}", text(r, "id"), args.tenant);
    field("status", text(r, "status"));
    field("ledger seq", &seq(r));
    field("parent", text(r, "parentId"));
    if let Some(of) = r.get("rollbackOf").and_then(Value::as_str) {
        field("rolls back", of);
    }
    field("checksum", text(r, "checksum"));
    field("created", text(r, "createdAt"));
    field("acknowledged", &list("acknowledged"));
    field("renames", &list("renames"));
    if let Some(error) = r.get("error").and_then(Value::as_str) {
        field("error", error);
    }
    field("timings", &timings_line(r));
    outln!();
    print_plan_record(r, color_enabled());
    Ok(ExitCode::SUCCESS)
}
