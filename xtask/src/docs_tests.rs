//! The documentation shows what runs: every `cargo xtask` command in README.md, docs/ and
//! istio/README.md parses with this binary's arguments, and the README's `http_filters` entry is
//! envoy.yaml's own.

use std::path::PathBuf;

use clap::Parser;

use super::Cli;

/// README.md, every page of docs/ and istio/README.md, with their text.
fn pages() -> Vec<(PathBuf, String)> {
    let root = xtask::paths::root();
    let mut paths = vec![root.join("README.md"), root.join("istio/README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .map(|entry| entry.expect("a docs/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            (path, text)
        })
        .collect()
}

/// The lines of `text`'s fenced code blocks of `language` (`sh`, `yaml`), one block each, with
/// `\`-continued lines joined.
fn blocks(text: &str, language: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in text.lines() {
        let fence = line.trim_start();
        match current.as_mut() {
            None if fence.strip_prefix("```") == Some(language) => current = Some(Vec::new()),
            None => {}
            Some(_) if fence.starts_with("```") => blocks.extend(current.take()),
            Some(lines) => match lines.last_mut() {
                Some(last) if last.ends_with('\\') => {
                    last.pop();
                    last.push_str(line.trim_start());
                }
                _ => lines.push(line.to_string()),
            },
        }
    }
    blocks
}

#[test]
fn every_cargo_xtask_command_shown_parses() {
    let mut checked = 0;
    for (path, text) in pages() {
        for line in blocks(&text, "sh").into_iter().flatten() {
            // The command before a comment, `&&`, `|` or `;`: the part this binary parses.
            let command = line.split(['#', '|', ';', '&']).next().unwrap_or_default();
            let words: Vec<&str> = command.split_whitespace().collect();
            let Some(["cargo", "xtask"]) = words.get(..2) else {
                continue;
            };
            let args = std::iter::once("cargo xtask").chain(words[2..].iter().copied());
            if let Err(e) = Cli::try_parse_from(args) {
                panic!(
                    "{}: `{}` does not parse:\n{e}",
                    xtask::paths::relative(&path),
                    command.trim()
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 10,
        "only {checked} cargo xtask commands found in the docs"
    );
}

#[test]
fn the_readme_shows_envoy_yaml_s_http_filters_entry() {
    let root = xtask::paths::root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let envoy_yaml = std::fs::read_to_string(xtask::paths::envoy_yaml()).expect("envoy.yaml");
    let shown = blocks(&readme, "yaml")
        .into_iter()
        .find(|block| block.iter().any(|line| line.contains("http_filters:")))
        .expect("README.md shows a yaml block with the http_filters entry");
    let lines: Vec<&str> = envoy_yaml.lines().collect();
    let found = lines
        .windows(shown.len())
        .any(|window| window.iter().zip(&shown).all(|(a, b)| a == b));
    assert!(
        found,
        "README.md's http_filters block is not a verbatim part of envoy.yaml: copy it again from \
         envoy.yaml\n{}",
        shown.join("\n")
    );
}
