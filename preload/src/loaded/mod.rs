//! What the constructor reads once: envtrack's own variables, the inherited
//! snapshot, the directive file, and a copy of the inherited environment.
//! Immutable once published, so the exec path reads it freely.

mod config;
mod inherited;
mod once;
mod own;
mod records;
mod reserve;
mod state;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicPtr, Ordering};

use envtrack_model::codec::{encode_record, Record};
use envtrack_model::{Credentials, Decimal, DirectiveSet, Level, Registry};

use crate::sys;
pub use inherited::{Compared, Inherited};
use own::OwnVariables;
pub use records::{Inherited as InheritedRecord, Records};
use state::Ownership;

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
    /// the one next to the library, or in `../bin` from it, is used (see
    /// [`Loaded::injector_path`]).
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
    /// The first bytes of LD_PRELOAD and the targets, as a 256-bit set: most
    /// names are told not to be targets by one bit test.
    target_first_bytes: [u64; 4],
    pub autowrap: Autowrap,
    /// envtrack's own configuration entries seen at load (`ENVTRACK_LISTS=…`),
    /// NUL-terminated, rebuilt in a child whose caller dropped them (`env -i`).
    pub own_entries: Vec<&'static [u8]>,
    pub inherited: Inherited,
    /// The tracked changes inherited, read in place.
    pub records: Records,
    /// The credentials the process started with: an exec under others
    /// (after setuid, as `sudo` and `runuser` do) is left alone.
    pub credentials: Credentials,
    /// The state record naming them, written first into every child's state
    /// (a fixed buffer: loading allocates nothing when nothing is tracked).
    pub owner_record: envtrack_model::ArrayBuf<64>,
}

static LOADED: AtomicPtr<Loaded> = AtomicPtr::new(core::ptr::null_mut());

/// The loaded configuration, once the constructor has run and envtrack is on.
pub fn get() -> Option<&'static Loaded> {
    let loaded = LOADED.load(Ordering::Acquire);
    // SAFETY: published once, fully built, and never freed.
    (!loaded.is_null()).then(|| unsafe { &*loaded })
}

impl Loaded {
    /// Before fork: the indexes, built if they are not.
    pub fn prepare_for_fork(&self) {
        let _ = self.records.count();
        self.inherited.ensure_index();
    }

    /// In a fork child: indexes another thread was building start again.
    pub fn reset_after_fork(&self) {
        self.inherited.reset_after_fork();
        self.records.reset_after_fork();
    }

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

    /// Whether a directed variable's name starts with `first`.
    #[inline(always)]
    pub fn may_be_target(&self, first: u8) -> bool {
        self.target_first_bytes[usize::from(first / 64)] & (1 << (first % 64)) != 0
    }

    /// The number of the directed variable `name`, if it is one.
    pub fn target_index(&self, name: &[u8]) -> Option<usize> {
        if name == b"LD_PRELOAD" {
            return Some(0);
        }
        self.targets.iter().position(|t| *t == name).map(|j| j + 1)
    }

    /// Writes a NUL-terminated path where `envtrack-inject` may be into
    /// `buffer`: candidate 0 is the configured one, else the one next to this
    /// library; candidate 1, when none is configured, the one in `../bin` from
    /// it (an installed tree: `PREFIX/lib/libenvtrack.so` and
    /// `PREFIX/bin/envtrack-inject`, where envtrack-inject looks for the library
    /// in `../lib`). None past the last candidate.
    pub fn injector_path<'b>(&self, candidate: usize, buffer: &'b mut [u8]) -> Option<&'b [u8]> {
        let mut sink = envtrack_model::SliceSink::new(buffer);
        use envtrack_model::Sink;
        match (self.injector, candidate) {
            (Some(path), 0) => sink.put(path.strip_suffix(&[0]).unwrap_or(path)).ok()?,
            (None, 0 | 1) => {
                let dir_end = self.library.iter().rposition(|&b| b == b'/').map_or(0, |p| p + 1);
                sink.put(self.library.get(..dir_end)?).ok()?;
                if candidate == 1 {
                    sink.put(b"../bin/").ok()?;
                }
                sink.put(b"envtrack-inject").ok()?;
            }
            _ => return None,
        }
        sink.put_byte(0).ok()?;
        let len = sink.len();
        Some(&buffer[..len])
    }
}

/// Whether a preload element names a libenvtrack.so.
pub use envtrack_model::vars::is_envtrack_library;

/// This library's absolute path: the absolute libenvtrack.so element of
/// LD_PRELOAD (cheap), else what the loader says — made absolute against the
/// current directory when it is relative (`LD_PRELOAD=./libenvtrack.so`), so
/// that children started after a `chdir` still find the library.
fn own_path(preload: Option<&'static [u8]>) -> Option<&'static [u8]> {
    let mut named = preload.into_iter().flat_map(|p| p.split(|&b| b == b':' || b == b' '));
    if let Some(path) = named.rfind(|e| e.starts_with(b"/") && is_envtrack_library(e)) {
        return Some(path);
    }
    let loader = crate::real::OWN_PATH.load(Ordering::Acquire);
    // SAFETY: the loader's NUL-terminated path of this library (its link map's name),
    // kept for as long as the library is loaded; this library never unloads.
    let path = unsafe { sys::c_bytes(loader) };
    if path.starts_with(b"/") {
        return Some(path);
    }
    if path.is_empty() {
        return None;
    }
    // The loader opened it relative to the directory the process started in, which is
    // still the current one: constructors run before any code of the program.
    let mut cwd = [0u8; 4096];
    let len = crate::syscall::getcwd(&mut cwd).ok()?;
    let relative = path.strip_prefix(b"./").unwrap_or(path);
    let mut absolute = Vec::with_capacity(len + 1 + relative.len());
    absolute.extend_from_slice(cwd.get(..len)?);
    absolute.push(b'/');
    absolute.extend_from_slice(relative);
    Some(Box::leak(absolute.into_boxed_slice()))
}

/// `bytes` and a NUL, for a C call (the constructor's work only).
fn nul_terminated(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 1);
    out.extend_from_slice(bytes);
    out.push(0);
    out
}

static mut STORAGE: core::mem::MaybeUninit<Loaded> = core::mem::MaybeUninit::uninit();

/// The constructor's work. Returns the loaded configuration, or None when
/// envtrack stays off in this process.
pub fn load() -> Option<&'static Loaded> {
    let (inherited, mut reserve) = Inherited::copy(sys::current_environ())?;
    let mut own = OwnVariables::default();
    for i in 0..inherited.len() {
        if let Some(entry) = inherited.entry_if(i, OwnVariables::may_be_one) {
            own.see(entry);
        }
    }
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
    let credentials = crate::process::credentials_at_start();
    let mut directives = DirectiveSet::default();
    let mut carried = Vec::new();
    let mut records = Records::none();
    if let Some(state) = own.state {
        let read = state::load_state(state, &inherited, credentials, &mut directives, &mut carried);
        if read.ownership == Ownership::Foreign {
            if let Some(saved) = saved {
                sys::set_errno(saved);
            }
            return None;
        }
        if let Some((bytes, start)) = read.tracked {
            records = Records::new(bytes, start, &mut reserve);
        }
    }
    if let Some(path) = own.config.filter(|_| is_root) {
        config::load_config(path, &mut registry, &mut directives);
    }
    let mut owner_record = envtrack_model::ArrayBuf::<64>::default();
    let _ = encode_record(&Record::Owner(credentials), &mut owner_record);
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
    let mut target_first_bytes = [0u64; 4];
    for name in targets.iter().copied().chain([&b"LD_PRELOAD"[..]]) {
        if let Some(&first) = name.first() {
            target_first_bytes[usize::from(first / 64)] |= 1 << (first % 64);
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
        target_first_bytes,
        autowrap,
        own_entries: own.rebuilt,
        inherited,
        records,
        credentials,
        owner_record,
    };
    // SAFETY: the constructor runs once, before any other thread can exist or read STORAGE;
    // readers only see it through LOADED, published below.
    let loaded: &'static Loaded = unsafe { (*core::ptr::addr_of_mut!(STORAGE)).write(loaded) };
    LOADED.store(loaded as *const Loaded as *mut Loaded, Ordering::Release);
    state::restore_carried(&carried);
    if let Some(saved) = saved {
        sys::set_errno(saved);
    }
    Some(loaded)
}
