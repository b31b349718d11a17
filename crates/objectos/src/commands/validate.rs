//! `objectos validate FILE [--as KIND] [--json]`: check a document before sending it.
//!
//! Exit codes: 0 valid, 1 invalid, 2 the file cannot be read or parsed (or KIND is unknown).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use objectos_spec::{infer, kind, Issue, IssueCode, Issues, JsonPath, Kind, KINDS};
use serde_json::{json, Value};

/// Arguments of `objectos validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The document: JSON, or YAML when the name ends in .yaml/.yml; `-` reads standard input.
    file: PathBuf,
    /// The schema to check against (for example DeployBundle, TenantProvisioningRequest);
    /// inferred from the document's shape when left out.
    #[arg(long = "as", value_name = "KIND")]
    kind: Option<String>,
    /// Print `{"valid", "kind", "issues": [{"path", "code", "message"}]}` instead of text (at most
    /// 100 issues; beyond, also `"truncated": true` and `"total"`).
    #[arg(long)]
    json: bool,
}

const EXIT_INVALID: u8 = 1;
const EXIT_UNREADABLE: u8 = 2;

/// Runs the command and returns its exit code.
pub fn run(args: &Args) -> ExitCode {
    let label = args.file.display().to_string();
    let document = match read_document(&args.file) {
        Ok(value) => value,
        Err(message) => {
            eprintln!("objectos validate: {label}: {message}");
            return ExitCode::from(EXIT_UNREADABLE);
        }
    };

    let (chosen, inferred): (Option<&Kind>, bool) = match &args.kind {
        Some(name) => match kind(name) {
            Some(k) => (Some(k), false),
            None => {
                let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
                eprintln!(
                    "objectos validate: unknown kind '{name}'; expected one of: {}",
                    names.join(", ")
                );
                return ExitCode::from(EXIT_UNREADABLE);
            }
        },
        None => (infer(&document).map(|i| i.kind), true),
    };

    let (issues, total) = match chosen {
        Some(k) => issues_of(k, &document),
        None => (
            vec![Issue::new(
            JsonPath::root(),
            IssueCode::InvalidType,
            format!(
                "Cannot infer the kind of a document that is a {} with no known keys; name it with --as KIND",
                objectos_spec::json_type_name(&document)
                ),
            )],
            1,
        ),
    };
    // The document is not needed any more: free it before the report is built.
    drop(document);
    let valid = issues.is_empty();
    let kind_name = chosen.map(|k| k.name);

    if args.json {
        if inferred {
            if let Some(name) = kind_name {
                eprintln!("objectos validate: kind inferred from the document's shape: {name}");
            }
        }
        let mut out = json!({"valid": valid, "kind": kind_name, "issues": issues});
        if total > issues.len() {
            out["truncated"] = json!(true);
            out["total"] = json!(total);
        }
        outln!("{out}");
    } else {
        print_human(&label, kind_name, inferred, &issues, total);
    }
    if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INVALID)
    }
}

/// Every issue the server would report for `document` as `kind`: a deploy bundle goes through
/// deploy's own validator (references, manifest lists, checksum, seed data, what the column mapping
/// refuses), a provisioning request also through the check of its `metadata.seed` bundle, so
/// `validate` accepts exactly what the server accepts; other kinds are their schema and rules.
/// The first issues (at most [`objectos_spec::MAX_ISSUES`]) and how many were found.
fn issues_of(kind: &Kind, document: &Value) -> (Vec<Issue>, usize) {
    match kind.name {
        // Nothing is deployed yet as far as a local file knows: every reference must be in the bundle.
        "DeployBundle" => match objectos_core::deploy::validate_bundle_counted(document, &[]) {
            Ok(_) => (Vec::new(), 0),
            Err(e) => (e.issues, e.total),
        },
        "TenantProvisioningRequest" => {
            let validated = kind.validate(document);
            let mut issues = Issues::new();
            issues.count_dropped(validated.total.saturating_sub(validated.issues.len()));
            let seed_clean = validated.issues.iter().all(|i| !starts_with_seed(i));
            issues.extend(validated.issues);
            if seed_clean {
                let metadata = validated.value.get("metadata").and_then(Value::as_object);
                issues.extend(objectos_core::seed::seed_issues(metadata));
            }
            issues.into_parts()
        }
        _ => {
            let validated = kind.validate(document);
            (validated.issues, validated.total)
        }
    }
}

/// True for an issue inside `metadata.seed` (the schema's own, before the bundle check).
fn starts_with_seed(issue: &Issue) -> bool {
    use objectos_spec::PathSegment;
    issue.path.segments().starts_with(&[
        PathSegment::Key("metadata".to_owned()),
        PathSegment::Key("seed".to_owned()),
    ])
}

fn print_human(label: &str, kind: Option<&str>, inferred: bool, issues: &[Issue], total: usize) {
    if let (Some(name), true) = (kind, inferred) {
        outln!(
            "{label}: kind inferred from the document's shape: {name} (use --as KIND to choose)"
        );
    }
    let kind = kind.unwrap_or("document");
    if issues.is_empty() {
        outln!("{label}: valid {kind}");
        return;
    }
    if total > issues.len() {
        outln!(
            "{label}: invalid {kind}, {total} issue(s), the first {} listed:",
            issues.len()
        );
    } else {
        outln!("{label}: invalid {kind}, {total} issue(s):");
    }
    for issue in issues {
        outln!("  {issue}");
    }
}

/// Reads and parses the document; the error is one line saying what went wrong.
pub(crate) fn read_document(path: &Path) -> Result<Value, String> {
    let text = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        text
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?
    };
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let yaml = || serde_yaml::from_str::<Value>(&text).map_err(|e| format!("not valid YAML: {e}"));
    match extension.to_ascii_lowercase().as_str() {
        "yaml" | "yml" => yaml(),
        "json" => serde_json::from_str(&text).map_err(|e| format!("not valid JSON: {e}")),
        // Unknown extension or stdin: JSON, else YAML (a superset), reporting the JSON error if both fail.
        _ => serde_json::from_str(&text).or_else(|json_error| {
            yaml().map_err(|_| format!("neither JSON nor YAML; as JSON: {json_error}"))
        }),
    }
}
