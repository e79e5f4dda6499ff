//! Links gcc's static unwinder (libgcc_eh.a) ahead of std's -lgcc_s: std's
//! few unwinding references resolve to it, and libgcc_s.so, which std would
//! otherwise load at every start (a tenth of a millisecond here), is not
//! needed. envtrack-inject starts on every worker of a job.
//!
//! Relative relocations are packed (DT_RELR: fewer bytes, faster start-up),
//! except in a build for an older glibc than 2.36 (cargo-zigbuild sets
//! `CARGO_ZIGBUILD_TARGET`, e.g. `x86_64-linux-gnu.2.17`).
fn main() {
    // Not bundled into the rlib: the linker finds it in gcc's own directory.
    println!("cargo:rustc-link-lib=static:-bundle=gcc_eh");
    println!("cargo:rerun-if-env-changed=CARGO_ZIGBUILD_TARGET");
    if std::env::var_os("CARGO_ZIGBUILD_TARGET").is_none() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    } else {
        // zig's linker binds every symbol at start (-z now) unless told otherwise.
        println!("cargo:rustc-link-arg-bins=-Wl,-z,lazy");
    }
}
