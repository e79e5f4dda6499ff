//! What a child's environment holds — the policy of the design:
//!
//! - the caller's entries in order, byte-exact (entries without `=` and
//!   duplicates of untracked names kept); an entry the kernel would refuse for
//!   its length travels in the state instead;
//! - every tracked variable the caller left out, with its current value (a
//!   value the caller passes explicitly stands);
//! - the job-level directives applied; LD_PRELOAD with this library first;
//! - envtrack's own configuration variables the caller dropped (`env -i`);
//! - the state: the child's tracked changes, the directives and the owner.
//!
//! With `ENVTRACK=off` in the caller's environment: the caller's entries, less
//! this library and envtrack's state, nothing else changed.

use core::ffi::c_char;

use envtrack_model::apply::{apply_to_value, entry_value, Outcome};
use envtrack_model::codec::Record;
use envtrack_model::sink::{Full, SliceSink};
use envtrack_model::state_env::is_state_name;
use envtrack_model::vars::{self, MAX_STRING};
use envtrack_model::{Change, Directive, DirectiveRef, Op};

use super::carve::{Bitmap, Mark, Targets};
use super::writer::{write_entry, Out};
use super::Mode;
use crate::loaded::Compared;
use crate::loaded::{is_envtrack_library, Loaded};
use crate::sys::{split_entry, split_key, CStrArray, Key};
use crate::track::{change_from, change_of};
use crate::tracked::{Tracked, View};

/// Where the current value of a directed variable is, while directives apply.
#[derive(Clone, Copy)]
enum Held<'v> {
    Absent,
    Given(&'v [u8]),
    InA(usize),
    InB(usize),
}

/// One build's inputs and work areas.
pub struct Builder<'a, 'm> {
    pub loaded: &'a Loaded,
    /// The tracked set, with ids fixed when the build began.
    pub view: View<'a>,

    pub mode: Mode,
    /// The caller's environment (for functions without an envp, or libc's
    /// array passed as one, the copy of environ).
    pub envp: *const *const c_char,
    /// Whether the caller's environment is `environ` itself.
    pub envp_is_environ: bool,
    /// The copy of `environ`, so both passes see the same one.
    pub environ: *const *const c_char,
    /// The copy of libc's own array, when the program replaced `environ`.
    pub last_environ: *const *const c_char,
    /// Which tracked entries this pass wrote.
    pub emitted: Bitmap<'m>,
    pub targets: Targets<'m>,
}

impl<'m> Builder<'_, 'm> {
    pub(super) fn envp(&self) -> CStrArray<'m> {
        // SAFETY: the caller's envp (or our copy of environ) is null or a NULL-terminated
        // array of strings (exec's contract) that outlives the build.
        unsafe { CStrArray::new(self.envp) }
    }

    #[inline(always)]
    pub(super) fn target_index(&self, name: &[u8]) -> Option<usize> {
        match name.first() {
            Some(&first) if self.loaded.may_be_target(first) => {
                self.loaded.target_index(name).filter(|&j| j < self.targets.chosen.len())
            }
            _ => None,
        }
    }

    pub(super) fn directives_for<'d>(&'d self, name: &'d [u8]) -> impl Iterator<Item = &'d Directive> + 'd {
        self.loaded.directives.job.iter().filter(move |d| d.name == name)
    }

    /// Records the child's change of `key`'s name (`found` in the tracked
    /// set, or not) for the value it gets.
    fn record_change(
        &self,
        out: &mut Out<'_>,
        key: Key<'_>,
        found: Option<Tracked>,
        value: Option<&[u8]>,
    ) -> Result<(), Full> {
        match change_of(self.loaded, key, found.and_then(|t| t.inherited), value) {
            Some(change) => out.record(&Record::Tracked { name: key.name, change }),
            None => Ok(()),
        }
    }

    /// [`Builder::record_change`] for a name not looked up yet.
    fn record_change_of(&self, out: &mut Out<'_>, name: &[u8], value: Option<&[u8]>) -> Result<(), Full> {
        let key = Key::new(name);
        self.record_change(out, key, self.view.find(key), value)
    }

    /// An entry of the caller's or of environ, with the record of its change:
    /// passed on as it is, or — when the kernel would refuse it for its
    /// length — carried in the state, whose carried record alone says what
    /// the child gets (a tracked record of the same name beside it would
    /// contradict it).
    #[inline(always)]
    fn record_and_pass(
        &self,
        out: &mut Out<'_>,
        key: Key<'_>,
        found: Option<Tracked>,
        entry: &'m [u8],
        value: &[u8],
    ) -> Result<(), Full> {
        if entry.len() < MAX_STRING {
            match found {
                Some(_) => self.record_change(out, key, found, Some(value))?,
                // Not tracked: one lookup says whether it is as inherited (most entries) and
                // gives the inherited value if not.
                None => {
                    let inherited_value = match self.loaded.inherited.compare(key, entry) {
                        Compared::Same => None,
                        Compared::Was(value) => Some(Some(value)),
                        Compared::Absent => Some(None),
                    };
                    if let Some(inherited_value) = inherited_value {
                        if let Some(change) = change_from(self.loaded, key, None, inherited_value, Some(value)) {
                            out.record(&Record::Tracked { name: key.name, change })?;
                        }
                    }
                }
            }
        }
        self.pass_entry(out, entry, key.name, value)
    }

    /// An entry of the caller's or of environ: passed on as it is (the
    /// pointer itself, nothing copied), or carried in the state when the
    /// kernel would refuse it for its length.
    #[inline(always)]
    fn pass_entry(&self, out: &mut Out<'_>, entry: &'m [u8], name: &[u8], value: &[u8]) -> Result<(), Full> {
        if entry.len() < MAX_STRING || self.mode == Mode::Off {
            return out.pass(entry);
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
        let fill = out;
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
            return match held {
                Held::Absent => Ok(()),
                Held::Given(v) => fill.entry(&[name, b"=", v]),
                Held::InA(len) => write_held(fill, name, true, len),
                Held::InB(len) => write_held(fill, name, false, len),
            };
        }
        // LD_PRELOAD: this library first (unless off), then the other preloads, without any
        // other copy of libenvtrack.so and without empty elements.
        let library = if self.mode == Mode::Track { Some(self.loaded.library) } else { None };
        let (len, in_a) = match held {
            Held::InA(len) => (preload_value(library, fill.scratch_a.get(..len), fill.scratch_b)?, false),
            Held::InB(len) => (preload_value(library, fill.scratch_b.get(..len), fill.scratch_a)?, true),
            Held::Given(v) => (preload_value(library, Some(v), fill.scratch_a)?, true),
            Held::Absent => (preload_value(library, None, fill.scratch_a)?, true),
        };
        if len == 0 {
            return Ok(()); // nothing left to preload
        }
        write_held(fill, name, in_a, len)
    }

    /// The whole environment, through `out`.
    pub fn build(&mut self, out: &mut Out<'_>) -> Result<(), Full> {
        self.emitted.clear();
        self.targets.clear();
        let mode = self.mode;
        // The value each directed variable starts from: the first occurrence (as getenv
        // sees it), or for LD_PRELOAD the last (as ld.so sees it).
        let mut entries = self.envp();
        while let Some(entry) = entries.next_unmeasured() {
            if !self.loaded.may_be_target(entry.first()) {
                continue;
            }
            let Some((name, value)) = split_entry(entry.measure()) else { continue };
            if let Some(j) = self.target_index(name) {
                if self.targets.chosen[j].is_none() || name == b"LD_PRELOAD" {
                    self.targets.chosen[j] = Some(value);
                }
            }
        }
        for entry in self.envp() {
            // Not NAME=VALUE (no '=', or nothing before it): kept as it is, never recorded.
            let Some((key, value)) = split_key(entry).filter(|(key, _)| !key.name.is_empty()) else {
                out.pass(entry)?;
                continue;
            };
            let name = key.name;
            if is_state_name(name) {
                continue;
            }
            if let Some(j) = self.target_index(name) {
                if !self.targets.written[j] {
                    self.targets.written[j] = true;
                    if mode != Mode::Off {
                        self.record_change_of(out, name, self.targets.chosen[j])?;
                    }
                    self.directed_entry(out, name, self.targets.chosen[j])?;
                }
                continue;
            }
            if mode == Mode::Off {
                out.pass(entry)?;
                continue;
            }
            let found = self.view.find(key);
            if let Some(tracked) = found {
                if self.emitted.mark(tracked.id) == Mark::Again {
                    continue; // a duplicate of a tracked name: the first one stands
                }
            }
            self.record_and_pass(out, key, found, entry, value)?;
        }
        if mode == Mode::Off {
            return Ok(());
        }
        self.tracked_left_out(out)?;
        // Directed variables the caller's environment did not have.
        for j in 0..self.targets.chosen.len() {
            if !self.targets.written[j] {
                let name = self.loaded.target_name(j);
                self.record_change_of(out, name, self.targets.chosen[j])?;
                self.directed_entry(out, name, self.targets.chosen[j])?;
            }
        }
        // Removals the child must know about.
        for tracked in self.view.iter() {
            if tracked.change == Some(Change::Unset)
                && !self.emitted.is_marked(tracked.id)
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

    /// Tracked variables the caller left out come back with their current
    /// value: from environ, or from libc's array if the program replaced
    /// environ since; failing both (`env -i` dropped them), their inherited one.
    fn tracked_left_out(&mut self, out: &mut Out<'_>) -> Result<(), Full> {
        if self.view.capacity() == 0 {
            return Ok(()); // nothing tracked
        }
        let mut sources = [self.environ, self.last_environ];
        if self.envp_is_environ {
            sources[0] = core::ptr::null();
        }
        // SAFETY: each source is null, our copy of environ, or our copy of libc's own array;
        // libc frees none of the strings.
        for entry in sources.iter().flat_map(|&source| unsafe { CStrArray::<'m>::new(source) }) {
            let Some((key, value)) = split_key(entry) else { continue };
            let name = key.name;
            let Some(tracked) = self.view.find(key) else { continue };
            if matches!(tracked.change, None | Some(Change::Unset)) || is_state_name(name) {
                continue;
            }
            if let Some(j) = self.target_index(name) {
                if !self.targets.written[j] && self.targets.chosen[j].is_none() {
                    self.targets.chosen[j] = Some(value);
                }
                continue;
            }
            // Tracked only since the build began, or already written: not left out.
            if self.emitted.mark(tracked.id) != Mark::First {
                continue;
            }
            self.record_and_pass(out, key, Some(tracked), entry, value)?;
        }
        for tracked in self.view.iter() {
            if matches!(tracked.change, None | Some(Change::Unset))
                || self.emitted.is_marked(tracked.id)
                || self.target_index(tracked.name).is_some()
            {
                continue;
            }
            let key = Key::new(tracked.name);
            let Some(value) = self.loaded.inherited.get(key) else { continue };
            self.emitted.mark(tracked.id);
            if !vars::is_oversized(tracked.name, value) {
                self.record_change(out, key, Some(tracked), Some(value))?;
            }
            self.emit_pair(out, tracked.name, value)?;
        }
        Ok(())
    }
}

/// Writes `NAME=` + the held value in scratch A or B.
fn write_held(fill: &mut Out<'_>, name: &[u8], in_a: bool, len: usize) -> Result<(), Full> {
    let Out { pointers, used_pointers, strings, scratch_a, scratch_b, .. } = fill;
    let scratch: &[u8] = if in_a { scratch_a } else { scratch_b };
    let value = scratch.get(..len).ok_or(Full)?;
    write_entry(strings, pointers, used_pointers, &[name, b"=", value])
}

/// Writes `library` (if any) then `current`'s preloads other than
/// libenvtrack.so into `out`; returns the length written.
fn preload_value(library: Option<&[u8]>, current: Option<&[u8]>, out: &mut [u8]) -> Result<usize, Full> {
    use envtrack_model::Sink;
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
