//! Writing a child environment in one pass. [`super::bound`] gives the
//! pointers, strings and scratch regions sizes never smaller than what the
//! policy ([`super::policy`]) writes, from sums that cost a few instructions
//! per variable and measure no string; the state takes the rest of the arena.
//! The policy then runs once, through [`Out`]. A state of one part becomes
//! its environment entry where it was written (room for `ENVTRACK_STATE=` is
//! left before it), so it is never copied. If the arena runs out all the
//! same ([`Full`]), the build starts again in a larger one.

use core::ffi::c_char;

use envtrack_model::codec::{encode_record, Reader, Record, MAGIC};
use envtrack_model::sink::{Full, Sink, SliceSink};
use envtrack_model::{state_env, Change};

use super::carve::Carve;
use super::policy::Builder;
use super::{Built, Mode};

/// Region sizes (the state takes what is left).
#[derive(Clone, Copy, Default)]
pub struct Sizes {
    pub entries: usize,
    pub strings: usize,
    /// The largest intermediate value of a directed variable.
    pub scratch: usize,
}

/// Where the build writes.
pub struct Out<'b> {
    pub pointers: &'b mut [*const c_char],
    pub used_pointers: usize,
    pub strings: SliceSink<'b>,
    /// The encoded state: `ET1;`, the owner and the directives, then each
    /// record as the build makes it.
    pub state: SliceSink<'b>,
    /// How many carried records the state holds (they are moved before the
    /// tracked ones at the end).
    pub carried: usize,
    pub scratch_a: &'b mut [u8],
    pub scratch_b: &'b mut [u8],
}

impl Out<'_> {
    /// Writes one `NAME=VALUE` entry from its parts.
    pub fn entry(&mut self, parts: &[&[u8]]) -> Result<(), Full> {
        write_entry(&mut self.strings, self.pointers, &mut self.used_pointers, parts)
    }

    /// Passes an existing entry on as it is: the pointer, nothing copied.
    /// `entry` must be followed by its NUL (it comes from a C string array).
    #[inline]
    pub fn pass(&mut self, entry: &[u8]) -> Result<(), Full> {
        let slot = self.pointers.get_mut(self.used_pointers).ok_or(Full)?;
        *slot = entry.as_ptr().cast();
        self.used_pointers += 1;
        Ok(())
    }

    /// Adds one record to the child's state.
    #[inline(always)]
    pub fn record(&mut self, record: &Record<'_>) -> Result<(), Full> {
        let kind = match record {
            Record::Tracked { change: Change::Set, .. } => b'S',
            Record::Tracked { change: Change::Unset, .. } => b'U',
            _ => 0,
        };
        if let (Record::Tracked { name, .. }, true) = (record, kind != 0) {
            if (10..100).contains(&name.len()) {
                // The common record, written directly: `S` or `U`, the name's length, `:`, the name.
                let len = name.len() as u8;
                self.state.put(&[kind, b'0' + len / 10, b'0' + len % 10, b':'])?;
                return self.state.put(name);
            }
        }
        if let Record::Carried(_) = record {
            self.carried += 1;
        }
        encode_record(record, &mut self.state)
    }
}

/// Writes `parts` then a NUL into `strings`, and a pointer to it into the next slot of `pointers`.
pub fn write_entry(
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

/// The bytes [`fill`] carves besides the state (alignment padding included).
pub fn fill_bytes(sizes: &Sizes) -> usize {
    let pointer = core::mem::size_of::<*const c_char>();
    (sizes.entries + 1) * pointer + sizes.strings + 2 * sizes.scratch + 4 * pointer
}

/// The state's environment entry begins with this, written just before it.
const STATE_PREFIX: &[u8] = b"ENVTRACK_STATE=";

/// Fills regions carved from `carve` (which holds [`fill_bytes`] and room
/// for the state), leaving `keep` bytes of it for the caller; `Full` when
/// the state did not fit (the caller starts again with more).
pub fn fill<'m>(
    builder: &mut Builder<'_, 'm>,
    carve: &mut Carve<'m>,
    sizes: Sizes,
    keep: usize,
) -> Result<Built, Full> {
    // A state larger than one part is split into entries after it: a pointer for each.
    let parts_room = carve.left() / state_env::PART + 2;
    let pointers = carve.take_unwritten::<*const c_char>(sizes.entries + parts_room + 1).map_err(|_| Full)?;
    let strings = carve.take_bytes(sizes.strings).map_err(|_| Full)?;
    let scratch_a = carve.take_bytes(sizes.scratch).map_err(|_| Full)?;
    let scratch_b = carve.take_bytes(sizes.scratch).map_err(|_| Full)?;
    let region = carve.take_bytes(carve.left().checked_sub(keep).ok_or(Full)?).map_err(|_| Full)?;
    if region.len() <= STATE_PREFIX.len() {
        return Err(Full);
    }
    let (prefix, region) = region.split_at_mut(STATE_PREFIX.len());
    let mut state = SliceSink::new(&mut *region);
    let off = builder.mode == Mode::Off;
    if !off {
        state.put(MAGIC)?;
        state.put(builder.loaded.owner_record.as_bytes())?;
        state.put(&builder.loaded.directive_records)?;
    }
    let fixed = state.len();
    let mut out = Out {
        pointers: &mut *pointers,
        used_pointers: 0,
        strings: SliceSink::new(strings),
        state,
        carried: 0,
        scratch_a,
        scratch_b,
    };
    builder.build(&mut out)?;
    let (mut used, state_len, carried) = (out.used_pointers, out.state.len(), out.carried);
    if !off {
        let (state, spare) = region.split_at_mut(state_len);
        if carried > 0 {
            carried_first(state, fixed);
        }
        if state_env::part_count(state_len) == 1 {
            // Where it is: the prefix before it, a NUL after it.
            *spare.first_mut().ok_or(Full)? = 0;
            prefix.copy_from_slice(STATE_PREFIX);
            *pointers.get_mut(used).ok_or(Full)? = prefix.as_ptr().cast();
            used += 1;
        } else {
            let mut entries = SliceSink::new(spare);
            state_env::for_each_entry(state, |parts| write_entry(&mut entries, pointers, &mut used, parts))?;
        }
    }
    *pointers.get_mut(used).ok_or(Full)? = core::ptr::null();
    Ok(Built { envp: pointers.as_ptr(), argv: core::ptr::null(), path: core::ptr::null() })
}

/// Moves the carried records (`T`, rare: values too long for an environment
/// string) before the tracked ones, each kind in its order: readers act at
/// load on what comes before the first tracked record (docs/SNAPSHOT.md).
/// `state[fixed..]` holds records this build wrote, so each reads whole.
fn carried_first(state: &mut [u8], fixed: usize) {
    let (mut insert, mut at) = (fixed, fixed);
    while at < state.len() {
        let kind = state[at];
        let mut reader = Reader::resume(state, at);
        let next = match reader.next() {
            Some(Ok(_)) => reader.position(),
            _ => return,
        };
        if kind == b'T' {
            // In bounds: insert <= at < next <= len.
            state[insert..next].rotate_right(next - at);
            insert += next - at;
        }
        at = next;
    }
}

impl Sizes {
    /// Each new attempt after a build that ran out of room leaves more (x1,
    /// x2, x4, … plus a margin). The bound should never be short; this is
    /// the way out if it is.
    pub fn with_room_for_change(mut self, attempt: u32) -> Sizes {
        let factor = 1usize << attempt.min(8);
        let margin = (256usize << (2 * attempt.min(8))) * usize::from(attempt > 0);
        self.entries = self.entries * factor + (factor - 1) * 16;
        self.strings = self.strings * factor + margin;
        self.scratch = self.scratch * factor + margin;
        self
    }
}
