//! Conformance with PMIx RFC0022 (environmental parameter directives) and the
//! rules envtrack adds to it.

use envtrack_model::json::parse_directive_file;
use envtrack_model::{Directive, DirectiveSet, Environment, Op, Registry};

fn d(op: Op, name: &str, value: &str) -> Directive {
    Directive::new(op, name.as_bytes(), value.as_bytes(), b':').unwrap()
}

fn env(pairs: &[(&str, &str)]) -> Environment {
    Environment::from_pairs(pairs.iter().copied())
}

fn applied(start: &[(&str, &str)], job: Vec<Directive>, app: Vec<Directive>) -> Environment {
    let mut e = env(start);
    e.apply_set(&DirectiveSet { job, app });
    e
}

fn get<'e>(e: &'e Environment, name: &str) -> Option<&'e str> {
    e.get(name.as_bytes()).map(|v| std::str::from_utf8(v).unwrap())
}

#[test]
fn add_does_not_overwrite() {
    let e = applied(&[("A", "old"), ("EMPTY", "")], vec![d(Op::Add, "A", "new"), d(Op::Add, "EMPTY", "new")], vec![]);
    assert_eq!(get(&e, "A"), Some("old"));
    assert_eq!(get(&e, "EMPTY"), Some(""), "an empty value is present");
}

#[test]
fn add_creates_an_absent_variable() {
    let e = applied(&[], vec![d(Op::Add, "A", "new")], vec![]);
    assert_eq!(get(&e, "A"), Some("new"));
}

#[test]
fn set_overwrites() {
    let e = applied(&[("A", "old")], vec![d(Op::Set, "A", "new")], vec![]);
    assert_eq!(get(&e, "A"), Some("new"));
}

#[test]
fn unset_removes_and_is_harmless_when_absent() {
    let e = applied(&[("A", "1"), ("B", "2")], vec![d(Op::Unset, "A", ""), d(Op::Unset, "C", "")], vec![]);
    assert_eq!(get(&e, "A"), None);
    assert_eq!(get(&e, "B"), Some("2"));
    assert_eq!(e.entries.len(), 1);
}

#[test]
fn prepend_and_append_create_an_absent_variable() {
    let e = applied(&[], vec![d(Op::Prepend, "P", "/p")], vec![d(Op::Append, "Q", "/q")]);
    assert_eq!(get(&e, "P"), Some("/p"));
    assert_eq!(get(&e, "Q"), Some("/q"));
}

#[test]
fn prepend_to_an_empty_variable_creates_no_empty_element() {
    let e = applied(&[("P", "")], vec![d(Op::Prepend, "P", "/p"), d(Op::Append, "P", "/z")], vec![]);
    assert_eq!(get(&e, "P"), Some("/p:/z"));
}

#[test]
fn prepend_and_append_keep_the_existing_value() {
    let e = applied(
        &[("PATH", "/usr/bin:/bin")],
        vec![d(Op::Prepend, "PATH", "/opt/a:/opt/b")],
        vec![d(Op::Append, "PATH", "/x")],
    );
    assert_eq!(get(&e, "PATH"), Some("/opt/a:/opt/b:/usr/bin:/bin:/x"));
}

#[test]
fn job_level_applies_before_app_level() {
    let e = applied(&[], vec![d(Op::Set, "A", "job")], vec![d(Op::Set, "A", "app")]);
    assert_eq!(get(&e, "A"), Some("app"));
    let e = applied(&[("P", "/base")], vec![d(Op::Prepend, "P", "/job")], vec![d(Op::Prepend, "P", "/app")]);
    assert_eq!(get(&e, "P"), Some("/app:/job:/base"));
    // An app-level add sees what the job level set.
    let e = applied(&[], vec![d(Op::Set, "A", "job")], vec![d(Op::Add, "A", "app")]);
    assert_eq!(get(&e, "A"), Some("job"));
}

#[test]
fn each_level_applies_in_the_order_given() {
    let e = applied(&[], vec![d(Op::Set, "A", "1"), d(Op::Set, "A", "2")], vec![]);
    assert_eq!(get(&e, "A"), Some("2"));
}

#[test]
fn set_then_prepend_versus_prepend_then_set() {
    let e = applied(&[("P", "/base")], vec![d(Op::Set, "P", "/s"), d(Op::Prepend, "P", "/p")], vec![]);
    assert_eq!(get(&e, "P"), Some("/p:/s"));
    let e = applied(&[("P", "/base")], vec![d(Op::Prepend, "P", "/p"), d(Op::Set, "P", "/s")], vec![]);
    assert_eq!(get(&e, "P"), Some("/s"));
}

#[test]
fn names_match_exactly() {
    let start = [("PATH", "/bin"), ("PATHEXT", ".EXE"), ("path", "lower"), ("MYPATH", "m"), ("PATH_X", "x")];
    let e =
        applied(&start, vec![d(Op::Prepend, "PATH", "/p"), d(Op::Unset, "PATHE", "")], vec![d(Op::Set, "PAT", "t")]);
    assert_eq!(get(&e, "PATH"), Some("/p:/bin"));
    assert_eq!(get(&e, "PATHEXT"), Some(".EXE"));
    assert_eq!(get(&e, "path"), Some("lower"));
    assert_eq!(get(&e, "MYPATH"), Some("m"));
    assert_eq!(get(&e, "PATH_X"), Some("x"));
    assert_eq!(get(&e, "PAT"), Some("t"));
}

#[test]
fn separators_are_per_directive() {
    let mut e = env(&[("L", "a;b")]);
    e.apply(&Directive::new(Op::Append, b"L", b"c", b';').unwrap());
    assert_eq!(get(&e, "L"), Some("a;b;c"));
    e.apply(&Directive::new(Op::Remove, b"L", b"a", b';').unwrap());
    assert_eq!(get(&e, "L"), Some("b;c"));
}

#[test]
fn repeated_application_never_grows_a_list() {
    let set = DirectiveSet { job: vec![d(Op::Prepend, "PATH", "/t/bin"), d(Op::Append, "PATH", "/late")], app: vec![] };
    let mut e = env(&[("PATH", "/usr/bin")]);
    for _ in 0..5 {
        e.apply_set(&set);
    }
    assert_eq!(get(&e, "PATH"), Some("/t/bin:/usr/bin:/late"));
}

#[test]
fn pmix_attribute_names_are_aliases() {
    let text = br#"{"job": [
        {"op": "pmix.envar.set", "name": "S", "value": "1"},
        {"op": "pmix.envar.add", "name": "S", "value": "2"},
        {"op": "pmix.envar.prepnd", "name": "PATH", "value": "/p"},
        {"op": "pmix.envar.appnd", "name": "PATH", "value": "/a"},
        {"op": "pmix.envar.unset", "name": "GONE"}]}"#;
    let file = parse_directive_file(text, &mut Registry::builtin()).unwrap();
    let ops: Vec<Op> = file.directives.job.iter().map(|d| d.op).collect();
    assert_eq!(ops, [Op::Set, Op::Add, Op::Prepend, Op::Append, Op::Unset]);
    let mut e = env(&[("PATH", "/bin"), ("GONE", "x")]);
    e.apply_set(&file.directives);
    assert_eq!(get(&e, "S"), Some("1"));
    assert_eq!(get(&e, "PATH"), Some("/p:/bin:/a"));
    assert_eq!(get(&e, "GONE"), None);
}

#[test]
fn values_are_bytes() {
    let value: &[u8] = b"sp ace 'q' \"dq\" $(id) `id` a=b\n\xff\xfe";
    let mut e = Environment::new();
    e.apply(&Directive::set(b"\xffNAME", value));
    assert_eq!(e.get(b"\xffNAME"), Some(value));
}

#[test]
fn add_with_remove_is_the_documented_exception_to_idempotence() {
    // remove can make a variable absent, and add acts only on an absent one.
    let set = DirectiveSet {
        job: vec![d(Op::Remove, "P", "v"), d(Op::Add, "P", "v"), d(Op::Prepend, "P", "w")],
        app: vec![],
    };
    let mut e = Environment::new();
    e.apply_set(&set);
    assert_eq!(get(&e, "P"), Some("w:v"));
    e.apply_set(&set);
    assert_eq!(get(&e, "P"), Some("w"));
    // The other way round: a remove that empties the variable in one pass
    // lets the add of the next pass act.
    let set = DirectiveSet { job: vec![d(Op::Add, "P", ""), d(Op::Remove, "P", "c")], app: vec![] };
    let mut e = env(&[("P", "c")]);
    e.apply_set(&set);
    assert_eq!(get(&e, "P"), None);
    e.apply_set(&set);
    assert_eq!(get(&e, "P"), Some(""));
}
