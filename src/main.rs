//! The `cityform` binary. For now it only dispatches `cityform emulator`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Keeps Alibaba Cloud CityVisual job groups equal to what YAML manifests declare.
#[derive(Debug, Parser)]
#[command(name = "cityform", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a local CityVisual endpoint for tests, demos and CI.
    Emulator(cityform::emulator::EmulatorArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Emulator(args) => cityform::emulator::run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
