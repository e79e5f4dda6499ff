//! `system`, `popen` and `pclose`, reimplemented over our `posix_spawn`.
//!
//! glibc's versions spawn `/bin/sh` through an internal function no preload
//! can reach, with `environ` as it is, so their children would miss the fresh
//! snapshot (and this library, after `unset LD_PRELOAD`). Ours spawn
//! `/bin/sh -c COMMAND` through [`spawn_tracked`] with POSIX's semantics:
//! `system` ignores SIGINT and SIGQUIT and blocks SIGCHLD while it waits;
//! `popen` closes the other popen streams in the child; `pclose` waits.
//! Streams we did not open go to the real `pclose`.

use crate::lazy;
use core::ffi::{c_char, c_int};
use core::mem::size_of;
use core::sync::atomic::{AtomicI32, AtomicPtr, Ordering};

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

use crate::syscall::wait_for;

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
    // SAFETY (this block): plain libc signal and spawn-attribute calls on locals.
    unsafe {
        let mut ignore: libc::sigaction = core::mem::zeroed();
        ignore.sa_sigaction = libc::SIG_IGN;
        let mut old_int: libc::sigaction = core::mem::zeroed();
        let mut old_quit: libc::sigaction = core::mem::zeroed();
        libc::sigaction(libc::SIGINT, &ignore, &mut old_int);
        libc::sigaction(libc::SIGQUIT, &ignore, &mut old_quit);
        let block = signal_set(&[libc::SIGCHLD]);
        let mut old_mask: libc::sigset_t = core::mem::zeroed();
        libc::sigprocmask(libc::SIG_BLOCK, &block, &mut old_mask);

        let mut attr: libc::posix_spawnattr_t = core::mem::zeroed();
        libc::posix_spawnattr_init(&mut attr);
        // The child gets default SIGINT/SIGQUIT handling unless the caller ignores them.
        let mut reset = [0; 2];
        let mut count = 0;
        for (signal, old) in [(libc::SIGINT, &old_int), (libc::SIGQUIT, &old_quit)] {
            if old.sa_sigaction != libc::SIG_IGN {
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
        let status = if spawned == 0 {
            wait_for(pid)
        } else {
            127 << 8 // as glibc: the shell could not run
        };
        libc::posix_spawnattr_destroy(&mut attr);
        libc::sigaction(libc::SIGINT, &old_int, core::ptr::null_mut());
        libc::sigaction(libc::SIGQUIT, &old_quit, core::ptr::null_mut());
        libc::sigprocmask(libc::SIG_SETMASK, &old_mask, core::ptr::null_mut());
        status
    }
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
    let reading = match flags.first() {
        Some(b'r') => true,
        Some(b'w') => false,
        _ => {
            sys::set_errno(libc::EINVAL);
            return core::ptr::null_mut();
        }
    };
    let cloexec = flags.contains(&b'e');
    // Claim a free slot (pid 0 → -1) so that concurrent popen calls take different ones.
    let Some(slot) = OPEN.iter().find(|s| s.pid.compare_exchange(0, -1, Ordering::AcqRel, Ordering::Acquire).is_ok())
    else {
        return real(); // more streams open than we keep: glibc's own
    };
    // SAFETY (this block): pipe, spawn actions, fdopen on our own descriptors and locals.
    unsafe {
        let Ok(fds) = crate::syscall::pipe() else {
            slot.pid.store(0, Ordering::Release);
            return core::ptr::null_mut();
        };
        let (ours, theirs, target) = if reading { (fds[0], fds[1], 1) } else { (fds[1], fds[0], 0) };
        let mut actions: libc::posix_spawn_file_actions_t = core::mem::zeroed();
        libc::posix_spawn_file_actions_init(&mut actions);
        libc::posix_spawn_file_actions_adddup2(&mut actions, theirs, target);
        for other in &OPEN {
            let fd = other.fd_plus_one.load(Ordering::Acquire) - 1;
            if fd >= 0 && !other.file.load(Ordering::Acquire).is_null() {
                libc::posix_spawn_file_actions_addclose(&mut actions, fd);
            }
        }
        let mut pid = 0;
        let spawned = spawn_shell(command, &actions, core::ptr::null(), &mut pid);
        libc::posix_spawn_file_actions_destroy(&mut actions);
        crate::syscall::close(theirs);
        if spawned != 0 {
            crate::syscall::close(ours);
            slot.pid.store(0, Ordering::Release);
            sys::set_errno(spawned);
            return core::ptr::null_mut();
        }
        if !cloexec {
            crate::syscall::keep_on_exec(ours);
        }
        let file = lazy::fdopen(ours, if reading { c"r".as_ptr() } else { c"w".as_ptr() });
        if file.is_null() {
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
    unsafe { lazy::fclose(stream) };
    let status = wait_for(pid);
    slot.pid.store(0, Ordering::Release);
    status
}
