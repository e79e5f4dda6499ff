//! Running a helper program for a bounded time: a launcher asked for its
//! version, a node asked about itself by `doctor`. Its standard output and
//! error, together, are read up to a size; past the deadline it is ended,
//! with whatever it started (its own process group).

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What a bounded run gave.
pub struct Bounded {
    /// Standard output and error, interleaved, up to the size asked for.
    pub output: Vec<u8>,
    /// How it exited; None if it was still running at the deadline.
    pub status: Option<ExitStatus>,
}

/// Runs `command` with no input for at most `patience`, reading at most
/// `most` bytes of what it says. None if it cannot be started.
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
        let mut reader = reader.take(most);
        let mut chunk = [0u8; 4096];
        while let Ok(read @ 1..) = reader.read(&mut chunk) {
            if sender.send(chunk[..read].to_vec()).is_err() {
                return;
            }
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
