//! The `cityform` binary: parse the command line, run, map the result to an exit code.

use std::process::ExitCode;

/// mimalloc instead of glibc's allocator: `plan` and `apply` allocate from several threads at
/// once, and glibc's arenas made them markedly slower (`docs/performance.md`, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // First, before any credential is read: a core dump would hold the secret.
    let allow = std::env::var(cityform::cli::core_dumps::ALLOW_CORE_DUMPS_VARIABLE).ok();
    if let Err(error) = cityform::cli::core_dumps::forbid_unless_allowed(allow.as_deref()) {
        eprintln!(
            "warning: {error}; a crash could leave the access key secret in a core file: set `ulimit -c 0`"
        );
    }
    let cli = match cityform::cli::Cli::parse_command_line() {
        Ok(cli) => cli,
        Err(error) => {
            // `--help` and `--version` end here too, and are not errors. A usage error is
            // exit 1 like every other error: clap's own 2 means "changes present" to a CI
            // job that runs `plan --detailed-exitcode`.
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cityform::cli::run(cli) {
        Ok(outcome) => outcome.into(),
        Err(error) => {
            cityform::cli::report_error(&error);
            ExitCode::FAILURE
        }
    }
}
