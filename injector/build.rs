//! Links gcc's static unwinder (libgcc_eh.a) ahead of std's -lgcc_s: std's
//! few unwinding references resolve to it, and libgcc_s.so, which std would
//! otherwise load at every start (a tenth of a millisecond here), is not
//! needed. envtrack-inject starts on every worker of a job.
fn main() {
    // Not bundled into the rlib: the linker finds it in gcc's own directory.
    println!("cargo:rustc-link-lib=static:-bundle=gcc_eh");
}
