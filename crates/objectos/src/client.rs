//! The HTTP client of the control-plane API, shared by `objectos tenant` and `objectos key`.
//!
//! Where the server is (`--server`, `OBJECTOS_URL`, default `http://127.0.0.1:7700`), where the
//! admin token comes from (`OBJECTOS_ADMIN_TOKEN`, else `<data-dir>/admin-token`), the envelope
//! `{"success", "data", "meta"}` unwrapped, and every failure turned into one line on stderr with an
//! exit code: 1 when the server refused or could not be reached, 2 for usage and configuration.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt;
use reqwest::{Method, StatusCode, Url};
use serde_json::{Map, Value};

/// Default address of `objectos serve`.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:7700";

/// How long one ordinary request may take (streams have no overall limit).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Exit code of a refused request, an unreachable server or a failed operation.
pub const EXIT_FAILED: u8 = 1;
/// Exit code of bad flags and configuration (such as a missing admin token).
pub const EXIT_USAGE: u8 = 2;

/// Connection flags common to `objectos tenant ...` and `objectos key ...`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConnectArgs {
    /// Server URL [default: http://127.0.0.1:7700].
    #[arg(long, env = "OBJECTOS_URL", value_name = "URL", global = true)]
    pub server: Option<String>,
    /// Data directory holding `admin-token`, read when OBJECTOS_ADMIN_TOKEN is not set
    /// [default: ./objectos-data].
    #[arg(long, env = "OBJECTOS_DATA_DIR", value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
}

/// An error envelope `{"success": false, "error": {...}}` as the server sent it.
#[derive(Debug, Clone)]
pub struct ApiFailure {
    /// Machine-readable code (`invalid_transition`, `validation_error`, ...).
    pub code: String,
    /// For people.
    pub message: String,
    /// Structured context (issues, differences, quota results, ...).
    pub details: Value,
}

/// Why a command failed.
#[derive(Debug, Clone)]
pub enum CliError {
    /// Bad flags or configuration: exit 2.
    Usage(String),
    /// The server answered with an error envelope: exit 1.
    Api(ApiFailure),
    /// The server could not be reached, answered nonsense, or the operation failed: exit 1.
    Failed(String),
}

impl CliError {
    /// The exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => EXIT_USAGE,
            Self::Api(_) | Self::Failed(_) => EXIT_FAILED,
        }
    }

    /// Prints the error as one line on stderr (`objectos: <context>: <message>`), followed for
    /// validation errors by one indented line per issue, and returns the exit code.
    pub fn report(&self, context: Option<&str>) -> ExitCode {
        let prefix = match context {
            Some(c) => format!("objectos: {c}: "),
            None => "objectos: ".to_owned(),
        };
        match self {
            Self::Usage(message) | Self::Failed(message) => eprintln!("{prefix}{message}"),
            Self::Api(failure) => {
                let issues = failure.details.get("issues").and_then(Value::as_array);
                // The server's message repeats the first issue ("N validation issue(s); first:
                // ..."), which is listed below anyway: the head line says only how many.
                let message = match issues {
                    Some(list) if !list.is_empty() => failure
                        .message
                        .split_once("; first: ")
                        .map_or(failure.message.as_str(), |(head, _)| head),
                    _ => failure.message.as_str(),
                };
                eprintln!("{prefix}{message} [{}]", failure.code);
                if let Some(issues) = issues {
                    for issue in issues {
                        let path = issue.get("path").and_then(Value::as_str).unwrap_or("");
                        eprintln!(
                            "  {}: {} ({})",
                            if path.is_empty() { "(root)" } else { path },
                            issue.get("message").and_then(Value::as_str).unwrap_or(""),
                            issue.get("code").and_then(Value::as_str).unwrap_or("")
                        );
                    }
                }
            }
        }
        ExitCode::from(self.exit_code())
    }
}

/// Result of client calls.
pub type CliResult<T> = Result<T, CliError>;

/// A success envelope, split.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status (200, 201, 202).
    pub status: StatusCode,
    /// `data`.
    pub data: Value,
    /// `meta`.
    pub meta: Map<String, Value>,
    /// Other top-level keys (such as the one-time `credentials`).
    pub extra: Map<String, Value>,
}

/// One server-sent event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SseEvent {
    /// `event:` (defaults to `message`).
    pub event: String,
    /// `id:`, when given.
    pub id: Option<String>,
    /// `data:` lines joined by `\n`.
    pub data: String,
}

/// Where the admin token came from, to name it when the server rejects it.
#[derive(Debug, Clone)]
enum TokenSource {
    Env,
    File(PathBuf),
}

/// A client of one server with the admin token.
#[derive(Debug, Clone)]
pub struct Client {
    base: Url,
    token: String,
    source: TokenSource,
    http: reqwest::Client,
}

fn parse_server(text: &str) -> CliResult<Url> {
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("http://{text}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| {
        CliError::Usage(format!(
            "invalid server URL '{text}': {e} (expected e.g. {DEFAULT_SERVER})"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(CliError::Usage(format!(
            "invalid server URL '{text}': expected http:// or https:// (e.g. {DEFAULT_SERVER})"
        )));
    }
    Ok(url)
}

fn read_token_file(dir: &Path, explicit_dir: bool) -> CliResult<(String, TokenSource)> {
    let path = dir.join("admin-token");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let token = text.trim().to_owned();
            if token.is_empty() {
                return Err(CliError::Usage(format!(
                    "no admin token: {} is empty; set OBJECTOS_ADMIN_TOKEN",
                    path.display()
                )));
            }
            Ok((token, TokenSource::File(path)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(CliError::Usage(if explicit_dir {
                format!(
                "no admin token: {} does not exist; set OBJECTOS_ADMIN_TOKEN or pass the --data-dir of objectos serve",
                path.display()
            )
            } else {
                "no admin token: set OBJECTOS_ADMIN_TOKEN or run from the directory holding objectos-data/admin-token".to_owned()
            }))
        }
        Err(e) => Err(CliError::Usage(format!(
            "cannot read the admin token {}: {e}; set OBJECTOS_ADMIN_TOKEN instead",
            path.display()
        ))),
    }
}

/// The innermost cause of a transport error, in a few words.
fn transport_cause(error: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    let mut innermost = None;
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind;
            match io.kind() {
                ErrorKind::ConnectionRefused => return "connection refused".to_owned(),
                ErrorKind::ConnectionReset => return "connection reset".to_owned(),
                ErrorKind::TimedOut => return "timed out".to_owned(),
                _ => {}
            }
        }
        innermost = Some(e);
        source = e.source();
    }
    if error.is_timeout() {
        return "timed out".to_owned();
    }
    innermost.map_or_else(|| error.to_string(), ToString::to_string)
}

impl Client {
    /// Resolves the server and the admin token from flags and environment.
    pub fn from_args(args: &ConnectArgs) -> CliResult<Self> {
        let server = args
            .server
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(DEFAULT_SERVER);
        let base = parse_server(server.trim())?;
        let (token, source) = match std::env::var("OBJECTOS_ADMIN_TOKEN") {
            Ok(t) if !t.trim().is_empty() => (t.trim().to_owned(), TokenSource::Env),
            _ => match &args.data_dir {
                Some(dir) => read_token_file(dir, true)?,
                None => read_token_file(Path::new("objectos-data"), false)?,
            },
        };
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("objectos-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError::Failed(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            base,
            token,
            source,
            http,
        })
    }

    /// A client of another server (`objectos tenant move --to`): its URL, and its admin token from
    /// `token` or else the `admin-token` file of `data_dir`.
    pub fn other(server: &str, token: Option<String>, data_dir: Option<&Path>) -> CliResult<Self> {
        let base = parse_server(server.trim())?;
        let (token, source) = match (token.filter(|t| !t.trim().is_empty()), data_dir) {
            (Some(t), _) => (t.trim().to_owned(), TokenSource::Env),
            (None, Some(dir)) => read_token_file(dir, true)?,
            (None, None) => {
                return Err(CliError::Usage(
                    "the target server's admin token is needed: --to-admin-token (or OBJECTOS_TO_ADMIN_TOKEN) or --to-data-dir".to_owned(),
                ))
            }
        };
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("objectos-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError::Failed(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            base,
            token,
            source,
            http,
        })
    }

    /// The server's base URL, as shown to people (no trailing slash).
    pub fn server(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_owned()
    }

    /// `base` + path segments (each percent-encoded) + query pairs.
    pub fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        url
    }

    fn transport_error(&self, error: &reqwest::Error) -> CliError {
        let cause = transport_cause(error);
        if error.is_connect() {
            CliError::Failed(format!(
                "cannot reach {}: {cause} — is objectos serve running?",
                self.server()
            ))
        } else if error.is_timeout() {
            CliError::Failed(format!(
                "{} did not answer in time ({cause})",
                self.server()
            ))
        } else {
            CliError::Failed(format!("request to {} failed: {cause}", self.server()))
        }
    }

    fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        self.http.request(method, url).bearer_auth(&self.token)
    }

    /// Sends a request and unwraps the envelope; a non-success envelope is a [`CliError::Api`].
    pub async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> CliResult<Reply> {
        let mut request = self
            .request(method, self.url(segments, query))
            .timeout(REQUEST_TIMEOUT);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(&e))?;
        self.envelope(status, &bytes)
    }

    /// Sends a request whose success answer is a raw JSON document (no envelope), such as a
    /// tenant archive; errors still come as envelopes. `timeout` bounds the whole exchange.
    pub async fn call_raw(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&Value>,
        timeout: Duration,
    ) -> CliResult<(StatusCode, Vec<u8>)> {
        let mut request = self
            .request(method, self.url(segments, &[]))
            .timeout(timeout);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(&e))?;
        if status.is_success() {
            return Ok((status, bytes.to_vec()));
        }
        match self.envelope(status, &bytes) {
            Err(e) => Err(e),
            Ok(_) => Err(CliError::Failed(format!(
                "unexpected answer from {} (HTTP {status})",
                self.server()
            ))),
        }
    }

    fn envelope(&self, status: StatusCode, bytes: &[u8]) -> CliResult<Reply> {
        let unexpected = || {
            let text = String::from_utf8_lossy(bytes);
            let snippet: String = text.trim().chars().take(120).collect();
            CliError::Failed(format!(
                "unexpected answer from {} (HTTP {status}): {}",
                self.server(),
                if snippet.is_empty() {
                    "empty body".to_owned()
                } else {
                    snippet
                }
            ))
        };
        let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(bytes) else {
            return Err(unexpected());
        };
        match body.remove("success") {
            Some(Value::Bool(true)) => {
                let data = body.remove("data").unwrap_or(Value::Null);
                let meta = match body.remove("meta") {
                    Some(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                Ok(Reply {
                    status,
                    data,
                    meta,
                    extra: body,
                })
            }
            Some(Value::Bool(false)) => {
                let error = body.remove("error").unwrap_or(Value::Null);
                let text = |k: &str| error.get(k).and_then(Value::as_str).map(str::to_owned);
                let mut failure = ApiFailure {
                    code: text("code").unwrap_or_else(|| "error".to_owned()),
                    message: text("message").unwrap_or_else(|| format!("HTTP {status}")),
                    details: error.get("details").cloned().unwrap_or(Value::Null),
                };
                if status == StatusCode::UNAUTHORIZED {
                    let source = match &self.source {
                        TokenSource::Env => "OBJECTOS_ADMIN_TOKEN".to_owned(),
                        TokenSource::File(path) => path.display().to_string(),
                    };
                    failure.message = format!(
                        "{} refused the admin token from {source}: {}",
                        self.server(),
                        failure.message
                    );
                }
                Err(CliError::Api(failure))
            }
            _ => Err(unexpected()),
        }
    }

    /// Follows a server-sent event stream, calling `on_event` for each event until the server
    /// ends the stream (`Ok(())`) or the connection breaks (`Err`). `last_event_id` resumes.
    pub async fn follow_events(
        &self,
        segments: &[&str],
        last_event_id: Option<&str>,
        mut on_event: impl FnMut(SseEvent),
    ) -> CliResult<()> {
        let mut request = self
            .request(Method::GET, self.url(segments, &[]))
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        if !status.is_success() {
            let bytes = response
                .bytes()
                .await
                .map_err(|e| self.transport_error(&e))?;
            return self.envelope(status, &bytes).map(|_| ());
        }
        let mut parser = SseParser::default();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                CliError::Failed(format!(
                    "lost the event stream from {}: {}",
                    self.server(),
                    transport_cause(&e)
                ))
            })?;
            for event in parser.push(&chunk) {
                on_event(event);
            }
        }
        if let Some(event) = parser.finish() {
            on_event(event);
        }
        Ok(())
    }
}

/// An incremental `text/event-stream` parser.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: Vec<u8>,
    current: SseEvent,
    has_data: bool,
}

impl SseParser {
    /// Feeds bytes; returns the events they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.buffer.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(pos) = self.buffer.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = self.buffer.drain(..=pos).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8_lossy(&line).into_owned();
            if let Some(event) = self.line(&line) {
                events.push(event);
            }
        }
        events
    }

    /// The event left unterminated when the stream ended, if any.
    pub fn finish(&mut self) -> Option<SseEvent> {
        let rest = String::from_utf8_lossy(&std::mem::take(&mut self.buffer)).into_owned();
        if !rest.is_empty() {
            let _ = self.line(&rest);
        }
        self.line("")
    }

    fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            if !self.has_data {
                self.current = SseEvent::default();
                return None;
            }
            self.has_data = false;
            let mut event = std::mem::take(&mut self.current);
            if event.event.is_empty() {
                event.event = "message".to_owned();
            }
            return Some(event);
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => value.clone_into(&mut self.current.event),
            "id" => self.current.id = Some(value.to_owned()),
            "data" => {
                if self.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
        None
    }
}

/// A tokio current-thread runtime for one command.
pub fn runtime() -> CliResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the runtime: {e}")))
}

/// Text of a string field, or `-`.
pub fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("-")
}

/// Prints rows as aligned columns under a header.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let render = |cells: Vec<&str>| {
        let mut line = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(w - cell.chars().count() + 2));
            }
        }
        outln!("{}", line.trim_end());
    };
    render(header.to_vec());
    for row in rows {
        render(row.iter().map(String::as_str).collect());
    }
}

/// Pretty JSON on stdout.
pub fn print_json(value: &Value) {
    outln!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_events_split_across_chunks_and_comments() {
        let mut p = SseParser::default();
        assert!(p.push(b": keep-alive\n\nevent: st").is_empty());
        let events = p.push(b"ep\nid: 2\ndata: {\"a\":1}\r\n\r\nevent: status\ndata: x\ndata: y");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event, "step");
        assert_eq!(events[0].id.as_deref(), Some("2"));
        assert_eq!(events[0].data, "{\"a\":1}");
        let last = p.finish().unwrap();
        assert_eq!(
            (last.event.as_str(), last.data.as_str()),
            ("status", "x\ny")
        );
    }

    #[test]
    fn server_urls() {
        assert_eq!(
            parse_server("127.0.0.1:7700").unwrap().as_str(),
            "http://127.0.0.1:7700/"
        );
        assert!(parse_server("ftp://x").is_err());
        assert!(parse_server("http://").is_err());
    }
}
