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
//!
//! Every error says where: the field's path (`job[1].sep`) and its line and
//! column.

pub mod base64;
pub mod reader;

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::directive::{check_name, Directive, DirectiveRef, DirectiveSet};
use crate::op::Op;
use crate::registry::Registry;
use crate::snapshot::{Snapshot, Tracked, TrackedChange};
pub use reader::{Node, Position, Value};

/// The version number of the exported snapshot format.
pub const SNAPSHOT_JSON_VERSION: u64 = 1;

/// A problem in a JSON document, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// The field's path, such as `job[1].sep`; empty for a syntax error.
    pub path: String,
    pub at: Position,
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Position { line, column } = self.at;
        if self.path.is_empty() {
            write!(f, "line {line}, column {column}: {}", self.message)
        } else {
            write!(f, "{} (line {line}, column {column}): {}", self.path, self.message)
        }
    }
}

/// Concatenates text (cheaper in the preload than `format!`, which would pull
/// in all of `core::fmt`).
fn cat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// `n` in decimal.
fn decimal(n: usize) -> String {
    let mut digits = Vec::new();
    let _ = crate::sink::Sink::put_decimal(&mut digits, n);
    String::from_utf8(digits).unwrap_or_default()
}

fn error(path: &str, node: &Node, message: impl Into<String>) -> JsonError {
    JsonError { path: path.to_owned(), at: node.at, message: message.into() }
}

/// A parsed directive file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectiveFile {
    pub directives: DirectiveSet,
    /// List variables the file declares, with their separators.
    pub lists: Vec<(Vec<u8>, u8)>,
}

fn parse_document(text: &[u8]) -> Result<Node, JsonError> {
    reader::parse(text).map_err(|e| JsonError { path: String::new(), at: e.at, message: e.message.to_owned() })
}

type Members = [(String, Node)];

/// "expected WHAT, found KIND" at `node`.
fn expected(path: &str, node: &Node, what: &str) -> JsonError {
    error(path, node, cat(&["expected ", what, ", found ", node.value.kind()]))
}

fn object<'n>(node: &'n Node, path: &str) -> Result<&'n Members, JsonError> {
    match &node.value {
        Value::Object(members) => Ok(members),
        _ => Err(expected(path, node, "an object")),
    }
}

fn string<'n>(node: &'n Node, path: &str) -> Result<&'n str, JsonError> {
    match &node.value {
        Value::String(text) => Ok(text),
        _ => Err(expected(path, node, "a string")),
    }
}

fn member<'n>(members: &'n Members, key: &str) -> Option<&'n Node> {
    members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Rejects fields not in `known` (`known_text` lists them for the message).
fn reject_unknown_keys(members: &Members, known: &[&str], known_text: &str, path: &str) -> Result<(), JsonError> {
    match members.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        Some((key, node)) => {
            let message = cat(&["unknown field \"", key, "\" (expected one of: ", known_text, ")"]);
            Err(error(&join_path(path, key), node, message))
        }
        None => Ok(()),
    }
}

fn join_path(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        cat(&[path, ".", field])
    }
}

/// Reads `field` or `field_b64` as bytes.
fn bytes_field(members: &Members, field: &str, path: &str) -> Result<Option<Vec<u8>>, JsonError> {
    let b64_field = cat(&[field, "_b64"]);
    match (member(members, field), member(members, &b64_field)) {
        (Some(_), Some(node)) => {
            Err(error(path, node, cat(&["give \"", field, "\" or \"", &b64_field, "\", not both"])))
        }
        (Some(node), None) => Ok(Some(string(node, &join_path(path, field))?.as_bytes().to_vec())),
        (None, Some(node)) => {
            let b64_path = join_path(path, &b64_field);
            let text = string(node, &b64_path)?;
            base64::decode(text)
                .map(Some)
                .ok_or_else(|| error(&b64_path, node, "invalid base64 (standard alphabet, with padding)"))
        }
        (None, None) => Ok(None),
    }
}

fn separator(node: &Node, path: &str) -> Result<u8, JsonError> {
    match string(node, path)?.as_bytes() {
        [0] => Err(error(path, node, "the separator is a NUL byte")),
        &[sep] => Ok(sep),
        other => Err(error(path, node, cat(&["a separator is one byte, got ", &decimal(other.len()), " bytes"]))),
    }
}

const DIRECTIVE_FIELDS: &[&str] = &["op", "name", "name_b64", "value", "value_b64", "sep"];

/// Parses one directive object found at `path`.
pub fn parse_directive(node: &Node, registry: &Registry, path: &str) -> Result<Directive, JsonError> {
    let members = object(node, path)?;
    reject_unknown_keys(members, DIRECTIVE_FIELDS, "op, name, name_b64, value, value_b64, sep", path)?;
    let op_path = join_path(path, "op");
    let op = match member(members, "op") {
        None => return Err(error(path, node, "missing field \"op\"")),
        Some(op_node) => {
            let name = string(op_node, &op_path)?;
            Op::parse(name.as_bytes()).ok_or_else(|| {
                let message = cat(&[
                    "unknown operation \"",
                    name,
                    "\" (expected set, add, unset, prepend, append, remove, or pmix.envar.set/add/unset/prepnd/appnd)",
                ]);
                error(&op_path, op_node, message)
            })?
        }
    };
    let name = bytes_field(members, "name", path)?.ok_or_else(|| error(path, node, "missing field \"name\""))?;
    let value = bytes_field(members, "value", path)?;
    let value = match (op, value) {
        (Op::Unset, Some(_)) => {
            let at = member(members, "value").or(member(members, "value_b64")).unwrap_or(node);
            return Err(error(&join_path(path, "value"), at, "'unset' takes no value"));
        }
        (Op::Unset, None) => Vec::new(),
        (_, Some(value)) => value,
        (_, None) => {
            return Err(error(path, node, cat(&["missing field \"value\" ('", op.name(), "' needs a value)"])))
        }
    };
    let sep = match member(members, "sep") {
        Some(sep) => separator(sep, &join_path(path, "sep"))?,
        None => registry.separator_or_default(&name),
    };
    let directive = DirectiveRef { op, name: &name, value: &value, sep };
    directive.check().map_err(|e| error(path, node, e.message()))?;
    Ok(directive.to_owned())
}

fn parse_directives(
    root: &Members,
    field: &str,
    registry: &Registry,
    into: &mut Vec<Directive>,
) -> Result<(), JsonError> {
    let Some(list) = member(root, field) else {
        return Ok(());
    };
    let Value::Array(items) = &list.value else {
        return Err(expected(field, list, "an array of directives"));
    };
    for (index, item) in items.iter().enumerate() {
        into.push(parse_directive(item, registry, &cat(&[field, "[", &decimal(index), "]"]))?);
    }
    Ok(())
}

fn parse_lists(root: &Members, registry: &mut Registry) -> Result<Vec<(Vec<u8>, u8)>, JsonError> {
    let mut lists = Vec::new();
    if let Some(node) = member(root, "lists") {
        for (name, sep) in object(node, "lists")? {
            let path = cat(&["lists.", name]);
            check_name(name.as_bytes()).map_err(|e| error(&path, sep, e.message()))?;
            let sep = separator(sep, &path)?;
            registry.add(name.as_bytes(), sep);
            lists.push((name.as_bytes().to_vec(), sep));
        }
    }
    Ok(lists)
}

/// Parses a directive file. List variables it declares (`lists`) are added to
/// `registry` and used for default separators.
pub fn parse_directive_file(text: &[u8], registry: &mut Registry) -> Result<DirectiveFile, JsonError> {
    let document = parse_document(text)?;
    let root = object(&document, "")?;
    reject_unknown_keys(root, &["lists", "job", "app"], "lists, job, app", "")?;
    let lists = parse_lists(root, registry)?;
    let mut directives = DirectiveSet::default();
    parse_directives(root, "job", registry, &mut directives.job)?;
    parse_directives(root, "app", registry, &mut directives.app)?;
    Ok(DirectiveFile { directives, lists })
}

fn write_bytes_field(out: &mut String, field: &str, bytes: &[u8]) {
    match core::str::from_utf8(bytes) {
        Ok(text) => {
            reader::write_string(out, field);
            out.push_str(": ");
            reader::write_string(out, text);
        }
        Err(_) => {
            reader::write_string(out, &cat(&[field, "_b64"]));
            out.push_str(": ");
            reader::write_string(out, &base64::encode(bytes));
        }
    }
}

/// A directive as a JSON object (in the directive-file format).
pub fn directive_to_json(directive: &Directive) -> String {
    let mut out = String::from("{\"op\": ");
    reader::write_string(&mut out, directive.op.name());
    out.push_str(", ");
    write_bytes_field(&mut out, "name", &directive.name);
    if directive.op.takes_value() {
        out.push_str(", ");
        write_bytes_field(&mut out, "value", &directive.value);
    }
    if directive.sep.is_ascii() {
        out.push_str(", \"sep\": ");
        reader::write_string(&mut out, core::str::from_utf8(&[directive.sep]).unwrap_or(":"));
    }
    out.push('}');
    out
}

fn write_list(out: &mut String, field: &str, directives: impl Iterator<Item = String>) {
    reader::write_string(out, field);
    out.push_str(": [");
    for (index, directive) in directives.enumerate() {
        out.push_str(if index == 0 { "\n    " } else { ",\n    " });
        out.push_str(&directive);
    }
    out.push_str("\n  ]");
}

/// A directive set as a directive-file JSON document.
pub fn directive_set_to_json(set: &DirectiveSet) -> String {
    let mut out = String::from("{\n  ");
    write_list(&mut out, "job", set.job.iter().map(directive_to_json));
    out.push_str(",\n  ");
    write_list(&mut out, "app", set.app.iter().map(directive_to_json));
    out.push_str("\n}\n");
    out
}

/// A snapshot in the export format. Tracked changes must carry their values
/// (see [`Snapshot::resolve`]); any that do not are left out.
pub fn snapshot_to_json(snapshot: &Snapshot) -> String {
    let mut out = cat(&["{\n  \"envtrack_snapshot\": ", &decimal(SNAPSHOT_JSON_VERSION as usize), ",\n  "]);
    let tracked = snapshot.tracked.iter().filter_map(|t| match &t.change {
        TrackedChange::Carried(d) => Some(directive_to_json(d)),
        TrackedChange::InEnv(_) => None,
    });
    write_list(&mut out, "tracked", tracked);
    out.push_str(",\n  ");
    write_list(&mut out, "job", snapshot.directives.job.iter().map(directive_to_json));
    out.push_str(",\n  ");
    write_list(&mut out, "app", snapshot.directives.app.iter().map(directive_to_json));
    out.push_str("\n}\n");
    out
}

/// Parses an exported snapshot.
pub fn parse_snapshot_json(text: &[u8], registry: &Registry) -> Result<Snapshot, JsonError> {
    let document = parse_document(text)?;
    let root = object(&document, "")?;
    reject_unknown_keys(
        root,
        &["envtrack_snapshot", "tracked", "job", "app"],
        "envtrack_snapshot, tracked, job, app",
        "",
    )?;
    match member(root, "envtrack_snapshot") {
        Some(Node { value: Value::Number(n), .. }) if n == "1" => {}
        Some(node) => {
            return Err(error("envtrack_snapshot", node, "unsupported version (this envtrack reads 1)"));
        }
        None => {
            return Err(error("", &document, "missing \"envtrack_snapshot\": 1 (not an envtrack snapshot?)"));
        }
    }
    let mut snapshot = Snapshot::default();
    let mut tracked = Vec::new();
    parse_directives(root, "tracked", registry, &mut tracked)?;
    snapshot.tracked =
        tracked.into_iter().map(|d| Tracked { name: d.name.clone(), change: TrackedChange::Carried(d) }).collect();
    parse_directives(root, "job", registry, &mut snapshot.directives.job)?;
    parse_directives(root, "app", registry, &mut snapshot.directives.app)?;
    Ok(snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

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
        let err = parse(r#"{"app": [{"op": "set", "name_b64": "/w==", "value_b64": "AP8="}]}"#).unwrap_err();
        assert_eq!(err.path, "app[0]");
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
        let cases: &[(&str, &str, (usize, usize), &str)] = &[
            (r#"{"job": [{"op": "prepnd", "name": "A", "value": "x"}]}"#, "job[0].op", (1, 17), "unknown operation"),
            (r#"{"job": [{}, {"op": "set", "name": "A=B", "value": "x"}]}"#, "job[0]", (1, 10), "missing field \"op\""),
            (r#"{"app": [{"op": "set", "name": "A=B", "value": "x"}]}"#, "app[0]", (1, 10), "contains '='"),
            (r#"{"app": [{"op": "set", "name": "", "value": "x"}]}"#, "app[0]", (1, 10), "empty"),
            (
                r#"{"app": [{"op": "prepend", "name": "A", "value": "x", "sep": "::"}]}"#,
                "app[0].sep",
                (1, 62),
                "one byte",
            ),
            (r#"{"app": [{"op": "unset", "name": "A", "value": "x"}]}"#, "app[0].value", (1, 48), "takes no value"),
            (r#"{"app": [{"op": "set", "name": "A"}]}"#, "app[0]", (1, 10), "needs a value"),
            (r#"{"app": [{"op": "set", "name": "A", "valu": "x"}]}"#, "app[0].valu", (1, 45), "unknown field \"valu\""),
            (r#"{"jobs": []}"#, "jobs", (1, 10), "unknown field"),
            (r#"{"job": {}}"#, "job", (1, 9), "expected an array"),
            ("{\"job\": [\n  {\"op\": \"set\",}\n]}", "", (2, 16), "trailing comma"),
        ];
        for (text, path, (line, column), message) in cases {
            let err = parse(text).unwrap_err();
            assert_eq!(&err.path, path, "{text}");
            assert_eq!((err.at.line, err.at.column), (*line, *column), "{text}");
            assert!(err.message.contains(message), "{text}: {err}");
        }
    }

    #[test]
    fn display_names_path_and_position() {
        let err = parse("{\"job\": [\n  {\"op\": \"prepnd\", \"name\": \"A\", \"value\": \"x\"}]}").unwrap_err();
        assert!(err.to_string().starts_with("job[0].op (line 2, column 10): unknown operation \"prepnd\""), "{err}");
    }

    #[test]
    fn snapshot_json_round_trip() {
        let mut snapshot = Snapshot::default();
        let d = Directive::new(Op::Prepend, b"PATH", b"/a", b':').unwrap();
        snapshot.tracked.push(Tracked { name: b"PATH".to_vec(), change: TrackedChange::Carried(d) });
        let d = Directive::set(b"B", b"\xfe\n\"q\"");
        snapshot.tracked.push(Tracked { name: b"B".to_vec(), change: TrackedChange::Carried(d) });
        snapshot.directives.job.push(Directive::set(b"J", b"1"));
        let text = snapshot_to_json(&snapshot);
        assert_eq!(parse_snapshot_json(text.as_bytes(), &Registry::builtin()), Ok(snapshot));
        let err = parse_snapshot_json(br#"{"envtrack_snapshot": 2}"#, &Registry::builtin()).unwrap_err();
        assert!(err.message.contains("unsupported version"));
    }
}
