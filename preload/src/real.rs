//! The real functions behind our hooks, resolved once in the constructor as
//! `dlsym(RTLD_NEXT, …)` would ([`crate::symbols`]) and kept in atomics.
//!
//! Resolving lazily behind a lock (as redhook does) hangs a child forked
//! while another thread held the loader's lock; resolving eagerly means the
//! exec path only loads a pointer. A hook called before the constructor (from
//! another library's constructor) resolves on the spot.

use core::ffi::{c_char, c_int, c_void};
use core::sync::atomic::{AtomicPtr, Ordering};

use libc::{pid_t, posix_spawn_file_actions_t, posix_spawnattr_t, FILE};

use crate::symbols::Next;

pub type ExecveFn = unsafe extern "C" fn(*const c_char, *const *const c_char, *const *const c_char) -> c_int;
pub type ExecvFn = unsafe extern "C" fn(*const c_char, *const *const c_char) -> c_int;
pub type ExecveatFn =
    unsafe extern "C" fn(c_int, *const c_char, *const *const c_char, *const *const c_char, c_int) -> c_int;
pub type FexecveFn = unsafe extern "C" fn(c_int, *const *const c_char, *const *const c_char) -> c_int;
pub type SpawnFn = unsafe extern "C" fn(
    *mut pid_t,
    *const c_char,
    *const posix_spawn_file_actions_t,
    *const posix_spawnattr_t,
    *const *mut c_char,
    *const *mut c_char,
) -> c_int;
pub type SystemFn = unsafe extern "C" fn(*const c_char) -> c_int;
pub type PopenFn = unsafe extern "C" fn(*const c_char, *const c_char) -> *mut FILE;
pub type PcloseFn = unsafe extern "C" fn(*mut FILE) -> c_int;
pub type SetenvFn = unsafe extern "C" fn(*const c_char, *const c_char, c_int) -> c_int;
pub type UnsetenvFn = unsafe extern "C" fn(*const c_char) -> c_int;
pub type PutenvFn = unsafe extern "C" fn(*mut c_char) -> c_int;
pub type ClearenvFn = unsafe extern "C" fn() -> c_int;

/// What a real function's address holds once resolved to nothing (no
/// function lives at address 1), so that it is not resolved again at every
/// call: a walk takes the loader's lock, which a fork child must not wait for.
const NONE: *mut c_void = core::ptr::dangling_mut::<c_void>();

/// One real function: its name and the resolved address.
pub struct Real {
    name: &'static [u8],
    address: AtomicPtr<c_void>,
}

impl Real {
    const fn new(name: &'static [u8]) -> Self {
        Real { name, address: AtomicPtr::new(core::ptr::null_mut()) }
    }

    /// Resolves the next definition after ours; null if there is none.
    pub fn resolve(&self) -> *mut c_void {
        let mut next = [Next::Undefined];
        let walk = crate::symbols::find_next(&[self.bare_name()], &mut next);
        let address = settle(next[0], self.name, walk.objects_after);
        self.store(address);
        address
    }

    /// Keeps `address`, null as [`NONE`]: resolved, to nothing.
    fn store(&self, address: *mut c_void) {
        self.address.store(if address.is_null() { NONE } else { address }, Ordering::Release);
    }

    /// The name without its NUL.
    #[inline(always)]
    fn bare_name(&self) -> &'static [u8] {
        &self.name[..self.name.len() - 1]
    }

    /// The address (null if there is none), resolving it now if the
    /// constructor has not run yet.
    pub fn get(&self) -> *mut c_void {
        match self.address.load(Ordering::Acquire) {
            address if address.is_null() => self.resolve(),
            NONE => core::ptr::null_mut(),
            address => address,
        }
    }
}

macro_rules! reals {
    ($($static_name:ident = $symbol:literal as $ty:ty;)*) => {
        $(pub static $static_name: Real = Real::new(concat!($symbol, "\0").as_bytes());)*

        /// How many real functions there are.
        pub const COUNT: usize = [$(stringify!($static_name)),*].len();

        /// Every real function, for the constructor.
        pub static ALL: [&Real; COUNT] = [$(&$static_name),*];

        pub mod call {
            //! Typed accessors: `call::execve()` is the real `execve`, or None.
            use super::*;
            $(
                #[allow(non_snake_case, dead_code)]
                pub fn $static_name() -> Option<$ty> {
                    let address = super::$static_name.get();
                    // SAFETY: the address of the function named $symbol, whose C signature
                    // is $ty.
                    (!address.is_null()).then(|| unsafe { core::mem::transmute::<*mut c_void, $ty>(address) })
                }
            )*
        }
    };
}

reals! {
    EXECVE = "execve" as ExecveFn;
    EXECV = "execv" as ExecvFn;
    EXECVP = "execvp" as ExecvFn;
    EXECVPE = "execvpe" as ExecveFn;
    EXECVEAT = "execveat" as ExecveatFn;
    FEXECVE = "fexecve" as FexecveFn;
    POSIX_SPAWN = "posix_spawn" as SpawnFn;
    POSIX_SPAWNP = "posix_spawnp" as SpawnFn;
    SYSTEM = "system" as SystemFn;
    POPEN = "popen" as PopenFn;
    PCLOSE = "pclose" as PcloseFn;
    SETENV = "setenv" as SetenvFn;
    UNSETENV = "unsetenv" as UnsetenvFn;
    PUTENV = "putenv" as PutenvFn;
    CLEARENV = "clearenv" as ClearenvFn;
}

/// This library's path as the loader has it, found by [`resolve_all`].
pub static OWN_PATH: AtomicPtr<c_char> = AtomicPtr::new(core::ptr::null_mut());

/// Resolves every real function (the constructor calls this first): one walk
/// over the loaded objects' symbol tables settles them all, as a rule.
pub fn resolve_all() {
    let mut names: [&[u8]; COUNT] = [&[]; COUNT];
    let mut found = [Next::Undefined; COUNT];
    for (name, real) in names.iter_mut().zip(ALL.iter()) {
        *name = real.bare_name();
    }
    let walk = crate::symbols::find_next(&names, &mut found);
    OWN_PATH.store(walk.own_path.cast_mut(), Ordering::Release);
    for (real, next) in ALL.iter().zip(found) {
        let address = match next {
            Next::Function(address) => address,
            _ => settle(next, real.name, walk.objects_after),
        };
        real.store(address);
    }
}

/// The address of the function the walk found as `next` (`name` with its
/// NUL), after `objects_after` objects loaded after this library; null if none.
fn settle(next: Next, name: &'static [u8], objects_after: usize) -> *mut c_void {
    match next {
        Next::Function(address) => address,
        // Nothing after a preloaded library defines it: none (execveat before glibc 2.34).
        Next::Undefined if objects_after > 0 => core::ptr::null_mut(),
        // Loaded last, by dlopen: the next definition is in its own dependencies (libc),
        // which the loader searches for RTLD_NEXT.
        Next::Undefined | Next::Resolver(_) | Next::AskLoader => {
            // The loader knows best: ask dlsym, where there is one (in libc.so.6 from glibc
            // 2.34; before, in libdl.so.2 if the program loaded it). This library does not
            // link dlsym: it would be bound at every load, and on an older glibc it would make
            // libdl a dependency of every process. errno is the caller's: dlsym's failures set it.
            let saved = crate::sys::errno();
            let address = match crate::symbols::find_dlsym() {
                // SAFETY: dlsym's C signature; the name is a NUL-terminated literal, and
                // RTLD_NEXT, with this library as the caller, finds the definition after ours.
                Some(dlsym) => unsafe { dlsym(libc::RTLD_NEXT, name.as_ptr().cast()) },
                None => core::ptr::null_mut(),
            };
            crate::sys::set_errno(saved);
            match next {
                Next::Resolver(resolver) if address.is_null() => {
                    // No dlsym: call the resolver as the loader does on x86_64, with no
                    // arguments (glibc's resolvers read the CPU features the loader recorded).
                    // SAFETY: an STT_GNU_IFUNC symbol's value is its resolver, a function of
                    // no arguments returning the implementation's address.
                    let resolve: unsafe extern "C" fn() -> *mut c_void = unsafe { core::mem::transmute(resolver) };
                    // SAFETY: as above; resolvers have no preconditions once relocation is done.
                    unsafe { resolve() }
                }
                _ => address,
            }
        }
    }
}
