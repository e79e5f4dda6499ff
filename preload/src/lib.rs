//! libenvtrack.so (work in progress: the hooks arrive with the preload issue).
#![no_std]
extern crate alloc;

mod allocator;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // SAFETY: abort never returns and is async-signal-safe.
    unsafe { libc::abort() }
}
