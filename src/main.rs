//! The `nexora-gate` binary: parse the command line and hand over to
//! [`nexora_gate::cli::run`]. Synchronous on purpose: Pingora owns its
//! runtimes, and the commands that need one build their own.

use std::process::ExitCode;

use clap::Parser;

// mimalloc, unless built with `--features system-allocator` (the C library's
// malloc), which heap profilers such as heaptrack can see into.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    nexora_gate::cli::run(nexora_gate::cli::Cli::parse())
}
