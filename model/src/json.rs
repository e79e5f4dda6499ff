//! The JSON formats users and tools write and read:
//!
//! - the directive file:
//!   `{"lists": {"MY_PATH": ":"}, "job": [...], "app": [...]}`, each directive
//!   `{"op": "prepend", "name": "PATH", "value": "/opt/tool/bin", "sep": ":"}`;
//! - the exported snapshot: `{"envtrack_snapshot": 1, "tracked": [...], "job": [...], "app": [...]}`,
//!   where `tracked` holds the tracked changes as directives carrying values.
//!
//! In a directive, `op` is a canonical name or a PMIx alias; `sep` is optional
//! (default: the registry's separator for the name, else `:`) and must be one
//! byte; `value` is absent for `unset`. Bytes that are not UTF-8 are given
//! base64-encoded (standard alphabet, with padding) as `value_b64` or
//! `name_b64` instead of `value` or `name`.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::{Map, Value};

use crate::directive::{Directive, DirectiveRef, DirectiveSet, Level};
use crate::op::Op;
use crate::registry::Registry;
use crate::snapshot::{Snapshot, Tracked, TrackedChange};

/// The version number of the exported snapshot format.
pub const SNAPSHOT_JSON_VERSION: u64 = 1;

/// A problem in a JSON document, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// Where: a path such as `job[1].sep`, or `line 3, column 7` for a syntax error.
    pub location: String,
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

fn error(location: &str, message: impl Into<String>) -> JsonError {
    JsonError { location: location.to_owned(), message: message.into() }
}

/// A parsed directive file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectiveFile {
    pub directives: DirectiveSet,
    /// List variables the file declares, with their separators.
    pub lists: Vec<(Vec<u8>, u8)>,
}

fn parse_value(text: &[u8]) -> Result<Value, JsonError> {
    serde_json::from_slice(text).map_err(|e| JsonError {
        location: format!("line {}, column {}", e.line(), e.column()),
        message: strip_position(&e.to_string()),
    })
}

/// serde_json appends " at line L column C"; the location already says it.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

fn object<'v>(value: &'v Value, location: &str) -> Result<&'v Map<String, Value>, JsonError> {
    value.as_object().ok_or_else(|| error(location, "expected an object"))
}

fn reject_unknown_keys(map: &Map<String, Value>, known: &[&str], location: &str) -> Result<(), JsonError> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(error(location, format!("unknown field \"{key}\" (expected one of: {})", known.join(", ")))),
        None => Ok(()),
    }
}

/// Reads `field` or `field_b64` as bytes.
fn bytes_field(map: &Map<String, Value>, field: &str, location: &str) -> Result<Option<Vec<u8>>, JsonError> {
    let b64_field = format!("{field}_b64");
    match (map.get(field), map.get(&b64_field)) {
        (Some(_), Some(_)) => Err(error(location, format!("give \"{field}\" or \"{b64_field}\", not both"))),
        (Some(Value::String(text)), None) => Ok(Some(text.as_bytes().to_vec())),
        (Some(_), None) => Err(error(&format!("{location}.{field}"), "expected a string")),
        (None, Some(Value::String(text))) => BASE64
            .decode(text)
            .map(Some)
            .map_err(|e| error(&format!("{location}.{b64_field}"), format!("invalid base64: {e}"))),
        (None, Some(_)) => Err(error(&format!("{location}.{b64_field}"), "expected a base64 string")),
        (None, None) => Ok(None),
    }
}

fn separator(value: &Value, location: &str) -> Result<u8, JsonError> {
    match value.as_str().map(str::as_bytes) {
        Some([0]) => Err(error(location, "the separator is a NUL byte")),
        Some(&[sep]) => Ok(sep),
        Some(other) => Err(error(location, format!("a separator is one byte, got {} bytes", other.len()))),
        None => Err(error(location, "expected a one-byte string")),
    }
}

const DIRECTIVE_FIELDS: &[&str] = &["op", "name", "name_b64", "value", "value_b64", "sep"];

/// Parses one directive object found at `location`.
pub fn parse_directive(value: &Value, registry: &Registry, location: &str) -> Result<Directive, JsonError> {
    let map = object(value, location)?;
    reject_unknown_keys(map, DIRECTIVE_FIELDS, location)?;
    let op_location = format!("{location}.op");
    let op = match map.get("op") {
        None => return Err(error(location, "missing field \"op\"")),
        Some(Value::String(name)) => Op::parse(name.as_bytes()).ok_or_else(|| {
            error(
                &op_location,
                format!(
                    "unknown operation \"{name}\" (expected set, add, unset, prepend, append, remove, \
                     or pmix.envar.set/add/unset/prepnd/appnd)"
                ),
            )
        })?,
        Some(_) => return Err(error(&op_location, "expected a string")),
    };
    let name = bytes_field(map, "name", location)?.ok_or_else(|| error(location, "missing field \"name\""))?;
    let value = bytes_field(map, "value", location)?;
    let value = match (op, value) {
        (Op::Unset, Some(_)) => return Err(error(&format!("{location}.value"), "'unset' takes no value")),
        (Op::Unset, None) => Vec::new(),
        (_, Some(value)) => value,
        (_, None) => return Err(error(location, format!("missing field \"value\" ('{op}' needs a value)"))),
    };
    let sep = match map.get("sep") {
        Some(sep) => separator(sep, &format!("{location}.sep"))?,
        None => registry.separator_or_default(&name),
    };
    let directive = DirectiveRef { op, name: &name, value: &value, sep };
    directive.check().map_err(|e| error(location, e.to_string()))?;
    Ok(directive.to_owned())
}

fn parse_level(
    root: &Map<String, Value>,
    level: Level,
    registry: &Registry,
    into: &mut Vec<Directive>,
) -> Result<(), JsonError> {
    let Some(list) = root.get(level.name()) else {
        return Ok(());
    };
    let list = list.as_array().ok_or_else(|| error(level.name(), "expected an array of directives"))?;
    for (index, item) in list.iter().enumerate() {
        into.push(parse_directive(item, registry, &format!("{}[{index}]", level.name()))?);
    }
    Ok(())
}

fn parse_lists(root: &Map<String, Value>, registry: &mut Registry) -> Result<Vec<(Vec<u8>, u8)>, JsonError> {
    let mut lists = Vec::new();
    if let Some(value) = root.get("lists") {
        let map = object(value, "lists")?;
        for (name, sep) in map {
            let location = format!("lists.{name}");
            crate::directive::check_name(name.as_bytes()).map_err(|e| error(&location, e.to_string()))?;
            let sep = separator(sep, &location)?;
            registry.add(name.as_bytes(), sep);
            lists.push((name.as_bytes().to_vec(), sep));
        }
    }
    Ok(lists)
}

/// Parses a directive file. List variables it declares (`lists`) are added to
/// `registry` and used for default separators.
pub fn parse_directive_file(text: &[u8], registry: &mut Registry) -> Result<DirectiveFile, JsonError> {
    let value = parse_value(text)?;
    let root = object(&value, "the top level")?;
    reject_unknown_keys(root, &["lists", "job", "app"], "the top level")?;
    let lists = parse_lists(root, registry)?;
    let mut directives = DirectiveSet::default();
    parse_level(root, Level::Job, registry, &mut directives.job)?;
    parse_level(root, Level::App, registry, &mut directives.app)?;
    Ok(DirectiveFile { directives, lists })
}

fn put_bytes(map: &mut Map<String, Value>, field: &str, bytes: &[u8]) {
    match core::str::from_utf8(bytes) {
        Ok(text) => map.insert(field.to_owned(), Value::String(text.to_owned())),
        Err(_) => map.insert(format!("{field}_b64"), Value::String(BASE64.encode(bytes))),
    };
}

/// A directive as a JSON object (in the directive-file format).
pub fn directive_to_json(directive: &Directive) -> Value {
    let mut map = Map::new();
    map.insert("op".to_owned(), Value::String(directive.op.name().to_owned()));
    put_bytes(&mut map, "name", &directive.name);
    if directive.op.takes_value() {
        put_bytes(&mut map, "value", &directive.value);
    }
    map.insert("sep".to_owned(), Value::String(char::from(directive.sep).to_string()));
    if !directive.sep.is_ascii() {
        // A separator byte above 0x7f is not a one-byte UTF-8 string.
        map.insert("sep".to_owned(), Value::String(":".to_owned()));
    }
    Value::Object(map)
}

/// A directive set as a directive-file JSON object.
pub fn directive_set_to_json(set: &DirectiveSet) -> Value {
    let mut map = Map::new();
    for level in [Level::Job, Level::App] {
        let list = set.level(level).iter().map(directive_to_json).collect();
        map.insert(level.name().to_owned(), Value::Array(list));
    }
    Value::Object(map)
}

/// A snapshot in the export format. Tracked changes must carry their values
/// (see [`Snapshot::resolve`]); any that do not are left out.
pub fn snapshot_to_json(snapshot: &Snapshot) -> Value {
    let Value::Object(mut map) = directive_set_to_json(&snapshot.directives) else { unreachable!() };
    let tracked = snapshot
        .tracked
        .iter()
        .filter_map(|t| match &t.change {
            TrackedChange::Carried(d) => Some(directive_to_json(d)),
            TrackedChange::InEnv(_) => None,
        })
        .collect();
    map.insert("tracked".to_owned(), Value::Array(tracked));
    map.insert("envtrack_snapshot".to_owned(), Value::from(SNAPSHOT_JSON_VERSION));
    Value::Object(map)
}

/// Parses an exported snapshot.
pub fn parse_snapshot_json(text: &[u8], registry: &Registry) -> Result<Snapshot, JsonError> {
    let value = parse_value(text)?;
    let root = object(&value, "the top level")?;
    reject_unknown_keys(root, &["envtrack_snapshot", "tracked", "job", "app"], "the top level")?;
    match root.get("envtrack_snapshot").and_then(Value::as_u64) {
        Some(SNAPSHOT_JSON_VERSION) => {}
        Some(other) => {
            return Err(error("envtrack_snapshot", format!("unsupported version {other} (this envtrack reads 1)")))
        }
        None => return Err(error("the top level", "missing \"envtrack_snapshot\": 1 (not an envtrack snapshot?)")),
    }
    let mut snapshot = Snapshot::default();
    if let Some(list) = root.get("tracked") {
        let list = list.as_array().ok_or_else(|| error("tracked", "expected an array of directives"))?;
        for (index, item) in list.iter().enumerate() {
            let directive = parse_directive(item, registry, &format!("tracked[{index}]"))?;
            snapshot.tracked.push(Tracked { name: directive.name.clone(), change: TrackedChange::Carried(directive) });
        }
    }
    parse_level(root, Level::Job, registry, &mut snapshot.directives.job)?;
    parse_level(root, Level::App, registry, &mut snapshot.directives.app)?;
    Ok(snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DirectiveFile, JsonError> {
        parse_directive_file(text.as_bytes(), &mut Registry::builtin())
    }

    #[test]
    fn the_documented_example() {
        let file = parse(
            r#"{"job": [{"op": "prepend", "name": "PATH", "value": "/opt/tool/bin", "sep": ":"}],
                "app": [{"op": "set", "name": "OMP_NUM_THREADS", "value": "4"}]}"#,
        )
        .unwrap();
        assert_eq!(file.directives.job, [Directive::new(Op::Prepend, b"PATH", b"/opt/tool/bin", b':').unwrap()]);
        assert_eq!(file.directives.app, [Directive::set(b"OMP_NUM_THREADS", b"4")]);
    }

    #[test]
    fn aliases_defaults_and_raw_bytes() {
        let file = parse(
            r#"{"lists": {"SEMI": ";"},
                "app": [{"op": "pmix.envar.appnd", "name": "SEMI", "value": "x"},
                        {"op": "unset", "name": "GONE"},
                        {"op": "set", "name_b64": "/w==", "value_b64": "AP8="}]}"#,
        );
        let err = file.unwrap_err();
        assert_eq!(err.location, "app[2]");
        assert_eq!(err.message, "the value contains a NUL byte");
        let file = parse(
            r#"{"lists": {"SEMI": ";"},
                "app": [{"op": "pmix.envar.appnd", "name": "SEMI", "value": "x"},
                        {"op": "unset", "name": "GONE"},
                        {"op": "set", "name_b64": "/w==", "value_b64": "Cv8="}]}"#,
        )
        .unwrap();
        assert_eq!(file.directives.app[0].sep, b';');
        assert_eq!(file.directives.app[0].op, Op::Append);
        assert_eq!(file.directives.app[1], Directive::unset(b"GONE"));
        assert_eq!(file.directives.app[2], Directive::set(b"\xff", b"\n\xff"));
    }

    #[test]
    fn errors_name_the_field_and_position() {
        let cases: &[(&str, &str, &str)] = &[
            (r#"{"job": [{"op": "prepnd", "name": "A", "value": "x"}]}"#, "job[0].op", "unknown operation"),
            (r#"{"job": [{}, {"op": "set", "name": "A=B", "value": "x"}]}"#, "job[0]", "missing field \"op\""),
            (r#"{"app": [{"op": "set", "name": "A=B", "value": "x"}]}"#, "app[0]", "contains '='"),
            (r#"{"app": [{"op": "set", "name": "", "value": "x"}]}"#, "app[0]", "empty"),
            (r#"{"app": [{"op": "prepend", "name": "A", "value": "x", "sep": "::"}]}"#, "app[0].sep", "one byte"),
            (r#"{"app": [{"op": "unset", "name": "A", "value": "x"}]}"#, "app[0].value", "takes no value"),
            (r#"{"app": [{"op": "set", "name": "A"}]}"#, "app[0]", "needs a value"),
            (r#"{"app": [{"op": "set", "name": "A", "valu": "x"}]}"#, "app[0]", "unknown field \"valu\""),
            (r#"{"jobs": []}"#, "the top level", "unknown field"),
            (r#"{"job": {}}"#, "job", "expected an array"),
            ("{\"job\": [\n  {\"op\": \"set\",}\n]}", "line 2, column 16", "trailing comma"),
        ];
        for (text, location, message) in cases {
            let err = parse(text).unwrap_err();
            assert_eq!(&err.location, location, "{text}");
            assert!(err.message.contains(message), "{text}: {err}");
        }
    }

    #[test]
    fn snapshot_json_round_trip() {
        let mut snapshot = Snapshot::default();
        let d = Directive::new(Op::Prepend, b"PATH", b"/a", b':').unwrap();
        snapshot.tracked.push(Tracked { name: b"PATH".to_vec(), change: TrackedChange::Carried(d) });
        let d = Directive::set(b"B", b"\xfe\n");
        snapshot.tracked.push(Tracked { name: b"B".to_vec(), change: TrackedChange::Carried(d) });
        snapshot.directives.job.push(Directive::set(b"J", b"1"));
        let text = serde_json::to_vec(&snapshot_to_json(&snapshot)).unwrap();
        assert_eq!(parse_snapshot_json(&text, &Registry::builtin()), Ok(snapshot));
        let err = parse_snapshot_json(br#"{"envtrack_snapshot": 2}"#, &Registry::builtin()).unwrap_err();
        assert!(err.message.contains("unsupported version 2"));
    }
}
