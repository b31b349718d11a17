//! `objectos key create|list|revoke --tenant ID`: a tenant's API keys over HTTP. A new key's
//! plaintext is printed once; the server keeps only its hash.

use std::process::ExitCode;

use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{print_json, print_table, runtime, text, CliResult, Client, ConnectArgs};

/// Arguments of `objectos key`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Print the response's JSON `data` instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: KeyCommand,
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Create an API key; its plaintext is shown once.
    Create(CreateArgs),
    /// List a tenant's keys (metadata only).
    List(TenantArg),
    /// Revoke a key.
    Revoke(RevokeArgs),
}

#[derive(Debug, clap::Args)]
struct TenantArg {
    /// Tenant id.
    #[arg(long, value_name = "ID")]
    tenant: String,
}

#[derive(Debug, clap::Args)]
struct CreateArgs {
    /// Tenant id.
    #[arg(long, value_name = "ID")]
    tenant: String,
    /// What the key may do.
    #[arg(long, default_value = "full-access", value_parser = ["full-access", "read-only"])]
    scope: String,
    /// Lifetime: seconds, or a duration such as 30d, 12h, 2w; `never` (the default) for none.
    #[arg(long, value_name = "DURATION")]
    expires_in: Option<String>,
}

#[derive(Debug, clap::Args)]
struct RevokeArgs {
    /// Tenant id.
    #[arg(long, value_name = "ID")]
    tenant: String,
    /// The key's id (as `key list` shows it).
    key_id: String,
}

/// Runs `objectos key ...`.
pub fn run(args: &Args) -> ExitCode {
    let tenant = match &args.command {
        KeyCommand::Create(c) => &c.tenant,
        KeyCommand::List(l) => &l.tenant,
        KeyCommand::Revoke(r) => &r.tenant,
    };
    let context = format!("tenant {tenant}");
    match execute(args) {
        Ok(code) => code,
        Err(e) => e.report(Some(&context)),
    }
}

fn execute(args: &Args) -> CliResult<ExitCode> {
    let client = Client::from_args(&args.connect)?;
    let rt = runtime()?;
    rt.block_on(async {
        match &args.command {
            KeyCommand::Create(c) => create(&client, c, args.json).await,
            KeyCommand::List(l) => list(&client, &l.tenant, args.json).await,
            KeyCommand::Revoke(r) => revoke(&client, r, args.json).await,
        }
    })
}

/// `expiresIn` as the server reads it: a number of seconds, or the duration text as given.
fn expires_in(text: &str) -> Value {
    match text.trim().parse::<u64>() {
        Ok(secs) => json!(secs),
        Err(_) => json!(text.trim()),
    }
}

fn expires(key: &Value) -> &str {
    key.get("expiresAt")
        .and_then(Value::as_str)
        .unwrap_or("never")
}

async fn create(client: &Client, args: &CreateArgs, as_json: bool) -> CliResult<ExitCode> {
    let mut body = json!({ "scope": args.scope });
    if let Some(e) = &args.expires_in {
        body["expiresIn"] = expires_in(e);
    }
    let reply = client
        .call(
            Method::POST,
            &["api", "v1", "tenants", &args.tenant, "keys"],
            &[],
            Some(&body),
        )
        .await?;
    crate::output::secret(
        format!(
            "the API key {} of tenant {}",
            text(&reply.data, "keyId"),
            args.tenant
        ),
        text(&reply.data, "apiKey"),
    );
    if as_json {
        print_json(&reply.data);
        return Ok(ExitCode::SUCCESS);
    }
    let key = &reply.data;
    outln!(
        "Created key {} for tenant {} (scope {}, status {}, expires {}).",
        text(key, "keyId"),
        args.tenant,
        text(key, "scope"),
        text(key, "status"),
        expires(key)
    );
    outln!();
    outln!("  API key  {}", text(key, "apiKey"));
    outln!();
    outln!("This API key is shown ONCE: the server keeps only its hash. Store it now.");
    Ok(ExitCode::SUCCESS)
}

async fn list(client: &Client, tenant: &str, as_json: bool) -> CliResult<ExitCode> {
    let reply = client
        .call(
            Method::GET,
            &["api", "v1", "tenants", tenant, "keys"],
            &[],
            None,
        )
        .await?;
    if as_json {
        print_json(&reply.data);
        return Ok(ExitCode::SUCCESS);
    }
    let keys = reply.data.as_array().cloned().unwrap_or_default();
    if keys.is_empty() {
        outln!("tenant {tenant} has no keys");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|k| {
            vec![
                text(k, "keyId").to_owned(),
                text(k, "scope").to_owned(),
                text(k, "status").to_owned(),
                text(k, "createdAt").to_owned(),
                expires(k).to_owned(),
                text(k, "revokedAt").to_owned(),
            ]
        })
        .collect();
    print_table(
        &["KEY ID", "SCOPE", "STATUS", "CREATED", "EXPIRES", "REVOKED"],
        &rows,
    );
    outln!("\n{} key(s)", keys.len());
    Ok(ExitCode::SUCCESS)
}

async fn revoke(client: &Client, args: &RevokeArgs, as_json: bool) -> CliResult<ExitCode> {
    let reply = client
        .call(
            Method::DELETE,
            &["api", "v1", "tenants", &args.tenant, "keys", &args.key_id],
            &[],
            None,
        )
        .await?;
    if as_json {
        print_json(&reply.data);
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "Key {} of tenant {} revoked (at {}).",
        args.key_id,
        args.tenant,
        text(&reply.data, "revokedAt")
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_sends_numbers_as_numbers() {
        assert_eq!(expires_in("3600"), json!(3600));
        assert_eq!(expires_in("30d"), json!("30d"));
        assert_eq!(expires_in("never"), json!("never"));
    }
}
