//! The few system calls the library makes itself, issued directly: they are
//! async-signal-safe by nature, touch no errno, and need no libc symbol bound
//! at load or at first use (which keeps the library small and cheap to load).
//! Each returns the kernel's result, or `Err(errno)`.

use core::ffi::{c_char, c_int};

#[cfg(target_arch = "x86_64")]
unsafe fn raw(number: usize, a: usize, b: usize, c: usize, d: usize, e: usize, f: usize) -> isize {
    let result: isize;
    // SAFETY: the x86-64 Linux system call convention; the kernel checks the arguments
    // and clobbers only rcx and r11.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") number as isize => result,
            in("rdi") a, in("rsi") b, in("rdx") c, in("r10") d, in("r8") e, in("r9") f,
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    result
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn raw(number: usize, a: usize, b: usize, c: usize, d: usize, e: usize, f: usize) -> isize {
    // SAFETY: libc's generic syscall(2) with the same arguments.
    let result = unsafe { libc::syscall(number as libc::c_long, a, b, c, d, e, f) } as isize;
    if result == -1 {
        -(crate::sys::errno() as isize)
    } else {
        result
    }
}

fn check(result: isize) -> Result<usize, c_int> {
    if (-4095..0).contains(&result) {
        Err(-result as c_int)
    } else {
        Ok(result as usize)
    }
}

pub fn open(path: *const c_char, flags: c_int, mode: c_int) -> Result<c_int, c_int> {
    // SAFETY: openat(AT_FDCWD, path, …): the kernel validates the path pointer.
    check(unsafe {
        raw(libc::SYS_openat as usize, libc::AT_FDCWD as usize, path as usize, flags as usize, mode as usize, 0, 0)
    })
    .map(|fd| fd as c_int)
}

pub fn read(fd: c_int, buffer: &mut [u8]) -> Result<usize, c_int> {
    // SAFETY: the kernel writes at most buffer.len() bytes into our buffer.
    check(unsafe { raw(libc::SYS_read as usize, fd as usize, buffer.as_mut_ptr() as usize, buffer.len(), 0, 0, 0) })
}

pub fn write(fd: c_int, bytes: &[u8]) -> Result<usize, c_int> {
    // SAFETY: the kernel reads at most bytes.len() bytes from our buffer.
    check(unsafe { raw(libc::SYS_write as usize, fd as usize, bytes.as_ptr() as usize, bytes.len(), 0, 0, 0) })
}

pub fn close(fd: c_int) {
    // SAFETY: closing a descriptor we own; the result does not matter.
    let _ = unsafe { raw(libc::SYS_close as usize, fd as usize, 0, 0, 0, 0, 0) };
}

pub fn executable(path: *const c_char) -> bool {
    // SAFETY: faccessat(AT_FDCWD, path, X_OK, 0): the kernel validates the path pointer.
    let result = unsafe {
        raw(libc::SYS_faccessat as usize, libc::AT_FDCWD as usize, path as usize, libc::X_OK as usize, 0, 0, 0)
    };
    check(result).is_ok()
}

pub fn map(len: usize) -> Option<*mut u8> {
    let (protection, flags) = (libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS);
    // SAFETY: an anonymous private mapping chosen by the kernel.
    let result = unsafe { raw(libc::SYS_mmap as usize, 0, len, protection as usize, flags as usize, usize::MAX, 0) };
    check(result).ok().map(|address| address as *mut u8)
}

pub fn unmap(address: *mut u8, len: usize) {
    // SAFETY: the caller passes a mapping of ours that nothing uses any more.
    let _ = unsafe { raw(libc::SYS_munmap as usize, address as usize, len, 0, 0, 0, 0) };
}

pub fn yield_now() {
    // SAFETY: sched_yield takes no arguments.
    let _ = unsafe { raw(libc::SYS_sched_yield as usize, 0, 0, 0, 0, 0, 0) };
}

pub fn getpid() -> i32 {
    // SAFETY: getpid takes no arguments and cannot fail.
    unsafe { raw(libc::SYS_getpid as usize, 0, 0, 0, 0, 0, 0) as i32 }
}

/// execve(2) itself, for when no real execve can be found. Returns only on
/// failure, with the errno.
pub fn execve(path: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    // SAFETY: the caller's arguments; the kernel validates them.
    let result = unsafe { raw(libc::SYS_execve as usize, path as usize, argv as usize, envp as usize, 0, 0, 0) };
    check(result).err().unwrap_or(libc::EINVAL)
}

/// execveat(2) itself, for a C library without the wrapper (glibc before
/// 2.34). Returns only on failure, with the errno.
pub fn execveat(
    dirfd: c_int,
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    flags: c_int,
) -> c_int {
    // SAFETY: the caller's arguments; the kernel validates them.
    let result = unsafe {
        raw(libc::SYS_execveat as usize, dirfd as usize, path as usize, argv as usize, envp as usize, flags as usize, 0)
    };
    check(result).err().unwrap_or(libc::EINVAL)
}

/// Waits for `pid` (wait4), retrying when interrupted; the status, or -1.
pub fn wait_for(pid: i32) -> c_int {
    let mut status: c_int = 0;
    loop {
        // SAFETY: the kernel writes the status into our local.
        let result =
            unsafe { raw(libc::SYS_wait4 as usize, pid as usize, &mut status as *mut c_int as usize, 0, 0, 0, 0) };
        match check(result) {
            Ok(_) => return status,
            Err(libc::EINTR) => continue,
            Err(_) => return -1,
        }
    }
}

/// A pipe whose ends close on exec.
pub fn pipe() -> Result<[c_int; 2], c_int> {
    let mut fds: [c_int; 2] = [-1; 2];
    // SAFETY: the kernel writes two descriptors into our array.
    check(unsafe { raw(libc::SYS_pipe2 as usize, fds.as_mut_ptr() as usize, libc::O_CLOEXEC as usize, 0, 0, 0, 0) })?;
    Ok(fds)
}

/// Clears close-on-exec on `fd`.
pub fn keep_on_exec(fd: c_int) {
    // SAFETY: fcntl(F_SETFD, 0) on a descriptor we own.
    let _ = unsafe { raw(libc::SYS_fcntl as usize, fd as usize, libc::F_SETFD as usize, 0, 0, 0, 0) };
}

/// The program's asynchronous signals held back while it lives: every signal
/// but those a faulting instruction raises (which cannot wait) and glibc's
/// two internal ones (cancellation, set*id), for a few instructions that must
/// not be interrupted by a handler of the program's own.
pub struct SignalsDeferred {
    previous: u64,
}

impl SignalsDeferred {
    pub fn new() -> SignalsDeferred {
        let immediate = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE, libc::SIGTRAP, libc::SIGSYS, 32, 33];
        let block = immediate.iter().fold(!0u64, |mask, &signal| mask & !(1u64 << (signal - 1)));
        let mut previous = 0u64;
        // SAFETY: rt_sigprocmask with the kernel's 8-byte signal sets: reads `block`, writes
        // `previous`, both ours; it only changes this thread's mask.
        let _ = unsafe {
            raw(
                libc::SYS_rt_sigprocmask as usize,
                libc::SIG_BLOCK as usize,
                &block as *const u64 as usize,
                &mut previous as *mut u64 as usize,
                8,
                0,
                0,
            )
        };
        SignalsDeferred { previous }
    }
}

impl Drop for SignalsDeferred {
    fn drop(&mut self) {
        // SAFETY: as in `new`: the mask this thread had, set again; a signal that came meanwhile
        // is delivered now.
        let _ = unsafe {
            raw(
                libc::SYS_rt_sigprocmask as usize,
                libc::SIG_SETMASK as usize,
                &self.previous as *const u64 as usize,
                0,
                8,
                0,
                0,
            )
        };
    }
}

/// The calling thread's id (in a vfork child: the child's).
pub fn gettid() -> i32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { raw(libc::SYS_gettid as usize, 0, 0, 0, 0, 0, 0) as i32 }
}

/// Real, effective and saved user ids, then the same for groups.
pub fn credentials() -> [u32; 6] {
    let mut ids = [0u32; 6];
    let [u, g] = [ids.as_mut_ptr(), ids.as_mut_ptr().wrapping_add(3)];
    // SAFETY: getresuid/getresgid write three ids each into our array.
    unsafe {
        raw(libc::SYS_getresuid as usize, u as usize, u.add(1) as usize, u.add(2) as usize, 0, 0, 0);
        raw(libc::SYS_getresgid as usize, g as usize, g.add(1) as usize, g.add(2) as usize, 0, 0, 0);
    }
    ids
}

/// The address the kernel clears (and wakes) when this thread exits or
/// execs while another process shares its memory (`clear_child_tid`).
/// Err when the kernel cannot say (no CONFIG_CHECKPOINT_RESTORE).
pub fn tid_address() -> Result<*mut u32, c_int> {
    let mut address: *mut u32 = core::ptr::null_mut();
    // SAFETY: prctl(PR_GET_TID_ADDRESS) writes one pointer into our local.
    check(unsafe {
        raw(libc::SYS_prctl as usize, libc::PR_GET_TID_ADDRESS as usize, &mut address as *mut _ as usize, 0, 0, 0, 0)
    })?;
    Ok(address)
}

/// Sets this thread's `clear_child_tid` (see [`tid_address`]).
pub fn set_tid_address(address: *mut u32) {
    // SAFETY: set_tid_address only records the pointer; the kernel writes to it later
    // only if it is still mapped and writable (and ignores a fault).
    let _ = unsafe { raw(libc::SYS_set_tid_address as usize, address as usize, 0, 0, 0, 0, 0) };
}

/// Whether `tid` is a thread of this process.
pub fn is_own_thread(tid: i32) -> bool {
    // SAFETY: tgkill with signal 0 only checks that the thread exists in our group.
    let result = unsafe { raw(libc::SYS_tgkill as usize, getpid() as usize, tid as usize, 0, 0, 0, 0) };
    check(result).is_ok()
}

/// Whether `path` names an executable regular file (as exec needs).
pub fn is_executable_file(path: *const c_char) -> bool {
    // SAFETY: an all-zero stat is a valid value to be overwritten.
    let mut status: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: newfstatat(AT_FDCWD, path, &status, 0): the kernel validates the path and writes the stat.
    let result = unsafe {
        raw(
            libc::SYS_newfstatat as usize,
            libc::AT_FDCWD as usize,
            path as usize,
            &mut status as *mut _ as usize,
            0,
            0,
            0,
        )
    };
    check(result).is_ok() && status.st_mode & libc::S_IFMT == libc::S_IFREG && executable(path)
}

/// fstat(2).
pub fn fstat(fd: c_int) -> Result<libc::stat, c_int> {
    // SAFETY: an all-zero stat is a valid value to be overwritten.
    let mut status: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: the kernel writes one stat into our local.
    check(unsafe { raw(libc::SYS_fstat as usize, fd as usize, &mut status as *mut _ as usize, 0, 0, 0, 0) })?;
    Ok(status)
}

/// The current directory into `buffer`; its length without the NUL.
pub fn getcwd(buffer: &mut [u8]) -> Result<usize, c_int> {
    // SAFETY: the kernel writes at most buffer.len() bytes, NUL included.
    let len = check(unsafe { raw(libc::SYS_getcwd as usize, buffer.as_mut_ptr() as usize, buffer.len(), 0, 0, 0, 0) })?;
    Ok(len.saturating_sub(1))
}

/// Waits for `pid` (wait4), retrying when interrupted: the status, or `Err(errno)`
/// (ECHILD when the child was reaped already, as when SIGCHLD is ignored).
pub fn wait_status(pid: i32) -> Result<c_int, c_int> {
    let mut status: c_int = 0;
    loop {
        // SAFETY: the kernel writes the status into our local.
        let result =
            unsafe { raw(libc::SYS_wait4 as usize, pid as usize, &mut status as *mut c_int as usize, 0, 0, 0, 0) };
        match check(result) {
            Ok(_) => return Ok(status),
            Err(libc::EINTR) => continue,
            Err(error) => return Err(error),
        }
    }
}

/// The soft stack limit (RLIMIT_STACK), which bounds what exec takes.
pub fn stack_limit() -> Option<u64> {
    let mut limit = [0u64; 2];
    // SAFETY: prlimit64(0, RLIMIT_STACK, NULL, &old) writes two u64 into our array.
    let result = unsafe {
        raw(libc::SYS_prlimit64 as usize, 0, libc::RLIMIT_STACK as usize, 0, limit.as_mut_ptr() as usize, 0, 0)
    };
    check(result).ok().map(|_| limit[0])
}

/// Copies bytes at `address` of our own memory into `buffer`, reporting
/// unreadable memory as an error (EFAULT) instead of faulting; the count
/// copied (less than asked when the memory ends).
pub fn read_own_memory(address: *const u8, buffer: &mut [u8]) -> Result<usize, c_int> {
    let remote = libc::iovec { iov_base: address.cast_mut().cast(), iov_len: buffer.len() };
    read_own_scattered(&[remote], buffer)
}

/// Whether `process_vm_readv` may be called: not under a seccomp filter,
/// which may kill the process for a system call the program itself never
/// makes (systemd's `SystemCallFilter=` does). Asked each time (`prctl`: a
/// filter may be installed at any time), remembered once there is one (a
/// filter is never removed).
fn may_read_own_memory() -> bool {
    use core::sync::atomic::{AtomicBool, Ordering};
    static FILTERED: AtomicBool = AtomicBool::new(false);
    if FILTERED.load(Ordering::Relaxed) {
        return false;
    }
    // SAFETY: PR_GET_SECCOMP takes no pointers; it returns the mode (0: none).
    let mode = unsafe { raw(libc::SYS_prctl as usize, libc::PR_GET_SECCOMP as usize, 0, 0, 0, 0, 0) };
    if mode != 0 {
        FILTERED.store(true, Ordering::Relaxed);
    }
    mode == 0
}

/// Reads the regions `probes` name, one after the other, into `buffer`
/// (process_vm_readv on ourselves): the count read, which stops short at the
/// first unreadable region, or EFAULT when the first is.
pub fn read_own_scattered(probes: &[libc::iovec], buffer: &mut [u8]) -> Result<usize, c_int> {
    if !may_read_own_memory() {
        return Err(libc::EPERM);
    }
    let local = libc::iovec { iov_base: buffer.as_mut_ptr().cast(), iov_len: buffer.len() };
    // SAFETY: process_vm_readv on our own pid writes at most buffer.len() bytes into `buffer`
    // and reports unreadable source memory instead of faulting.
    check(unsafe {
        raw(
            libc::SYS_process_vm_readv as usize,
            getpid() as usize,
            &local as *const libc::iovec as usize,
            1,
            probes.as_ptr() as usize,
            probes.len(),
            0,
        )
    })
}
