//! The `cityform` binary: parse the command line, run, map the result to an exit code.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = cityform::cli::Cli::parse();
    match cityform::cli::run(cli) {
        Ok(outcome) => outcome.into(),
        Err(error) => {
            cityform::cli::report_error(&error);
            ExitCode::FAILURE
        }
    }
}
