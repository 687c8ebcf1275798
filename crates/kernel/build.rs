//! Links the kernel with its linker script when building for the bare-metal target, and
//! builds the vDSO (`vdso/`) with the host's gcc for every target: the kernel embeds the
//! image, and the host unit tests load and call it.
use std::path::Path;
use std::process::{Command, exit};

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    println!("cargo:rerun-if-changed=linker.ld");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg-bins=-T{dir}/linker.ld");
        println!("cargo:rustc-link-arg-bins=-zmax-page-size=4096");
        // Keeps the relocations in the output: the host tool (`oxv`, crates/cli/src/kaslr.rs)
        // turns the absolute ones into the table the boot stub uses to slide the image.
        println!("cargo:rustc-link-arg-bins=--emit-relocs");
    }
    build_vdso(Path::new(&dir), Path::new(&out));
}

/// Everything the vDSO is built from, relative to the crate.
const VDSO_SOURCES: &[&str] = &["vdso/vdso.c", "vdso/vvar.h", "vdso/vdso.lds"];

/// The environment variable that names another compiler (an x86_64 Linux gcc or clang).
const VDSO_CC: &str = "OXV_VDSO_CC";

/// How the vDSO is compiled and linked: position-independent, freestanding, no libc, no
/// stack protector or CET notes, one symbol version (the linker script), both hash styles
/// (musl reads DT_HASH, glibc prefers DT_GNU_HASH), and no undefined symbols.
const VDSO_FLAGS: &[&str] = &[
    "-std=gnu11",
    "-O2",
    "-fPIC",
    "-ffreestanding",
    "-nostdlib",
    "-shared",
    "-fno-stack-protector",
    "-fcf-protection=none",
    "-fno-plt",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wl,-T,vdso.lds",
    "-Wl,--hash-style=both",
    "-Wl,-soname=linux-vdso.so.1",
    "-Wl,--no-undefined",
    "-Wl,--eh-frame-hdr",
    "-Wl,--build-id=sha1",
    "-Wl,-z,max-page-size=4096",
    "-Wl,-z,noexecstack",
    "-Wl,--strip-all",
];

fn build_vdso(dir: &Path, out: &Path) {
    for source in VDSO_SOURCES {
        println!("cargo:rerun-if-changed={source}");
    }
    println!("cargo:rerun-if-env-changed={VDSO_CC}");
    let cc = std::env::var(VDSO_CC).unwrap_or_else(|_| "gcc".to_owned());
    let image = out.join("vdso.so");
    let result = Command::new(&cc)
        .current_dir(dir.join("vdso"))
        .args(VDSO_FLAGS)
        .arg("-o")
        .arg(&image)
        .arg("vdso.c")
        .output();
    match result {
        Ok(run) if run.status.success() => {}
        Ok(run) => fail(&format!(
            "`{cc}` could not build the vDSO ({}):\n{}{}",
            run.status,
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => fail(&format!(
            "building the vDSO (crates/kernel/vdso) needs an x86_64 Linux C compiler, and \
             `{cc}` was not found. Install gcc (Debian/Ubuntu: `apt-get install gcc`) or set \
             {VDSO_CC} to one."
        )),
        Err(e) => fail(&format!("could not run `{cc}` to build the vDSO: {e}")),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    exit(1)
}
