//! Lazily bound libc calls (see `lazy_libc.c`): the Rust code calls these
//! hidden wrappers, which call libc through the PLT, bound at first use,
//! instead of through GOT entries bound when the library loads.

use core::ffi::{c_char, c_int, c_void};

use libc::FILE;

extern "C" {
    #[link_name = "envtrack_fdopen"]
    pub fn fdopen(fd: c_int, mode: *const c_char) -> *mut FILE;
    #[link_name = "envtrack_fclose"]
    pub fn fclose(stream: *mut FILE) -> c_int;
    #[link_name = "envtrack_abort"]
    pub fn abort() -> !;
    #[link_name = "envtrack_malloc"]
    pub fn malloc(size: usize) -> *mut c_void;
    #[link_name = "envtrack_realloc"]
    pub fn realloc(pointer: *mut c_void, size: usize) -> *mut c_void;
    #[link_name = "envtrack_free"]
    pub fn free(pointer: *mut c_void);
    /// pthread_atfork, as glibc's own (see `lazy_libc.c`).
    #[link_name = "envtrack_register_atfork"]
    pub fn register_atfork(
        prepare: Option<unsafe extern "C" fn()>,
        parent: Option<unsafe extern "C" fn()>,
        child: Option<unsafe extern "C" fn()>,
    ) -> c_int;
    #[link_name = "envtrack_posix_memalign"]
    pub fn posix_memalign(out: *mut *mut c_void, alignment: usize, size: usize) -> c_int;
}
