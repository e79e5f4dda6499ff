//! The global allocator: libc's malloc. Only code that runs outside the exec
//! path (the constructor and the setenv-family hooks) allocates.

use crate::lazy;
use core::alloc::{GlobalAlloc, Layout};

struct LibcMalloc;

// SAFETY: malloc/aligned_alloc/free/realloc are libc's thread-safe allocator;
// alignment above malloc's guarantee goes through posix_memalign.
unsafe impl GlobalAlloc for LibcMalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= 16 {
            // SAFETY: malloc accepts any size; a null result is reported as failure.
            unsafe { lazy::malloc(layout.size()).cast() }
        } else {
            let mut out = core::ptr::null_mut();
            // SAFETY: the alignment is a power of two and a multiple of the pointer size.
            let status = unsafe { lazy::posix_memalign(&mut out, layout.align(), layout.size()) };
            if status == 0 {
                out.cast()
            } else {
                core::ptr::null_mut()
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: ptr came from malloc or posix_memalign above.
        unsafe { lazy::free(ptr.cast()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= 16 {
            // SAFETY: ptr came from malloc; realloc keeps malloc's alignment.
            unsafe { lazy::realloc(ptr.cast(), new_size).cast() }
        } else {
            // SAFETY: new_size is non-zero and, rounded to the alignment, fits (GlobalAlloc's contract).
            let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            // SAFETY: a fresh block of new_size bytes; both blocks are valid for the copied length.
            unsafe {
                let new = self.alloc(new_layout);
                if !new.is_null() {
                    core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                new
            }
        }
    }
}

#[global_allocator]
static ALLOCATOR: LibcMalloc = LibcMalloc;
