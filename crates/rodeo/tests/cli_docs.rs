//! docs/cli.md against the real command line: every command has a section, every flag
//! of a command is named in its section and every flag a section names exists, and the
//! exit-code table is the one `--help` prints. Docs that fall out of date fail here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use clap::CommandFactory;
use rodeo::cli::{Cli, EXIT_CODES_HELP};

const DOC: &str = include_str!("../../../docs/cli.md");

/// A `### `rodeo …`` section: the commands its heading names and its text.
struct Section {
    commands: Vec<String>,
    text: String,
}

/// `### `rodeo services list|create|update|delete`` names four commands;
/// `### `rodeo deploy finish <ID>`` names one.
fn sections() -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for line in DOC.lines() {
        if let Some(heading) = line.strip_prefix("### `rodeo ") {
            let words: Vec<&str> = heading
                .trim_end_matches('`')
                .split_whitespace()
                .take_while(|w| !w.starts_with('<'))
                .collect();
            let (last, parents) = words.split_last().unwrap();
            let commands = last
                .split('|')
                .map(|w| parents.iter().chain([&w]).copied().collect::<Vec<_>>())
                .map(|p| p.join(" "))
                .collect();
            out.push(Section {
                commands,
                text: String::new(),
            });
        } else if line.starts_with("## ") {
            // The end of the command reference.
            out.push(Section {
                commands: Vec::new(),
                text: String::new(),
            });
        } else if let Some(s) = out.last_mut() {
            s.text.push_str(line);
            s.text.push('\n');
        }
    }
    out.retain(|s| !s.commands.is_empty());
    out
}

/// A command that does something (`help` excluded).
struct Leaf {
    path: String,
    /// Its own long flags, which the docs must name.
    flags: BTreeSet<String>,
    /// Their visible aliases, which the docs may name.
    aliases: BTreeSet<String>,
}

fn commands(cmd: &clap::Command, path: &str, out: &mut Vec<Leaf>) {
    let own = || {
        cmd.get_arguments()
            .filter(|a| !a.is_global_set() && !a.is_hide_set())
            .filter(|a| !["help", "version"].contains(&a.get_id().as_str()))
    };
    let flags = own()
        .filter_map(|a| a.get_long())
        .map(|l| format!("--{l}"))
        .collect();
    let aliases = own()
        .flat_map(|a| a.get_visible_aliases().unwrap_or_default())
        .map(|l| format!("--{l}"))
        .collect();
    let has_args = cmd.get_arguments().any(|a| a.get_long().is_some());
    let subs: Vec<&clap::Command> = cmd
        .get_subcommands()
        .filter(|s| s.get_name() != "help")
        .collect();
    // `deploy` records on its own and has subcommands too.
    if !path.is_empty() && (subs.is_empty() || has_args) {
        out.push(Leaf {
            path: path.to_owned(),
            flags,
            aliases,
        });
    }
    for s in subs {
        let p = format!("{path} {}", s.get_name());
        commands(s, p.trim_start(), out);
    }
}

/// `--flag` words in a text (`--git`, `--env`), without the `--` of `--output=json`
/// values or prose dashes.
fn flags_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("--") {
        let after = &rest[i + 2..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '-')
            .collect();
        let preceded_ok = rest[..i]
            .chars()
            .last()
            .is_none_or(|c| !c.is_alphanumeric());
        if preceded_ok && name.len() > 1 {
            out.insert(format!("--{}", name.trim_end_matches('-')));
        }
        rest = after;
    }
    out
}

#[test]
fn every_command_and_flag_is_documented_and_exists() {
    let mut cli = Vec::new();
    commands(&Cli::command(), "", &mut cli);
    let sections = sections();
    let globals = ["--server", "--token", "--output", "--help", "--version"];

    for Leaf { path, flags, .. } in &cli {
        let section = sections
            .iter()
            .find(|s| s.commands.contains(path))
            .unwrap_or_else(|| panic!("docs/cli.md has no section for `rodeo {path}`"));
        let named = flags_in(&section.text);
        let missing: Vec<&String> = flags.iter().filter(|f| !named.contains(*f)).collect();
        assert!(
            missing.is_empty(),
            "`rodeo {path}`: {missing:?} undocumented"
        );
    }
    for s in &sections {
        let known: BTreeSet<&String> = s
            .commands
            .iter()
            .map(|c| {
                cli.iter().find(|l| &l.path == c).unwrap_or_else(|| {
                    panic!("docs/cli.md documents `rodeo {c}`, which does not exist")
                })
            })
            .flat_map(|l| l.flags.iter().chain(&l.aliases))
            .collect();
        for f in flags_in(&s.text) {
            assert!(
                known.contains(&f) || globals.contains(&f.as_str()),
                "docs/cli.md names {f} under {:?}, which has no such flag",
                s.commands
            );
        }
    }
}

#[test]
fn the_exit_code_table_is_the_one_help_prints() {
    assert!(
        DOC.contains(&format!("```text\n{EXIT_CODES_HELP}\n```")),
        "docs/cli.md must hold EXIT_CODES_HELP verbatim"
    );
}
