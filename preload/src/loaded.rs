//! What the constructor reads once: envtrack's own variables, the inherited
//! snapshot, the directive file, and a copy of the inherited environment.
//! Immutable once published, so the exec path reads it freely.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ffi::c_char;
use core::sync::atomic::{AtomicPtr, Ordering};

use envtrack_model::codec::{encode_record, Reader, Record};
use envtrack_model::json::parse_directive_file;
use envtrack_model::{vars, Change, DirectiveSet, Level, Op, Registry};

use crate::sys::{self, CStrArray};
use crate::table;

/// Which programs' execs are routed through the injector.
pub enum Autowrap {
    Off,
    Default,
    Names(Vec<&'static [u8]>),
}

pub struct Loaded {
    /// This library's path, NUL-terminated.
    pub library: &'static [u8],
    /// `envtrack-inject`'s path, NUL-terminated.
    pub injector: &'static [u8],
    pub registry: Registry,
    /// Inherited and configured directives, both levels.
    pub directives: DirectiveSet,
    /// The same directives as snapshot records, copied into every child's state.
    pub directive_records: Vec<u8>,
    /// The distinct names job-level directives act on, and LD_PRELOAD.
    pub targets: Vec<&'static [u8]>,
    pub autowrap: Autowrap,
    /// envtrack's own configuration entries seen at load (`ENVTRACK_LISTS=…`),
    /// rebuilt in a child whose caller dropped them (`env -i`).
    pub own_entries: Vec<&'static [u8]>,
    pub inherited: Inherited,
}

static LOADED: AtomicPtr<Loaded> = AtomicPtr::new(core::ptr::null_mut());

/// The loaded configuration, once the constructor has run and envtrack is on.
pub fn get() -> Option<&'static Loaded> {
    let loaded = LOADED.load(Ordering::Acquire);
    // SAFETY: published once, fully built, and never freed.
    (!loaded.is_null()).then(|| unsafe { &*loaded })
}

/// The environment this process started with: copied, because programs may
/// overwrite the original strings (setproctitle) or drop them.
pub struct Inherited {
    entries: Vec<&'static [u8]>,
    /// Open addressing: slot = entry index + 1.
    index: Vec<u32>,
}

impl Inherited {
    fn copy(envp: *const *const c_char) -> Inherited {
        // SAFETY: environ at load time is a valid NULL-terminated array.
        let source = unsafe { CStrArray::new(envp) };
        // Each entry is copied with its NUL, so tracked entries can point at it.
        let total: usize = source.map(|e| e.len() + 1).sum();
        let storage: &'static mut [u8] = Box::leak(alloc::vec![0u8; total].into_boxed_slice());
        let mut entries = Vec::with_capacity(source.count());
        let mut rest = storage;
        for entry in source {
            let (copy, tail) = rest.split_at_mut(entry.len() + 1);
            copy[..entry.len()].copy_from_slice(entry);
            entries.push(&copy[..entry.len()]);
            rest = tail;
        }
        let capacity = (entries.len() * 2).next_power_of_two().max(16);
        let mut index = alloc::vec![0u32; capacity];
        for (number, entry) in entries.iter().enumerate() {
            let Some((name, _)) = sys::split_entry(entry) else { continue };
            if Self::lookup(&entries, &index, name).is_some() {
                continue; // getenv sees the first of duplicates
            }
            let mut slot = sys::hash(name) as usize & (capacity - 1);
            while index[slot] != 0 {
                slot = (slot + 1) & (capacity - 1);
            }
            index[slot] = number as u32 + 1;
        }
        Inherited { entries, index }
    }

    fn lookup_entry(entries: &[&'static [u8]], index: &[u32], name: &[u8]) -> Option<&'static [u8]> {
        let mask = index.len() - 1;
        let mut slot = sys::hash(name) as usize & mask;
        loop {
            let number = *index.get(slot)? as usize;
            let entry = entries.get(number.checked_sub(1)?)?;
            if envtrack_model::apply::entry_value(entry, name).is_some() {
                return Some(entry);
            }
            slot = (slot + 1) & mask;
        }
    }

    fn lookup(entries: &[&'static [u8]], index: &[u32], name: &[u8]) -> Option<&'static [u8]> {
        Self::lookup_entry(entries, index, name).and_then(|entry| envtrack_model::apply::entry_value(entry, name))
    }

    /// The value `name` had when the process started.
    pub fn get(&self, name: &[u8]) -> Option<&'static [u8]> {
        Self::lookup(&self.entries, &self.index, name)
    }

    /// The NUL-terminated `NAME=VALUE` copy for `name`, or null.
    pub fn entry_pointer(&self, name: &[u8]) -> *const c_char {
        Self::lookup_entry(&self.entries, &self.index, name).map_or(core::ptr::null(), |e| e.as_ptr().cast())
    }

    pub fn names(&self) -> impl Iterator<Item = &'static [u8]> + '_ {
        self.entries.iter().filter_map(|e| sys::split_entry(e).map(|(name, _)| name))
    }
}

impl Loaded {
    /// Whether a directive (of either level) prepends or appends `element`
    /// to `name`, or `element` is this library in LD_PRELOAD: such elements
    /// are envtrack's, and tracking leaves them out.
    pub fn owns(&self, name: &[u8], element: &[u8]) -> bool {
        (name == b"LD_PRELOAD" && is_envtrack_library(element))
            || self.directives.in_order().any(|d| {
                matches!(d.op, Op::Prepend | Op::Append)
                    && d.name == name
                    && envtrack_model::list::contains(&d.value, d.sep, element)
            })
    }

    /// The library path without its NUL.
    pub fn library_path(&self) -> &'static [u8] {
        &self.library[..self.library.len() - 1]
    }
}

/// Whether a preload element names a libenvtrack.so.
pub fn is_envtrack_library(element: &[u8]) -> bool {
    element.rsplit(|&b| b == b'/').next() == Some(b"libenvtrack.so")
}

fn own_path() -> Option<&'static [u8]> {
    let mut info: libc::Dl_info = unsafe { core::mem::zeroed() };
    // SAFETY: dladdr fills `info` for an address inside this library (this function).
    let found = unsafe { libc::dladdr(own_path as *const libc::c_void, &mut info) };
    if found == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dli_fname is the loader's NUL-terminated path of this library.
    let path = unsafe { sys::c_bytes(info.dli_fname) };
    Some(Box::leak(nul_terminated(path).into_boxed_slice()))
}

fn nul_terminated(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 1);
    out.extend_from_slice(bytes);
    out.push(0);
    out
}

fn read_file(path: &[u8]) -> Result<Vec<u8>, i32> {
    let path = nul_terminated(path);
    // SAFETY: path is NUL-terminated; the fd is closed below.
    let fd = unsafe { libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(sys::errno());
    }
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // SAFETY: reading into our stack buffer.
        let n = unsafe { libc::read(fd, chunk.as_mut_ptr().cast(), chunk.len()) };
        if n < 0 {
            let error = sys::errno();
            if error == libc::EINTR {
                continue;
            }
            // SAFETY: closing the fd we opened.
            unsafe { libc::close(fd) };
            return Err(error);
        }
        if n == 0 {
            break;
        }
        out.extend_from_slice(&chunk[..n as usize]);
    }
    // SAFETY: closing the fd we opened.
    unsafe { libc::close(fd) };
    Ok(out)
}

fn warn_errno(what: &[&[u8]], error: i32) {
    // SAFETY: strerror returns a valid string for any errno value.
    let text = unsafe { sys::c_bytes(libc::strerror(error)) };
    let mut parts: Vec<&[u8]> = what.to_vec();
    parts.push(b": ");
    parts.push(text);
    sys::warn(&parts);
}

/// The constructor's work. Returns the loaded configuration, or None when
/// envtrack stays off in this process.
pub fn load() -> Option<&'static Loaded> {
    let envp = sys::current_environ();
    // SAFETY: environ at load time is a valid NULL-terminated array.
    let env = unsafe { CStrArray::new(envp) };
    let var = |name: &str| env.into_iter().find_map(|e| envtrack_model::apply::entry_value(e, name.as_bytes()));
    if var(vars::ENVTRACK).is_some_and(vars::is_off) {
        return None;
    }
    let library = own_path()?;
    let inherited = Inherited::copy(envp);
    // A process with an inherited state is not the root of its tree: the root
    // already read the directive file and said what was wrong with envtrack's
    // variables, so each problem is told once per tree, not once per process.
    let is_root = var(vars::STATE).is_none();
    let mut registry = Registry::builtin();
    if let Some(spec) = var(vars::LISTS) {
        if let (Err(error), true) = (registry.add_spec(spec), is_root) {
            let at = sys::Decimal::new(error.position as u64);
            sys::warn(&[b"ENVTRACK_LISTS: at byte ", at.as_bytes(), b": ", error.message.as_bytes(), b"; ignored"]);
        }
    }
    let mut directives = DirectiveSet::default();
    let mut carried = Vec::new();
    if let Some(state) = var(vars::STATE) {
        load_state(state, &inherited, &mut directives, &mut carried);
    }
    if let Some(path) = var(vars::CONFIG).filter(|_| is_root) {
        match read_file(path) {
            Err(error) => warn_errno(&[b"ENVTRACK_CONFIG ", path], error),
            Ok(text) => match parse_directive_file(&text, &mut registry) {
                Err(error) => {
                    let line = sys::Decimal::new(error.at.line as u64);
                    let column = sys::Decimal::new(error.at.column as u64);
                    sys::warn(&[
                        b"ENVTRACK_CONFIG ",
                        path,
                        b": ",
                        error.path.as_bytes(),
                        if error.path.is_empty() { b"" } else { b" " },
                        b"(line ",
                        line.as_bytes(),
                        b", column ",
                        column.as_bytes(),
                        b"): ",
                        error.message.as_bytes(),
                        b"; its directives are ignored",
                    ])
                }
                Ok(file) => {
                    for level in [Level::Job, Level::App] {
                        for directive in file.directives.level(level) {
                            if !directives.level(level).contains(directive) {
                                directives.level_mut(level).push(directive.clone());
                            }
                        }
                    }
                }
            },
        }
    }
    let mut directive_records = Vec::new();
    for level in [Level::Job, Level::App] {
        for directive in directives.level(level) {
            let _ = encode_record(&Record::Directive(level, directive.as_ref()), &mut directive_records);
        }
    }
    let mut targets: Vec<&'static [u8]> = alloc::vec![b"LD_PRELOAD"];
    for directive in &directives.job {
        if !targets.contains(&directive.name.as_slice()) {
            targets.push(Box::leak(directive.name.clone().into_boxed_slice()));
        }
    }
    let autowrap = match var(vars::AUTOWRAP) {
        None => Autowrap::Default,
        Some(b"0" | b"off" | b"") => Autowrap::Off,
        Some(list) => Autowrap::Names(list.split(|&b| b == b',').filter(|n| !n.is_empty()).collect()),
    };
    let injector = match var(vars::INJECT) {
        Some(path) => Box::leak(nul_terminated(path).into_boxed_slice()),
        None => {
            let dir_end = library.iter().rposition(|&b| b == b'/').map_or(0, |p| p + 1);
            let mut path = library[..dir_end].to_vec();
            path.extend_from_slice(b"envtrack-inject\0");
            Box::leak(path.into_boxed_slice())
        }
    };
    let own_entries = env
        .filter(|e| {
            [vars::LISTS, vars::AUTOWRAP, vars::INJECT, vars::LOG]
                .iter()
                .any(|name| envtrack_model::apply::entry_value(e, name.as_bytes()).is_some())
        })
        .map(|e| &*Box::leak(nul_terminated(e).into_boxed_slice()))
        .collect();
    let loaded: &'static Loaded = Box::leak(Box::new(Loaded {
        library,
        injector,
        registry,
        directives,
        directive_records,
        targets,
        autowrap,
        own_entries,
        inherited,
    }));
    LOADED.store(loaded as *const Loaded as *mut Loaded, Ordering::Release);
    restore_carried(&carried);
    Some(loaded)
}

/// A carried set (a value too large for an environment string, or brought
/// from elsewhere) is put into this process's environment.
fn restore_carried(carried: &[(Vec<u8>, Vec<u8>)]) {
    for (name, value) in carried {
        let name_z = nul_terminated(name);
        let value_z = nul_terminated(value);
        if let Some(setenv) = crate::real::call::SETENV() {
            // SAFETY: both strings are NUL-terminated and live across the call.
            unsafe { setenv(name_z.as_ptr().cast(), value_z.as_ptr().cast(), 1) };
        }
        let entry = crate::track::find_in_environ(name, None);
        let guard = table::WriteGuard::acquire();
        table::update(&guard, name, Some(Change::Set), Some(Change::Set), entry);
    }
}

fn warn_codec(error: &envtrack_model::codec::CodecError, consequence: &[u8]) {
    let at = sys::Decimal::new(error.position as u64);
    sys::warn(&[
        b"ENVTRACK_STATE: malformed snapshot at byte ",
        at.as_bytes(),
        b": ",
        error.message.as_bytes(),
        consequence,
    ]);
}

/// Decodes the inherited snapshot: tracked changes go into the table,
/// directives into `directives`, carried sets into `carried`.
fn load_state(
    value: &[u8],
    inherited: &Inherited,
    directives: &mut DirectiveSet,
    carried: &mut Vec<(Vec<u8>, Vec<u8>)>,
) {
    let spilled;
    let bytes = match value.strip_prefix(b"@") {
        Some(path) => match read_file(path) {
            Ok(bytes) => {
                let path_z = nul_terminated(path);
                // SAFETY: path_z is NUL-terminated. The file was made for this exec alone.
                unsafe { libc::unlink(path_z.as_ptr().cast()) };
                spilled = bytes;
                &spilled[..]
            }
            Err(error) => {
                warn_errno(&[b"ENVTRACK_STATE: cannot read ", path, b"; tracking starts afresh"], error);
                return;
            }
        },
        None => value,
    };
    let reader = match Reader::new(bytes) {
        Ok(reader) => reader,
        Err(error) => {
            warn_codec(&error, b"; tracking starts afresh");
            return;
        }
    };
    let guard = table::WriteGuard::acquire();
    for record in reader {
        match record {
            Err(error) => {
                warn_codec(&error, b"; the rest is ignored");
                break;
            }
            Ok(Record::Tracked { name, change }) => {
                table::update(&guard, name, Some(change), Some(change), inherited.entry_pointer(name))
            }
            Ok(Record::Carried(d)) if d.op == Op::Set => carried.push((d.name.to_vec(), d.value.to_vec())),
            Ok(Record::Carried(_)) => {}
            Ok(Record::Directive(level, d)) => directives.level_mut(level).push(d.to_owned()),
        }
    }
}
