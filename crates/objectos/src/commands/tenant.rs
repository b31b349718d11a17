//! `objectos tenant create|list|show|suspend|resume|destroy|retry|plan|export|restore`: the
//! control-plane API over HTTP. `create` follows the provisioning steps live (a spinner on a terminal, plain lines
//! otherwise) and prints the one-time API key.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::client::{
    print_json, print_table, runtime, text, CliError, CliResult, Client, ConnectArgs, SseEvent,
};

/// Arguments of `objectos tenant`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Print the response's JSON `data` instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: TenantCommand,
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Provision a tenant for an organization, showing each step live; prints the one-time API key.
    Create(CreateArgs),
    /// List tenants as a table.
    List(ListArgs),
    /// Show one tenant and its provisioning steps.
    Show(IdArg),
    /// Suspend an active tenant (its keys are revoked or made read-only, per the lifecycle policy).
    Suspend(IdArg),
    /// Resume a suspended tenant.
    Resume(IdArg),
    /// Destroy a tenant (asks for confirmation unless --yes).
    Destroy(DestroyArgs),
    /// Retry a failed tenant's provisioning from its first unfinished step.
    Retry(IdArg),
    /// Change a tenant's plan (refused when its usage exceeds the new plan's quotas).
    Plan(PlanArgs),
    /// Write a tenant's portable archive (every deployment, metadata and row) to FILE (mode 0600).
    Export(ExportArgs),
    /// Restore an archive FILE as a new tenant (any provider to any provider); prints its key once.
    Restore(RestoreArgs),
    /// Move a tenant to another server (e.g. from the embedded SQLite default to a server on
    /// PostgreSQL): suspend, export, restore there, verify, then destroy here (backup kept).
    Move(MoveArgs),
}

#[derive(Debug, clap::Args)]
struct MoveArgs {
    /// Tenant id (on --server, the source).
    id: String,
    /// The target server's URL.
    #[arg(long, value_name = "URL")]
    to: String,
    /// The target server's admin token.
    #[arg(
        long,
        env = "OBJECTOS_TO_ADMIN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    to_admin_token: Option<String>,
    /// The target server's data directory, whose `admin-token` is read when no token is given.
    #[arg(long, value_name = "DIR")]
    to_data_dir: Option<std::path::PathBuf>,
    /// Keep the (suspended) tenant on the source instead of destroying it after the move.
    #[arg(long)]
    keep_source: bool,
}

#[derive(Debug, clap::Args)]
struct ExportArgs {
    /// Tenant id.
    id: String,
    /// The archive file to write (replaced if it exists).
    file: std::path::PathBuf,
}

#[derive(Debug, clap::Args)]
struct RestoreArgs {
    /// The archive file (`objectos tenant export`, or a destroy backup `*.archive.json`).
    file: std::path::PathBuf,
    /// Organization of the new tenant (its id is derived from it) [default: the archive's].
    #[arg(long, value_name = "ORG")]
    org: Option<String>,
}

const PLANS: [&str; 3] = ["free", "pro", "enterprise"];
const REGIONS: [&str; 6] = [
    "us-east",
    "us-west",
    "eu-west",
    "eu-central",
    "ap-southeast",
    "ap-northeast",
];
const STATUSES: [&str; 5] = [
    "provisioning",
    "active",
    "suspended",
    "failed",
    "destroying",
];

#[derive(Debug, clap::Args)]
struct CreateArgs {
    /// Organization id; the tenant id is derived from it.
    #[arg(long, value_name = "ORG")]
    org: String,
    /// Plan [server default: free].
    #[arg(long, value_parser = PLANS)]
    plan: Option<String>,
    /// Region [server default: us-east].
    #[arg(long, value_parser = REGIONS)]
    region: Option<String>,
    /// Display name.
    #[arg(long, value_name = "NAME")]
    display_name: Option<String>,
    /// Email of the initial admin user.
    #[arg(long, value_name = "EMAIL")]
    admin_email: Option<String>,
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Only tenants with this status.
    #[arg(long, value_parser = STATUSES)]
    status: Option<String>,
    /// Only tenants on this plan.
    #[arg(long, value_parser = PLANS)]
    plan: Option<String>,
    /// Page size (1-1000) [server default: 50].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1000))]
    limit: Option<u64>,
    /// Tenants to skip.
    #[arg(long, value_name = "N")]
    offset: Option<u64>,
}

#[derive(Debug, clap::Args)]
struct IdArg {
    /// Tenant id.
    id: String,
}

#[derive(Debug, clap::Args)]
struct DestroyArgs {
    /// Tenant id.
    id: String,
    /// Destroy now instead of after the grace period.
    #[arg(long, conflicts_with = "grace_hours")]
    immediate: bool,
    /// Hours before the database is deleted [server default: the lifecycle policy's].
    #[arg(long, value_name = "H")]
    grace_hours: Option<u64>,
    /// Do not keep a backup of the database.
    #[arg(long)]
    no_backup: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    yes: bool,
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    /// Tenant id.
    id: String,
    /// The new plan.
    #[arg(value_parser = PLANS)]
    plan: String,
}

/// Runs `objectos tenant ...`.
pub fn run(args: &Args) -> ExitCode {
    let context = match &args.command {
        TenantCommand::Create(c) if c.org.trim().is_empty() => None,
        TenantCommand::Create(c) => Some(format!(
            "tenant {}",
            objectos_core::ids::tenant_id_for_org(&c.org)
        )),
        TenantCommand::List(_) => None,
        TenantCommand::Show(a)
        | TenantCommand::Suspend(a)
        | TenantCommand::Resume(a)
        | TenantCommand::Retry(a) => Some(format!("tenant {}", a.id)),
        TenantCommand::Destroy(a) => Some(format!("tenant {}", a.id)),
        TenantCommand::Plan(a) => Some(format!("tenant {}", a.id)),
        TenantCommand::Export(a) => Some(format!("tenant {}", a.id)),
        TenantCommand::Restore(a) => Some(format!("restore {}", a.file.display())),
        TenantCommand::Move(a) => Some(format!("move {} to {}", a.id, a.to)),
    };
    match execute(args) {
        Ok(code) => code,
        Err(e) => e.report(context.as_deref()),
    }
}

fn execute(args: &Args) -> CliResult<ExitCode> {
    // Confirmation comes first: nothing is sent when it is refused.
    if let TenantCommand::Destroy(d) = &args.command {
        confirm_destroy(d)?;
    }
    let client = Client::from_args(&args.connect)?;
    let rt = runtime()?;
    rt.block_on(async {
        match &args.command {
            TenantCommand::Create(c) => create(&client, c, args.json).await,
            TenantCommand::List(l) => list(&client, l, args.json).await,
            TenantCommand::Show(a) => show(&client, &a.id, args.json).await,
            TenantCommand::Suspend(a) => lifecycle(&client, &a.id, "suspend", args.json).await,
            TenantCommand::Resume(a) => lifecycle(&client, &a.id, "resume", args.json).await,
            TenantCommand::Destroy(d) => destroy(&client, d, args.json).await,
            TenantCommand::Retry(a) => retry(&client, &a.id, args.json).await,
            TenantCommand::Plan(p) => plan(&client, p, args.json).await,
            TenantCommand::Export(e) => export(&client, e, args.json).await,
            TenantCommand::Restore(r) => restore(&client, r, args.json).await,
            TenantCommand::Move(m) => move_tenant(&client, m, args.json).await,
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Steps, live and after the fact.

const NAME_WIDTH: usize = 18;

fn ms(value: &Value) -> Option<u64> {
    value.get("durationMs").and_then(Value::as_u64)
}

/// One line for a step in a final or pending state.
fn step_line(name: &str, step: &Value) -> String {
    let status = text(step, "status");
    let duration = ms(step).map_or_else(String::new, |d| format!("{d} ms"));
    let retries = step
        .get("retryCount")
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
        .map_or_else(String::new, |n| format!("  (retry {n})"));
    let line = match status {
        "completed" => format!("  ✓ {name:<NAME_WIDTH$} {duration:>7}{retries}"),
        "skipped" => format!("  – {name:<NAME_WIDTH$} {:>7}{retries}", "skipped"),
        "failed" => format!(
            "  ✗ {name:<NAME_WIDTH$} {duration:>7}  {}{retries}",
            step.get("error")
                .and_then(Value::as_str)
                .unwrap_or("failed")
        ),
        "running" => format!("  … {name:<NAME_WIDTH$} {:>7}{retries}", "running"),
        other => format!("  · {name:<NAME_WIDTH$} {other:>7}"),
    };
    line.trim_end().to_owned()
}

fn print_steps(steps: &[Value]) {
    for step in steps {
        outln!("{}", step_line(text(step, "name"), step));
    }
}

/// Prints step events as they arrive: a spinner while a step runs (terminal only), one line when
/// it is done.
struct LivePrinter {
    tty: bool,
    spinner: Option<ProgressBar>,
    last_seq: i64,
    printed: Vec<String>,
    final_status: Option<(String, Option<String>)>,
}

impl LivePrinter {
    fn new() -> Self {
        Self {
            tty: std::io::stdout().is_terminal(),
            spinner: None,
            last_seq: 0,
            printed: Vec::new(),
            final_status: None,
        }
    }

    fn clear_spinner(&mut self) {
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
    }

    fn line(&mut self, line: &str) {
        self.clear_spinner();
        outln!("{line}");
        crate::output::flush();
    }

    fn event(&mut self, event: &SseEvent) {
        let Ok(data) = serde_json::from_str::<Value>(&event.data) else {
            return;
        };
        let seq = data.get("seq").and_then(Value::as_i64).unwrap_or(0);
        if seq != 0 && seq <= self.last_seq {
            return;
        }
        self.last_seq = seq.max(self.last_seq);
        match event.event.as_str() {
            "step" => self.step(&data),
            "status" => {
                let status = text(&data, "status");
                if status != "provisioning" {
                    let error = data.get("error").and_then(Value::as_str).map(str::to_owned);
                    self.final_status = Some((status.to_owned(), error));
                }
            }
            _ => {}
        }
    }

    fn step(&mut self, data: &Value) {
        let name = text(data, "step").to_owned();
        match text(data, "status") {
            "running" => {
                if !self.tty {
                    return;
                }
                self.clear_spinner();
                let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
                spinner.set_style(
                    ProgressStyle::with_template("  {spinner} {msg} {ms}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner())
                        .with_key(
                            "ms",
                            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                                let _ = write!(w, "{} ms", state.elapsed().as_millis());
                            },
                        )
                        .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ "),
                );
                spinner.set_message(format!("{name:<NAME_WIDTH$} running"));
                spinner.enable_steady_tick(Duration::from_millis(80));
                self.spinner = Some(spinner);
            }
            "completed" | "skipped" | "failed" => {
                let line = step_line(&name, data);
                self.line(&line);
                self.printed.push(name);
            }
            _ => {}
        }
    }

    /// Prints the finished steps the stream did not show (if it broke off), from `/provisioning`.
    fn catch_up(&mut self, steps: &[Value]) {
        self.clear_spinner();
        for step in steps {
            let name = text(step, "name");
            let done = matches!(text(step, "status"), "completed" | "skipped" | "failed");
            if done && !self.printed.iter().any(|p| p == name) {
                let line = step_line(name, step);
                self.line(&line);
                self.printed.push(name.to_owned());
            }
        }
    }
}

impl Drop for LivePrinter {
    fn drop(&mut self) {
        self.clear_spinner();
    }
}

/// Follows `/events` until the tenant settles, then returns `/provisioning`.
async fn follow(client: &Client, id: &str) -> CliResult<Value> {
    let mut printer = LivePrinter::new();
    let mut last_id: Option<String> = None;
    let mut breaks = 0;
    loop {
        let resume_from = last_id.clone();
        let outcome = client
            .follow_events(
                &["api", "v1", "tenants", id, "events"],
                resume_from.as_deref(),
                |event| {
                    if event.id.is_some() {
                        last_id.clone_from(&event.id);
                    }
                    printer.event(&event);
                },
            )
            .await;
        let settled = printer.final_status.is_some();
        match outcome {
            Ok(()) if settled => break,
            Ok(()) => {}
            Err(e @ CliError::Api(_)) => return Err(e),
            Err(e) => {
                breaks += 1;
                if breaks > 3 {
                    return Err(e);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        // The stream ended without a final status: look, and follow again while it provisions.
        let provisioning = get_provisioning(client, id).await?;
        if text(&provisioning, "status") != "provisioning" {
            break;
        }
        breaks += 1;
        if breaks > 10 {
            return Err(CliError::Failed(format!(
                "the event stream of tenant {id} keeps ending while it is still provisioning"
            )));
        }
    }
    let provisioning = get_provisioning(client, id).await?;
    if let Some(steps) = provisioning.get("steps").and_then(Value::as_array) {
        printer.catch_up(steps);
    }
    Ok(provisioning)
}

async fn get_provisioning(client: &Client, id: &str) -> CliResult<Value> {
    Ok(client
        .call(
            Method::GET,
            &["api", "v1", "tenants", id, "provisioning"],
            &[],
            None,
        )
        .await?
        .data)
}

fn failed_step(provisioning: &Value) -> (String, String) {
    let steps = provisioning
        .get("steps")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    match steps.iter().find(|s| text(s, "status") == "failed") {
        Some(step) => (
            text(step, "name").to_owned(),
            step.get("error")
                .and_then(Value::as_str)
                .unwrap_or("no error recorded")
                .to_owned(),
        ),
        None => (
            "(unknown step)".to_owned(),
            provisioning
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("no error recorded")
                .to_owned(),
        ),
    }
}

fn provisioning_failure(id: &str, provisioning: &Value) -> CliError {
    let (step, error) = failed_step(provisioning);
    CliError::Failed(format!(
        "provisioning failed at step {step}: {error} (fix the cause, then run: objectos tenant retry {id})"
    ))
}

// ---------------------------------------------------------------------------------------------
// Commands.

/// The request fields `tenant create` sets from its flags, with the flag's name and its value.
fn create_flags(args: &CreateArgs) -> [(&'static str, &'static str, Option<&String>); 4] {
    [
        ("plan", "--plan", args.plan.as_ref()),
        ("region", "--region", args.region.as_ref()),
        ("displayName", "--display-name", args.display_name.as_ref()),
        ("adminEmail", "--admin-email", args.admin_email.as_ref()),
    ]
}

/// What to do when the organization already has a tenant that differs from the request in
/// `differences` (the `details.differences` of an `org_conflict`).
#[derive(Debug, PartialEq)]
enum Conflict {
    /// Only settings the user left out differ: ask again with the existing tenant's values, so
    /// `tenant create --org acme` finds the tenant however it was created.
    Adopt(Vec<(String, Value)>),
    /// A setting the user gave differs: one line saying which, what the tenant has and what to do.
    Refuse(String),
}

fn resolve_conflict(args: &CreateArgs, tenant_id: &str, differences: &[Value]) -> Conflict {
    let flags = create_flags(args);
    let mut adopt = Vec::new();
    let mut refused = Vec::new();
    for difference in differences {
        let field = text(difference, "field");
        let existing = difference.get("existing").cloned().unwrap_or(Value::Null);
        match flags.iter().find(|(name, _, _)| *name == field) {
            Some((_, flag, Some(given))) => {
                let hint = match field {
                    "plan" => format!("change it with: objectos tenant plan {tenant_id} {given}"),
                    "region" => "a tenant's region cannot change".to_owned(),
                    _ => format!("leave out {flag} to use the existing tenant"),
                };
                refused.push(format!(
                    "{field} is {} (you asked for {}; {hint})",
                    shown(&existing),
                    shown(&json!(given))
                ));
            }
            // Left out by the user (or not a flag at all, such as metadata): the tenant's value.
            _ if !existing.is_null() => adopt.push((field.to_owned(), existing)),
            _ => refused.push(format!("{field} is not set (the request sets it)")),
        }
    }
    if refused.is_empty() {
        Conflict::Adopt(adopt)
    } else {
        Conflict::Refuse(format!(
            "organization {} already has tenant {tenant_id}, whose {}",
            args.org,
            refused.join("; ")
        ))
    }
}

/// A value in a message: strings bare, anything else as JSON.
fn shown(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// `POST /api/v1/tenants`. When the organization already has a tenant that differs only in
/// settings the user did not give (created with `--plan pro`, asked again without `--plan`), the
/// request is made once more with the tenant's own values: the user gets the existing tenant
/// rather than an `org_conflict` over a flag they never typed. A difference in a flag they did
/// type is refused with what the tenant has and how to change it.
async fn post_create(
    client: &Client,
    args: &CreateArgs,
    mut body: Value,
    query: &[(&str, String)],
) -> CliResult<crate::client::Reply> {
    let tenants = ["api", "v1", "tenants"];
    let first = client
        .call(Method::POST, &tenants, query, Some(&body))
        .await;
    let failure = match first {
        Err(CliError::Api(failure)) if failure.code == "org_conflict" => failure,
        other => return other,
    };
    let differences = failure
        .details
        .get("differences")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let tenant_id = failure
        .details
        .get("tenantId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    match resolve_conflict(args, &tenant_id, &differences) {
        Conflict::Adopt(values) if !values.is_empty() => {
            for (field, value) in values {
                body[field] = value;
            }
            client
                .call(Method::POST, &tenants, query, Some(&body))
                .await
        }
        Conflict::Adopt(_) => Err(CliError::Api(failure)),
        Conflict::Refuse(message) => Err(CliError::Api(crate::client::ApiFailure {
            message,
            ..failure
        })),
    }
}

async fn create(client: &Client, args: &CreateArgs, as_json: bool) -> CliResult<ExitCode> {
    let mut body = json!({ "orgId": args.org });
    for (key, value) in [
        ("plan", &args.plan),
        ("region", &args.region),
        ("displayName", &args.display_name),
        ("adminEmail", &args.admin_email),
    ] {
        if let Some(v) = value {
            body[key] = json!(v);
        }
    }
    if as_json {
        let reply = post_create(client, args, body, &[]).await?;
        let failed = text(&reply.data, "status") == "failed";
        if let Some(c) = reply.extra.get("credentials") {
            crate::output::secret(
                format!("the API key of tenant {}", text(&reply.data, "tenantId")),
                text(c, "apiKey"),
            );
        }
        print_json(&json!({
            "created": reply.status == StatusCode::CREATED,
            "result": reply.data,
            "credentials": reply.extra.get("credentials").cloned().unwrap_or(Value::Null),
        }));
        return Ok(if failed {
            ExitCode::from(crate::client::EXIT_FAILED)
        } else {
            ExitCode::SUCCESS
        });
    }

    let reply = post_create(client, args, body, &[("wait", "false".to_owned())]).await?;
    let id = text(&reply.data, "tenantId").to_owned();
    let created = reply.status != StatusCode::OK;
    let credentials = reply.extra.get("credentials").cloned();
    // Registered before anything is printed: whatever happens to stdout, the key is not lost.
    if let Some(c) = &credentials {
        crate::output::secret(format!("the API key of tenant {id}"), text(c, "apiKey"));
    }

    if created {
        outln!(
            "Provisioning tenant {id} (organization {}, plan {}, region {}) on {}",
            args.org,
            text(&reply.data, "plan"),
            text(&reply.data, "region"),
            client.server()
        );
    } else {
        outln!(
            "Tenant {id} already exists for organization {} (status {}, plan {}, region {}); no new API key is issued.",
            args.org,
            text(&reply.data, "status"),
            text(&reply.data, "plan"),
            text(&reply.data, "region")
        );
    }
    crate::output::flush();

    let provisioning = if text(&reply.data, "status") == "provisioning" {
        follow(client, &id).await?
    } else {
        if created {
            // The server waited after all (201): the steps are in the reply.
            if let Some(steps) = reply.data.get("steps").and_then(Value::as_array) {
                print_steps(steps);
            }
        }
        get_provisioning(client, &id).await?
    };

    let status = text(&provisioning, "status").to_owned();
    outln!();
    match (status.as_str(), created) {
        ("active", true) => outln!(
            "Tenant {id} is active (provisioned in {} ms).",
            provisioning
                .get("totalDurationMs")
                .and_then(Value::as_u64)
                .unwrap_or(0)
        ),
        ("failed", _) => outln!("Tenant {id} failed to provision."),
        _ => outln!("Tenant {id} is {status}."),
    }
    outln!();
    outln!("  tenant id       {id}");
    outln!("  connection URL  {}", text(&reply.data, "connectionUrl"));
    match &credentials {
        Some(c) => {
            outln!("  API key         {}", text(c, "apiKey"));
            outln!(
                "  key id / scope  {} / {}",
                text(c, "keyId"),
                text(c, "scope")
            );
            outln!();
            outln!("This API key is shown ONCE: the server keeps only its hash. Store it now.");
            if status != "active" {
                outln!("(It becomes usable once the tenant is provisioned.)");
            }
        }
        None if !created => {
            outln!("  API key         (not shown again; create one: objectos key create --tenant {id})");
        }
        None => {}
    }
    crate::output::flush();
    match status.as_str() {
        "failed" => Err(provisioning_failure(&id, &provisioning)),
        _ => Ok(ExitCode::SUCCESS),
    }
}

async fn list(client: &Client, args: &ListArgs, as_json: bool) -> CliResult<ExitCode> {
    let mut query = Vec::new();
    if let Some(s) = &args.status {
        query.push(("status", s.clone()));
    }
    if let Some(p) = &args.plan {
        query.push(("plan", p.clone()));
    }
    if let Some(l) = args.limit {
        query.push(("limit", l.to_string()));
    }
    if let Some(o) = args.offset {
        query.push(("offset", o.to_string()));
    }
    let reply = client
        .call(Method::GET, &["api", "v1", "tenants"], &query, None)
        .await?;
    if as_json {
        print_json(&reply.data);
        return Ok(ExitCode::SUCCESS);
    }
    let tenants = reply.data.as_array().cloned().unwrap_or_default();
    let total = reply.meta.get("total").and_then(Value::as_u64).unwrap_or(0);
    let offset = reply
        .meta
        .get("offset")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let has_more = reply
        .meta
        .get("hasMore")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if tenants.is_empty() {
        outln!("no tenants (total {total}, offset {offset})");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = tenants
        .iter()
        .map(|t| {
            vec![
                text(t, "id").to_owned(),
                text(t, "name").to_owned(),
                text(t, "provisioningStatus").to_owned(),
                text(t, "plan").to_owned(),
                text(t, "databaseProvider").to_owned(),
            ]
        })
        .collect();
    print_table(&["ID", "NAME", "STATUS", "PLAN", "PROVIDER"], &rows);
    let shown = tenants.len() as u64;
    let mut footer = format!(
        "\n{}-{} of {total} tenant(s); hasMore: {has_more}",
        offset + 1,
        offset + shown
    );
    if has_more {
        footer.push_str(&format!(" (next page: --offset {})", offset + shown));
    }
    outln!("{footer}");
    Ok(ExitCode::SUCCESS)
}

async fn show(client: &Client, id: &str, as_json: bool) -> CliResult<ExitCode> {
    let reply = client
        .call(Method::GET, &["api", "v1", "tenants", id], &[], None)
        .await?;
    if as_json {
        print_json(&reply.data);
        return Ok(ExitCode::SUCCESS);
    }
    let t = &reply.data;
    let extra = reply.meta.get("tenant").cloned().unwrap_or(Value::Null);
    let field = |label: &str, value: &str| outln!("  {label:<16}{value}");
    outln!("Tenant {}", text(t, "id"));
    field("name", text(t, "name"));
    field("status", text(t, "provisioningStatus"));
    field("plan", text(t, "plan"));
    field("provider", text(t, "databaseProvider"));
    field(
        "connection URL",
        t.get("connectionConfig").map_or("-", |c| text(c, "url")),
    );
    field("organization", text(&extra, "orgId"));
    field("region", text(&extra, "region"));
    field("admin email", text(&extra, "adminEmail"));
    field("created", text(&extra, "createdAt"));
    field("provisioned", text(&extra, "provisionedAt"));
    if let Some(after) = extra.get("destroyAfter").and_then(Value::as_str) {
        field("destroy after", after);
    }
    if let Some(error) = extra.get("error").and_then(Value::as_str) {
        field("error", error);
    }
    if let Some(Value::Object(quotas)) = t.get("quotas") {
        let listed: Vec<String> = quotas.iter().map(|(k, v)| format!("{k}={v}")).collect();
        field("quotas", &listed.join(" "));
    }
    let provisioning = get_provisioning(client, id).await?;
    if let Some(steps) = provisioning.get("steps").and_then(Value::as_array) {
        outln!("  steps");
        print_steps(steps);
    }
    Ok(ExitCode::SUCCESS)
}

async fn lifecycle(client: &Client, id: &str, action: &str, as_json: bool) -> CliResult<ExitCode> {
    let reply = client
        .call(
            Method::POST,
            &["api", "v1", "tenants", id, action],
            &[],
            None,
        )
        .await?;
    if as_json {
        print_json(&reply.data);
        return Ok(ExitCode::SUCCESS);
    }
    let done = if action == "suspend" {
        "suspended"
    } else {
        "resumed"
    };
    outln!(
        "Tenant {id} {done} (status {}).",
        text(&reply.data, "provisioningStatus")
    );
    Ok(ExitCode::SUCCESS)
}

async fn plan(client: &Client, args: &PlanArgs, as_json: bool) -> CliResult<ExitCode> {
    let body = json!({ "plan": args.plan });
    let reply = client
        .call(
            Method::POST,
            &["api", "v1", "tenants", &args.id, "plan"],
            &[],
            Some(&body),
        )
        .await?;
    if as_json {
        print_json(&reply.data);
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "Tenant {} is on plan {} (status {}).",
        args.id,
        text(&reply.data, "plan"),
        text(&reply.data, "provisioningStatus")
    );
    Ok(ExitCode::SUCCESS)
}

async fn retry(client: &Client, id: &str, as_json: bool) -> CliResult<ExitCode> {
    let reply = client
        .call(
            Method::POST,
            &["api", "v1", "tenants", id, "retry"],
            &[],
            None,
        )
        .await?;
    let provisioning = get_provisioning(client, id).await?;
    let status = text(&provisioning, "status").to_owned();
    if as_json {
        print_json(&reply.data);
    } else {
        outln!("Retried tenant {id}:");
        if let Some(steps) = provisioning.get("steps").and_then(Value::as_array) {
            print_steps(steps);
        }
        outln!();
        if status == "failed" {
            outln!("Tenant {id} failed to provision again.");
        } else {
            outln!("Tenant {id} is {status}.");
        }
    }
    if status == "failed" {
        return Err(provisioning_failure(id, &provisioning));
    }
    Ok(ExitCode::SUCCESS)
}

fn destroy_summary(args: &DestroyArgs) -> String {
    let when = if args.immediate {
        "now".to_owned()
    } else {
        match args.grace_hours {
            Some(h) => format!("after a grace period of {h} hour(s)"),
            None => "after the grace period of the lifecycle policy".to_owned(),
        }
    };
    let backup = if args.no_backup {
        "with NO backup"
    } else {
        "keeping a backup as the lifecycle policy says"
    };
    format!("its keys are revoked at once; its database is deleted {when}, {backup}")
}

fn confirm_destroy(args: &DestroyArgs) -> CliResult<()> {
    if args.yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(format!(
            "refusing to destroy tenant {} without confirmation: standard input is not a terminal; pass --yes",
            args.id
        )));
    }
    eprintln!("Destroy tenant {}: {}.", args.id, destroy_summary(args));
    eprint!("Type the tenant id to confirm: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::Failed(format!("cannot read the confirmation: {e}")))?;
    if answer.trim() == args.id {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "not destroyed: the confirmation '{}' does not match the tenant id",
            answer.trim()
        )))
    }
}

async fn destroy(client: &Client, args: &DestroyArgs, as_json: bool) -> CliResult<ExitCode> {
    let mut query = Vec::new();
    if args.immediate {
        query.push(("immediate", "true".to_owned()));
    }
    if let Some(h) = args.grace_hours {
        query.push(("gracePeriodHours", h.to_string()));
    }
    if args.no_backup {
        query.push(("createBackup", "false".to_owned()));
    }
    let reply = client
        .call(
            Method::DELETE,
            &["api", "v1", "tenants", &args.id],
            &query,
            None,
        )
        .await?;
    if as_json {
        print_json(&reply.data);
        return Ok(ExitCode::SUCCESS);
    }
    if reply.status == StatusCode::ACCEPTED {
        let after = reply
            .meta
            .get("tenant")
            .map_or("-", |t| text(t, "destroyAfter"));
        outln!(
            "Tenant {} is scheduled for destruction at {after} (status {}); its keys are revoked.",
            args.id,
            text(&reply.data, "provisioningStatus")
        );
        outln!(
            "To destroy it now: objectos tenant destroy {} --immediate",
            args.id
        );
    } else {
        match reply.data.get("backup").and_then(Value::as_str) {
            Some(path) => outln!("Tenant {} destroyed; backup kept at {path}", args.id),
            None => outln!("Tenant {} destroyed (no backup).", args.id),
        }
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------
// Archives.

/// How long an export or a restore may take (archives can be large).
const ARCHIVE_TIMEOUT: Duration = Duration::from_secs(3600);

/// Writes lines to stdout through [`crate::output`] (a closed stdout is not a panic).
fn out(lines: &[String]) {
    for line in lines {
        outln!("{line}");
    }
}

fn json_out(value: &Value) {
    out(&[serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())]);
}

fn count_lines(counts: &Value) -> Vec<String> {
    let Some(counts) = counts.as_object() else {
        return Vec::new();
    };
    let width = counts.keys().map(String::len).max().unwrap_or(0);
    let mut lines: Vec<String> = counts
        .iter()
        .map(|(name, n)| format!("    {name:<width$}  {n}"))
        .collect();
    if lines.is_empty() {
        lines.push("    (no objects deployed)".to_owned());
    }
    lines
}

async fn export(client: &Client, args: &ExportArgs, as_json: bool) -> CliResult<ExitCode> {
    let (_, bytes) = client
        .call_raw(
            Method::GET,
            &["api", "v1", "tenants", &args.id, "archive"],
            None,
            ARCHIVE_TIMEOUT,
        )
        .await?;
    let archive: Value = serde_json::from_slice(&bytes)
        .map_err(|e| CliError::Failed(format!("the server's archive is not JSON: {e}")))?;
    objectos_core::archive::write_private(&args.file, &bytes)
        .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", args.file.display())))?;
    let summary = json!({
        "file": args.file.display().to_string(),
        "bytes": bytes.len(),
        "tenantId": archive.get("tenant").map_or(Value::Null, |t| t["id"].clone()),
        "format": archive["format"],
        "source": archive["source"],
        "counts": archive["counts"],
        "deployments": archive["ledger"].as_array().map_or(0, Vec::len),
        "contentHash": archive["contentHash"],
    });
    if as_json {
        json_out(&summary);
        return Ok(ExitCode::SUCCESS);
    }
    let mut lines = vec![
        format!(
            "Exported tenant {} ({} database) to {} ({} bytes, mode 0600)",
            args.id,
            text(&archive["source"], "provider"),
            args.file.display(),
            bytes.len()
        ),
        format!("  format          {}", text(&archive, "format")),
        format!("  deployments     {}", summary["deployments"]),
        "  rows per object".to_owned(),
    ];
    lines.extend(count_lines(&archive["counts"]));
    lines.push(format!(
        "  content hash    {}",
        text(&archive, "contentHash")
    ));
    out(&lines);
    Ok(ExitCode::SUCCESS)
}

async fn restore(client: &Client, args: &RestoreArgs, as_json: bool) -> CliResult<ExitCode> {
    let bytes = std::fs::read(&args.file)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", args.file.display())))?;
    let archive: Value = serde_json::from_slice(&bytes).map_err(|e| {
        CliError::Usage(format!(
            "{} is not a JSON archive: {e}",
            args.file.display()
        ))
    })?;
    let mut body = json!({ "archive": archive });
    if let Some(org) = &args.org {
        body["orgId"] = json!(org);
    }
    let (_, answer) = client
        .call_raw(
            Method::POST,
            &["api", "v1", "tenants", "restore"],
            Some(&body),
            ARCHIVE_TIMEOUT,
        )
        .await?;
    let reply: Value = serde_json::from_slice(&answer)
        .map_err(|e| CliError::Failed(format!("unexpected answer from the server: {e}")))?;
    crate::output::secret(
        format!(
            "the API key of restored tenant {}",
            text(&reply["data"], "tenantId")
        ),
        text(&reply["credentials"], "apiKey"),
    );
    if as_json {
        json_out(&json!({
            "result": reply["data"],
            "credentials": reply["credentials"],
            "restoredFrom": reply["meta"]["restoredFrom"],
        }));
        return Ok(ExitCode::SUCCESS);
    }
    let data = &reply["data"];
    let from = &reply["meta"]["restoredFrom"];
    let credentials = &reply["credentials"];
    let id = text(data, "tenantId");
    let mut lines = vec![
        format!(
            "Restored tenant {id} from {} (tenant {} on {}, exported {}) on {}",
            args.file.display(),
            text(from, "tenantId"),
            text(from, "provider"),
            text(from, "exportedAt"),
            client.server()
        ),
        String::new(),
        format!("  tenant id       {id}"),
        format!("  status          {}", text(data, "status")),
        format!("  connection URL  {}", text(data, "connectionUrl")),
        format!("  API key         {}", text(credentials, "apiKey")),
        format!(
            "  key id / scope  {} / {}",
            text(credentials, "keyId"),
            text(credentials, "scope")
        ),
        "  rows per object".to_owned(),
    ];
    lines.extend(count_lines(&from["counts"]));
    lines.push(format!(
        "  content hash    {} (verified: the restored tenant exports the same)",
        text(from, "contentHash")
    ));
    lines.push(String::new());
    lines.push(
        "This API key is shown ONCE: the server keeps only its hash. Store it now.".to_owned(),
    );
    out(&lines);
    Ok(ExitCode::SUCCESS)
}

/// `tenant move`: writes stop (suspend), the archive goes from the source to the target, the
/// target's copy is verified (its own export has the archive's content hash), and only then is
/// the source destroyed (its destroy backup is one more archive). Any failure before that resumes
/// the source if this command suspended it, and says where the move stopped.
async fn move_tenant(source: &Client, args: &MoveArgs, as_json: bool) -> CliResult<ExitCode> {
    let target = Client::other(
        &args.to,
        args.to_admin_token.clone(),
        args.to_data_dir.as_deref(),
    )?;
    if target.server() == source.server() {
        return Err(CliError::Usage(
            "--to names the server the tenant is on: a move needs another server".to_owned(),
        ));
    }
    let id = args.id.as_str();
    let tenant = client_tenant(source, id).await?;
    let status = text(&tenant, "provisioningStatus").to_owned();
    let suspended_here = match status.as_str() {
        "active" => {
            source
                .call(
                    Method::POST,
                    &["api", "v1", "tenants", id, "suspend"],
                    &[],
                    None,
                )
                .await?;
            true
        }
        "suspended" => false,
        other => {
            return Err(CliError::Failed(format!(
                "tenant {id} is {other}: only an active or suspended tenant can move"
            )))
        }
    };
    let moved = move_copy(source, &target, id).await;
    let (archive_hash, restored) = match moved {
        Ok(done) => done,
        Err(e) => {
            if suspended_here {
                let resumed = source
                    .call(
                        Method::POST,
                        &["api", "v1", "tenants", id, "resume"],
                        &[],
                        None,
                    )
                    .await;
                if let Err(r) = resumed {
                    eprintln!("objectos: could not resume tenant {id} on the source: {r:?}");
                }
            }
            return Err(e);
        }
    };
    let new_id = text(&restored["data"], "tenantId").to_owned();
    let mut backup = Value::Null;
    if !args.keep_source {
        let reply = source
            .call(
                Method::DELETE,
                &["api", "v1", "tenants", id],
                &[
                    ("immediate", "true".to_owned()),
                    ("createBackup", "true".to_owned()),
                ],
                None,
            )
            .await?;
        backup = reply.data["backup"].clone();
    }
    crate::output::secret(
        format!("the API key of moved tenant {new_id}"),
        text(&restored["credentials"], "apiKey"),
    );
    if as_json {
        json_out(&json!({
            "tenantId": new_id,
            "from": source.server(),
            "to": target.server(),
            "contentHash": archive_hash,
            "counts": restored["meta"]["restoredFrom"]["counts"],
            "credentials": restored["credentials"],
            "sourceDestroyed": !args.keep_source,
            "sourceBackup": backup,
        }));
        return Ok(ExitCode::SUCCESS);
    }
    let credentials = &restored["credentials"];
    let mut lines = vec![
        format!(
            "Moved tenant {id} from {} to {} (now {}).",
            source.server(),
            target.server(),
            text(&restored["data"], "connectionUrl")
        ),
        String::new(),
        format!("  tenant id       {new_id}"),
        format!("  API key         {}", text(credentials, "apiKey")),
        "  rows per object".to_owned(),
    ];
    lines.extend(count_lines(&restored["meta"]["restoredFrom"]["counts"]));
    lines.push(format!(
        "  content hash    {archive_hash} (the target's own export has the same)"
    ));
    lines.push(if args.keep_source {
        format!("  source          kept, suspended, on {}", source.server())
    } else {
        format!(
            "  source          destroyed; backup {}",
            backup.as_str().unwrap_or("-")
        )
    });
    lines.push(String::new());
    lines.push(
        "The old keys do not move: this API key is shown ONCE. Point clients at the new server with it."
            .to_owned(),
    );
    out(&lines);
    Ok(ExitCode::SUCCESS)
}

async fn client_tenant(client: &Client, id: &str) -> CliResult<Value> {
    Ok(client
        .call(Method::GET, &["api", "v1", "tenants", id], &[], None)
        .await?
        .data)
}

/// Export from `source`, restore on `target`, and check the target's own export: the archive's
/// content hash and the restored answer.
async fn move_copy(source: &Client, target: &Client, id: &str) -> CliResult<(String, Value)> {
    let (_, bytes) = source
        .call_raw(
            Method::GET,
            &["api", "v1", "tenants", id, "archive"],
            None,
            ARCHIVE_TIMEOUT,
        )
        .await?;
    let archive: Value = serde_json::from_slice(&bytes)
        .map_err(|e| CliError::Failed(format!("the source's archive is not JSON: {e}")))?;
    let hash = text(&archive, "contentHash").to_owned();
    let (_, answer) = target
        .call_raw(
            Method::POST,
            &["api", "v1", "tenants", "restore"],
            Some(&json!({ "archive": archive })),
            ARCHIVE_TIMEOUT,
        )
        .await?;
    let restored: Value = serde_json::from_slice(&answer)
        .map_err(|e| CliError::Failed(format!("unexpected answer from the target: {e}")))?;
    let new_id = text(&restored["data"], "tenantId").to_owned();
    let (_, again) = target
        .call_raw(
            Method::GET,
            &["api", "v1", "tenants", &new_id, "archive"],
            None,
            ARCHIVE_TIMEOUT,
        )
        .await?;
    let again: Value = serde_json::from_slice(&again)
        .map_err(|e| CliError::Failed(format!("the target's archive is not JSON: {e}")))?;
    if text(&again, "contentHash") != hash {
        return Err(CliError::Failed(format!(
            "the copy of {id} on {} does not match the source (content hash {} instead of {hash});              the source is left in place",
            target.server(),
            text(&again, "contentHash")
        )));
    }
    Ok((hash, restored))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_lines() {
        let done = json!({"status": "completed", "durationMs": 14, "retryCount": 0});
        assert_eq!(
            step_line("create_database", &done),
            "  ✓ create_database      14 ms"
        );
        let skipped = json!({"status": "skipped", "durationMs": 0});
        assert_eq!(
            step_line("apply_seed_data", &skipped),
            "  – apply_seed_data    skipped"
        );
        let failed = json!({"status": "failed", "durationMs": 3, "error": "boom", "retryCount": 2});
        assert_eq!(
            step_line("sync_schema", &failed),
            "  ✗ sync_schema           3 ms  boom  (retry 2)"
        );
    }
}
