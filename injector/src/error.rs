//! Errors the user sees: what is wrong and where. Bad input exits with status 2.

use std::fmt;

/// A problem with what the user gave (arguments, files, snapshots). Exit status 2.
#[derive(Debug)]
pub struct UsageError {
    pub message: String,
}

impl UsageError {
    pub fn new(message: impl Into<String>) -> Self {
        UsageError { message: message.into() }
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UsageError {}

/// The exit status for bad input.
pub const EXIT_USAGE: i32 = 2;
/// The exit status when the command cannot be run (as a shell says).
pub const EXIT_NOT_RUN: i32 = 127;
