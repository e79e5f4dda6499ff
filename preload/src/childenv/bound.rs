//! How much room a build needs besides its state, from above, without
//! measuring the strings of the environment: counts of entries, and the
//! lengths of the few values directed variables start from.
//!
//! Every count covers what [`Builder::build`] can write: one pointer per
//! entry of the caller's, per directed variable, per tracked variable and per
//! own entry; a directed value no longer than its starting value plus every
//! directive's value and this library; the inherited values of tracked
//! variables left out (as `NAME=VALUE`, at most the inherited copy). The
//! state takes the rest of the arena ([`super::writer::fill`]).

use super::policy::Builder;
use super::writer::Sizes;
use crate::sys::{split_entry, CStrArray};

impl<'m> Builder<'_, 'm> {
    /// Whether `entry` sets a directed variable.
    #[inline(always)]
    fn is_directed(&self, entry: &[u8]) -> bool {
        split_entry(entry).is_some_and(|(name, _)| self.target_index(name).is_some())
    }

    /// The entries of `array` and the total length of those that set a
    /// directed variable (only those are measured).
    fn count(&self, mut array: CStrArray<'m>) -> (usize, usize) {
        let (mut count, mut directed) = (0, 0);
        while let Some(entry) = array.next_unmeasured() {
            count += 1;
            if self.loaded.may_be_target(entry.first()) {
                let entry = entry.measure();
                if self.is_directed(entry) {
                    directed += entry.len();
                }
            }
        }
        (count, directed)
    }

    pub fn bound(&self) -> Sizes {
        let loaded = self.loaded;
        let mut sizes = Sizes::default();
        // The caller's entries; and the lengths of every value a directed variable may start from.
        let (count, mut directed_values) = self.count(self.envp());
        let tracked = self.view.capacity();
        if tracked > 0 {
            // Tracked variables the caller left out: from environ or libc's array (directed ones
            // start from them), else from their inherited values.
            let sources = [if self.envp_is_environ { core::ptr::null() } else { self.environ }, self.last_environ];
            for source in sources {
                // SAFETY: each is null or one of our NULL-terminated copies of libc's arrays.
                directed_values += self.count(unsafe { CStrArray::<'m>::new(source) }).1;
            }
            sizes.strings += loaded.inherited.bytes();
        }
        let targets = self.targets.chosen.len();
        for j in 0..targets {
            let name = loaded.target_name(j);
            let mut room = 1 + self.directives_for(name).map(|d| d.value.len() + 1).sum::<usize>();
            if j == 0 {
                room += loaded.library.len() + 1; // LD_PRELOAD
            }
            sizes.strings += name.len() + 2 + room;
            sizes.scratch = sizes.scratch.max(room);
        }
        sizes.strings += directed_values;
        sizes.scratch += directed_values;
        sizes.strings += loaded.own_entries.iter().map(|e| e.len() + 1).sum::<usize>();
        sizes.entries = count + targets + tracked + loaded.own_entries.len() + 1;
        sizes
    }
}
