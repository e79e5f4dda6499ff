//! The inherited state (`ENVTRACK_STATE`, and its parts when split):
//! tracked changes into the table, directives, and carried values restored
//! into this process's environment.

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
        let guard = crate::lock::Guard::acquire();
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
fn joined<'v>(value: &'v [u8], inherited: &super::inherited::Inherited, buffer: &'v mut Vec<u8>) -> Option<&'v [u8]> {
    let part = |n: usize| {
        let mut name = envtrack_model::ArrayBuf::<48>::default();
        let _ = envtrack_model::Sink::put(&mut name, b"ENVTRACK_STATE_");
        let _ = envtrack_model::Sink::put_decimal(&mut name, n);
        inherited.get(name.as_bytes())
    };
    match state_env::join(value, part) {
        Ok(None) => Some(value),
        Ok(Some(state)) => {
            *buffer = state;
            Some(&buffer[..])
        }
        Err(error) => {
            let mut line = envtrack_model::ArrayBuf::<160>::default();
            let _ = error.describe(&mut line);
            sys::warn(&[b"ENVTRACK_STATE: ", line.as_bytes(), b"; tracking starts afresh"]);
            None
        }
    }
}

/// Decodes the inherited state: tracked changes go into the table,
/// directives into `directives`, carried sets into `carried`; unless the
/// state was written under other credentials than `ours`.
pub(super) fn load_state(
    value: &[u8],
    inherited: &super::inherited::Inherited,
    ours: Credentials,
    directives: &mut DirectiveSet,
    carried: &mut Vec<(Vec<u8>, Vec<u8>)>,
) -> Ownership {
    if value.starts_with(b"@") {
        // An earlier envtrack's state file: never read (nor removed) by this one.
        sys::warn(&[b"ENVTRACK_STATE: names a file, which envtrack does not read (the state travels in the environment); tracking starts afresh"]);
        return Ownership::Ours;
    }
    let mut buffer = Vec::new();
    let Some(bytes) = joined(value, inherited, &mut buffer) else { return Ownership::Ours };
    let reader = match Reader::new(bytes) {
        Ok(reader) => reader,
        Err(error) => {
            warn_codec(&error, b"; tracking starts afresh");
            return Ownership::Ours;
        }
    };
    // Writers put the owner first.
    if let Some(Ok(Record::Owner(owner))) = reader.clone().next() {
        if owner != ours {
            return Ownership::Foreign;
        }
    }
    let guard = crate::lock::Guard::acquire();
    for record in reader {
        match record {
            Err(error) => {
                warn_codec(&error, b"; the rest is ignored");
                break;
            }
            Ok(Record::Tracked { name, change }) => table::update(&guard, name, Some(change), Some(change)),
            Ok(Record::Carried(d)) if d.op == Op::Set => carried.push((d.name.to_vec(), d.value.to_vec())),
            Ok(Record::Carried(_) | Record::Owner(_)) => {}
            Ok(Record::Directive(level, d)) => directives.level_mut(level).push(d.to_owned()),
        }
    }
    Ownership::Ours
}
