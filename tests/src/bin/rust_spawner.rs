//! A Rust program that sets variables and starts `env -0` through
//! `std::process::Command`: plain (posix_spawnp), with `env_clear` and a new
//! PATH, or with `pre_exec` (both fork + execvp).

use std::os::unix::process::CommandExt;
use std::process::Command;

fn main() {
    let how = std::env::args().nth(1).unwrap_or_default();
    // SAFETY: single-threaded at this point.
    unsafe {
        std::env::set_var("FROM_RUST", "rust-value");
        std::env::remove_var("GONE");
    }
    let mut command = Command::new("env");
    command.arg("-0");
    match how.as_str() {
        "plain" => {}
        "env_clear" => {
            command.env_clear().env("PATH", "/usr/bin:/bin");
        }
        "pre_exec" => {
            // SAFETY: the closure does nothing that is unsafe after fork.
            unsafe { command.pre_exec(|| Ok(())) };
        }
        other => panic!("unknown mode {other}"),
    }
    let status = command.status().expect("run env");
    std::process::exit(status.code().unwrap_or(1));
}
