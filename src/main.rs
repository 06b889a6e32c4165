//! The `guildhall` command: parse the CLI, load the config, set up logs, run the command.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = guildhall::cli::Cli::parse();
    // Generous stacks: activity handling nests a few levels of async calls.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 * 1024 * 1024)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(guildhall::cli::run(cli))
}
