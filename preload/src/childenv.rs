//! Building a child's environment on the exec path.
//!
//! This runs after `fork` in a child of a multithreaded program, and inside
//! `vfork` children that share our memory while other threads keep running.
//! So it allocates nothing, takes no lock and cannot panic: it reads the
//! immutable [`Loaded`] data and the lock-free [`table`], and writes into a
//! caller-provided stack buffer or a fresh anonymous mapping.
//!
//! A build runs twice over the same inputs: once to size every region, then
//! to fill them. If the inputs changed in between (another thread called
//! `setenv`), the fill reports [`Full`] and the caller retries or falls back
//! to the caller's own arguments.
//!
//! The child environment is: the caller's entries in order (byte-exact, odd
//! entries kept), every tracked variable the caller left out (its current
//! value), job-level directives applied, envtrack's own configuration
//! variables the caller dropped, one `LD_PRELOAD` with this library first,
//! and one `ENVTRACK_STATE` describing the child's tracked changes.

use core::ffi::c_char;
use core::mem::size_of;

use envtrack_model::apply::{apply_to_value, entry_value, split_entry, Outcome};
use envtrack_model::codec::{encode_record, Record, MAGIC};
use envtrack_model::sink::{CountingSink, Full, Sink, SliceSink};
use envtrack_model::vars::{self, INLINE_STATE, MAX_STRING};
use envtrack_model::{Change, Decimal, Directive, DirectiveRef, Op};

use crate::loaded::{is_envtrack_library, Loaded};
use crate::sys::{self, CStrArray};
use crate::table;
use crate::track::change_of;

/// Directive targets handled per build (distinct names of job-level directives, and LD_PRELOAD).
pub const MAX_TARGETS: usize = 64;

const STATE_PREFIX: &[u8] = b"ENVTRACK_STATE=";

/// What the build is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A tracked child.
    Track,
    /// The caller's environment asks for `ENVTRACK=off`: pass it on without
    /// this library and without envtrack's state, and nothing else changed.
    Off,
    /// The child is `envtrack-inject` (a routed launcher): tracked, but
    /// without this library preloaded into the injector itself.
    Routed,
}

/// The caller's request.
pub struct Request {
    /// The caller's environment (null: empty).
    pub envp: *const *const c_char,
    /// Whether `envp` is `environ` (exec functions without an envp).
    pub envp_is_environ: bool,
    /// Routing, if the program is a launcher: the arguments to hand
    /// `envtrack-inject` after `--` (program, then argv[1..]). Not taken when
    /// the environment asks for envtrack to be off.
    pub route: Option<Route>,
}

/// A routed exec: `envtrack-inject -- PROGRAM ARGS…`.
#[derive(Clone, Copy)]
pub struct Route {
    /// The injector's NUL-terminated path.
    pub injector: [u8; 1024],
    pub program: *const c_char,
    /// The caller's argv (argv[0] is replaced by `program`).
    pub argv: *const *const c_char,
}

impl Route {
    pub fn injector_path(&self) -> *const c_char {
        self.injector.as_ptr().cast()
    }
}

/// Region sizes found by the sizing pass.
#[derive(Clone, Copy, Default)]
struct Sizes {
    entries: usize,
    strings: usize,
    state: usize,
    scratch: usize,
    argv: usize,
}

fn is_state_entry(name: &[u8]) -> bool {
    name == vars::STATE.as_bytes()
}

/// Where one build writes. `Sizing` only counts.
enum Out<'b> {
    Sizing(Sizes),
    Filling(Filling<'b>),
}

struct Filling<'b> {
    pointers: &'b mut [*const c_char],
    used_pointers: usize,
    strings: SliceSink<'b>,
    /// The state entry: `ENVTRACK_STATE=ET1;` + records.
    state: SliceSink<'b>,
    scratch_a: &'b mut [u8],
    scratch_b: &'b mut [u8],
    argv: &'b mut [*const c_char],
}

impl Out<'_> {
    fn entry(&mut self, parts: &[&[u8]]) -> Result<(), Full> {
        match self {
            Out::Sizing(sizes) => {
                sizes.entries += 1;
                sizes.strings += parts.iter().map(|p| p.len()).sum::<usize>() + 1;
                Ok(())
            }
            Out::Filling(fill) => out_entry_parts(&mut fill.strings, fill.pointers, &mut fill.used_pointers, parts),
        }
    }

    fn record(&mut self, record: &Record<'_>) -> Result<(), Full> {
        match self {
            Out::Sizing(sizes) => {
                let mut counter = CountingSink::default();
                encode_record(record, &mut counter)?;
                sizes.state += counter.count;
                Ok(())
            }
            Out::Filling(fill) => encode_record(record, &mut fill.state),
        }
    }
}

/// Where the current value of a directed variable is, while directives apply.
#[derive(Clone, Copy)]
enum Held<'v> {
    Absent,
    Given(&'v [u8]),
    InA(usize),
    InB(usize),
}

/// A child environment being built; see the module docs.
struct Builder<'a> {
    loaded: &'a Loaded,
    request: &'a Request,
    /// Decided from the environment actually used (read under the lock).
    mode: Mode,
    /// The caller's environment (for functions without an envp, the snapshot of environ).
    envp: *const *const c_char,
    /// A snapshot of `environ` taken once, so both passes see the same one
    /// while other threads call setenv.
    environ: *const *const c_char,
    /// A snapshot of libc's own array, when the program replaced `environ`.
    last_environ: *const *const c_char,
    /// Which tracked entries this pass emitted: a bit per table entry, in
    /// memory of this build alone (other threads build at the same time).
    emitted: &'a Bitmap,
}

impl Builder<'_> {
    fn envp(&self) -> CStrArray {
        // SAFETY: the caller's envp (or our snapshot of environ) is null or a NULL-terminated
        // array of strings (exec's contract).
        unsafe { CStrArray::new(self.envp) }
    }

    fn target_index(&self, name: &[u8]) -> Option<usize> {
        self.loaded.target_index(name).filter(|&j| j < MAX_TARGETS)
    }

    fn directives_for<'d>(&'d self, name: &'d [u8]) -> impl Iterator<Item = &'d Directive> + 'd {
        self.loaded.directives.job.iter().filter(move |d| d.name == name)
    }

    /// Records the child's change of `name` for the value it gets.
    fn record_change(&self, out: &mut Out<'_>, name: &[u8], value: Option<&[u8]>) -> Result<(), Full> {
        let inherited = table::find(name).and_then(|entry| entry.inherited);
        match change_of(self.loaded, name, inherited, value) {
            Some(change) => out.record(&Record::Tracked { name, change }),
            None => Ok(()),
        }
    }

    /// An ordinary entry: passed on, or carried in the state when the kernel
    /// would refuse it for its length.
    fn pass_entry(&self, out: &mut Out<'_>, entry: &[u8], name: &[u8], value: &[u8]) -> Result<(), Full> {
        if entry.len() < MAX_STRING || self.mode == Mode::Off {
            return out.entry(&[entry]); // one part: this is the path every entry takes
        }
        self.emit_pair(out, name, value)
    }

    /// `NAME=VALUE` from its parts (or carried, when too long).
    fn emit_pair(&self, out: &mut Out<'_>, name: &[u8], value: &[u8]) -> Result<(), Full> {
        if !vars::is_oversized(name, value) {
            return out.entry(&[name, b"=", value]);
        }
        out.record(&Record::Carried(DirectiveRef { op: Op::Set, name, value, sep: b':' }))
    }

    /// `NAME=VALUE` with the job-level directives on NAME applied (and, for
    /// LD_PRELOAD, this library first).
    fn directed_entry(&self, out: &mut Out<'_>, name: &[u8], value: Option<&[u8]>) -> Result<(), Full> {
        let is_preload = name == b"LD_PRELOAD";
        let fill = match out {
            Out::Sizing(sizes) => {
                let mut bound = value.map_or(0, <[u8]>::len) + 1;
                for directive in self.directives_for(name) {
                    bound += directive.value.len() + 1;
                }
                if is_preload {
                    bound += self.loaded.library.len() + 1;
                }
                sizes.entries += 1;
                sizes.strings += name.len() + 1 + bound + 1;
                sizes.scratch = sizes.scratch.max(bound);
                return Ok(());
            }
            Out::Filling(fill) => fill,
        };
        let mut held = value.map_or(Held::Absent, Held::Given);
        let directives = if self.mode == Mode::Off { None } else { Some(self.directives_for(name)) };
        for directive in directives.into_iter().flatten() {
            let (current, target): (Option<&[u8]>, &mut [u8]) = match held {
                Held::Absent => (None, &mut fill.scratch_a[..]),
                Held::Given(v) => (Some(v), &mut fill.scratch_a[..]),
                Held::InA(len) => (fill.scratch_a.get(..len), &mut fill.scratch_b[..]),
                Held::InB(len) => (fill.scratch_b.get(..len), &mut fill.scratch_a[..]),
            };
            let writes_a = !matches!(held, Held::InA(_));
            let mut sink = SliceSink::new(target);
            match apply_to_value(directive.as_ref(), current, &mut sink)? {
                Outcome::Unchanged => {}
                Outcome::Unset => held = Held::Absent,
                Outcome::Written => held = if writes_a { Held::InA(sink.len()) } else { Held::InB(sink.len()) },
            }
        }
        if !is_preload {
            let current: Option<&[u8]> = match held {
                Held::Absent => None,
                Held::Given(v) => Some(v),
                Held::InA(len) => fill.scratch_a.get(..len),
                Held::InB(len) => fill.scratch_b.get(..len),
            };
            return match current {
                Some(value) => {
                    out_entry_parts(&mut fill.strings, fill.pointers, &mut fill.used_pointers, &[name, b"=", value])
                }
                None => Ok(()),
            };
        }
        // LD_PRELOAD: this library first (unless off), then the other preloads, without any
        // other copy of libenvtrack.so and without empty elements.
        let library = if self.mode == Mode::Track { Some(self.loaded.library) } else { None };
        let (len, in_b) = match held {
            Held::InA(len) => (preload_value(library, fill.scratch_a.get(..len), fill.scratch_b)?, true),
            Held::InB(len) => (preload_value(library, fill.scratch_b.get(..len), fill.scratch_a)?, false),
            Held::Given(v) => (preload_value(library, Some(v), fill.scratch_a)?, false),
            Held::Absent => (preload_value(library, None, fill.scratch_a)?, false),
        };
        if len == 0 {
            return Ok(()); // nothing left to preload
        }
        let value = if in_b { fill.scratch_b.get(..len) } else { fill.scratch_a.get(..len) };
        out_entry_parts(&mut fill.strings, fill.pointers, &mut fill.used_pointers, &[name, b"=", value.ok_or(Full)?])
    }

    /// The whole environment, through `out`.
    fn build(&self, out: &mut Out<'_>) -> Result<(), Full> {
        self.emitted.clear();
        let mode = self.mode;
        let targets = if mode == Mode::Off { 1 } else { self.loaded.target_count().min(MAX_TARGETS) };
        // The value each directed variable starts from: the first occurrence (as getenv
        // sees it), or for LD_PRELOAD the last (as ld.so sees it).
        let mut chosen: [Option<&[u8]>; MAX_TARGETS] = [None; MAX_TARGETS];
        let mut emitted = [false; MAX_TARGETS];
        for entry in self.envp() {
            let Some((name, value)) = split_entry(entry) else { continue };
            if let Some(j) = self.target_index(name).filter(|&j| j < targets) {
                if chosen[j].is_none() || name == b"LD_PRELOAD" {
                    chosen[j] = Some(value);
                }
            }
        }
        for entry in self.envp() {
            let Some((name, value)) = split_entry(entry) else {
                out.entry(&[entry])?; // not NAME=VALUE: kept as it is
                continue;
            };
            if is_state_entry(name) {
                continue;
            }
            if let Some(j) = self.target_index(name).filter(|&j| j < targets) {
                if !emitted[j] {
                    emitted[j] = true;
                    if mode != Mode::Off {
                        self.record_change(out, name, chosen[j])?;
                    }
                    self.directed_entry(out, name, chosen[j])?;
                }
                continue;
            }
            if mode == Mode::Off {
                out.entry(&[entry])?;
                continue;
            }
            if let Some((index, _)) = table::find_numbered(name) {
                if self.emitted.mark(index) {
                    continue; // a duplicate of a tracked name: the first one stands
                }
            }
            self.record_change(out, name, Some(value))?;
            self.pass_entry(out, entry, name, value)?;
        }
        if mode == Mode::Off {
            return Ok(());
        }
        // Tracked variables the caller left out come back with their current value:
        // from environ, or from libc's array if the program replaced environ since.
        let mut sources = [self.environ, self.last_environ];
        if self.request.envp_is_environ {
            sources[0] = core::ptr::null();
        }
        // SAFETY: each source is null, our snapshot of environ, or libc's own NULL-terminated
        // array (libc frees none of its strings).
        for entry in sources.iter().flat_map(|&source| unsafe { CStrArray::new(source) }) {
            let Some((name, value)) = split_entry(entry) else { continue };
            let Some((index, tracked)) = table::find_numbered(name) else { continue };
            if matches!(tracked.change(), None | Some(Change::Unset)) || is_state_entry(name) {
                continue;
            }
            if let Some(j) = self.target_index(name).filter(|&j| j < targets) {
                if !emitted[j] && chosen[j].is_none() {
                    chosen[j] = Some(value);
                }
                continue;
            }
            if self.emitted.mark(index) {
                continue;
            }
            self.record_change(out, name, Some(value))?;
            self.pass_entry(out, entry, name, value)?;
        }
        // Tracked variables none of those has (`env -i` dropped them): their inherited value.
        for index in 0..table::len() {
            let tracked = table::entry(index);
            if matches!(tracked.change(), None | Some(Change::Unset))
                || self.emitted.is_marked(index)
                || self.target_index(tracked.name).is_some_and(|j| j < targets)
            {
                continue;
            }
            let Some(value) = self.loaded.inherited.get(tracked.name) else { continue };
            self.emitted.mark(index);
            self.record_change(out, tracked.name, Some(value))?;
            self.emit_pair(out, tracked.name, value)?;
        }
        // Directed variables the caller's environment did not have.
        for j in 0..targets {
            if !emitted[j] {
                let name = self.loaded.target_name(j);
                self.record_change(out, name, chosen[j])?;
                self.directed_entry(out, name, chosen[j])?;
            }
        }
        // Removals the child must know about.
        for index in 0..table::len() {
            let tracked = table::entry(index);
            if tracked.change() == Some(Change::Unset)
                && !self.emitted.is_marked(index)
                && self.target_index(tracked.name).is_none()
            {
                out.record(&Record::Tracked { name: tracked.name, change: Change::Unset })?;
            }
        }
        // envtrack's own configuration, rebuilt if the caller dropped it (env -i).
        for own in &self.loaded.own_entries {
            let own = own.get(..own.len().saturating_sub(1)).unwrap_or_default();
            let Some((name, _)) = split_entry(own) else { continue };
            if !self.envp().any(|entry| entry_value(entry, name).is_some()) {
                out.entry(&[own])?;
            }
        }
        Ok(())
    }
}

fn out_entry_parts(
    strings: &mut SliceSink<'_>,
    pointers: &mut [*const c_char],
    used: &mut usize,
    parts: &[&[u8]],
) -> Result<(), Full> {
    let start = strings.len();
    for part in parts {
        strings.put(part)?;
    }
    strings.put_byte(0)?;
    let slot = pointers.get_mut(*used).ok_or(Full)?;
    *slot = strings.written().get(start..).ok_or(Full)?.as_ptr().cast();
    *used += 1;
    Ok(())
}

/// Writes `library` (if any) then `current`'s preloads other than
/// libenvtrack.so into `out`; returns the length written.
fn preload_value(library: Option<&[u8]>, current: Option<&[u8]>, out: &mut [u8]) -> Result<usize, Full> {
    let mut sink = SliceSink::new(out);
    if let Some(library) = library {
        sink.put(library)?;
    }
    let others = current.unwrap_or_default().split(|&b| b == b':' || b == b' ');
    for element in others.filter(|e| !e.is_empty() && !is_envtrack_library(e)) {
        if !sink.is_empty() {
            sink.put_byte(b':')?;
        }
        sink.put(element)?;
    }
    Ok(sink.len())
}

/// A built child environment (and argv, when routed), ready for exec.
pub struct Built {
    pub envp: *const *const c_char,
    /// The routed argv (`envtrack-inject -- PROGRAM ARGS…`), or null.
    pub argv: *const *const c_char,
    mapping: *mut u8,
    mapping_len: usize,
    spill: [u8; 512],
    spill_len: usize,
}

impl Built {
    /// Undoes what the build left behind: the spilled state file and the
    /// mapping. For when the exec failed (a successful exec replaces all).
    pub fn release(&mut self) {
        self.release_spill();
        self.release_memory();
    }

    /// Unmaps the memory (after a spawn, whose child has its own copy).
    pub fn release_memory(&mut self) {
        if !self.mapping.is_null() {
            sys::unmap(self.mapping.cast(), self.mapping_len);
            self.mapping = core::ptr::null_mut();
        }
    }
}

const ALIGN: usize = size_of::<*const c_char>();

fn align(n: usize) -> usize {
    n.div_ceil(ALIGN) * ALIGN
}

/// Counts the caller's argv.
fn argc(argv: *const *const c_char) -> usize {
    // SAFETY: argv is null or NULL-terminated (exec's contract).
    unsafe { CStrArray::new(argv) }.count()
}

/// Builds the child environment into `stack` when it fits, else into a fresh
/// mapping. None when it cannot be built; the caller then execs with its own
/// arguments.
pub fn prepare(loaded: &Loaded, request: &Request, stack: &mut [u8]) -> Option<Built> {
    let mut small = [core::ptr::null(); 320];
    let mut small_bits = [0u8; 256];
    let snapshot = EnvironSnapshot::take(&mut small, request.envp)?;
    // libc's array passed as envp (even one replaced since) means "the environment".
    let envp = if request.envp_is_environ || snapshot.envp_is_libc { snapshot.pointers } else { request.envp };
    let bitmap = Bitmap::new(&mut small_bits, table::len())?;
    let last_environ = snapshot.last;
    let mode = if asks_off(envp) {
        Mode::Off
    } else if request.route.is_some() {
        Mode::Routed
    } else {
        Mode::Track
    };
    let emitted = &bitmap;
    build_into(&Builder { loaded, request, mode, envp, environ: snapshot.pointers, last_environ, emitted }, stack)
}

/// Whether `envp` asks for envtrack to be off (`ENVTRACK=off`).
fn asks_off(envp: *const *const c_char) -> bool {
    // SAFETY: envp is the caller's array or our snapshot of libc's, NULL-terminated.
    let mut env = unsafe { CStrArray::new(envp) };
    env.find_map(|e| entry_value(e, vars::ENVTRACK.as_bytes())).is_some_and(vars::is_off)
}

/// A bitmap over table entries, on the stack when small, else mapped. Entries
/// added after the build began are past its capacity and count as marked
/// (they are skipped).
struct Bitmap {
    bits: *mut u8,
    capacity: usize,
    mapping: *mut u8,
}

impl Bitmap {
    fn new(small: &mut [u8], entries: usize) -> Option<Bitmap> {
        if entries <= small.len() * 8 {
            return Some(Bitmap { bits: small.as_mut_ptr(), capacity: entries, mapping: core::ptr::null_mut() });
        }
        let mapping = sys::map(entries.div_ceil(8))?;
        Some(Bitmap { bits: mapping, capacity: entries, mapping })
    }

    fn clear(&self) {
        // SAFETY: `bits` holds capacity / 8 bytes (rounded up), ours alone.
        unsafe { core::ptr::write_bytes(self.bits, 0, self.capacity.div_ceil(8)) };
    }

    /// Marks entry `index`; returns whether it was already marked.
    fn mark(&self, index: usize) -> bool {
        if index >= self.capacity {
            return true;
        }
        // SAFETY: index < capacity, within the bitmap.
        let byte = unsafe { &mut *self.bits.add(index / 8) };
        let was = *byte & (1 << (index % 8)) != 0;
        *byte |= 1 << (index % 8);
        was
    }

    fn is_marked(&self, index: usize) -> bool {
        // SAFETY: index < capacity, within the bitmap.
        index >= self.capacity || unsafe { *self.bits.add(index / 8) } & (1 << (index % 8)) != 0
    }
}

impl Drop for Bitmap {
    fn drop(&mut self) {
        if !self.mapping.is_null() {
            sys::unmap(self.mapping, self.capacity.div_ceil(8));
        }
    }
}

/// The pointers of `environ` (and of libc's own array, if the program
/// replaced `environ` since the last setenv) copied once, under the
/// environment lock, so that no concurrent setenv frees an array while we
/// read it. The strings themselves libc never frees. On the stack when small,
/// else in a mapping of our own.
struct EnvironSnapshot {
    /// The copy of `environ`, NULL-terminated.
    pointers: *const *const c_char,
    /// Whether the caller's envp is libc's array, current or replaced (see
    /// `track::is_retired`), decided under the lock: then the copy is used,
    /// never the array another thread's setenv may free.
    envp_is_libc: bool,
    /// The copy of libc's array when it is not `environ`, NULL-terminated; else null.
    last: *const *const c_char,
    mapping: *mut u8,
    mapping_len: usize,
}

impl EnvironSnapshot {
    fn take(small: &mut [*const c_char], envp: *const *const c_char) -> Option<EnvironSnapshot> {
        // Without the lock (a holder that never finishes), copy anyway: as libc's execv would.
        let guard = table::WriteGuard::acquire_within(100_000);
        let live = sys::current_environ();
        let envp_is_libc = !envp.is_null() && (envp == live || crate::track::is_retired(envp));
        let last = crate::track::LAST_ENVIRON.load(core::sync::atomic::Ordering::Acquire).cast_const();
        let last = if last == live || guard.is_none() { core::ptr::null() } else { last };
        // SAFETY: each is null or a NULL-terminated array nobody frees while we hold the lock.
        let (live_count, last_count) = unsafe { (CStrArray::new(live).count(), CStrArray::new(last).count()) };
        let needed = live_count + 1 + last_count + 1;
        let (target, mapping, mapping_len) = if needed <= small.len() {
            (small.as_mut_ptr(), core::ptr::null_mut(), 0)
        } else {
            let len = needed * ALIGN;
            (sys::map(len)?.cast::<*const c_char>(), core::ptr::null_mut::<u8>(), len)
        };
        let mapping = if mapping_len > 0 { target.cast::<u8>() } else { mapping };
        // SAFETY: `target` holds `needed` pointers; each copy writes count + 1 of them.
        unsafe {
            copy_pointers(live, live_count, target);
            copy_pointers(last, last_count, target.add(live_count + 1));
        }
        drop(guard);
        let last = if last.is_null() { core::ptr::null() } else { target.wrapping_add(live_count + 1).cast_const() };
        Some(EnvironSnapshot { pointers: target, envp_is_libc, last, mapping, mapping_len })
    }
}

/// Copies at most `count` pointers of the NULL-terminated `source` to
/// `target`, then a NULL.
///
/// # Safety
/// `target` must hold `count + 1` pointers; `source` null or NULL-terminated.
unsafe fn copy_pointers(source: *const *const c_char, count: usize, target: *mut *const c_char) {
    let mut index = 0;
    while index < count && !source.is_null() {
        // SAFETY: index < count, within the array counted under the lock.
        let entry = unsafe { *source.add(index) };
        if entry.is_null() {
            break;
        }
        // SAFETY: index < count < the target's capacity.
        unsafe { *target.add(index) = entry };
        index += 1;
    }
    // SAFETY: index <= count.
    unsafe { *target.add(index) = core::ptr::null() };
}

impl Drop for EnvironSnapshot {
    fn drop(&mut self) {
        if !self.mapping.is_null() {
            sys::unmap(self.mapping, self.mapping_len);
        }
    }
}

/// Sizes, then fills; again when the inputs changed between the passes.
fn build_into(builder: &Builder<'_>, stack: &mut [u8]) -> Option<Built> {
    let (loaded, request) = (builder.loaded, builder.request);
    for attempt in 0..4 {
        let mut out = Out::Sizing(Sizes::default());
        builder.build(&mut out).ok()?;
        let Out::Sizing(mut sizes) = out else { return None };
        sizes.state += STATE_PREFIX.len() + MAGIC.len() + loaded.directive_records.len() + 1;
        // Other threads may change tracked variables between the passes; each
        // retry leaves more room for that (x1, x2, x4, x8, plus a margin).
        let factor = 1usize << attempt;
        let margin = 256 << (2 * attempt);
        sizes.entries = sizes.entries * factor + (factor - 1) * 16;
        sizes.strings = sizes.strings * factor + margin;
        sizes.state = sizes.state * factor + margin;
        sizes.scratch = sizes.scratch * factor + margin;
        if let (Some(route), Mode::Routed) = (&request.route, builder.mode) {
            sizes.argv = argc(route.argv).max(1) + 3;
        }
        // Pointers: entries, the state entry, the NULL.
        let pointer_bytes = (sizes.entries + 2) * ALIGN;
        let total = pointer_bytes
            + sizes.argv * ALIGN
            + align(sizes.strings)
            + align(sizes.state)
            + 2 * align(sizes.scratch)
            + 64;
        let (memory, mapping) = if total <= stack.len() {
            (stack.as_mut_ptr(), core::ptr::null_mut())
        } else {
            let mapping = sys::map(total)?;
            (mapping, mapping)
        };
        let mut built = Built {
            envp: core::ptr::null(),
            argv: core::ptr::null(),
            mapping,
            mapping_len: total,
            spill: [0; 512],
            spill_len: 0,
        };
        // SAFETY: `memory` is `total` writable bytes (the caller's stack buffer or our mapping);
        // the regions below are disjoint and the pointer regions come first, so they stay
        // aligned when `memory` is.
        let filled = unsafe { fill(builder, request, &mut built, memory, total, sizes, pointer_bytes) };
        match filled {
            Ok(()) => return Some(built),
            Err(Full) => built.release(), // the inputs changed between the passes: again
        }
    }
    None
}

/// The filling pass over the carved regions.
///
/// # Safety
/// `memory` must be `total` writable bytes, aligned for pointers, not used elsewhere.
unsafe fn fill(
    builder: &Builder<'_>,
    request: &Request,
    built: &mut Built,
    memory: *mut u8,
    total: usize,
    sizes: Sizes,
    pointer_bytes: usize,
) -> Result<(), Full> {
    if !(memory as usize).is_multiple_of(ALIGN) {
        return Err(Full);
    }
    // SAFETY: the caller gives `total` bytes; every carve below stays inside them.
    let all = unsafe { core::slice::from_raw_parts_mut(memory, total) };
    let (pointer_area, rest) = all.split_at_mut(pointer_bytes);
    let (argv_area, rest) = rest.split_at_mut(sizes.argv * ALIGN);
    let (string_area, rest) = rest.split_at_mut(align(sizes.strings));
    let (state_area, rest) = rest.split_at_mut(align(sizes.state));
    let (scratch_a, rest) = rest.split_at_mut(align(sizes.scratch));
    let (scratch_b, _) = rest.split_at_mut(align(sizes.scratch));
    // SAFETY: both areas are aligned (they start at `memory` and at a multiple of ALIGN) and
    // sized for whole pointers.
    let pointers = unsafe {
        core::slice::from_raw_parts_mut(pointer_area.as_mut_ptr().cast::<*const c_char>(), sizes.entries + 2)
    };
    // SAFETY: as above.
    let argv = unsafe { core::slice::from_raw_parts_mut(argv_area.as_mut_ptr().cast::<*const c_char>(), sizes.argv) };
    let mut state = SliceSink::new(state_area);
    state.put(STATE_PREFIX)?;
    state.put(MAGIC)?;
    let mut out = Out::Filling(Filling {
        pointers,
        used_pointers: 0,
        strings: SliceSink::new(string_area),
        state,
        scratch_a,
        scratch_b,
        argv,
    });
    builder.build(&mut out)?;
    let Out::Filling(fill) = out else { return Err(Full) };
    let Filling { pointers, mut used_pointers, mut state, argv, .. } = fill;
    if builder.mode != Mode::Off {
        state.put(&builder.loaded.directive_records)?;
        let state_len = state.len();
        if state_len - STATE_PREFIX.len() > INLINE_STATE {
            spill(builder, &mut state, built)?;
        }
        state.put_byte(0)?;
        *pointers.get_mut(used_pointers).ok_or(Full)? = state.written().as_ptr().cast();
        used_pointers += 1;
    }
    *pointers.get_mut(used_pointers).ok_or(Full)? = core::ptr::null();
    built.envp = pointers.as_ptr();
    if let (Some(route), Mode::Routed) = (&request.route, builder.mode) {
        let mut at = 0;
        let mut push = |p: *const c_char| -> Result<(), Full> {
            *argv.get_mut(at).ok_or(Full)? = p;
            at += 1;
            Ok(())
        };
        push(route.injector_path())?;
        push(c"--".as_ptr())?;
        push(route.program)?;
        let mut index = 0;
        // SAFETY: route.argv is null or NULL-terminated (exec's contract); we only read
        // the pointers of argv[1..].
        while !route.argv.is_null() && !unsafe { *route.argv.add(index) }.is_null() {
            if index > 0 {
                // SAFETY: index is within the NULL-terminated array.
                push(unsafe { *route.argv.add(index) })?;
            }
            index += 1;
        }
        push(core::ptr::null())?;
        built.argv = argv.as_ptr();
    }
    Ok(())
}

/// Moves the state into a new 0600 file and leaves `ENVTRACK_STATE=@PATH`.
fn spill(builder: &Builder<'_>, state: &mut SliceSink<'_>, built: &mut Built) -> Result<(), Full> {
    let dir = builder.loaded.inherited.get(b"TMPDIR").filter(|d| !d.is_empty() && d.len() < 300).unwrap_or(b"/tmp");
    let mut path = SliceSink::new(&mut built.spill);
    path.put(dir)?;
    path.put(b"/envtrack-state-")?;
    path.put(Decimal::new(crate::syscall::getpid() as u64).as_bytes())?;
    path.put_byte(b'-')?;
    path.put(Decimal::new(table::unique()).as_bytes())?;
    path.put_byte(0)?;
    let path_len = path.len();
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    let Ok(fd) = crate::syscall::open(built.spill.as_ptr().cast(), flags, 0o600) else {
        sys::warn(&[b"cannot write the snapshot file ", built.spill.get(..path_len - 1).unwrap_or_default()]);
        return Err(Full);
    };
    built.spill_len = path_len;
    let body = state.written().get(STATE_PREFIX.len()..).unwrap_or_default();
    let mut written = 0;
    while written < body.len() {
        let rest = body.get(written..).unwrap_or_default();
        match crate::syscall::write(fd, rest) {
            Err(libc::EINTR) => continue,
            Ok(n) if n > 0 => written += n,
            _ => {
                crate::syscall::close(fd);
                built.release_spill();
                return Err(Full);
            }
        }
    }
    crate::syscall::close(fd);
    state.truncate(STATE_PREFIX.len());
    state.put_byte(b'@')?;
    state.put(built.spill.get(..path_len - 1).unwrap_or_default())
}

impl Built {
    /// Removes the spilled state file (when no child will read it).
    pub fn release_spill(&mut self) {
        if self.spill_len > 0 {
            // spill holds a NUL-terminated path we created.
            crate::syscall::unlink(self.spill.as_ptr().cast());
            self.spill_len = 0;
        }
    }
}
