//! Links gcc's static unwinder (libgcc_eh.a) ahead of std's -lgcc_s: std's
//! few unwinding references resolve to it, and libgcc_s.so, which std would
//! otherwise load at every start (a tenth of a millisecond here), is not
//! needed. envtrack-inject starts on every worker of a job.
//!
//! Relative relocations are packed (DT_RELR: fewer bytes, faster start-up),
//! except in a build for an older glibc than 2.36 (cargo-zigbuild sets
//! `CARGO_ZIGBUILD_TARGET`, e.g. `x86_64-linux-gnu.2.17`).
//!
//! `doctor` checks the running glibc against the oldest one the build runs on
//! (`ENVTRACK_GLIBC_FLOOR`): the version a cargo-zigbuild target names, else
//! 2.36 (DT_RELR).
fn main() {
    // Not bundled into the rlib: the linker finds it in gcc's own directory.
    println!("cargo:rustc-link-lib=static:-bundle=gcc_eh");
    println!("cargo:rerun-if-env-changed=CARGO_ZIGBUILD_TARGET");
    let floor = match std::env::var("CARGO_ZIGBUILD_TARGET") {
        // `x86_64-linux-gnu.2.17`; a target without a version leaves the floor unknown (empty).
        Ok(target) => target.rsplit_once("gnu.").map(|(_, version)| version.to_string()).unwrap_or_default(),
        Err(_) => {
            println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
            "2.36".to_string()
        }
    };
    println!("cargo:rustc-env=ENVTRACK_GLIBC_FLOOR={floor}");
}
