//! The `retrace` command: parses arguments, runs the command, maps errors to exit codes.

// No `unwrap` outside tests: input never panics retrace (constant patterns use `expect`).
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = retrace::cli::Cli::parse();
    match retrace::cli::run(cli) {
        Ok(status) => ExitCode::from(status),
        Err(e) => {
            eprintln!("retrace: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
