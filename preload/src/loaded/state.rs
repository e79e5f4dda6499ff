//! The inherited state (`ENVTRACK_STATE`, and its parts when split), as far
//! as loading reads it: the owner, the directives and the carried values,
//! which writers put before the tracked changes. The tracked changes are
//! left where they are, for [`super::records`] to read at the first need.

use alloc::vec::Vec;

use envtrack_model::codec::{Reader, Record};
use envtrack_model::{state_env, Change, Credentials, Decimal, DirectiveSet, Op};

use crate::sys;
use crate::table;

/// A carried set (a value too large for an environment string, or brought
/// from elsewhere) is put into this process's environment.
pub(super) fn restore_carried(carried: &[(Vec<u8>, Vec<u8>)]) {
    for (name, value) in carried {
        let name_z = super::nul_terminated(name);
        let value_z = super::nul_terminated(value);
        if let Some(setenv) = crate::real::call::SETENV() {
            // SAFETY: both strings are NUL-terminated and live across the call.
            unsafe { setenv(name_z.as_ptr().cast(), value_z.as_ptr().cast(), 1) };
        }
        // As the setenv hook does: libc's array now holds the value, and a program that
        // replaces environ (`env -i`) leaves it there for the exec path to find.
        crate::track::LAST_ENVIRON.store(sys::current_environ().cast_mut(), core::sync::atomic::Ordering::Release);
        let guard = crate::lock::Guard::acquire();
        let key = crate::sys::Key::new(name);
        match super::get() {
            Some(loaded) => crate::tracked::carried(&guard, loaded, key),
            None => {
                let new = table::New { inherited: Some(Change::Set), record: None };
                table::update(&guard, key, new, Some(Change::Set));
            }
        }
    }
}

pub(super) fn warn_codec(error: &envtrack_model::codec::CodecError, consequence: &[u8]) {
    let at = Decimal::new(error.position as u64);
    sys::warn(&[
        b"ENVTRACK_STATE: malformed snapshot at byte ",
        at.as_bytes(),
        b": ",
        error.message.as_bytes(),
        consequence,
    ]);
}

/// Whether the inherited state belongs to this process's user.
#[derive(PartialEq, Eq)]
pub(super) enum Ownership {
    /// Ours (or no state, or a state naming no owner): tracking goes on.
    Ours,
    /// Written by a process with other credentials: this process is left
    /// alone (envtrack never carries anything across a change of user).
    Foreign,
}

/// The state an environment carries: `ENVTRACK_STATE`'s value, joined with
/// its parts when split. None (after one warning) when the parts are damaged.
fn joined(value: &'static [u8], inherited: &super::inherited::Inherited) -> Option<&'static [u8]> {
    let part = |n: usize| {
        let mut name = envtrack_model::ArrayBuf::<48>::default();
        let _ = envtrack_model::Sink::put(&mut name, b"ENVTRACK_STATE_");
        let _ = envtrack_model::Sink::put_decimal(&mut name, n);
        inherited.get(crate::sys::Key::new(name.as_bytes()))
    };
    match state_env::join(value, part) {
        Ok(None) => Some(value),
        // Kept for the process's life: the tracked records are read in place.
        Ok(Some(state)) => Some(alloc::boxed::Box::leak(state.into_boxed_slice())),
        Err(error) => {
            let mut line = envtrack_model::ArrayBuf::<160>::default();
            let _ = error.describe(&mut line);
            sys::warn(&[b"ENVTRACK_STATE: ", line.as_bytes(), b"; tracking starts afresh"]);
            None
        }
    }
}

/// What loading found in the inherited state.
pub(super) struct StateRead {
    pub ownership: Ownership,
    /// The state's bytes, and where its tracked records begin.
    pub tracked: Option<(&'static [u8], usize)>,
}

/// Reads the inherited state up to its tracked changes: directives go into
/// `directives`, carried sets into `carried`; unless the state was written
/// under other credentials than `ours`.
pub(super) fn load_state(
    value: &'static [u8],
    inherited: &super::inherited::Inherited,
    ours: Credentials,
    directives: &mut DirectiveSet,
    carried: &mut Vec<(Vec<u8>, Vec<u8>)>,
) -> StateRead {
    let afresh = StateRead { ownership: Ownership::Ours, tracked: None };
    if value.starts_with(b"@") {
        // An earlier envtrack's state file: never read (nor removed) by this one.
        sys::warn(&[b"ENVTRACK_STATE: names a file, which envtrack does not read (the state travels in the environment); tracking starts afresh"]);
        return afresh;
    }
    let Some(bytes) = joined(value, inherited) else { return afresh };
    let mut reader = match Reader::new(bytes) {
        Ok(reader) => reader,
        Err(error) => {
            warn_codec(&error, b"; tracking starts afresh");
            return afresh;
        }
    };
    // Writers put the owner first.
    if let Some(Ok(Record::Owner(owner))) = reader.clone().next() {
        if owner != ours {
            return StateRead { ownership: Ownership::Foreign, tracked: None };
        }
    }
    while matches!(reader.peek_kind(), Some(b'O' | b'J' | b'A' | b'T')) {
        match reader.next() {
            Some(Err(error)) => {
                warn_codec(&error, b"; the rest is ignored");
                return afresh;
            }
            Some(Ok(Record::Carried(d))) if d.op == Op::Set => carried.push((d.name.to_vec(), d.value.to_vec())),
            Some(Ok(Record::Directive(level, d))) => directives.level_mut(level).push(d.to_owned()),
            _ => {}
        }
    }
    StateRead { ownership: Ownership::Ours, tracked: Some((bytes, reader.position())) }
}
