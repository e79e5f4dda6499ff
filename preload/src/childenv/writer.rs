//! The two-pass writer: the policy ([`super::policy`]) runs once through
//! [`Out::Sizing`] to size every region, then through [`Out::Filling`] into
//! regions carved from the arena. If another thread changed the tracked set
//! in between, the fill runs out of room ([`Full`]) and the build starts
//! again with more.

use core::ffi::c_char;

use envtrack_model::codec::{encode_record, Record, MAGIC};
use envtrack_model::sink::{CountingSink, Full, Sink, SliceSink};
use envtrack_model::state_env;

use super::carve::{Carve, Short};
use super::policy::Builder;
use super::{Built, Mode};

/// Region sizes found by the sizing pass.
#[derive(Clone, Copy, Default)]
pub struct Sizes {
    pub entries: usize,
    pub strings: usize,
    /// The encoded state (tracked records; the fixed parts are added later).
    pub state: usize,
    /// The largest intermediate value of a directed variable.
    pub scratch: usize,
}

/// Where one pass writes.
pub enum Out<'b> {
    Sizing(Sizes),
    Filling(Filling<'b>),
}

pub struct Filling<'b> {
    pub pointers: &'b mut [*const c_char],
    pub used_pointers: usize,
    pub strings: SliceSink<'b>,
    /// The encoded state: `ET1;` + records.
    pub state: SliceSink<'b>,
    pub scratch_a: &'b mut [u8],
    pub scratch_b: &'b mut [u8],
}

impl Out<'_> {
    /// Writes one `NAME=VALUE` entry from its parts.
    pub fn entry(&mut self, parts: &[&[u8]]) -> Result<(), Full> {
        match self {
            Out::Sizing(sizes) => {
                sizes.entries += 1;
                sizes.strings += parts.iter().map(|p| p.len()).sum::<usize>() + 1;
                Ok(())
            }
            Out::Filling(fill) => fill.entry(parts),
        }
    }

    /// Passes an existing entry on as it is: the pointer, nothing copied.
    /// `entry` must be followed by its NUL (it comes from a C string array).
    pub fn pass(&mut self, entry: &[u8]) -> Result<(), Full> {
        match self {
            Out::Sizing(sizes) => {
                sizes.entries += 1;
                Ok(())
            }
            Out::Filling(fill) => {
                let slot = fill.pointers.get_mut(fill.used_pointers).ok_or(Full)?;
                *slot = entry.as_ptr().cast();
                fill.used_pointers += 1;
                Ok(())
            }
        }
    }

    /// Adds one record to the child's state.
    pub fn record(&mut self, record: &Record<'_>) -> Result<(), Full> {
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

impl Filling<'_> {
    pub fn entry(&mut self, parts: &[&[u8]]) -> Result<(), Full> {
        write_entry(&mut self.strings, self.pointers, &mut self.used_pointers, parts)
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

/// The bytes every state holds besides its tracked records.
fn fixed_state(builder: &Builder<'_, '_>) -> usize {
    MAGIC.len() + builder.loaded.owner_record.as_bytes().len() + builder.loaded.directive_records.len()
}

/// Runs the sizing pass.
pub fn size(builder: &mut Builder<'_, '_>) -> Result<Sizes, Short> {
    let mut out = Out::Sizing(Sizes::default());
    builder.build(&mut out).map_err(|Full| Short(usize::MAX / 2))?;
    let Out::Sizing(mut sizes) = out else { return Err(Short(usize::MAX / 2)) };
    if builder.mode != Mode::Off {
        sizes.state += fixed_state(builder);
        sizes.entries += state_env::part_count(sizes.state);
        sizes.strings += state_env::entries_len(sizes.state);
    }
    Ok(sizes)
}

/// The bytes [`fill`] carves for `sizes` (alignment padding included).
pub fn fill_bytes(sizes: &Sizes) -> usize {
    let pointer = core::mem::size_of::<*const c_char>();
    (sizes.entries + 1) * pointer + sizes.strings + sizes.state + 2 * sizes.scratch + 4 * pointer
}

/// Fills regions carved from `carve` (which holds [`fill_bytes`]); `Full`
/// when the inputs grew since sizing (the caller starts again, leaving more
/// room for change).
pub fn fill<'m>(builder: &mut Builder<'_, 'm>, carve: &mut Carve<'m>, sizes: Sizes) -> Result<Built, Full> {
    let pointers = carve.take(sizes.entries + 1, core::ptr::null::<c_char>()).map_err(|_| Full)?;
    let strings = carve.take(sizes.strings, 0u8).map_err(|_| Full)?;
    let state = carve.take(sizes.state, 0u8).map_err(|_| Full)?;
    let scratch_a = carve.take(sizes.scratch, 0u8).map_err(|_| Full)?;
    let scratch_b = carve.take(sizes.scratch, 0u8).map_err(|_| Full)?;
    let mut state = SliceSink::new(state);
    if builder.mode != Mode::Off {
        let begun = state.put(MAGIC).and_then(|()| state.put(builder.loaded.owner_record.as_bytes()));
        begun?;
    }
    let mut out = Out::Filling(Filling {
        pointers,
        used_pointers: 0,
        strings: SliceSink::new(strings),
        state,
        scratch_a,
        scratch_b,
    });
    builder.build(&mut out)?;
    let Out::Filling(fill) = out else { return Err(Full) };
    let Filling { pointers, mut used_pointers, mut strings, mut state, .. } = fill;
    if builder.mode != Mode::Off {
        state.put(&builder.loaded.directive_records)?;
        let entries = |parts: &[&[u8]]| write_entry(&mut strings, pointers, &mut used_pointers, parts);
        state_env::for_each_entry(state.written(), entries)?;
    }
    *pointers.get_mut(used_pointers).ok_or(Full)? = core::ptr::null();
    Ok(Built { envp: pointers.as_ptr(), argv: core::ptr::null(), path: core::ptr::null() })
}

impl Sizes {
    /// Other threads may track more variables between the two passes; each
    /// new attempt leaves more room for that (x1, x2, x4, … plus a margin).
    pub fn with_room_for_change(mut self, attempt: u32) -> Sizes {
        let factor = 1usize << attempt.min(8);
        let margin = (256usize << (2 * attempt.min(8))) * usize::from(attempt > 0);
        self.entries = self.entries * factor + (factor - 1) * 16;
        self.strings = self.strings * factor + margin;
        self.state = self.state * factor + margin;
        self.scratch = self.scratch * factor + margin;
        self
    }
}
