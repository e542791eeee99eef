//! Usage errors reworded where clap's words would blame what nobody typed: a flag that its
//! environment variable set (`CITYFORM_ENDPOINT` for `--endpoint`), or `--refresh false`
//! written with a space where the flag takes `--refresh=false`.
//!
//! Clap words its errors from the parsed arguments, which include values it took from the
//! environment; [`reword`] looks at the command line as typed and the environment to name
//! the variable instead. Everything else is clap's error, unchanged.

use std::collections::BTreeMap;
use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, Command};

/// What is known of one flag for rewording: its long name, its variable, and the values it
/// takes after `=` only.
struct Flag {
    long: String,
    variable: Option<String>,
    hide_value: bool,
    equals_values: Vec<String>,
}

impl Flag {
    fn of(arg: &Arg) -> Option<Self> {
        let long = arg.get_long()?.to_owned();
        let equals_values = if arg.is_require_equals_set() {
            arg.get_possible_values()
                .iter()
                .map(|value| value.get_name().to_owned())
                .collect()
        } else {
            Vec::new()
        };
        Some(Self {
            long: format!("--{long}"),
            variable: arg
                .get_env()
                .and_then(|variable| variable.to_str())
                .map(str::to_owned),
            hide_value: arg.is_hide_env_values_set(),
            equals_values,
        })
    }
}

/// The flags of the command `typed` runs: those of each (sub)command named on the way
/// down from `command`, so that the global ones are among them.
fn flags(command: &Command, typed: &[&str]) -> Vec<Flag> {
    let mut found: Vec<Flag> = command.get_arguments().filter_map(Flag::of).collect();
    let named = typed
        .iter()
        .enumerate()
        .find_map(|(index, word)| Some((index, command.find_subcommand(word)?)));
    if let Some((index, subcommand)) = named {
        found.extend(flags(subcommand, &typed[index + 1..]));
    }
    found
}

/// `error`, reworded when it names a flag that was not typed but set by its environment
/// variable, or when a flag that takes `=VALUE` was given its value after a space.
/// `arguments` are the command line as typed, program name first.
pub fn reword(
    error: clap::Error,
    arguments: &[OsString],
    environment: &BTreeMap<String, String>,
    command: &Command,
) -> clap::Error {
    // `--help` and `--version` end parsing as errors too; they are not mistakes.
    if !error.use_stderr() {
        return error;
    }
    let typed: Vec<&str> = arguments
        .iter()
        .skip(1)
        .filter_map(|argument| argument.to_str())
        .collect();
    let flags = flags(command, &typed);
    if let Some(message) = space_before_value(&typed, &flags) {
        return clap::Error::raw(ErrorKind::ValueValidation, message);
    }
    let message = match error.kind() {
        ErrorKind::ArgumentConflict => conflict(&error, &typed, &flags, environment),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            invalid_value(&error, &typed, &flags, environment)
        }
        _ => None,
    };
    match message {
        Some(message) => clap::Error::raw(error.kind(), message),
        None => error,
    }
}

/// `--refresh false`: the flag takes its value after `=`, so clap read `false` as another
/// argument. Said whatever clap made of it.
fn space_before_value(typed: &[&str], flags: &[Flag]) -> Option<String> {
    typed.windows(2).find_map(|pair| {
        let flag = flags.iter().find(|flag| flag.long == pair[0])?;
        flag.equals_values
            .iter()
            .any(|value| value == pair[1])
            .then(|| {
                format!(
                    "`{} {}`: `{}` takes its value after `=`, so `{}` was read as another \
                 argument; write `{}={}`\n",
                    pair[0], pair[1], pair[0], pair[1], pair[0], pair[1]
                )
            })
    })
}

/// The variable that set the flag `shown` names (`--endpoint <URL>`), when the flag was not
/// typed and its variable is set.
fn from_environment<'f>(
    shown: &str,
    typed: &[&str],
    flags: &'f [Flag],
    environment: &BTreeMap<String, String>,
) -> Option<(&'f Flag, &'f str)> {
    let long = shown.split([' ', '=', '[']).next()?;
    let flag = flags
        .iter()
        .find(|flag| flag.long == long && flag.variable.is_some())?;
    let variable = flag.variable.as_deref()?;
    let was_typed = typed.iter().any(|argument| {
        *argument == flag.long
            || argument
                .strip_prefix(flag.long.as_str())
                .is_some_and(|rest| rest.starts_with('='))
    });
    let is_set = environment
        .get(variable)
        .is_some_and(|value| !value.is_empty());
    (!was_typed && is_set).then_some((flag, variable))
}

fn context_strings(error: &clap::Error, kind: ContextKind) -> Vec<String> {
    match error.get(kind) {
        Some(ContextValue::String(value)) => vec![value.clone()],
        Some(ContextValue::Strings(values)) => values.clone(),
        _ => Vec::new(),
    }
}

/// `--emulator` with `CITYFORM_ENDPOINT` set: name the variable, not `--endpoint`.
fn conflict(
    error: &clap::Error,
    typed: &[&str],
    flags: &[Flag],
    environment: &BTreeMap<String, String>,
) -> Option<String> {
    let mut shown = context_strings(error, ContextKind::InvalidArg);
    shown.extend(context_strings(error, ContextKind::PriorArg));
    let mut variables = Vec::new();
    let mut typed_flags = Vec::new();
    let described: Vec<String> = shown
        .iter()
        .map(
            |shown| match from_environment(shown, typed, flags, environment) {
                Some((flag, variable)) => {
                    variables.push(format!("`{variable}`"));
                    format!(
                        "`{variable}` (set in the environment, it stands for `{}`)",
                        flag.long
                    )
                }
                None => {
                    let flag = format!("`{}`", shown.split([' ', '[']).next().unwrap_or(shown));
                    typed_flags.push(flag.clone());
                    flag
                }
            },
        )
        .collect();
    if variables.is_empty() {
        return None;
    }
    let (first, rest) = described.split_first()?;
    let unset: String = variables
        .iter()
        .map(|name| format!("-u {}", name.trim_matches('`')))
        .collect::<Vec<_>>()
        .join(" ");
    let otherwise = if typed_flags.is_empty() {
        String::new()
    } else {
        format!(", or leave out {}", typed_flags.join(" and "))
    };
    Some(format!(
        "{first} cannot be used with {}\n  hint: unset {} for this run (`env {unset} cityform \
         ...`){otherwise}\n",
        rest.join(" or "),
        variables.join(" and "),
    ))
}

/// `CITYFORM_HISTORY_RETENTION=many`: the value is the variable's, not a flag's.
fn invalid_value(
    error: &clap::Error,
    typed: &[&str],
    flags: &[Flag],
    environment: &BTreeMap<String, String>,
) -> Option<String> {
    let shown = context_strings(error, ContextKind::InvalidArg);
    let (flag, variable) = shown
        .iter()
        .find_map(|shown| from_environment(shown, typed, flags, environment))?;
    let value = if flag.hide_value {
        String::new()
    } else {
        format!(
            " `{}`",
            environment.get(variable).map_or("", String::as_str)
        )
    };
    let reason = std::error::Error::source(error)
        .map(|source| format!(": {source}"))
        .unwrap_or_default();
    Some(format!(
        "`{variable}` (set in the environment, it stands for `{}`) has an invalid value{value}{reason}\n  hint: correct or unset `{variable}`\n",
        flag.long
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;
    use crate::cli::Cli;

    fn parse(arguments: &[&str], environment: &[(&str, &str)]) -> String {
        let arguments: Vec<OsString> = std::iter::once("cityform")
            .chain(arguments.iter().copied())
            .map(OsString::from)
            .collect();
        let environment: BTreeMap<String, String> = environment
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        let command = Cli::command();
        // Clap reads the process's environment; the test gives the variables as typed
        // values instead, which clap words the same way.
        let error = command
            .clone()
            .try_get_matches_from(&arguments)
            .unwrap_err();
        reword(error, &arguments, &environment, &command).to_string()
    }

    #[test]
    fn a_space_before_a_value_that_needs_equals_is_explained() {
        let message = parse(&["plan", "--refresh", "false"], &[]);
        assert!(
            message.starts_with(
                "error: `--refresh false`: `--refresh` takes its value after `=`, so `false` \
                 was read as another argument; write `--refresh=false`"
            ),
            "{message}"
        );
        let message = parse(&["apply", "--refresh", "true"], &[]);
        assert!(message.contains("write `--refresh=true`"), "{message}");
    }

    #[test]
    fn help_is_not_a_mistake() {
        let arguments: Vec<OsString> = ["cityform", "plan", "--help"]
            .into_iter()
            .map(OsString::from)
            .collect();
        let command = Cli::command();
        let help = command
            .clone()
            .try_get_matches_from(&arguments)
            .unwrap_err();
        let kept = reword(help, &arguments, &BTreeMap::new(), &command);
        assert_eq!(kept.kind(), ErrorKind::DisplayHelp);
    }

    #[test]
    fn other_errors_stay_clap_s() {
        let message = parse(&["plan", "--refresh=maybe"], &[]);
        assert!(message.contains("invalid value 'maybe'"), "{message}");
        let message = parse(
            &["apply", "--emulator", "--endpoint", "http://127.0.0.1:1"],
            &[("CITYFORM_ENDPOINT", "http://127.0.0.1:2")],
        );
        assert!(
            message.contains("the argument '--emulator' cannot be used with '--endpoint <URL>'"),
            "{message}"
        );
    }
}
