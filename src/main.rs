//! The `guildhall` command: parse the CLI, load the config, set up logs, run the command.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = guildhall::cli::Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(guildhall::cli::run(cli))
}
