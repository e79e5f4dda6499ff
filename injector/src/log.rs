//! `ENVTRACK_LOG=DIR`: one JSON-lines file per process in DIR, saying what
//! was tracked, applied and started, on which host, for which program — the
//! log to open when a remote environment is wrong. Secret-looking values are
//! redacted. Files are created with mode 0600, never through a symlink.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use serde_json::{json, Value};

use envtrack_model::{vars, Directive, Snapshot, TrackedChange};

use crate::redact::shown;

/// A directive as JSON, its value redacted if the name looks secret.
fn directive_json(directive: &Directive) -> Value {
    let value = shown(&directive.name, &directive.value, false);
    json!({
        "op": directive.op.name(),
        "name": String::from_utf8_lossy(&directive.name),
        "value": String::from_utf8_lossy(&value),
    })
}

/// The snapshot's changes and directives as JSON (values redacted).
pub fn snapshot_json(snapshot: &Snapshot) -> Value {
    let tracked: Vec<Value> = snapshot
        .tracked
        .iter()
        .map(|t| match &t.change {
            TrackedChange::Carried(d) => directive_json(d),
            TrackedChange::InEnv(change) => {
                json!({"name": String::from_utf8_lossy(&t.name), "change": format!("{change:?}")})
            }
        })
        .collect();
    json!({
        "tracked": tracked,
        "job": snapshot.directives.job.iter().map(directive_json).collect::<Vec<_>>(),
        "app": snapshot.directives.app.iter().map(directive_json).collect::<Vec<_>>(),
    })
}

fn hostname() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: gethostname writes at most buffer.len() bytes into our buffer.
    let ok = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) } == 0;
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(0);
    if ok {
        String::from_utf8_lossy(&buffer[..end]).into_owned()
    } else {
        String::new()
    }
}

/// Appends one record to this process's log file, if `ENVTRACK_LOG` is set;
/// `fields` is built only then (a worker's start must not pay for it).
/// A log that cannot be written gives one warning and nothing else.
pub fn record(event: &str, program: &[u8], fields: impl FnOnce() -> Value) {
    let Some(dir) = std::env::var_os(vars::LOG).filter(|d| !d.is_empty()) else { return };
    let mut fields = fields();
    let host = hostname();
    let pid = std::process::id();
    if let Value::Object(map) = &mut fields {
        map.insert("event".into(), event.into());
        map.insert("host".into(), host.clone().into());
        map.insert("pid".into(), pid.into());
        map.insert("program".into(), String::from_utf8_lossy(program).into());
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        map.insert("time".into(), now.as_secs_f64().into());
    }
    let path = PathBuf::from(&dir).join(format!("envtrack-{host}-{pid}.jsonl"));
    let result = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        // Never block on, or write into, something that is not a log file (a FIFO, a device).
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(&path)
        .and_then(|file| match file.metadata()?.file_type().is_file() {
            true => Ok(file),
            false => Err(std::io::Error::other("not a regular file")),
        })
        .and_then(|mut file| writeln!(file, "{fields}"));
    if let Err(error) = result {
        crate::error::say(format_args!("envtrack-inject: ENVTRACK_LOG: cannot write {}: {error}", path.display()));
    }
}
