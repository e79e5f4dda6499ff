//! Compiles the C shim for the variadic `execl`, `execlp` and `execle`, exports
//! it, and links the library small: no page padding between code and data,
//! and no unwind tables (see no-unwind-tables.ld).
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    for file in ["src/shim.c", "src/lazy_libc.c", "exports.map", "no-unwind-tables.ld"] {
        println!("cargo:rerun-if-changed={file}");
    }
    // A build for an older glibc through cargo-zigbuild (`x86_64-unknown-linux-gnu.2.17`):
    // zig's linker takes neither -z noseparate-code nor -z pack-relative-relocs (DT_RELR needs
    // glibc 2.36 anyway).
    println!("cargo:rerun-if-env-changed=CARGO_ZIGBUILD_TARGET");
    let zig = std::env::var_os("CARGO_ZIGBUILD_TARGET").is_some();
    cc::Build::new()
        .file("src/shim.c")
        .file("src/lazy_libc.c")
        // The memory primitives in lazy_libc.c must not become calls to themselves.
        .flag("-fno-builtin")
        // GCC's: no loop turned into a memset/memcpy call (clang, zig's compiler, does not do it
        // under -fno-builtin).
        .flag_if_supported("-fno-tree-loop-distribute-patterns")
        .flag("-fno-stack-protector")
        .flag("-fno-asynchronous-unwind-tables")
        .opt_level_str("s")
        .compile("envtrack_shim");
    let link = |arg: String| println!("cargo:rustc-cdylib-link-arg={arg}");
    // rustc's version script exports only Rust-defined symbols; this one adds
    // the shim's, and --undefined pulls them out of the static archive.
    link(format!("-Wl,--version-script={}", dir.join("exports.map").display()));
    for symbol in ["execl", "execlp", "execle"] {
        link(format!("-Wl,--undefined={symbol}"));
    }
    // Lazy binding, as a C library gets by default: binding all of libc's
    // symbols at load (rustc's default -z now) was most of the load cost.
    link("-Wl,-z,lazy".into());
    if !zig {
        link("-Wl,-z,noseparate-code".into());
    }
    // Never unmapped, even by a dlclose of a program that dlopened it: its fork handlers
    // stay registered for the process's life (zig's link has no crtbeginS.o, so they are
    // registered without a handle dlclose could remove them by).
    link("-Wl,-z,nodelete".into());
    link("-Wl,--no-eh-frame-hdr".into());
    link("-Wl,--hash-style=gnu".into());
    // Relative relocations as a bitmap (DT_RELR, glibc 2.36 and later): smaller, faster to apply.
    if !zig {
        link("-Wl,-z,pack-relative-relocs".into());
    }
    link(format!("-Wl,-T,{}", dir.join("no-unwind-tables.ld").display()));
    if std::env::var("PROFILE").as_deref() == Ok("release") && std::env::var_os("ENVTRACK_KEEP_SYMBOLS").is_none() {
        link("-Wl,--strip-all".into());
    }
}
