//! The `retrace` command: parses arguments, runs the command, maps errors to exit codes.

// No `unwrap` outside tests: input never panics retrace (constant patterns use `expect`).
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    no_transparent_huge_pages();
    let cli = retrace::cli::Cli::parse();
    match retrace::cli::run(cli) {
        Ok(status) => ExitCode::from(status),
        Err(e) => {
            eprintln!("retrace: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// mimalloc: the parse workers build and drop many small tables; it keeps memory flat across
/// input sizes where the system allocator's arenas grow (see the README's benchmark section).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Transparent huge pages make each fresh allocator page cost a 2 MiB clear (a tenth of the CPU
/// on the 1 GiB benchmark) and raise peak memory; retrace gains nothing from them.
#[cfg(target_os = "linux")]
fn no_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and only sets a flag of this process;
    // a failure (an old kernel) leaves THP as it was, which is harmless.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(not(target_os = "linux"))]
fn no_transparent_huge_pages() {}
