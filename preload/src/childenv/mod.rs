//! Building a child's environment on the exec path.
//!
//! This runs after `fork` in a child of a multithreaded program, and inside
//! `vfork` children that share our memory while other threads keep running.
//! So it allocates nothing, takes no lock but the bounded environment lock,
//! and cannot panic: it reads the immutable [`Loaded`] data and the
//! lock-free [`table`], and writes into an [`Arena`] — the caller's stack
//! buffer, else a pooled mapping that is always given back.
//!
//! - [`environ`]: the copy of `environ`'s pointers, taken under the lock;
//! - [`policy`]: what the child's environment holds;
//! - [`bound`]: how much room the build needs, from above;
//! - [`writer`]: the one pass that writes it, and the state's entries;
//! - [`carve`]: regions of the arena, and the per-build work areas.
//!
//! A build that runs out of room (its environment is larger than the arena)
//! starts again in a larger one.

mod bound;
mod carve;
mod environ;
mod policy;
mod writer;

use core::ffi::c_char;

use envtrack_model::apply::entry_value;
use envtrack_model::vars;

use crate::arena::Arena;
use crate::loaded::Loaded;
use crate::route::{self, RouteBuf};
use crate::sys::CStrArray;
use crate::tracked::View;
use carve::{Bitmap, Targets};
pub use carve::{Carve, Short};
use environ::{Callers, EnvironSnapshot};
use policy::Builder;

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
    /// The program named, when it may be routed, and whether the function
    /// searches PATH for it (`execvp`, `posix_spawnp`).
    pub program: Option<(*const c_char, bool)>,
    /// The caller's argv.
    pub argv: *const *const c_char,
}

/// A built child environment (and, when routed, the injector's path and
/// argv), in the arena and the route buffer the caller keeps.
pub struct Built {
    pub envp: *const *const c_char,
    /// `envtrack-inject -- PROGRAM ARGS…`, or null.
    pub argv: *const *const c_char,
    /// The injector's path, or null.
    pub path: *const c_char,
}

/// Builds the child environment. None when it cannot be built; the caller
/// then calls the real function with its own arguments.
pub fn prepare(loaded: &Loaded, request: &Request, arena: &mut Arena<'_>) -> Option<Built> {
    let mut need = 0usize;
    let mut first_short = true;
    let mut changes = 0;
    for _ in 0..12 {
        arena.reserve(need)?;
        let (memory, len) = arena.memory();
        // SAFETY: the arena's memory is ours alone until it is dropped or reserved again,
        // and the carve does not outlive this iteration's use of it.
        let mut carve = unsafe { Carve::new(memory, len) };
        match build(loaded, request, &mut carve, changes) {
            Ok(built) => return Some(built),
            // Room for what was short, and then some: the environment's pointers alone were
            // short at first, and the strings and state that follow are some times that. Pages
            // of the mapping never written are never touched, so a generous reservation costs
            // address space, not memory; a build done in two attempts costs a second pass.
            Err(Retry::Grow(more)) if more < usize::MAX / 8 => {
                // The first attempt (on the stack) runs short of room for the environment's
                // pointers in all but small environments: the next is sized for the whole
                // build, whose strings and records take some times more.
                let factor = if core::mem::take(&mut first_short) { 32 } else { 4 };
                need = len.checked_add(more)?.checked_mul(factor)?;
            }
            // The state did not fit in what was left of the arena (or a bound was short):
            // more of everything.
            Err(Retry::Full) if changes < 4 => {
                changes += 1;
                need = len.checked_mul(4)?;
            }
            Err(_) => return None,
        }
    }
    None
}

/// Why a build starts again.
enum Retry {
    /// The arena is this many bytes short.
    Grow(usize),
    /// The build ran out of room: the state, in what was left of the arena.
    Full,
}

impl From<Short> for Retry {
    fn from(Short(more): Short) -> Retry {
        Retry::Grow(more)
    }
}

fn build<'m>(loaded: &Loaded, request: &Request, carve: &mut Carve<'m>, changes: u32) -> Result<Built, Retry> {
    let snapshot = EnvironSnapshot::take(carve, request.envp)?;
    // libc's array passed as envp means "the environment": read our copy of it.
    let envp = if request.envp_is_environ || snapshot.envp_is_libc {
        snapshot.pointers
    } else if request.envp.is_null() {
        request.envp
    } else {
        match environ::copy_callers(carve, request.envp)? {
            Callers::Copied(copy) => copy,
            Callers::Stale => snapshot.pointers,
            Callers::Unprobed => request.envp,
        }
    };
    let off = asks_off(envp);
    let mut route = None;
    if let Some((program, search)) = request.program.filter(|&(program, _)| !off && route::wants(loaded, program)) {
        let mut buf = RouteBuf::carve(carve)?;
        if route::route(loaded, program, search, snapshot.pointers, &mut buf) {
            route = Some(buf);
        }
    }
    let mode = if off {
        Mode::Off
    } else if route.is_some() {
        Mode::Routed
    } else {
        Mode::Track
    };
    let view = View::new(loaded);
    let emitted = Bitmap::carve(carve, view.capacity())?;
    let targets = Targets::carve(carve, if mode == Mode::Off { 1 } else { loaded.target_count() })?;
    let mut builder = Builder {
        loaded,
        view,
        mode,
        envp,
        envp_is_environ: request.envp_is_environ,
        environ: snapshot.pointers,
        last_environ: snapshot.last,
        emitted,
        targets,
    };
    let sizes = builder.bound().with_room_for_change(changes);
    let argv = if mode == Mode::Routed { routed_argv_bytes(request.argv) } else { 0 };
    // And room for a small state; a larger one finds out, and asks for more.
    let needed = writer::fill_bytes(&sizes) + argv + 4096;
    if needed > carve.left() {
        return Err(Retry::Grow(needed - carve.left()));
    }
    let mut built = writer::fill(&mut builder, carve, sizes, argv).map_err(|_| Retry::Full)?;
    if let Some(route) = &route {
        built.argv = routed_argv(carve, route, request.argv)?;
        built.path = route.injector_path();
    }
    Ok(built)
}

/// `envtrack-inject [--argv0=ARGV0] [--searched] -- PROGRAM ARGS…`: the launcher's full
/// path, the caller's own argv[0] (the launcher gets it, as without
/// envtrack; in one `--argv0=…` word, so that an argv[0] that looks like an
/// option — a login-style `-srun`, `--` — is taken as it is), and argv[1..]
/// by pointer.
fn routed_argv(
    carve: &mut Carve<'_>,
    route: &RouteBuf<'_>,
    argv: *const *const c_char,
) -> Result<*const *const c_char, Short> {
    // SAFETY: argv is null or NULL-terminated (exec's contract).
    let mut args = unsafe { CStrArray::new(argv) };
    let argv0 = match args.next() {
        Some(argv0) => {
            let word = carve.take(ARGV0_OPTION.len() + argv0.len() + 1, 0u8)?;
            word[..ARGV0_OPTION.len()].copy_from_slice(ARGV0_OPTION);
            word[ARGV0_OPTION.len()..ARGV0_OPTION.len() + argv0.len()].copy_from_slice(argv0);
            Some(word.as_ptr().cast::<c_char>())
        }
        None => None,
    };
    let out = carve.take_zeroed::<*const c_char>(routed_argc(argv))?;
    let mut at = 0;
    let mut push = |pointer: *const c_char| {
        if let Some(slot) = out.get_mut(at) {
            *slot = pointer;
            at += 1;
        }
    };
    push(route.injector_path());
    if let Some(argv0) = argv0 {
        push(argv0);
    }
    if route.searched() {
        push(c"--searched".as_ptr());
    }
    push(c"--".as_ptr());
    push(route.program_path());
    for arg in args {
        push(arg.as_ptr().cast());
    }
    Ok(out.as_ptr())
}

const ARGV0_OPTION: &[u8] = b"--argv0=";

/// The routed argv's length: injector, `--argv0=…`, `--searched`, `--`,
/// program, argv[1..], NULL.
fn routed_argc(argv: *const *const c_char) -> usize {
    // SAFETY: argv is null or NULL-terminated (exec's contract).
    unsafe { CStrArray::new(argv) }.count() + 5
}

/// The bytes [`routed_argv`] carves.
fn routed_argv_bytes(argv: *const *const c_char) -> usize {
    // SAFETY: argv is null or NULL-terminated (exec's contract).
    let argv0 = unsafe { CStrArray::new(argv) }.next().map_or(0, <[u8]>::len);
    routed_argc(argv) * core::mem::size_of::<*const c_char>() + ARGV0_OPTION.len() + argv0 + 1 + 16
}

/// Whether `envp` asks for envtrack to be off (`ENVTRACK=off`).
fn asks_off(envp: *const *const c_char) -> bool {
    // SAFETY: envp is the caller's array or our copy of libc's, NULL-terminated.
    let mut env = unsafe { CStrArray::new(envp) };
    while let Some(entry) = env.next_unmeasured() {
        if entry.first() != b'E' {
            continue; // not ENVTRACK=…: not even measured
        }
        if let Some(value) = entry_value(entry.measure(), vars::ENVTRACK.as_bytes()) {
            return vars::is_off(value);
        }
    }
    false
}
