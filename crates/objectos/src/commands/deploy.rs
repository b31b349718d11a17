//! `objectos deploy FILE --tenant T`: push a deploy bundle to a tenant over HTTP.
//!
//! The bundle is planned first (`POST .../deployments/plan`, a dry run the server proves inside a
//! rolled-back transaction) and the diff and the DDL are printed; destructive changes not covered
//! by `--ack` are listed with what they would lose and need a typed `yes` (or `--yes`); then the
//! deployment is applied (`POST .../deployments`) and its ledger entry and timings are printed.
//!
//! The rendering and the plan → confirm → apply flow are shared with `objectos deployments`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::client::{print_json, runtime, text, CliError, CliResult, Client, ConnectArgs, Reply};

/// Arguments of `objectos deploy`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Renames are explicit, never inferred:\n  \
    --rename task.title=subject    field `title` of object `task` is now `subject` \
    (`task` is the object's name in the NEW bundle)\n  \
    --rename-object todo=task      object `todo` is now `task`\n\
    Destructive changes (dropping an object or a field, lossy type changes) need --ack object:NAME \
    or --ack field:OBJECT.FIELD, or a typed confirmation (--yes confirms them all).")]
pub struct Args {
    #[command(flatten)]
    connect: ConnectArgs,
    /// The DeployBundle: JSON, or YAML when the name ends in .yaml/.yml; `-` reads standard input.
    file: PathBuf,
    /// Tenant id.
    #[arg(long, value_name = "ID")]
    tenant: String,
    /// Plan only: print the diff and the DDL, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Apply without asking, confirming every destructive change the plan lists.
    #[arg(long, short = 'y')]
    yes: bool,
    /// Acknowledge a destructive change: `object:NAME` or `field:OBJECT.FIELD` (repeatable).
    #[arg(long = "ack", value_name = "ENTITY")]
    ack: Vec<String>,
    /// Rename a field: `OBJECT.FROM=TO`, OBJECT being the object's name in the new bundle
    /// (repeatable).
    #[arg(long = "rename", value_name = "OBJECT.FROM=TO")]
    rename: Vec<String>,
    /// Rename an object: `FROM=TO` (repeatable).
    #[arg(long = "rename-object", value_name = "FROM=TO")]
    rename_object: Vec<String>,
    /// Print the deployment record's JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `objectos deploy ...`.
pub fn run(args: &Args) -> ExitCode {
    let context = format!("deploy to tenant {}", args.tenant);
    match execute(args) {
        Ok(code) => code,
        Err(e) => report(&e, &context),
    }
}

fn execute(args: &Args) -> CliResult<ExitCode> {
    check_acks(&args.ack)?;
    let mut renames = Vec::new();
    for r in &args.rename {
        renames.push(parse_field_rename(r)?);
    }
    for r in &args.rename_object {
        renames.push(parse_object_rename(r)?);
    }
    let bundle = super::validate::read_document(&args.file)
        .map_err(|e| CliError::Usage(format!("{}: {e}", args.file.display())))?;
    let client = Client::from_args(&args.connect)?;
    let flow = Flow {
        client: &client,
        tenant: &args.tenant,
        target: Target::Deploy { bundle, renames },
        acks: args.ack.clone(),
        yes: args.yes,
        dry_run: args.dry_run,
        json: args.json,
    };
    runtime()?.block_on(flow.run())
}

// ---------------------------------------------------------------------------------------------
// Flags.

/// `--ack` values are `object:NAME` or `field:OBJECT.FIELD`.
pub(crate) fn check_acks(acks: &[String]) -> CliResult<()> {
    for ack in acks {
        let ok = match ack.split_once(':') {
            Some(("object", name)) => !name.is_empty() && !name.contains('.'),
            Some(("field", path)) => matches!(
                path.split_once('.'),
                Some((o, f)) if !o.is_empty() && !f.is_empty() && !f.contains('.')
            ),
            _ => false,
        };
        if !ok {
            return Err(CliError::Usage(format!(
                "invalid --ack '{ack}': expected object:NAME or field:OBJECT.FIELD (e.g. field:task.notes)"
            )));
        }
    }
    Ok(())
}

fn split_assignment<'a>(flag: &str, value: &'a str, form: &str) -> CliResult<(&'a str, &'a str)> {
    match value.split_once('=') {
        Some((from, to)) if !from.trim().is_empty() && !to.trim().is_empty() => {
            Ok((from.trim(), to.trim()))
        }
        _ => Err(CliError::Usage(format!(
            "invalid {flag} '{value}': expected {form}"
        ))),
    }
}

/// `--rename task.title=subject` → a field rename of object `task` (its new name).
fn parse_field_rename(value: &str) -> CliResult<Value> {
    let form =
        "OBJECT.FROM=TO (e.g. task.title=subject); for an object use --rename-object FROM=TO";
    let (left, to) = split_assignment("--rename", value, form)?;
    match left.split_once('.') {
        Some((object, from)) if !object.is_empty() && !from.is_empty() && !from.contains('.') => {
            Ok(json!({"kind": "field", "object": object, "from": from, "to": to}))
        }
        _ => Err(CliError::Usage(format!(
            "invalid --rename '{value}': expected {form}"
        ))),
    }
}

/// `--rename-object todo=task` → an object rename.
fn parse_object_rename(value: &str) -> CliResult<Value> {
    let (from, to) = split_assignment("--rename-object", value, "FROM=TO (e.g. todo=task)")?;
    Ok(json!({"kind": "object", "from": from, "to": to}))
}

// ---------------------------------------------------------------------------------------------
// Plan → confirm → apply.

/// What is deployed.
pub(crate) enum Target {
    /// A bundle, with explicit renames.
    Deploy { bundle: Value, renames: Vec<Value> },
    /// A rollback of a recorded deployment.
    Rollback { id: String },
}

/// One deployment run from the command line.
pub(crate) struct Flow<'a> {
    pub client: &'a Client,
    pub tenant: &'a str,
    pub target: Target,
    pub acks: Vec<String>,
    pub yes: bool,
    pub dry_run: bool,
    pub json: bool,
}

impl Flow<'_> {
    async fn send(&self, acks: &[String], dry_run: bool) -> CliResult<Reply> {
        let tenant = self.tenant;
        match &self.target {
            Target::Deploy { bundle, renames } => {
                let body = json!({
                    "bundle": bundle,
                    "options": {"dryRun": dry_run, "acknowledge": acks, "renames": renames},
                });
                let segments: Vec<&str> = if dry_run {
                    vec!["api", "v1", "tenants", tenant, "deployments", "plan"]
                } else {
                    vec!["api", "v1", "tenants", tenant, "deployments"]
                };
                // The file is the bundle: its issues are shown at paths within the file.
                self.client
                    .call(Method::POST, &segments, &[], Some(&body))
                    .await
                    .map_err(unwrap_bundle_paths)
            }
            Target::Rollback { id } => {
                let body = json!({"options": {"dryRun": dry_run, "acknowledge": acks}});
                self.client
                    .call(
                        Method::POST,
                        &[
                            "api",
                            "v1",
                            "tenants",
                            tenant,
                            "deployments",
                            id,
                            "rollback",
                        ],
                        &[],
                        Some(&body),
                    )
                    .await
            }
        }
    }

    /// Plans, prints, asks when needed, applies.
    pub(crate) async fn run(self) -> CliResult<ExitCode> {
        let mut acks = self.acks.clone();
        // The plan; unacknowledged destructive changes are listed by the server's refusal, and
        // planned again as if acknowledged so that the diff and the DDL can be shown.
        let (plan, destructive) = match self.send(&acks, true).await {
            Ok(reply) => (reply.data, Vec::new()),
            Err(CliError::Api(failure)) if failure.code == "destructive_changes_unacknowledged" => {
                let entries = failure
                    .details
                    .get("unacknowledged")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let entities: Vec<String> = entries
                    .iter()
                    .filter_map(|e| e.get("entity").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect();
                if entities.is_empty() {
                    return Err(CliError::Api(failure));
                }
                let mut all = acks.clone();
                all.extend(entities.iter().cloned());
                let reply = self.send(&all, true).await?;
                acks = all;
                (reply.data, entries)
            }
            Err(e) => return Err(e),
        };
        let color = color_enabled();
        let no_changes = plan
            .get("noChanges")
            .and_then(Value::as_bool)
            .unwrap_or(false);

        if no_changes {
            if self.json {
                print_json(&plan);
            } else {
                outln!(
                    "No changes: tenant {} already runs this model (deployment {}).",
                    self.tenant,
                    text(&plan, "id")
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        if !self.json {
            print_plan_record(&plan, color);
            if !destructive.is_empty() {
                outln!();
                outln!(
                    "{}",
                    paint(
                        "Destructive changes (data is lost when applied):",
                        RED,
                        color
                    )
                );
                for entry in &destructive {
                    outln!("  {}: {}", text(entry, "entity"), text(entry, "message"));
                }
            }
        }
        if self.dry_run {
            if self.json {
                print_json(&plan);
            } else {
                outln!();
                let mut line = format!("Dry run: nothing was changed on tenant {}.", self.tenant);
                if !destructive.is_empty() {
                    line.push_str(" Applying needs: ");
                    line.push_str(&ack_flags(&destructive));
                    line.push_str(" (or a confirmation).");
                }
                outln!("{line}");
            }
            return Ok(ExitCode::SUCCESS);
        }
        if !destructive.is_empty() && !self.yes {
            confirm(&destructive)?;
        }

        let reply = self.send(&acks, false).await?;
        let record = reply.data;
        if self.json {
            print_json(&record);
        } else {
            print_result(self.tenant, &record, reply.status, color);
        }
        if text(&record, "status") == "failed" {
            return Err(CliError::Failed(format!(
                "deployment failed: {}; nothing was changed",
                record
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("no error recorded")
            )));
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// `bundle.objects[1].type` → `objects[1].type` in validation issues (`bundle` → the root).
fn unwrap_bundle_paths(error: CliError) -> CliError {
    let CliError::Api(mut failure) = error else {
        return error;
    };
    if let Some(issues) = failure
        .details
        .get_mut("issues")
        .and_then(Value::as_array_mut)
    {
        for issue in issues {
            let Some(path) = issue.get("path").and_then(Value::as_str) else {
                continue;
            };
            let unwrapped = match path.strip_prefix("bundle") {
                Some("") => Some(String::new()),
                Some(rest) if rest.starts_with('[') => Some(rest.to_owned()),
                Some(rest) => rest.strip_prefix('.').map(str::to_owned),
                None => None,
            };
            if let Some(p) = unwrapped {
                issue["path"] = Value::String(p);
            }
        }
    }
    CliError::Api(failure)
}

fn ack_flags(entries: &[Value]) -> String {
    entries
        .iter()
        .map(|e| format!("--ack {}", text(e, "entity")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Asks for `yes` on a terminal; refuses without one.
fn confirm(destructive: &[Value]) -> CliResult<()> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Failed(format!(
            "refusing to apply destructive changes without confirmation: standard input is not a terminal; pass --yes, or {}",
            ack_flags(destructive)
        )));
    }
    crate::output::flush();
    eprint!("Apply these destructive changes? Type yes to continue: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::Failed(format!("cannot read the confirmation: {e}")))?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "not deployed: the answer was '{}', not 'yes'",
            answer.trim()
        )))
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering.

const GREEN: &str = "32";
const YELLOW: &str = "33";
const RED: &str = "31";
const DIM: &str = "2";
const BOLD: &str = "1";

/// Colours on a terminal, unless `NO_COLOR` is set.
pub(crate) fn color_enabled() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// `text` in an ANSI colour when `on`.
pub(crate) fn paint(text: &str, code: &str, on: bool) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

fn short(value: &Value) -> String {
    let rendered = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if rendered.chars().count() > 60 {
        let cut: String = rendered.chars().take(57).collect();
        format!("{cut}...")
    } else {
        rendered
    }
}

/// What a modification changed, in a few words (`type: text → textarea; required: - → true`).
fn modification(old: &Value, new: &Value) -> String {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
            keys.sort();
            keys.dedup();
            let parts: Vec<String> = keys
                .into_iter()
                .filter(|k| o.get(*k) != n.get(*k))
                .map(|k| {
                    let show = |v: Option<&Value>| v.map_or_else(|| "-".to_owned(), short);
                    format!("{k}: {} → {}", show(o.get(k)), show(n.get(k)))
                })
                .collect();
            parts.join("; ")
        }
        (Value::Null, Value::Null) => String::new(),
        (o, n) if o == n => String::new(),
        (o, n) => format!("{} → {}", short(o), short(n)),
    }
}

/// One line per change: `+ object  task`, `~ field   task.title  (...)`, `- index   task: idx`.
pub(crate) fn diff_lines(diff: &Value, color: bool) -> Vec<String> {
    let changes = diff
        .get("changes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    changes
        .iter()
        .map(|c| {
            let (sign, code) = match text(c, "changeType") {
                "added" => ("+", GREEN),
                "removed" => ("-", RED),
                _ => ("~", YELLOW),
            };
            let kind = text(c, "entityType");
            let name = text(c, "entityName");
            let label = match (kind, c.get("parentEntity").and_then(Value::as_str)) {
                ("field", Some(parent)) => format!("{parent}.{name}"),
                (_, Some(parent)) => format!("{parent}: {name}"),
                (_, None) => name.to_owned(),
            };
            let mut line = format!("{sign} {kind:<7} {label}");
            if sign == "~" {
                let old = c.get("oldValue").unwrap_or(&Value::Null);
                let new = c.get("newValue").unwrap_or(&Value::Null);
                let what = modification(old, new);
                if !what.is_empty() {
                    line.push_str(&format!("  ({what})"));
                }
            }
            format!("  {}", paint(&line, code, color))
        })
        .collect()
}

fn summary_line(diff: &Value) -> String {
    let summary = diff.get("summary").cloned().unwrap_or(Value::Null);
    let n = |k: &str| summary.get(k).and_then(Value::as_u64).unwrap_or(0);
    let breaking = diff
        .get("hasBreakingChanges")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    format!(
        "{} added, {} modified, {} removed{}",
        n("added"),
        n("modified"),
        n("removed"),
        if breaking { "; breaking" } else { "" }
    )
}

/// The diff, then the statements.
pub(crate) fn print_plan_record(record: &Value, color: bool) {
    let diff = record.get("diff").cloned().unwrap_or(Value::Null);
    outln!(
        "{} ({})",
        paint("Changes", BOLD, color),
        summary_line(&diff)
    );
    let lines = diff_lines(&diff, color);
    if lines.is_empty() {
        outln!("  (none)");
    }
    for line in lines {
        outln!("{line}");
    }
    let plan = record.get("plan").cloned().unwrap_or(Value::Null);
    let statements = plan
        .get("statements")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let reversible = plan
        .get("reversible")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    outln!();
    outln!(
        "{} ({}, {} statement(s), {})",
        paint("SQL", BOLD, color),
        text(&plan, "dialect"),
        statements.len(),
        if reversible {
            "reversible"
        } else {
            "not fully reversible"
        }
    );
    for (i, statement) in statements.iter().enumerate() {
        let sql = text(statement, "sql").trim().trim_end_matches(';');
        let mut lines = sql.lines();
        let first = lines.next().unwrap_or("");
        let mark = if statement.get("reversible").and_then(Value::as_bool) == Some(false) {
            paint("  -- not reversible", DIM, color)
        } else {
            String::new()
        };
        let rest: Vec<&str> = lines.collect();
        if rest.is_empty() {
            outln!("  {:>3}  {first};{mark}", i + 1);
        } else {
            outln!("  {:>3}  {first}", i + 1);
            for (j, line) in rest.iter().enumerate() {
                let end = if j + 1 == rest.len() { ";" } else { "" };
                outln!("       {line}{end}");
            }
            if !mark.is_empty() {
                outln!("      {mark}");
            }
        }
    }
}

fn ms(value: Option<&Value>) -> String {
    value
        .and_then(Value::as_f64)
        .map_or_else(|| "-".to_owned(), |v| format!("{v:.1} ms"))
}

/// `validating 0.4 ms, diffing 1.2 ms, ...`.
pub(crate) fn timings_line(record: &Value) -> String {
    let t = record.get("timings").cloned().unwrap_or(Value::Null);
    format!(
        "validating {}, diffing {}, migrating {}, registering {}, total {}",
        ms(t.get("validatingMs")),
        ms(t.get("diffingMs")),
        ms(t.get("migratingMs")),
        ms(t.get("registeringMs")),
        ms(t.get("totalMs"))
    )
}

fn print_result(tenant: &str, record: &Value, status: StatusCode, color: bool) {
    outln!();
    let state = text(record, "status");
    if record.get("noChanges").and_then(Value::as_bool) == Some(true) {
        outln!(
            "No changes: tenant {tenant} already runs this model (deployment {}).",
            text(record, "id")
        );
        return;
    }
    let seq = record
        .get("seq")
        .and_then(Value::as_u64)
        .map_or_else(|| "-".to_owned(), |s| s.to_string());
    let done = if record.get("rollbackOf").and_then(Value::as_str).is_some() {
        "Rolled back"
    } else {
        "Deployed to"
    };
    let headline = if state == "ready" {
        paint(
            &format!("{done} tenant {tenant}: status ready"),
            GREEN,
            color,
        )
    } else {
        paint(
            &format!("Deployment to tenant {tenant}: status {state}"),
            RED,
            color,
        )
    };
    outln!("{headline}");
    outln!("  deployment  {}", text(record, "id"));
    outln!("  ledger seq  {seq}");
    outln!("  checksum    {}", text(record, "checksum"));
    if let Some(of) = record.get("rollbackOf").and_then(Value::as_str) {
        outln!("  rolls back  {of}");
    }
    outln!("  timings     {}", timings_line(record));
    if status != StatusCode::CREATED && state == "ready" {
        outln!("  (HTTP {status})");
    }
}

// ---------------------------------------------------------------------------------------------
// Errors.

/// Prints the error (one line, the validation issues as `path: message (code)`) and, for the
/// deployment refusals, their details readably; returns the exit code.
pub(crate) fn report(error: &CliError, context: &str) -> ExitCode {
    let code = error.report(Some(context));
    if let CliError::Api(failure) = error {
        for line in detail_lines(&failure.code, &failure.details) {
            eprintln!("{line}");
        }
    }
    code
}

fn detail_lines(code: &str, details: &Value) -> Vec<String> {
    let list = |key: &str| {
        details
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let mut lines = Vec::new();
    match code {
        "destructive_changes_unacknowledged" => {
            let entries = list("unacknowledged");
            for e in &entries {
                let rows = e.get("rows").and_then(Value::as_u64).unwrap_or(0);
                let what = if text(e, "loses") == "rows" {
                    format!("{rows} row(s) lost")
                } else {
                    format!("{rows} value(s) lost")
                };
                lines.push(format!(
                    "  {}: {} ({what})",
                    text(e, "entity"),
                    text(e, "message")
                ));
            }
            if !entries.is_empty() {
                lines.push(format!("  acknowledge with: {}", ack_flags(&entries)));
            }
        }
        "data_check_failed" => {
            for c in list("checks") {
                let columns: Vec<&str> = c
                    .get("columns")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let mut counts = format!(
                    "{} row(s)",
                    c.get("rows").and_then(Value::as_u64).unwrap_or(0)
                );
                if let Some(groups) = c.get("groups").and_then(Value::as_u64) {
                    counts.push_str(&format!(", {groups} group(s)"));
                }
                lines.push(format!(
                    "  {} {}({}): {} [{counts}]",
                    text(&c, "check"),
                    text(&c, "table"),
                    columns.join(", "),
                    text(&c, "message")
                ));
            }
        }
        "schema_drift" => {
            for t in list("tables") {
                let differences: Vec<String> = t
                    .get("differences")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(short).collect())
                    .unwrap_or_default();
                lines.push(format!(
                    "  {}: {}",
                    text(&t, "table"),
                    differences.join("; ")
                ));
            }
        }
        "quota_exceeded" => {
            let n = |k: &str| {
                details
                    .get(k)
                    .and_then(Value::as_f64)
                    .map_or_else(|| "-".to_owned(), |v| format!("{v}"))
            };
            if details.is_object() {
                lines.push(format!(
                    "  {}: {} used, limit {}",
                    text(details, "exceededQuota"),
                    n("currentUsage"),
                    n("limit")
                ));
            }
        }
        "deployment_failed" => {
            if let Some(error) = details.get("error").and_then(Value::as_str) {
                lines.push(format!("  error: {error}"));
            }
            lines.push("  nothing was changed (the transaction was rolled back)".to_owned());
        }
        _ => {}
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_parse() {
        assert_eq!(
            parse_field_rename("task.title=subject").unwrap(),
            json!({"kind": "field", "object": "task", "from": "title", "to": "subject"})
        );
        assert!(parse_field_rename("title=subject").is_err());
        assert!(parse_field_rename("task.title=").is_err());
        assert_eq!(
            parse_object_rename("todo=task").unwrap(),
            json!({"kind": "object", "from": "todo", "to": "task"})
        );
        assert!(parse_object_rename("todo").is_err());
    }

    #[test]
    fn acks_are_checked() {
        assert!(check_acks(&["field:task.notes".into(), "object:task".into()]).is_ok());
        assert!(check_acks(&["task.notes".into()]).is_err());
        assert!(check_acks(&["field:task".into()]).is_err());
    }

    #[test]
    fn diff_lines_are_signed() {
        let diff = json!({"changes": [
            {"entityType": "object", "entityName": "task", "parentEntity": null, "changeType": "added"},
            {"entityType": "field", "entityName": "notes", "parentEntity": "task", "changeType": "removed"},
            {"entityType": "field", "entityName": "title", "parentEntity": "task", "changeType": "modified",
             "oldValue": {"type": "text"}, "newValue": {"type": "textarea", "required": true}}
        ]});
        assert_eq!(
            diff_lines(&diff, false),
            vec![
                "  + object  task",
                "  - field   task.notes",
                "  ~ field   task.title  (required: - → true; type: text → textarea)",
            ]
        );
    }

    #[test]
    fn refusal_details_are_readable() {
        let lines = detail_lines(
            "destructive_changes_unacknowledged",
            &json!({"unacknowledged": [{"entity": "field:task.notes", "table": "task", "column": "notes",
                "loses": "values", "rows": 3, "message": "drops column task.notes and its 3 non-null values"}]}),
        );
        assert_eq!(
            lines,
            vec![
                "  field:task.notes: drops column task.notes and its 3 non-null values (3 value(s) lost)",
                "  acknowledge with: --ack field:task.notes",
            ]
        );
    }
}
