//! `objectos serve`: run the server until SIGINT or SIGTERM.

use std::process::ExitCode;

use objectos_server::app::RunningApp;

use crate::config::{LogFormat, ServeArgs, ServeConfig};

/// Colours in text logs only when a person watches them: stderr is a terminal and `NO_COLOR` is
/// unset. Redirected to a file or a pipe (systemd, docker, `2>server.log`), escape codes would
/// only clutter the lines and break grep.
fn log_colours(stderr_is_terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OBJECTOS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn"));
    let ansi = log_colours(
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
        std::env::var_os("NO_COLOR"),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    // A second initialisation (never in the binary) is harmless, so its error is ignored.
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only SIGINT stops the server");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// Runs the server.
pub fn run(args: &ServeArgs) -> ExitCode {
    let config = match ServeConfig::resolve(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("objectos serve: {e:#}");
            return ExitCode::from(2);
        }
    };
    init_tracing(config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("objectos serve: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        if let Some(file) = &config.file {
            tracing::info!(file = %file.display(), "settings file read");
        }
        let data_dir = config.app.data_dir.clone();
        let app = match RunningApp::start(config.app).await {
            Ok(app) => app,
            Err(e) => {
                eprintln!("objectos serve: {e}");
                return ExitCode::FAILURE;
            }
        };
        if let Some(token) = &app.new_admin_token {
            eprintln!(
                "objectos: created the admin token (shown once; also saved to {}):\n\n    {token}\n",
                app.admin_token_path.display()
            );
        }
        tracing::info!(addr = %app.addr, data_dir = %data_dir.display(), "objectos listening");
        // Informational: a closed stdout (no reader) must neither stop nor fail the server.
        if let Err(e) = crate::output::try_line(format_args!("objectos listening on http://{}", app.addr)) {
            tracing::warn!(error = %e, "cannot write the listening address to standard output");
        }
        match app.run_until(shutdown_signal()).await {
            Ok(()) => {
                tracing::info!("stopped");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("objectos serve: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
