//! Everything generated from the command-line definition: `--help` of every command and
//! subcommand (insta snapshots of the real binary's output), the CLI reference
//! `docs/cli.md` and the man pages in `docs/man/`. When the commands change, one command
//! regenerates all of them:
//!
//! ```sh
//! INSTA_UPDATE=always cargo test --test it cli_help::
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::cli_support;
use crate::generated_support;

use std::fmt::Write as _;

use clap::CommandFactory as _;
use cli_support::Cityform;
use generated_support::{check_generated, check_no_others};

/// What regenerates the files this test checks.
const REGENERATE: &str = "INSTA_UPDATE=always cargo test --test it cli_help::";

/// The width help is wrapped to in the reference, whatever the terminal.
const WIDTH: usize = 100;

/// The command-line definition, built (globals propagated, bin names set) at a fixed width.
fn definition() -> clap::Command {
    let mut command = cityform::cli::Cli::command()
        .term_width(WIDTH)
        .max_term_width(WIDTH);
    command.build();
    command
}

/// Every command as the words that name it (`[]` for `cityform` itself), parents first,
/// without clap's own `help` subcommand.
fn command_paths(command: &clap::Command, prefix: &[String], paths: &mut Vec<Vec<String>>) {
    paths.push(prefix.to_vec());
    for subcommand in command.get_subcommands() {
        if subcommand.get_name() == "help" || subcommand.is_hide_set() {
            continue;
        }
        let mut path = prefix.to_vec();
        path.push(subcommand.get_name().to_owned());
        command_paths(subcommand, &path, paths);
    }
}

fn all_paths() -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    command_paths(&definition(), &[], &mut paths);
    paths
}

/// The subcommand at `path`.
fn find<'a>(command: &'a mut clap::Command, path: &[String]) -> &'a mut clap::Command {
    path.iter().fold(command, |command, name| {
        command.find_subcommand_mut(name).unwrap()
    })
}

fn title(path: &[String]) -> String {
    std::iter::once("cityform")
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn every_command_has_a_help_snapshot() {
    let paths = all_paths();
    assert!(
        paths.len() >= 7,
        "expected cityform and its subcommands, found {paths:?}"
    );
    for path in paths {
        let run = Cityform::new().args(&path).arg("--help").run();
        run.success();
        assert!(
            run.stderr.is_empty(),
            "{}: help wrote to stderr:\n{}",
            title(&path),
            run.stderr
        );
        let name = if path.is_empty() {
            "help".to_owned()
        } else {
            format!("help_{}", path.join("_"))
        };
        insta::with_settings!({ description => format!("{} --help", title(&path)), omit_expression => true }, {
            insta::assert_snapshot!(name, run.stdout);
        });
    }
}

#[test]
fn short_help_is_a_summary_of_the_long_one() {
    let short = Cityform::new().args(["plan", "-h"]).run();
    let long = Cityform::new().args(["plan", "--help"]).run();
    short.success();
    long.success();
    assert!(short.stdout.len() < long.stdout.len());
    assert!(short.stdout.contains("--detailed-exitcode"));
}

/// Every command's `-h` is no longer than its `--help`, and an option with more to say
/// than its summary says the summary first, then the rest.
#[test]
fn every_short_help_is_a_summary_of_the_long_one() {
    let mut root = definition();
    let mut summarised = 0;
    for path in all_paths() {
        let short = Cityform::new().args(&path).arg("-h").run().stdout;
        let long = Cityform::new().args(&path).arg("--help").run().stdout;
        let command = find(&mut root, &path);
        assert!(
            short.len() <= long.len(),
            "{}: -h is longer than --help:\n{short}\n---\n{long}",
            title(&path)
        );
        for argument in command.get_arguments() {
            // clap's own `--help` says how it differs from `-h` in each.
            if argument.get_id() == "help" {
                continue;
            }
            let (Some(help), Some(long_help)) = (argument.get_help(), argument.get_long_help())
            else {
                continue;
            };
            let (help, long_help) = (help.to_string(), long_help.to_string());
            assert!(
                long_help.starts_with(help.trim_end_matches('.')),
                "{} --{}: the long help does not start with the summary `{help}`",
                title(&path),
                argument.get_id()
            );
            summarised += 1;
        }
    }
    assert!(
        summarised >= 5,
        "only {summarised} options have a long help"
    );
}

/// `docs/cli.md`: each command's long help, in the order of the command tree.
fn cli_reference() -> String {
    let mut root = definition();
    let mut text = String::from(
        "# CLI reference\n\n\
         <!-- Generated from the command-line definition; do not edit. Regenerate with:\n     \
         INSTA_UPDATE=always cargo test --test it cli_help:: -->\n\n\
         Every command and its options, exactly as `cityform COMMAND --help` prints them. Options \
         that read an environment variable show it as `[env: NAME=]`. Exit codes are the same \
         for every command: 0 success (or no changes), 1 error, 2 changes present (only with \
         `--detailed-exitcode`: `apply` with the same flags would call the service or change \
         the state; orphans left alone are listed but are not changes; a plan that cannot be \
         applied, because preventDestroy refuses a delete or a name to create is taken, exits \
         1 after printing it), 130 interrupted.\n\n\
         Every option that takes a `DURATION`, and the duration form of `history --since`, reads \
         one grammar: numbers each followed by a unit, written together or apart (`250ms`, \
         `30s`, `5m`, `1h30m`, `7d`, `2w`, `1h 30min`), or `0`. The units are `ms`, `s`, `m`, \
         `h`, `d`, `w`, also `ns`, `us`, `M` (months of 30.44 days) and `y` (years of 365.25 \
         days), and their long names (`minutes`, `hours`, ...); a bare whole number counts as \
         seconds (`30` is `30s`).\n\n",
    );
    let paths = all_paths();
    for path in &paths {
        let anchor = title(path).replace(' ', "-");
        let _ = writeln!(text, "- [`{}`](#{anchor})", title(path));
    }
    text.push('\n');
    for path in &paths {
        let command = find(&mut root, path);
        let help = command.render_long_help().to_string();
        let help: Vec<&str> = help.lines().map(str::trim_end).collect();
        let _ = write!(
            text,
            "## {}\n\n```text\n{}\n```\n\n",
            title(path),
            help.join("\n").trim_end()
        );
    }
    text.truncate(text.trim_end().len());
    text.push('\n');
    text
}

#[test]
fn the_cli_reference_is_generated_from_the_definition() {
    let reference = cli_reference();
    for path in all_paths() {
        assert!(reference.contains(&format!("## {}\n", title(&path))));
    }
    check_generated("docs/cli.md", &reference, REGENERATE);
}

/// The man page of the command at `path`: `cityform.1`, `cityform-plan.1`, ...
fn man_page(path: &[String]) -> (String, String) {
    let mut root = definition();
    let command = find(&mut root, path).clone();
    let name = title(path).replace(' ', "-");
    let command = command.display_name(name.clone());
    let mut bytes = Vec::new();
    clap_mangen::Man::new(command)
        .title(name.to_uppercase())
        .section("1")
        .source(format!("cityform {}", env!("CARGO_PKG_VERSION")))
        .manual("cityform manual")
        .render(&mut bytes)
        .unwrap();
    (format!("{name}.1"), String::from_utf8(bytes).unwrap())
}

#[test]
fn man_pages_are_generated_from_the_definition() {
    let mut names = Vec::new();
    for path in all_paths() {
        let (name, page) = man_page(&path);
        assert!(page.starts_with(".ie \\n(.g .ds Aq \\(aq") || page.contains(".TH "));
        check_generated(&format!("docs/man/{name}"), &page, REGENERATE);
        names.push(name);
    }
    check_no_others("docs/man", ".1", &names, REGENERATE);
}

#[test]
fn completions_are_printed_for_every_supported_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let run = Cityform::new().args(["completions", shell]).run();
        run.success();
        assert!(run.stdout.contains("cityform"), "{shell}");
        assert!(run.stdout.contains("detailed-exitcode"), "{shell}");
    }
    // A usage error is exit 1, like every error: 2 means "changes present".
    let run = Cityform::new().args(["completions", "tcsh"]).run();
    run.failure();
    assert!(
        run.stderr.starts_with("error: invalid value 'tcsh'"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_bash_completion_script_is_valid_bash() {
    let run = Cityform::new().args(["completions", "bash"]).run();
    run.success();
    let directory = tempfile::tempdir().unwrap();
    let script = directory.path().join("cityform.bash");
    std::fs::write(&script, &run.stdout).unwrap();
    let status = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    assert!(status.success(), "`bash -n` refused the completion script");
}
