//! `cityform completions SHELL`: a completion script for bash, zsh, fish, PowerShell or
//! elvish, generated from the command-line definition itself.

use clap::{Args, CommandFactory as _};
use clap_complete::Shell;

use super::{Cli, Outcome, output};

/// Arguments of `cityform completions`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Install, for example:
  bash:        cityform completions bash > ~/.local/share/bash-completion/completions/cityform
  zsh:         cityform completions zsh > \"${fpath[1]}/_cityform\"
  fish:        cityform completions fish > ~/.config/fish/completions/cityform.fish
  PowerShell:  cityform completions powershell >> $PROFILE")]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_enum, value_name = "SHELL")]
    shell: Shell,
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    let mut command = Cli::command();
    let mut bytes = Vec::new();
    clap_complete::generate(shell, &mut command, "cityform", &mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

pub(super) fn run(args: &CompletionsArgs) -> anyhow::Result<Outcome> {
    output::print(&script(args.shell))?;
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_every_command() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell] {
            let script = script(shell);
            for command in [
                "validate",
                "plan",
                "apply",
                "emulator",
                "schema",
                "completions",
            ] {
                assert!(script.contains(command), "{shell}: no `{command}`");
            }
            assert!(script.contains("detailed-exitcode"), "{shell}");
        }
    }
}
