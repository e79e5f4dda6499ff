//! envtrack's own variables, as the constructor finds them in the inherited
//! environment.

use alloc::vec::Vec;

use envtrack_model::apply::split_entry;
use envtrack_model::vars;

/// envtrack's own variables, found in one pass over the inherited copy.
#[derive(Default)]
pub(super) struct OwnVariables {
    pub off: bool,
    pub state: Option<&'static [u8]>,
    pub config: Option<&'static [u8]>,
    pub lists: Option<&'static [u8]>,
    pub autowrap: Option<&'static [u8]>,
    /// ENVTRACK_INJECT's value, with the NUL that ends it in the copy.
    pub inject: Option<&'static [u8]>,
    pub preload: Option<&'static [u8]>,
    /// Entries to rebuild in a child that lost them.
    pub rebuilt: Vec<&'static [u8]>,
}

impl OwnVariables {
    /// Whether an entry starting with `first` may be one (a cheap test on
    /// every inherited entry; [`OwnVariables::see`] decides).
    pub fn may_be_one(first: u8) -> bool {
        first == b'E' || first == b'L'
    }

    /// Notes `entry` if it is one of envtrack's variables or LD_PRELOAD.
    pub fn see(&mut self, entry: &'static [u8]) {
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
