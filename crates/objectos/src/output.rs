//! Standard output of every command, written so that a closed or failing stdout (`| head`,
//! a reader that went away, a full disk) never panics.
//!
//! `outln!` panics when stdout cannot be written ("failed printing to stdout: Broken pipe"),
//! which killed the command half-way with exit 101 and, for `tenant create`, lost the one-time
//! API key. Commands print through `outln!` instead: the first failed write is
//! remembered and every later write is skipped, so the command finishes its work (a provisioning
//! is not abandoned half-way because nobody reads its progress). [`finish`] then turns the
//! outcome into the exit code: [`EXIT_OUTPUT`] when the work was done but its output was lost,
//! and each one-time secret the command printed ([`secret`]) is written to stderr, so it is not
//! lost with the output.

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::{Mutex, PoisonError};

/// Exit code of a command whose work was done but whose standard output could not be written
/// (closed pipe, full disk). A command that failed keeps its own exit code (1 or 2).
pub const EXIT_OUTPUT: u8 = 3;

/// A secret shown once (an API key), kept until the command ends in case stdout lost it.
struct Secret {
    what: String,
    value: String,
}

struct State {
    /// The first write error; no write is attempted after it.
    error: Option<io::Error>,
    secrets: Vec<Secret>,
}

static STATE: Mutex<State> = Mutex::new(State {
    error: None,
    secrets: Vec::new(),
});

fn state() -> std::sync::MutexGuard<'static, State> {
    // A panic while holding the lock leaves the state consistent (two plain fields).
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Writes formatted text to stdout unless an earlier write failed; a failure is remembered.
pub fn write(args: fmt::Arguments<'_>) {
    let mut state = state();
    if state.error.is_some() {
        return;
    }
    let mut stdout = io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args) {
        state.error = Some(e);
    }
}

/// Writes one line (the text and `\n`).
pub fn line(args: fmt::Arguments<'_>) {
    write(format_args!("{args}\n"));
}

/// Writes one line and reports a failure instead of remembering it: for `serve`, whose
/// "listening" line is informational and must not stop or fail the server.
pub fn try_line(args: fmt::Arguments<'_>) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_fmt(format_args!("{args}\n"))?;
    stdout.flush()
}

/// Flushes stdout; a failure is remembered like a failed write.
pub fn flush() {
    let mut state = state();
    if state.error.is_some() {
        return;
    }
    if let Err(e) = io::stdout().lock().flush() {
        state.error = Some(e);
    }
}

/// Registers a one-time secret the command prints (`what` names it: "the API key of tenant
/// acme"): should stdout fail, [`finish`] writes it to stderr.
pub fn secret(what: impl Into<String>, value: &str) {
    if value.is_empty() || value == "-" {
        return;
    }
    state().secrets.push(Secret {
        what: what.into(),
        value: value.to_owned(),
    });
}

/// The exit code of a command that returned `code`: `code` itself unless the command succeeded
/// but its output could not be written, then [`EXIT_OUTPUT`]. When stdout failed, each secret is
/// written to stderr on its own line, and a failure other than a closed pipe is said in one line
/// (a closed pipe is what `| head` does on purpose: no message).
pub fn finish(code: ExitCode) -> ExitCode {
    flush();
    let mut state = state();
    let Some(error) = state.error.take() else {
        return code;
    };
    let mut stderr = io::stderr().lock();
    if error.kind() != io::ErrorKind::BrokenPipe {
        let _ = writeln!(stderr, "objectos: cannot write to standard output: {error}");
    }
    for secret in state.secrets.drain(..) {
        let _ = writeln!(
            stderr,
            "objectos: standard output could not be written; {}, shown once, is: {}",
            secret.what, secret.value
        );
    }
    let _ = stderr.flush();
    if code == ExitCode::SUCCESS {
        ExitCode::from(EXIT_OUTPUT)
    } else {
        code
    }
}

/// `outln!` that never panics: see the module documentation.
macro_rules! outln {
    () => {
        $crate::output::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}
