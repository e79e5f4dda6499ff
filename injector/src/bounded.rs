//! Running a helper program for a bounded time: a launcher asked for its
//! version, a node asked about itself by `doctor`. Its standard output and
//! error, together, are read, their start and end kept; past the deadline it
//! is ended, with whatever it started in its own process group.

use std::io::Read;

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What a bounded run gave.
pub struct Bounded {
    /// Standard output and error, interleaved: the first bytes up to the size
    /// asked for and, after a line break, the last ones up to that size.
    pub output: Vec<u8>,
    /// How it exited; None if it was still running at the deadline.
    pub status: Option<ExitStatus>,
}

/// Runs `command` with no input for at most `patience`, keeping at most
/// `most` bytes of the start of what it says and of its end. None if it
/// cannot be started.
pub fn run(mut command: Command, patience: Duration, most: u64) -> Option<Bounded> {
    let (reader, writer) = std::io::pipe().ok()?;
    command
        .stdin(Stdio::null())
        .stdout(writer.try_clone().ok()?)
        .stderr(writer)
        // Its own process group: what it leaves behind on a timeout is ended with it.
        .process_group(0);
    let mut child = command.spawn().ok()?;
    drop(command); // closes this side's copies of the pipe's write end
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        // Everything is read (a writer stopped by a closed pipe would die of SIGPIPE): the
        // first `most` bytes are kept, and of the rest, the last `most` (a login's chatter
        // comes first, the answer last).
        let (mut reader, mut kept, mut tail) = (reader, 0u64, std::collections::VecDeque::new());
        let mut chunk = [0u8; 4096];
        while let Ok(read @ 1..) = reader.read(&mut chunk) {
            let head = (most.saturating_sub(kept) as usize).min(read);
            kept += head as u64;
            if head > 0 && sender.send(chunk[..head].to_vec()).is_err() {
                return;
            }
            tail.extend(&chunk[head..read]);
            let excess = tail.len().saturating_sub(most as usize);
            tail.drain(..excess);
        }
        if !tail.is_empty() {
            let _ = sender.send(b"\n".iter().chain(tail.iter()).copied().collect());
        }
    });
    let deadline = Instant::now() + patience;
    let mut output = Vec::new();
    let mut exited = None;
    let mut all_read = false;
    loop {
        if all_read {
            std::thread::sleep(Duration::from_millis(5));
        } else {
            match receiver.recv_timeout(Duration::from_millis(5)) {
                Ok(chunk) => output.extend_from_slice(&chunk),
                Err(mpsc::RecvTimeoutError::Disconnected) => all_read = true,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
        let now = Instant::now();
        if exited.is_none() {
            if let Ok(Some(status)) = child.try_wait() {
                exited = Some((now, status));
            }
        }
        // Exited, and all read, or a daemon it left behind holds the pipe: what it said is enough.
        let done = exited.is_some_and(|(at, _)| all_read || now.duration_since(at) > Duration::from_millis(200));
        if done || now >= deadline {
            break;
        }
    }
    if exited.is_none() && child.try_wait().ok().flatten().is_none() {
        // Only the processes this function started: the child's own process group. What it
        // said before the deadline still counts (a launcher that prints its version and goes
        // on running).
        // SAFETY: kill has no memory preconditions; the group is the child's own.
        unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
    }
    let _ = child.wait();
    Some(Bounded { output, status: exited.map(|(_, status)| status) })
}
