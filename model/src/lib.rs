//! envtrack's model of environment changes, shared by the preload library and
//! the injector.
//!
//! - [`Directive`]s (`set`, `add`, `unset`, `prepend`, `append`, `remove`, with a
//!   one-byte separator) in two levels ([`DirectiveSet`]: job, then app), with
//!   the PMIx RFC0022 attribute names as aliases ([`Op::parse`]);
//! - [`apply`]: applying directives to one value without allocating, or to a
//!   whole [`Environment`];
//! - [`diff`]: the old / value / new model — the [`Change`] from a base value to a
//!   new one, kept by reference so values are never copied;
//! - [`Snapshot`]: tracked changes plus directives, with a byte-exact,
//!   versioned, zero-copy encoding ([`codec`]);
//! - [`Registry`]: which variables are lists, and their separators;
//! - [`json`] (feature `json`): the directive-file and exported-snapshot formats.
//!
//! The crate is `no_std` + `alloc`. Everything the preload runs after `fork` or
//! inside `vfork` — [`apply::apply_to_value`], [`list`], [`diff::track`],
//! [`codec::Reader`], [`codec::encode_record`] — works on borrowed bytes and
//! writes through a [`Sink`], so it never allocates.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod apply;
pub mod codec;
pub mod credentials;
pub mod diff;
pub mod directive;
#[cfg(feature = "json")]
pub mod json;
pub mod list;
pub mod op;
pub mod registry;
pub mod sink;
pub mod snapshot;
pub mod state_env;
pub mod vars;

pub use apply::{apply_to_value, Environment, Outcome};
pub use credentials::Credentials;
pub use diff::{change_between, change_ignoring, diff, track, track_ignoring, Change};
pub use directive::{Directive, DirectiveError, DirectiveRef, DirectiveSet, Level};
pub use list::Growth;
pub use op::Op;
pub use registry::{Registry, DEFAULT_SEPARATOR};
pub use sink::{ArrayBuf, Decimal, Full, Sink, SliceSink};
pub use snapshot::{Snapshot, Target, Tracked, TrackedChange};
