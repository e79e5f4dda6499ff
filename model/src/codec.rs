//! The snapshot's byte-exact encoding (the value of `ENVTRACK_STATE`).
//!
//! ```text
//! snapshot := "ET1;" record*
//! record   := 'S' field                        tracked: set, value in the environment
//!           | 'U' field                        tracked: unset
//!           | 'L' sep count ',' count ',' field   tracked: list grown by <count> elements
//!                                              before and <count> after its base
//!           | 'T' op sep field field           tracked, carrying its value (name, value)
//!           | 'J' op sep field field           job-level directive (name, value)
//!           | 'A' op sep field field           app-level directive (name, value)
//!           | 'O' field                        whose tree: RUID,EUID,RGID,EGID of the writer
//! field    := count ':' <count bytes>
//! count    := decimal digits, no leading zero, at most 4294967295
//! op       := 's' set | 'a' add | 'u' unset | 'p' prepend | 'e' append | 'r' remove
//! sep      := one byte, not NUL
//! ```
//!
//! Fields are length-prefixed and raw, so any byte but NUL survives with no
//! escaping, and [`Reader`] decodes in place: records borrow from the input.
//! Values already in the environment are referenced, never copied (`S`, `L`).
//! A future incompatible layout changes the `ET1` version tag.

use alloc::vec::Vec;
use core::fmt;

use crate::credentials::Credentials;
use crate::diff::Change;
use crate::directive::{check_name, DirectiveRef, Level};
use crate::list::Growth;
use crate::op::Op;
use crate::sink::{Full, Sink};
use crate::snapshot::{Snapshot, Tracked, TrackedChange};

/// The version tag every encoded snapshot starts with.
pub const MAGIC: &[u8] = b"ET1;";

/// One decoded record, borrowing from the encoded bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record<'a> {
    /// A tracked change whose value is in the environment.
    Tracked { name: &'a [u8], change: Change },
    /// A tracked change carrying its value.
    Carried(DirectiveRef<'a>),
    /// A directive of one level.
    Directive(Level, DirectiveRef<'a>),
    /// The credentials of the process that wrote the snapshot.
    Owner(Credentials),
}

/// Why bytes are not a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodecError {
    /// Byte offset of the problem.
    pub position: usize,
    pub message: &'static str,
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed snapshot at byte {}: {}", self.position, self.message)
    }
}

/// Decodes records in place. Yields `Err` once, then stops.
#[derive(Clone)]
pub struct Reader<'a> {
    input: &'a [u8],
    at: usize,
    failed: bool,
}

impl<'a> Reader<'a> {
    /// Checks the version tag; the records follow.
    pub fn new(input: &'a [u8]) -> Result<Reader<'a>, CodecError> {
        if !input.starts_with(MAGIC) {
            let message = if input.starts_with(b"ET") {
                "unsupported snapshot version (this envtrack reads ET1)"
            } else {
                "missing the ET1; version tag"
            };
            return Err(CodecError { position: 0, message });
        }
        Ok(Reader { input, at: MAGIC.len(), failed: false })
    }

    /// A reader over `input` from byte `at`: a record boundary an earlier
    /// reader of the same input reached (see [`Reader::position`]).
    pub fn resume(input: &'a [u8], at: usize) -> Reader<'a> {
        Reader { input, at, failed: false }
    }

    /// Where the next record starts.
    pub fn position(&self) -> usize {
        self.at
    }

    /// The kind byte of the next record, if any.
    pub fn peek_kind(&self) -> Option<u8> {
        if self.failed {
            return None;
        }
        self.input.get(self.at).copied()
    }

    fn error(&mut self, message: &'static str) -> CodecError {
        self.failed = true;
        CodecError { position: self.at, message }
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, CodecError> {
        match self.input.get(self.at) {
            Some(&b) => {
                self.at += 1;
                Ok(b)
            }
            None => Err(self.error(what)),
        }
    }

    fn count(&mut self, terminator: u8) -> Result<usize, CodecError> {
        let start = self.at;
        let mut value: u64 = 0;
        while let Some(&b) = self.input.get(self.at) {
            if b == terminator {
                break;
            }
            if !b.is_ascii_digit() {
                return Err(self.error("expected a decimal count"));
            }
            if self.at > start && self.input[start] == b'0' {
                return Err(self.error("a count has a leading zero"));
            }
            value = value * 10 + u64::from(b - b'0');
            if value > u64::from(u32::MAX) {
                return Err(self.error("a count is too large"));
            }
            self.at += 1;
        }
        if self.at == start {
            return Err(self.error("expected a decimal count"));
        }
        if self.input.get(self.at) != Some(&terminator) {
            return Err(self.error("a count is not terminated"));
        }
        self.at += 1;
        Ok(value as usize)
    }

    fn field(&mut self) -> Result<&'a [u8], CodecError> {
        let len = self.count(b':')?;
        let start = self.at;
        let input: &'a [u8] = self.input;
        match start.checked_add(len).and_then(|end| input.get(start..end)) {
            Some(bytes) if bytes.contains(&0) => Err(self.error("a field contains a NUL byte")),
            Some(bytes) => {
                self.at += len;
                Ok(bytes)
            }
            None => Err(self.error("a field runs past the end")),
        }
    }

    fn name(&mut self) -> Result<&'a [u8], CodecError> {
        let start = self.at;
        let name = self.field()?;
        check_name(name).map_err(|_| {
            self.failed = true;
            CodecError { position: start, message: "invalid variable name" }
        })?;
        Ok(name)
    }

    fn separator(&mut self) -> Result<u8, CodecError> {
        match self.byte("expected a separator")? {
            0 => Err(self.error("the separator is NUL")),
            sep => Ok(sep),
        }
    }

    fn directive(&mut self) -> Result<DirectiveRef<'a>, CodecError> {
        let op_at = self.at;
        let code = self.byte("expected an operation")?;
        let op = Op::from_code(code).ok_or_else(|| {
            self.failed = true;
            CodecError { position: op_at, message: "unknown operation" }
        })?;
        let sep = self.separator()?;
        let name = self.name()?;
        let value_at = self.at;
        let value = self.field()?;
        if op == Op::Unset && !value.is_empty() {
            self.failed = true;
            return Err(CodecError { position: value_at, message: "'unset' takes no value" });
        }
        Ok(DirectiveRef { op, name, value, sep })
    }

    fn record(&mut self) -> Result<Record<'a>, CodecError> {
        let kind_at = self.at;
        Ok(match self.byte("expected a record")? {
            b'S' => Record::Tracked { name: self.name()?, change: Change::Set },
            b'U' => Record::Tracked { name: self.name()?, change: Change::Unset },
            b'L' => {
                let sep = self.separator()?;
                let prepended = self.count(b',')?;
                let appended = self.count(b',')?;
                let growth = Growth { prepended, appended };
                Record::Tracked { name: self.name()?, change: Change::List { sep, growth } }
            }
            b'T' => Record::Carried(self.directive()?),
            b'J' => Record::Directive(Level::Job, self.directive()?),
            b'A' => Record::Directive(Level::App, self.directive()?),
            b'O' => {
                let at = self.at;
                let field = self.field()?;
                let owner = Credentials::parse(field).ok_or_else(|| {
                    self.failed = true;
                    CodecError { position: at, message: "malformed credentials" }
                })?;
                Record::Owner(owner)
            }
            _ => {
                self.at = kind_at;
                return Err(self.error("unknown record kind"));
            }
        })
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Record<'a>, CodecError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.input.len() {
            return None;
        }
        Some(self.record())
    }
}

fn put_field<S: Sink>(out: &mut S, bytes: &[u8]) -> Result<(), Full> {
    out.put_decimal(bytes.len())?;
    out.put_byte(b':')?;
    out.put(bytes)
}

fn put_directive<S: Sink>(out: &mut S, kind: u8, d: DirectiveRef<'_>) -> Result<(), Full> {
    out.put(&[kind, d.op.code(), d.sep])?;
    put_field(out, d.name)?;
    put_field(out, d.value)
}

fn decimal_len(mut n: usize) -> usize {
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    digits
}

fn field_len(bytes: &[u8]) -> usize {
    decimal_len(bytes.len()) + 1 + bytes.len()
}

/// How many bytes [`encode_record`] writes for `record`, counted without
/// writing them.
pub fn encoded_len(record: &Record<'_>) -> usize {
    match *record {
        Record::Tracked { name, change: Change::Set | Change::Unset } => 1 + field_len(name),
        Record::Tracked { name, change: Change::List { growth, .. } } => {
            2 + decimal_len(growth.prepended) + 1 + decimal_len(growth.appended) + 1 + field_len(name)
        }
        Record::Carried(d) | Record::Directive(_, d) => 3 + field_len(d.name) + field_len(d.value),
        Record::Owner(_) => {
            let mut counter = crate::sink::CountingSink::default();
            let _ = encode_record(record, &mut counter);
            counter.count
        }
    }
}

/// Writes one record (after [`MAGIC`], which the caller writes once).
pub fn encode_record<S: Sink>(record: &Record<'_>, out: &mut S) -> Result<(), Full> {
    match *record {
        Record::Tracked { name, change: Change::Set } => {
            out.put_byte(b'S')?;
            put_field(out, name)
        }
        Record::Tracked { name, change: Change::Unset } => {
            out.put_byte(b'U')?;
            put_field(out, name)
        }
        Record::Tracked { name, change: Change::List { sep, growth } } => {
            out.put(&[b'L', sep])?;
            out.put_decimal(growth.prepended)?;
            out.put_byte(b',')?;
            out.put_decimal(growth.appended)?;
            out.put_byte(b',')?;
            put_field(out, name)
        }
        Record::Carried(d) => put_directive(out, b'T', d),
        Record::Directive(Level::Job, d) => put_directive(out, b'J', d),
        Record::Directive(Level::App, d) => put_directive(out, b'A', d),
        Record::Owner(owner) => {
            let mut field = crate::sink::ArrayBuf::<48>::default();
            owner.encode(&mut field)?;
            out.put_byte(b'O')?;
            put_field(out, field.as_bytes())
        }
    }
}

impl Snapshot {
    /// The records of this snapshot, in encoding order: the owner, the
    /// directives and the carried values first, the tracked changes last, so
    /// that a process loading a snapshot reads only what it must act on at
    /// once and leaves the tracked changes for when it needs them.
    pub fn records(&self) -> impl Iterator<Item = Record<'_>> {
        let owner = self.owner.map(Record::Owner);
        let job = self.directives.job.iter().map(|d| Record::Directive(Level::Job, d.as_ref()));
        let app = self.directives.app.iter().map(|d| Record::Directive(Level::App, d.as_ref()));
        let carried = self.tracked.iter().filter_map(|t| match &t.change {
            TrackedChange::Carried(d) => Some(Record::Carried(d.as_ref())),
            TrackedChange::InEnv(_) => None,
        });
        let tracked = self.tracked.iter().filter_map(|t| match &t.change {
            TrackedChange::InEnv(change) => Some(Record::Tracked { name: &t.name, change: *change }),
            TrackedChange::Carried(_) => None,
        });
        owner.into_iter().chain(job).chain(app).chain(carried).chain(tracked)
    }

    /// Encodes into `out`.
    pub fn encode_into<S: Sink>(&self, out: &mut S) -> Result<(), Full> {
        out.put(MAGIC)?;
        self.records().try_for_each(|record| encode_record(&record, out))
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out).expect("a Vec sink never fills");
        out
    }

    /// Decodes an encoded snapshot, checking every record. The tracked list
    /// comes out in encoding order (carried values first, each kind in the
    /// order read), whatever order the records were in.
    pub fn decode(bytes: &[u8]) -> Result<Snapshot, CodecError> {
        let mut snapshot = Snapshot::default();
        let mut in_env = Vec::new();
        for record in Reader::new(bytes)? {
            match record? {
                Record::Tracked { name, change } => {
                    in_env.push(Tracked { name: name.to_vec(), change: TrackedChange::InEnv(change) })
                }
                Record::Carried(d) => snapshot
                    .tracked
                    .push(Tracked { name: d.name.to_vec(), change: TrackedChange::Carried(d.to_owned()) }),
                Record::Directive(level, d) => snapshot.directives.level_mut(level).push(d.to_owned()),
                Record::Owner(owner) => snapshot.owner = Some(owner),
            }
        }
        snapshot.tracked.extend(in_env);
        Ok(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directive::Directive;

    #[test]
    fn round_trip_of_awkward_bytes() {
        let mut snapshot = Snapshot::default();
        let growth = Growth { prepended: 2, appended: 10 };
        // In encoding order (carried values before tracked changes), so that decoding gives
        // back the same list.
        snapshot.tracked.push(Tracked {
            name: b"X".to_vec(),
            change: TrackedChange::Carried(Directive::set(b"X", b"1:2,3;\n'\"$(x)`=")),
        });
        snapshot.tracked.push(Tracked {
            name: b"P\xffA:TH".to_vec(),
            change: TrackedChange::InEnv(Change::List { sep: b';', growth }),
        });
        snapshot.directives.app.push(Directive::new(Op::Remove, b"LD_PRELOAD", b"lib.so", b' ').unwrap());
        snapshot.owner = Some(Credentials { ruid: 1, euid: 2, rgid: 3, egid: 4 });
        let bytes = snapshot.encode();
        assert_eq!(Snapshot::decode(&bytes), Ok(snapshot));
    }

    #[test]
    fn tracked_changes_are_written_last() {
        let mut snapshot = Snapshot::default();
        snapshot.tracked.push(Tracked { name: b"A".to_vec(), change: TrackedChange::InEnv(Change::Set) });
        snapshot
            .tracked
            .push(Tracked { name: b"B".to_vec(), change: TrackedChange::Carried(Directive::set(b"B", b"2")) });
        snapshot.directives.job.push(Directive::set(b"C", b"3"));
        snapshot.owner = Some(Credentials { ruid: 1, euid: 1, rgid: 1, egid: 1 });
        assert_eq!(snapshot.encode(), b"ET1;O7:1,1,1,1Js:1:C1:3Ts:1:B1:2S1:A".to_vec());
    }

    #[test]
    fn encoded_len_counts_what_encode_writes() {
        let growth = Growth { prepended: 12, appended: 0 };
        let directive = Directive::new(Op::Prepend, b"LD_PRELOAD", b"/x/lib.so", b':').unwrap();
        let records = [
            Record::Tracked { name: b"A", change: Change::Set },
            Record::Tracked { name: &[b'N'; 1234], change: Change::Unset },
            Record::Tracked { name: b"PATH", change: Change::List { sep: b':', growth } },
            Record::Carried(directive.as_ref()),
            Record::Directive(Level::Job, directive.as_ref()),
            Record::Owner(Credentials { ruid: 1000, euid: 0, rgid: 12, egid: 4_000_000_000 }),
        ];
        for record in records {
            let mut out = Vec::new();
            encode_record(&record, &mut out).unwrap();
            assert_eq!(encoded_len(&record), out.len(), "{record:?}");
        }
    }

    #[test]
    fn errors_name_their_position() {
        assert_eq!(
            Snapshot::decode(b"ET2;").unwrap_err().message,
            "unsupported snapshot version (this envtrack reads ET1)"
        );
        assert_eq!(Snapshot::decode(b"ET1;S3:AB").unwrap_err().position, 7);
        assert_eq!(Snapshot::decode(b"ET1;S01:A").unwrap_err().message, "a count has a leading zero");
        assert_eq!(Snapshot::decode(b"ET1;Q").unwrap_err().position, 4);
        assert_eq!(Snapshot::decode(b"ET1;S3:A=B").unwrap_err().message, "invalid variable name");
        assert_eq!(Snapshot::decode(b"ET1;Ju:1:A1:x").unwrap_err().message, "'unset' takes no value");
        assert_eq!(Snapshot::decode(b"ET1;S99999999999:A").unwrap_err().message, "a count is too large");
        assert!(Snapshot::decode(b"ET1;").unwrap().is_empty());
        assert_eq!(Snapshot::decode(b"ET1;O7:1,2,3,x").unwrap_err().message, "malformed credentials");
    }
}
