//! Lazily bound libc calls (see `lazy_libc.c`): the Rust code calls these
//! hidden wrappers, which call libc through the PLT, bound at first use,
//! instead of through GOT entries bound when the library loads.

use core::ffi::{c_char, c_int, c_void};

use libc::FILE;

extern "C" {
    #[link_name = "envtrack_open"]
    pub fn open(path: *const c_char, flags: c_int, mode: c_int) -> c_int;
    #[link_name = "envtrack_read"]
    pub fn read(fd: c_int, buffer: *mut c_void, count: usize) -> isize;
    #[link_name = "envtrack_write"]
    pub fn write(fd: c_int, buffer: *const c_void, count: usize) -> isize;
    #[link_name = "envtrack_close"]
    pub fn close(fd: c_int) -> c_int;
    #[link_name = "envtrack_unlink"]
    pub fn unlink(path: *const c_char) -> c_int;
    #[link_name = "envtrack_access"]
    pub fn access(path: *const c_char, mode: c_int) -> c_int;
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
    #[link_name = "envtrack_posix_memalign"]
    pub fn posix_memalign(out: *mut *mut c_void, alignment: usize, size: usize) -> c_int;
}
