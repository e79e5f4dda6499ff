//! `system`, `popen` and `pclose`, reimplemented over our `posix_spawn`.
//!
//! glibc's versions spawn `/bin/sh` through an internal function no preload
//! can reach, with `environ` as it is, so their children would miss the fresh
//! snapshot (and this library, after `unset LD_PRELOAD`). Ours spawn
//! `/bin/sh -c COMMAND` through [`spawn_tracked`] with POSIX's semantics:
//! `system` ignores SIGINT and SIGQUIT (once for all concurrent calls, as
//! glibc does) and blocks SIGCHLD while it waits; `popen` closes the other
//! popen streams in the child; `pclose` waits. Failures set errno as glibc's
//! do. Streams we did not open go to the real `pclose`.

use crate::lazy;
use core::cell::UnsafeCell;
use core::ffi::{c_char, c_int};
use core::mem::size_of;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, Ordering};

use libc::FILE;

use crate::loaded;
use crate::real::call;
use crate::spawn::spawn_tracked;
use crate::sys;

const SHELL: &[u8] = b"/bin/sh\0";

/// Spawns `/bin/sh -c COMMAND` with the tracked environment; an error number, or 0.
///
/// # Safety
/// `command` is a NUL-terminated string; `actions` and `attr` are null or initialised.
unsafe fn spawn_shell(
    command: *const c_char,
    actions: *const libc::posix_spawn_file_actions_t,
    attr: *const libc::posix_spawnattr_t,
    pid: &mut libc::pid_t,
) -> c_int {
    let argv = [c"sh".as_ptr().cast_mut(), c"-c".as_ptr().cast_mut(), command.cast_mut(), core::ptr::null_mut()];
    let envp = sys::current_environ();
    // SAFETY: a NULL-terminated argv of NUL-terminated strings, environ as envp, and the
    // caller's actions and attributes.
    unsafe {
        spawn_tracked(call::POSIX_SPAWN(), pid, SHELL.as_ptr().cast(), actions, attr, argv.as_ptr(), envp.cast(), true)
    }
}

use crate::syscall::{wait_for, wait_status};

/// An empty signal set with `signals` added (sigemptyset/sigaddset without
/// binding them: the set is a plain bit array).
fn signal_set(signals: &[c_int]) -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; all-zero is the empty set.
    let mut set: libc::sigset_t = unsafe { core::mem::zeroed() };
    // SAFETY: sigset_t is an array of unsigned longs, signal n at bit n - 1.
    let words = unsafe {
        core::slice::from_raw_parts_mut(
            (&mut set as *mut libc::sigset_t).cast::<u64>(),
            size_of::<libc::sigset_t>() / 8,
        )
    };
    for &signal in signals {
        let bit = (signal - 1) as usize;
        if let Some(word) = words.get_mut(bit / 64) {
            *word |= 1 << (bit % 64);
        }
    }
    set
}

/// The SIGINT/SIGQUIT dispositions `system` replaced, shared by concurrent
/// callers as glibc shares them: the first caller saves both and ignores the
/// signals, the last one to finish restores them, and every caller's child
/// gets the default handling unless the saved disposition was SIG_IGN. (Each
/// call saving and restoring on its own would leave them ignored whenever two
/// calls overlap.) A spin lock guards them: no_std, nothing allocated, held
/// only across two `sigaction` calls.
struct Dispositions {
    locked: AtomicBool,
    shared: UnsafeCell<Saved>,
}

struct Saved {
    /// `system` calls between their first and their last `sigaction`.
    callers: usize,
    int: libc::sigaction,
    quit: libc::sigaction,
}

// SAFETY: `shared` is reached only through `Dispositions::locked_with`, under the lock.
unsafe impl Sync for Dispositions {}

// SAFETY: sigaction is plain data (the restorer an Option); all-zero is SIG_DFL, no flags.
const NO_ACTION: libc::sigaction = unsafe { core::mem::zeroed() };

static DISPOSITIONS: Dispositions = Dispositions {
    locked: AtomicBool::new(false),
    shared: UnsafeCell::new(Saved { callers: 0, int: NO_ACTION, quit: NO_ACTION }),
};

impl Dispositions {
    /// Runs `f` with the lock held.
    fn locked_with<R>(&self, f: impl FnOnce(&mut Saved) -> R) -> R {
        let mut spins = 0u32;
        while self.locked.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            if spins < 100 {
                spins += 1;
                core::hint::spin_loop();
            } else {
                crate::syscall::yield_now();
            }
        }
        // SAFETY: we hold the lock until the store below, so this is the only reference.
        let result = f(unsafe { &mut *self.shared.get() });
        self.locked.store(false, Ordering::Release);
        result
    }
}

/// # Safety
/// As `system(3)`.
#[no_mangle]
pub unsafe extern "C" fn system(command: *const c_char) -> c_int {
    if loaded::get().is_none() {
        return match call::SYSTEM() {
            // SAFETY: the caller's argument.
            Some(real) => unsafe { real(command) },
            None => -1,
        };
    }
    if command.is_null() {
        return c_int::from(crate::syscall::executable(SHELL.as_ptr().cast()));
    }
    let mut ignore = NO_ACTION;
    ignore.sa_sigaction = libc::SIG_IGN;
    // The first caller saves the dispositions and ignores the signals; every caller
    // learns whether the saved ones ignored them.
    let (int_ignored, quit_ignored) = DISPOSITIONS.locked_with(|saved| {
        if saved.callers == 0 {
            // SAFETY: sigaction with a valid action and our static's slots for the old ones.
            unsafe {
                libc::sigaction(libc::SIGINT, &ignore, &mut saved.int);
                libc::sigaction(libc::SIGQUIT, &ignore, &mut saved.quit);
            }
        }
        saved.callers += 1;
        (saved.int.sa_sigaction == libc::SIG_IGN, saved.quit.sa_sigaction == libc::SIG_IGN)
    });
    let block = signal_set(&[libc::SIGCHLD]);
    // SAFETY: sigset_t is plain data; all-zero is the empty set.
    let mut old_mask: libc::sigset_t = unsafe { core::mem::zeroed() };
    // SAFETY: sigprocmask with valid sets (SIGCHLD stays blocked per thread, as in glibc).
    unsafe { libc::sigprocmask(libc::SIG_BLOCK, &block, &mut old_mask) };
    // SAFETY (this block): plain libc spawn-attribute calls on locals; our spawn.
    let (status, error) = unsafe {
        let mut attr: libc::posix_spawnattr_t = core::mem::zeroed();
        libc::posix_spawnattr_init(&mut attr);
        // The child gets default SIGINT/SIGQUIT handling unless the caller ignored them.
        let mut reset = [0; 2];
        let mut count = 0;
        for (signal, ignored) in [(libc::SIGINT, int_ignored), (libc::SIGQUIT, quit_ignored)] {
            if !ignored {
                reset[count] = signal;
                count += 1;
            }
        }
        let defaults = signal_set(&reset[..count]);
        libc::posix_spawnattr_setsigdefault(&mut attr, &defaults);
        libc::posix_spawnattr_setsigmask(&mut attr, &old_mask);
        libc::posix_spawnattr_setflags(&mut attr, (libc::POSIX_SPAWN_SETSIGDEF | libc::POSIX_SPAWN_SETSIGMASK) as _);

        let mut pid = 0;
        let spawned = spawn_shell(command, core::ptr::null(), &attr, &mut pid);
        libc::posix_spawnattr_destroy(&mut attr);
        if spawned == 0 {
            match wait_status(pid) {
                Ok(status) => (status, None),
                Err(error) => (-1, Some(error)), // as glibc: -1 with waitpid's errno
            }
        } else {
            (127 << 8, Some(spawned)) // as glibc: the shell could not run, errno says why
        }
    };
    // The last caller to finish restores what the first one saved.
    DISPOSITIONS.locked_with(|saved| {
        saved.callers -= 1;
        if saved.callers == 0 {
            // SAFETY: sigaction with the dispositions sigaction gave us.
            unsafe {
                libc::sigaction(libc::SIGINT, &saved.int, core::ptr::null_mut());
                libc::sigaction(libc::SIGQUIT, &saved.quit, core::ptr::null_mut());
            }
        }
    });
    // SAFETY: sigprocmask with the mask it gave us.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &old_mask, core::ptr::null_mut()) };
    if let Some(error) = error {
        sys::set_errno(error);
    }
    status
}

/// One stream `popen` opened. All-zero when free (so the table costs no file space).
struct Stream {
    file: AtomicPtr<FILE>,
    pid: AtomicI32,
    /// The stream's descriptor plus one (0: none).
    fd_plus_one: AtomicI32,
}

const STREAMS: usize = 64;

static OPEN: [Stream; STREAMS] = [const {
    Stream { file: AtomicPtr::new(core::ptr::null_mut()), pid: AtomicI32::new(0), fd_plus_one: AtomicI32::new(0) }
}; STREAMS];

/// # Safety
/// As `popen(3)`.
#[no_mangle]
pub unsafe extern "C" fn popen(command: *const c_char, mode: *const c_char) -> *mut FILE {
    let real = || match call::POPEN() {
        // SAFETY: the caller's arguments.
        Some(real) => unsafe { real(command, mode) },
        None => core::ptr::null_mut(),
    };
    if loaded::get().is_none() || command.is_null() || mode.is_null() {
        return real();
    }
    // SAFETY: mode is a NUL-terminated string (checked non-null).
    let flags = unsafe { sys::c_bytes(mode) };
    // As glibc: 'r', 'w' and 'e' in any order, exactly one of 'r' and 'w', nothing else.
    let (mut reading, mut writing, mut cloexec, mut valid) = (false, false, false, true);
    for flag in flags {
        match flag {
            b'r' => reading = true,
            b'w' => writing = true,
            b'e' => cloexec = true,
            _ => valid = false,
        }
    }
    if !valid || reading == writing {
        sys::set_errno(libc::EINVAL);
        return core::ptr::null_mut();
    }
    // Claim a free slot (pid 0 → -1) so that concurrent popen calls take different ones.
    let Some(slot) = OPEN.iter().find(|s| s.pid.compare_exchange(0, -1, Ordering::AcqRel, Ordering::Acquire).is_ok())
    else {
        return real(); // more streams open than we keep: glibc's own
    };
    let fds = match crate::syscall::pipe() {
        Ok(fds) => fds,
        Err(error) => {
            slot.pid.store(0, Ordering::Release);
            sys::set_errno(error); // EMFILE, ENFILE: as glibc's pipe2
            return core::ptr::null_mut();
        }
    };
    let (ours, theirs, target) = if reading { (fds[0], fds[1], 1) } else { (fds[1], fds[0], 0) };
    // As glibc, every way the child cannot be started is ENOMEM: a spawn action
    // that cannot be recorded, or posix_spawn failing for any reason.
    let fail = || {
        crate::syscall::close(theirs);
        crate::syscall::close(ours);
        slot.pid.store(0, Ordering::Release);
        sys::set_errno(libc::ENOMEM);
        core::ptr::null_mut()
    };
    // SAFETY (this block): spawn actions on a local, our spawn, fdopen on our descriptor.
    unsafe {
        let mut actions: libc::posix_spawn_file_actions_t = core::mem::zeroed();
        libc::posix_spawn_file_actions_init(&mut actions);
        let mut recorded = libc::posix_spawn_file_actions_adddup2(&mut actions, theirs, target) == 0;
        for other in &OPEN {
            let fd = other.fd_plus_one.load(Ordering::Acquire) - 1;
            // A stream on the child's own descriptor is replaced by the dup2 already.
            if recorded && fd >= 0 && fd != target && !other.file.load(Ordering::Acquire).is_null() {
                recorded = libc::posix_spawn_file_actions_addclose(&mut actions, fd) == 0;
            }
        }
        let mut pid = 0;
        let spawned = if recorded { spawn_shell(command, &actions, core::ptr::null(), &mut pid) } else { -1 };
        libc::posix_spawn_file_actions_destroy(&mut actions);
        if spawned != 0 {
            return fail();
        }
        crate::syscall::close(theirs);
        if !cloexec {
            crate::syscall::keep_on_exec(ours);
        }
        let file = lazy::fdopen(ours, if reading { c"r".as_ptr() } else { c"w".as_ptr() });
        if file.is_null() {
            // fdopen's errno (ENOMEM, as glibc's popen when it cannot allocate the
            // stream) is kept: close and wait_for leave errno alone.
            crate::syscall::close(ours);
            wait_for(pid);
            slot.pid.store(0, Ordering::Release);
            return core::ptr::null_mut();
        }
        slot.pid.store(pid, Ordering::Release);
        slot.fd_plus_one.store(ours + 1, Ordering::Release);
        slot.file.store(file, Ordering::Release);
        file
    }
}

/// # Safety
/// As `pclose(3)`.
#[no_mangle]
pub unsafe extern "C" fn pclose(stream: *mut FILE) -> c_int {
    let mine = OPEN.iter().find(|s| {
        !stream.is_null()
            && s.file.compare_exchange(stream, core::ptr::null_mut(), Ordering::AcqRel, Ordering::Acquire).is_ok()
    });
    let Some(slot) = mine else {
        return match call::PCLOSE() {
            // SAFETY: a stream glibc's popen opened.
            Some(real) => unsafe { real(stream) },
            None => -1,
        };
    };
    let pid = slot.pid.load(Ordering::Acquire);
    slot.fd_plus_one.store(0, Ordering::Release);
    // SAFETY: the stream we opened with fdopen.
    let closed = unsafe { lazy::fclose(stream) };
    let waited = wait_status(pid);
    slot.pid.store(0, Ordering::Release);
    match waited {
        // As glibc: a failed flush shows when the command succeeded (errno from fclose).
        Ok(0) if closed != 0 => -1,
        Ok(status) => status,
        Err(error) => {
            sys::set_errno(error); // as glibc: -1 with waitpid's errno
            -1
        }
    }
}
