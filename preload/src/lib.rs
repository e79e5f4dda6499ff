//! `libenvtrack.so`: the `LD_PRELOAD` library.
//!
//! It records the environment changes a program makes ([`track`]: `setenv`,
//! `unsetenv`, `putenv`, `clearenv`; and, at every exec, the difference between
//! the envp passed and the inherited environment, which is how a shell's
//! `export` is seen) and makes every child's environment carry them, the
//! job-level directives, and envtrack itself ([`exec`], [`spawn`],
//! [`shell`], all through one sequence in [`hook`], built by [`childenv`]). A tracked program that execs a launcher
//! is routed through `envtrack-inject` ([`route`]).
//!
//! Rules this crate keeps, because it runs inside other people's processes:
//! - `no_std`, panics abort, and libc is the only runtime dependency;
//! - real symbols are resolved eagerly in the constructor ([`real`]); a hook
//!   called before it resolves on the spot and still works;
//! - code that can run after `fork` or inside `vfork` (the exec and spawn
//!   paths) allocates nothing, takes no lock, and reads the tracked state
//!   through lock-free, never-freed structures ([`table`], [`loaded`]);
//! - errno and every calling convention are kept; if a child environment
//!   cannot be built, the real function runs with the caller's arguments;
//! - setuid and other secure-execution processes are left alone.

#![no_std]

extern crate alloc;

mod allocator;
mod arena;
mod childenv;
mod exec;
mod hook;
mod lazy;
mod loaded;
mod lock;
mod process;
mod real;
mod route;
mod shell;
mod spawn;
mod symbols;
mod sys;
mod syscall;
mod table;
mod track;
mod tracked;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // SAFETY: abort never returns and is async-signal-safe.
    unsafe { lazy::abort() }
}

/// Before fork: take the environment lock, so that no other thread is halfway
/// through a setenv (whose environ array the child would inherit half
/// replaced, possibly freed) when the child's memory is copied.
unsafe extern "C" fn before_fork() {
    // The indexes over what the process inherited are built here, in the parent, if nothing
    // needed them yet: every child of a fork then has them (and a malformed snapshot is reported
    // once, here, not by every child that execs).
    if let Some(loaded) = loaded::get() {
        loaded.prepare_for_fork();
    }
    lock::hold_for_fork();
}

/// After fork, in the parent: release what `before_fork` took.
unsafe extern "C" fn after_fork_in_parent() {
    lock::release_after_fork();
}

/// After fork, in the child: the lock's holder (this thread, or another
/// thread of the parent) is gone, as are the threads that held pool slots;
/// and the memory is now this process's own.
unsafe extern "C" fn after_fork_in_child() {
    process::note_pid();
    lock::reset_after_fork();
    arena::reset_after_fork();
    if let Some(loaded) = loaded::get() {
        loaded.reset_after_fork();
    }
}

#[ctor::ctor(unsafe)]
fn initialise() {
    // errno is kept by what can change it (the dlsym fallback, reading envtrack's
    // state and configuration): the common path calls nothing that sets it.
    real::resolve_all();
    process::note_pid();
    // SAFETY: getauxval has no preconditions; AT_SECURE is set for setuid/setgid/capability
    // executables, which this library leaves alone.
    let secure = unsafe { libc::getauxval(libc::AT_SECURE) } != 0;
    if !secure {
        // SAFETY: registering a plain function with no preconditions.
        unsafe { lazy::register_atfork(Some(before_fork), Some(after_fork_in_parent), Some(after_fork_in_child)) };
        loaded::load();
    }
}
