//! The curl examples of the documentation, as a new user copies them: every one that sends a body
//! says its `Content-Type`, and a JSON body is sent as `application/json` (curl's `-d` alone sends
//! `application/x-www-form-urlencoded`, which the server refuses with 415 `unsupported_media_type`).
//!
//! The examples are read from the Markdown code blocks of `docs/**/*.md` and `README.md`; a command
//! continued with `\` is read whole, and a command inside `$(...)` or a pipe is read up to its end.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test panics by design

use std::path::{Path, PathBuf};

/// One curl command of a document.
#[derive(Debug)]
struct Example {
    /// `file:line` of its first line.
    place: String,
    /// Its words, shell quoting removed.
    words: Vec<String>,
}

impl Example {
    /// The body it sends (`-d`, `--data*`, `--json`, `-T`), unless `-G` turns data into the query.
    fn body(&self) -> Option<&str> {
        if self.words.iter().any(|w| w == "-G" || w == "--get") {
            return None;
        }
        const OPTIONS: [&str; 8] = [
            "-d",
            "--data",
            "--data-raw",
            "--data-binary",
            "--data-ascii",
            "--json",
            "-T",
            "--upload-file",
        ];
        let mut words = self.words.iter();
        while let Some(word) = words.next() {
            if OPTIONS.contains(&word.as_str()) {
                return words.next().map(String::as_str);
            }
            // `--data=VALUE`, `-dVALUE`.
            if let Some((name, value)) = word.split_once('=') {
                if name.starts_with("--") && OPTIONS.contains(&name) {
                    return Some(value);
                }
            }
            if let Some(value) = word.strip_prefix("-d").filter(|v| !v.is_empty()) {
                if !word.starts_with("--") {
                    return Some(value);
                }
            }
        }
        None
    }

    /// The values of its `-H`/`--header` options.
    fn headers(&self) -> Vec<&str> {
        self.words
            .windows(2)
            .filter(|pair| pair[0] == "-H" || pair[0] == "--header")
            .map(|pair| pair[1].as_str())
            .collect()
    }

    /// The media type of its `Content-Type` header, lowercase, if it sets one.
    fn content_type(&self) -> Option<String> {
        self.headers().into_iter().find_map(|h| {
            let (name, value) = h.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_ascii_lowercase())
        })
    }

    fn uses_json_option(&self) -> bool {
        self.words.iter().any(|w| w == "--json")
    }
}

/// True for a body that is JSON: literal JSON text, or a `.json` file or standard input
/// (`@file.json`, `@-`, which the examples only use for bundles and archives).
fn is_json_body(body: &str) -> bool {
    let body = body.trim_start();
    body.starts_with('{')
        || body.starts_with('[')
        || body == "@-"
        || (body.starts_with('@') && body.ends_with(".json"))
}

/// Splits shell text into words from its start, removing quotes, up to the end of the command
/// (an unquoted `|`, `;`, `&&`, `>`, `)` closing an enclosing `$(`, or `#` comment).
fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars().peekable();
    let mut depth = 0usize; // `$(` ... `)` inside a word
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some(next) = chars.next() {
                                word.push(next);
                            }
                        }
                        other => word.push(other),
                    }
                }
            }
            '$' if chars.peek() == Some(&'(') => {
                in_word = true;
                depth += 1;
                word.push(c);
            }
            ')' if depth > 0 => {
                depth -= 1;
                word.push(c);
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '|' | ';' | '>' | ')' | '&' => break,
            '#' if !in_word => break,
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Every curl command in the code blocks of `text`.
fn curl_examples(text: &str, file: &str) -> Vec<Example> {
    let lines: Vec<&str> = text.lines().collect();
    let mut examples = Vec::new();
    let mut in_code = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            i += 1;
            continue;
        }
        let start = i;
        // The logical line: `\`-continued lines joined.
        let mut logical = line.to_owned();
        while logical.trim_end().ends_with('\\') && i + 1 < lines.len() {
            let trimmed = logical.trim_end();
            logical = format!("{} {}", &trimmed[..trimmed.len() - 1], lines[i + 1]);
            i += 1;
        }
        i += 1;
        if !in_code {
            continue;
        }
        let mut rest = logical.as_str();
        while let Some(at) = find_curl(rest) {
            let words = shell_words(&rest[at..]);
            examples.push(Example {
                place: format!("{file}:{}", start + 1),
                words,
            });
            rest = &rest[at + 4..];
        }
    }
    examples
}

/// Where the word `curl` starts a command in `text`.
fn find_curl(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = text[from..].find("curl") {
        let at = from + found;
        let before = text[..at].chars().next_back();
        let after = text[at + 4..].chars().next();
        let starts = before.is_none_or(|c| c.is_whitespace() || c == '(' || c == '|' || c == ';');
        if starts && after.is_some_and(char::is_whitespace) {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            markdown_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

fn documentation() -> Vec<(String, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = vec![root.join("README.md")];
    markdown_files(&root.join("docs"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .display()
                .to_string();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

/// What is wrong with an example, if anything.
fn problem(example: &Example) -> Option<String> {
    let body = example.body()?;
    if example.uses_json_option() {
        return None; // `--json` sets Content-Type: application/json itself
    }
    match (example.content_type(), is_json_body(body)) {
        (None, _) => Some(
            "sends a body without a Content-Type (curl then says application/x-www-form-urlencoded: 415); add -H 'Content-Type: application/json'"
                .to_owned(),
        ),
        (Some(media), true) if media != "application/json" => Some(format!(
            "sends JSON as {media}; use -H 'Content-Type: application/json'"
        )),
        _ => None,
    }
}

#[test]
fn every_curl_example_with_a_json_body_says_application_json() {
    let mut checked = 0;
    let mut problems = Vec::new();
    for (file, text) in documentation() {
        for example in curl_examples(&text, &file) {
            if example.body().is_none() {
                continue;
            }
            checked += 1;
            if let Some(problem) = problem(&example) {
                problems.push(format!(
                    "{}: {problem}\n    {}",
                    example.place,
                    example.words.join(" ")
                ));
            }
        }
    }
    assert!(
        checked >= 20,
        "only {checked} curl examples with a body found: is the extraction broken?"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The extraction and the check on examples written for it: joined continuation lines, commands
/// inside `$(...)` and pipes, `-G` (data in the query), quoting, and each kind of mistake.
#[test]
fn the_check_reads_commands_as_the_shell_does_and_finds_each_mistake() {
    let text = r#"
Prose mentions curl -d '{"not": "code"}' outside a block.

```sh
KEY=$(curl -s -X POST localhost:7700/api/v1/tenants -H "Authorization: Bearer $ADMIN" \
  -d '{"orgId":"acme"}' | jq -r .credentials.apiKey)
curl -s -X POST localhost:7700/x -H "$H" -H 'Content-Type: application/json' -d '[1]'   # fine
curl -s -G localhost:7700/x --data-urlencode 'filter=["a","=",1]'
curl -s -X POST localhost:7700/x -H 'content-type: text/plain' -d 'x'
curl -s -X POST localhost:7700/x -H "Content-Type: text/plain" --data-binary @bundle.json
curl -s -X POST localhost:7700/x --json '{"a": 1}'
curl -s -X POST localhost:7700/x -H 'Content-Type: application/json' -d "{\"bundle\": $(cat b.json)}" > out
curl -s localhost:7700/healthz
```
"#;
    let examples = curl_examples(text, "t.md");
    let places: Vec<&str> = examples.iter().map(|e| e.place.as_str()).collect();
    assert_eq!(
        places,
        ["t.md:5", "t.md:7", "t.md:8", "t.md:9", "t.md:10", "t.md:11", "t.md:12", "t.md:13"]
    );
    let verdicts: Vec<Option<String>> = examples.iter().map(problem).collect();
    assert!(verdicts[0]
        .as_deref()
        .unwrap()
        .contains("without a Content-Type"));
    assert_eq!(examples[0].body(), Some(r#"{"orgId":"acme"}"#));
    assert!(verdicts[1].is_none());
    assert_eq!(examples[2].body(), None, "-G sends data in the query");
    assert!(
        verdicts[3].is_none(),
        "a deliberate non-JSON body with its type"
    );
    assert!(verdicts[4]
        .as_deref()
        .unwrap()
        .contains("sends JSON as text/plain"));
    assert!(verdicts[5].is_none(), "--json sets the header");
    assert_eq!(
        examples[6].body(),
        Some(r#"{"bundle": $(cat b.json)}"#),
        "{:?}",
        examples[6].words
    );
    assert!(verdicts[6].is_none());
    assert_eq!(examples[7].body(), None);
}
