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

/// Writes one line to standard error, whatever standard error is: a line
/// envtrack-inject has to say must not end the launch it precedes (a closed
/// pipe would kill it with SIGPIPE, which programs it runs start with at its
/// default; the write error is ignored).
pub fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    // SAFETY: setting SIGPIPE's disposition has no preconditions; the previous one is restored.
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let _ = writeln!(std::io::stderr(), "{line}");
    // SAFETY: as above.
    unsafe { libc::signal(libc::SIGPIPE, previous) };
}
