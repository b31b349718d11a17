//! `objectos --help` as a new user reads it: the summary at the top names every command.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test panics by design

use std::process::{Command, Stdio};

fn help(flag: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_objectos"))
        .arg(flag)
        .stdin(Stdio::null())
        .output()
        .expect("run objectos");
    assert_eq!(out.status.code(), Some(0), "{flag}");
    String::from_utf8(out.stdout).expect("help is UTF-8")
}

/// The names in the `Commands:` section (without clap's own `help`).
fn commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_summary_names_every_command_of_the_list() {
    for flag in ["--help", "-h"] {
        let text = help(flag);
        let summary = text.split("Usage:").next().unwrap();
        let names = commands(&text);
        for expected in [
            "serve",
            "validate",
            "tenant",
            "key",
            "deploy",
            "deployments",
            "control",
            "bench",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} missing from the command list:\n{text}"
            );
        }
        let words: Vec<&str> = summary
            .split(|c: char| !c.is_ascii_alphanumeric())
            .collect();
        for name in &names {
            assert!(
                words.contains(&name.as_str()),
                "{flag}: the summary does not name {name}:\n{summary}"
            );
        }
    }
}
