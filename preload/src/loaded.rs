//! What the constructor reads once: envtrack's own variables, the inherited
//! snapshot, the directive file, and a copy of the inherited environment.
//! Immutable once published, so the exec path reads it freely.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ffi::c_char;
use core::sync::atomic::{AtomicPtr, Ordering};

use envtrack_model::apply::split_entry;
use envtrack_model::codec::{encode_record, Reader, Record};
use envtrack_model::json::parse_directive_file;
use envtrack_model::{vars, Change, Decimal, DirectiveSet, Level, Op, Registry};

use crate::sys::{self, CStrArray};
use crate::table;

/// Which programs' execs are routed through the injector.
pub enum Autowrap {
    Off,
    Default,
    Names(Vec<&'static [u8]>),
}

pub struct Loaded {
    /// This library's path.
    pub library: &'static [u8],
    /// `envtrack-inject`'s path from ENVTRACK_INJECT, NUL-terminated; else
    /// the one next to the library is used (see [`Loaded::injector_path`]).
    pub injector: Option<&'static [u8]>,
    pub registry: Registry,
    /// Inherited and configured directives, both levels.
    pub directives: DirectiveSet,
    /// The same directives as snapshot records, copied into every child's state.
    pub directive_records: Vec<u8>,
    /// The distinct names job-level directives act on (LD_PRELOAD is always
    /// a target too, number 0: see [`Loaded::target_index`]). It is not kept
    /// in this list so that a process without directives allocates nothing
    /// at load, and LD_PRELOAD is found without a search at every exec.
    pub targets: Vec<&'static [u8]>,
    pub autowrap: Autowrap,
    /// envtrack's own configuration entries seen at load (`ENVTRACK_LISTS=…`),
    /// NUL-terminated, rebuilt in a child whose caller dropped them (`env -i`).
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
/// overwrite the original strings (setproctitle) or drop them. The copy and
/// its index live in one anonymous mapping, so loading allocates nothing
/// from the heap when nothing is tracked.
pub struct Inherited {
    /// The entries, each NUL-terminated, back to back.
    storage: &'static [u8],
    /// Open addressing over names: slot = offset of the entry in `storage` + 1.
    index: &'static [u32],
}

impl Inherited {
    /// Copies `envp`, calling `each` with every copied entry.
    fn copy(envp: *const *const c_char, mut each: impl FnMut(&'static [u8])) -> Option<Inherited> {
        // One pass: copy into a mapping sized for common environments, and
        // start again in a larger one if the environment does not fit.
        let mut capacity = 64 * 1024;
        loop {
            if let Some(copy) = Self::copy_into(envp, capacity, &mut each)? {
                return Some(copy);
            }
            capacity *= 4;
        }
    }

    /// `None` when the mapping could not be made; `Some(None)` when
    /// `capacity` was too small (nothing was reported to `each`).
    fn copy_into(
        envp: *const *const c_char,
        capacity: usize,
        each: &mut impl FnMut(&'static [u8]),
    ) -> Option<Option<Inherited>> {
        let mapping = sys::map(capacity)?;
        // SAFETY: a fresh mapping of `capacity` zeroed bytes, ours alone, never unmapped
        // once the copy is published (readers may hold slices).
        let all = unsafe { core::slice::from_raw_parts_mut(mapping, capacity) };
        let mut used = 0;
        let mut count: usize = 0;
        // SAFETY: environ at load time is a valid NULL-terminated array.
        for entry in unsafe { CStrArray::new(envp) } {
            let Some(target) = all.get_mut(used..used + entry.len() + 1) else {
                sys::unmap(mapping, capacity);
                return Some(None);
            };
            target[..entry.len()].copy_from_slice(entry);
            used += entry.len() + 1;
            count += 1;
        }
        let storage_len = used.div_ceil(4) * 4;
        let slots = (count * 2).next_power_of_two().max(16);
        if storage_len + slots * 4 > capacity {
            sys::unmap(mapping, capacity);
            return Some(None);
        }
        let (storage, rest) = all.split_at_mut(storage_len);
        // SAFETY: `rest` starts at a multiple of 4 from a page-aligned mapping and holds
        // at least `slots` u32s (checked above).
        let index = unsafe { core::slice::from_raw_parts_mut(rest.as_mut_ptr().cast::<u32>(), slots) };
        let storage: &'static [u8] = storage;
        let mut offset = 0;
        while offset < used {
            let entry = Self::entry_at(storage, offset as u32 + 1);
            let at = offset;
            offset += entry.len() + 1;
            each(entry);
            let Some((name, _)) = split_entry(entry) else { continue };
            let mut slot = sys::hash(name) as usize & (slots - 1);
            loop {
                match index[slot] {
                    0 => {
                        index[slot] = at as u32 + 1;
                        break;
                    }
                    // getenv sees the first of duplicates: keep it.
                    taken if envtrack_model::apply::entry_value(Self::entry_at(storage, taken), name).is_some() => {
                        break
                    }
                    _ => slot = (slot + 1) & (slots - 1),
                }
            }
        }
        Some(Some(Inherited { storage, index }))
    }

    fn entry_at(storage: &[u8], slot_value: u32) -> &[u8] {
        let rest = storage.get(slot_value as usize - 1..).unwrap_or_default();
        &rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())]
    }

    /// The `NAME=VALUE` entry for `name` when the process started, and
    /// whether a NUL follows it in the copy (always).
    fn entry(&self, name: &[u8]) -> Option<&'static [u8]> {
        let mask = self.index.len() - 1;
        let mut slot = sys::hash(name) as usize & mask;
        loop {
            let value = *self.index.get(slot)?;
            if value == 0 {
                return None;
            }
            let entry = Self::entry_at(self.storage, value);
            if envtrack_model::apply::entry_value(entry, name).is_some() {
                return Some(entry);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// The value `name` had when the process started.
    pub fn get(&self, name: &[u8]) -> Option<&'static [u8]> {
        self.entry(name).and_then(|entry| envtrack_model::apply::entry_value(entry, name))
    }

    /// Every inherited entry.
    pub fn entries(&self) -> impl Iterator<Item = &'static [u8]> + '_ {
        self.storage.split(|&b| b == 0).filter(|e| !e.is_empty())
    }

    pub fn names(&self) -> impl Iterator<Item = &'static [u8]> + '_ {
        self.entries().filter_map(|e| split_entry(e).map(|(name, _)| name))
    }
}

impl Loaded {
    /// Whether a directive (of either level) prepends or appends `element`
    /// to `name`, or `element` is this library in LD_PRELOAD: such elements
    /// are envtrack's, and tracking leaves them out.
    pub fn owns(&self, name: &[u8], element: &[u8]) -> bool {
        (name == b"LD_PRELOAD" && is_envtrack_library(element)) || self.directives.owns(name, element)
    }

    /// How many directed variables a child build handles: LD_PRELOAD and
    /// the job-level directives' names.
    pub fn target_count(&self) -> usize {
        1 + self.targets.len()
    }

    /// Directed variable number `j` (0 is LD_PRELOAD).
    pub fn target_name(&self, j: usize) -> &'static [u8] {
        match j {
            0 => b"LD_PRELOAD",
            _ => self.targets.get(j - 1).copied().unwrap_or_default(),
        }
    }

    /// The number of the directed variable `name`, if it is one.
    pub fn target_index(&self, name: &[u8]) -> Option<usize> {
        if name == b"LD_PRELOAD" {
            return Some(0);
        }
        self.targets.iter().position(|t| *t == name).map(|j| j + 1)
    }

    /// Writes `envtrack-inject`'s NUL-terminated path into `buffer`: the
    /// configured one, else the one next to this library.
    pub fn injector_path<'b>(&self, buffer: &'b mut [u8]) -> Option<&'b [u8]> {
        let mut sink = envtrack_model::SliceSink::new(buffer);
        use envtrack_model::Sink;
        match self.injector {
            Some(path) => sink.put(path).ok()?,
            None => {
                let dir_end = self.library.iter().rposition(|&b| b == b'/').map_or(0, |p| p + 1);
                sink.put(self.library.get(..dir_end)?).ok()?;
                sink.put(b"envtrack-inject").ok()?;
            }
        }
        sink.put_byte(0).ok()?;
        let len = sink.len();
        Some(&buffer[..len])
    }
}

/// Whether a preload element names a libenvtrack.so.
pub fn is_envtrack_library(element: &[u8]) -> bool {
    element.rsplit(|&b| b == b'/').next() == Some(b"libenvtrack.so")
}

/// This library's path: the absolute libenvtrack.so element of LD_PRELOAD
/// (cheap), else what the loader says.
fn own_path(preload: Option<&'static [u8]>) -> Option<&'static [u8]> {
    let mut named = preload.into_iter().flat_map(|p| p.split(|&b| b == b':' || b == b' '));
    if let Some(path) = named.rfind(|e| e.starts_with(b"/") && is_envtrack_library(e)) {
        return Some(path);
    }
    let loader = crate::real::OWN_PATH.load(Ordering::Acquire);
    // SAFETY: the loader's NUL-terminated path of this library (its link map's name),
    // kept for as long as the library is loaded; this library never unloads.
    let path = unsafe { sys::c_bytes(loader) };
    (!path.is_empty()).then_some(path)
}

fn nul_terminated(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 1);
    out.extend_from_slice(bytes);
    out.push(0);
    out
}

fn read_file(path: &[u8]) -> Result<Vec<u8>, i32> {
    let path = nul_terminated(path);
    let fd = crate::syscall::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC, 0)?;
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match crate::syscall::read(fd, &mut chunk) {
            Err(libc::EINTR) => continue,
            Err(error) => {
                crate::syscall::close(fd);
                return Err(error);
            }
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
        }
    }
    crate::syscall::close(fd);
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

/// envtrack's own variables, found in one pass over the inherited copy.
#[derive(Default)]
struct OwnVariables {
    off: bool,
    state: Option<&'static [u8]>,
    config: Option<&'static [u8]>,
    lists: Option<&'static [u8]>,
    autowrap: Option<&'static [u8]>,
    /// ENVTRACK_INJECT's value, with the NUL that ends it in the copy.
    inject: Option<&'static [u8]>,
    preload: Option<&'static [u8]>,
    /// Entries to rebuild in a child that lost them.
    rebuilt: Vec<&'static [u8]>,
}

impl OwnVariables {
    /// Notes `entry` if it is one of envtrack's variables or LD_PRELOAD.
    fn see(&mut self, entry: &'static [u8]) {
        let own = self;
        if let Some(value) = entry.strip_prefix(b"LD_PRELOAD=") {
            own.preload = Some(value);
            return;
        }
        if !entry.starts_with(b"ENVTRACK") {
            return;
        }
        let Some((name, value)) = split_entry(entry) else { return };
        let name = core::str::from_utf8(name).unwrap_or_default();
        match name {
            vars::ENVTRACK => own.off = vars::is_off(value),
            vars::STATE => own.state = Some(value),
            vars::CONFIG => own.config = Some(value),
            vars::LISTS => own.lists = Some(value),
            vars::AUTOWRAP => own.autowrap = Some(value),
            vars::INJECT => {
                // The copy keeps each entry's NUL right after it.
                let with_nul = value.as_ptr();
                // SAFETY: the entry is followed by its NUL inside the copy's mapping.
                own.inject = Some(unsafe { core::slice::from_raw_parts(with_nul, value.len() + 1) });
            }
            _ => {}
        }
        if matches!(name, vars::LISTS | vars::AUTOWRAP | vars::INJECT | vars::LOG) {
            // SAFETY: as above: the entry's NUL follows it in the copy.
            own.rebuilt.push(unsafe { core::slice::from_raw_parts(entry.as_ptr(), entry.len() + 1) });
        }
    }
}

static mut STORAGE: core::mem::MaybeUninit<Loaded> = core::mem::MaybeUninit::uninit();

/// The constructor's work. Returns the loaded configuration, or None when
/// envtrack stays off in this process.
pub fn load() -> Option<&'static Loaded> {
    let mut own = OwnVariables::default();
    let inherited = Inherited::copy(sys::current_environ(), |entry| own.see(entry))?;
    if own.off {
        return None;
    }
    let library = own_path(own.preload)?;
    // A process with an inherited state is not the root of its tree: the root
    // already read the directive file and said what was wrong with envtrack's
    // variables, so each problem is told once per tree, not once per process.
    let is_root = own.state.is_none();
    let mut registry = Registry::builtin();
    if let Some(spec) = own.lists {
        if let (Err(error), true) = (registry.add_spec(spec), is_root) {
            let at = Decimal::new(error.position as u64);
            sys::warn(&[b"ENVTRACK_LISTS: at byte ", at.as_bytes(), b": ", error.message.as_bytes(), b"; ignored"]);
        }
    }
    let saved = (own.state.is_some() || own.config.is_some() || own.lists.is_some()).then(sys::errno);
    let mut directives = DirectiveSet::default();
    let mut carried = Vec::new();
    if let Some(state) = own.state {
        load_state(state, &mut directives, &mut carried);
    }
    if let Some(path) = own.config.filter(|_| is_root) {
        load_config(path, &mut registry, &mut directives);
    }
    let mut directive_records = Vec::new();
    for level in [Level::Job, Level::App] {
        for directive in directives.level(level) {
            let _ = encode_record(&Record::Directive(level, directive.as_ref()), &mut directive_records);
        }
    }
    let mut targets: Vec<&'static [u8]> = Vec::new();
    for directive in &directives.job {
        if directive.name != b"LD_PRELOAD" && !targets.contains(&directive.name.as_slice()) {
            targets.push(Box::leak(directive.name.clone().into_boxed_slice()));
        }
    }
    let autowrap = match own.autowrap {
        None => Autowrap::Default,
        Some(b"0" | b"off" | b"") => Autowrap::Off,
        Some(list) => Autowrap::Names(list.split(|&b| b == b',').filter(|n| !n.is_empty()).collect()),
    };
    let loaded = Loaded {
        library,
        injector: own.inject,
        registry,
        directives,
        directive_records,
        targets,
        autowrap,
        own_entries: own.rebuilt,
        inherited,
    };
    // SAFETY: the constructor runs once, before any other thread can exist or read STORAGE;
    // readers only see it through LOADED, published below.
    let loaded: &'static Loaded = unsafe { (*core::ptr::addr_of_mut!(STORAGE)).write(loaded) };
    LOADED.store(loaded as *const Loaded as *mut Loaded, Ordering::Release);
    restore_carried(&carried);
    if let Some(saved) = saved {
        sys::set_errno(saved);
    }
    Some(loaded)
}

fn load_config(path: &[u8], registry: &mut Registry, directives: &mut DirectiveSet) {
    let text = match read_file(path) {
        Ok(text) => text,
        Err(error) => return warn_errno(&[b"ENVTRACK_CONFIG ", path], error),
    };
    match parse_directive_file(&text, registry) {
        Err(error) => {
            let line = Decimal::new(error.at.line as u64);
            let column = Decimal::new(error.at.column as u64);
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
    }
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
        let guard = table::WriteGuard::acquire();
        table::update(&guard, name, Some(Change::Set), Some(Change::Set));
    }
}

fn warn_codec(error: &envtrack_model::codec::CodecError, consequence: &[u8]) {
    let at = Decimal::new(error.position as u64);
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
fn load_state(value: &[u8], directives: &mut DirectiveSet, carried: &mut Vec<(Vec<u8>, Vec<u8>)>) {
    let spilled;
    let bytes = match value.strip_prefix(b"@") {
        Some(path) => match read_file(path) {
            Ok(bytes) => {
                let path_z = nul_terminated(path);
                // The file was made for this exec alone.
                crate::syscall::unlink(path_z.as_ptr().cast());
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
            Ok(Record::Tracked { name, change }) => table::update(&guard, name, Some(change), Some(change)),
            Ok(Record::Carried(d)) if d.op == Op::Set => carried.push((d.name.to_vec(), d.value.to_vec())),
            Ok(Record::Carried(_)) => {}
            Ok(Record::Directive(level, d)) => directives.level_mut(level).push(d.to_owned()),
        }
    }
}
