//! The `oxv` binary's command line and its host-side refusals: fast, no QEMU needed (the
//! refusals happen before any setup, build or boot).

use std::path::PathBuf;
use std::process::{Command, Output};

fn oxv(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oxv"))
        .args(args)
        .output()
        .expect("run oxv")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cli")
        .join(name);
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

#[test]
fn help_documents_every_run_option() {
    let out = oxv(&["run", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for option in [
        "--mem",
        "--cpus",
        "--accel",
        "--machine",
        "--env",
        "--file",
        "--strace",
        "--verbose",
        "--timeout",
        "--dir",
        "--rootfs",
        "PROGRAM",
        "OXV_KERNEL",
        "124",
    ] {
        assert!(help.contains(option), "{option} missing from:\n{help}");
    }
    for command in [
        ["test", "--help"],
        ["compat", "--help"],
        ["image", "--help"],
        ["boot", "--help"],
    ] {
        assert!(oxv(&command).status.success());
    }
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    for args in [
        &["run", "--mem", "lots", "/bin/true"][..],
        &["run", "--env", "NOEQUALS", "/bin/true"],
        &["run", "--cpus", "0", "/bin/true"],
        &["frobnicate"],
    ] {
        let out = oxv(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("error"), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn a_missing_program_is_an_input_error() {
    let out = oxv(&["run", "/nonexistent/program"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("oxv: error: cannot read program /nonexistent/program"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_file_that_is_not_elf_is_refused() {
    let path = scratch("not-elf").join("script.sh");
    std::fs::write(&path, "#!/bin/sh\necho hi\n").unwrap();
    let out = oxv(&["run", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a runnable Linux x86_64 ELF executable: not an ELF file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_truncated_elf_is_refused() {
    let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let path = scratch("truncated").join("truncated");
    std::fs::write(&path, &exe[..300]).unwrap();
    let out = oxv(&["run", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a runnable Linux x86_64 ELF executable"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_dynamic_executable_missing_a_library_is_refused_naming_it() {
    // A program linked against a library that is then removed: refused before any build or
    // boot, with the library and what needs it named.
    let dir = scratch("missing-lib");
    let s = |p: &str| dir.join(p).to_str().unwrap().to_string();
    std::fs::write(dir.join("lib.c"), "int f(void) { return 1; }\n").unwrap();
    std::fs::write(
        dir.join("main.c"),
        "int f(void); int main(void) { return f(); }\n",
    )
    .unwrap();
    for args in [
        vec!["-shared", "-fPIC", "-o", &s("libgone.so"), &s("lib.c")],
        vec!["-o", &s("prog"), &s("main.c"), "-L", &s(""), "-lgone"],
    ] {
        let gcc = Command::new("gcc").args(&args).output().expect("gcc");
        assert!(
            gcc.status.success(),
            "{}",
            String::from_utf8_lossy(&gcc.stderr)
        );
    }
    std::fs::remove_file(dir.join("libgone.so")).unwrap();
    let out = oxv(&["run", &s("prog")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("shared libraries not found: libgone.so (needed by"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_missing_file_argument_is_refused_before_booting() {
    // A static ELF gets past the program check. gcc and libc.a are there wherever Rust
    // links programs (rustc needs cc and libc6-dev).
    let dir = scratch("missing-file");
    let src = dir.join("main.c");
    std::fs::write(&src, "int main(void) { return 0; }\n").unwrap();
    let program = dir.join("static-program");
    let gcc = Command::new("gcc")
        .arg("-static")
        .arg("-o")
        .arg(&program)
        .arg(&src)
        .output();
    let gcc = gcc.expect("gcc");
    assert!(
        gcc.status.success(),
        "{}",
        String::from_utf8_lossy(&gcc.stderr)
    );
    let out = oxv(&[
        "run",
        "--file",
        "/nonexistent/data:/data",
        program.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("oxv: error: /nonexistent/data: "),
        "{}",
        stderr(&out)
    );
}

/// A static program built with gcc (gcc and libc.a are there wherever Rust links programs).
fn static_program(name: &str) -> PathBuf {
    let dir = scratch(name);
    let src = dir.join("main.c");
    std::fs::write(&src, "int main(void) { return 0; }\n").unwrap();
    let program = dir.join("static-program");
    let gcc = Command::new("gcc")
        .arg("-static")
        .arg("-o")
        .arg(&program)
        .arg(&src)
        .output()
        .expect("gcc");
    assert!(
        gcc.status.success(),
        "{}",
        String::from_utf8_lossy(&gcc.stderr)
    );
    program
}

#[test]
fn image_refuses_bad_bundle_options_before_building() {
    let program = static_program("bundle-refusals");
    let program = program.to_str().unwrap();
    let dir = scratch("bundle-refusals");
    let out_dir = dir.join("bundle");
    let out_dir = out_dir.to_str().unwrap();
    let img = dir.join("data.img");
    std::fs::write(&img, vec![0u8; 4096]).unwrap();
    let root_disk = format!("{}:/", img.display());
    for (args, message) in [
        (
            vec!["image", "-o", out_dir, "--disk-size", "1G", program],
            "--disk-image",
        ),
        (
            vec![
                "image",
                "-o",
                out_dir,
                "--disk-image",
                "--disk",
                &root_disk,
                program,
            ],
            "both give the root file system",
        ),
        (
            vec![
                "image",
                "-o",
                out_dir,
                "--disk",
                "/nonexistent.img:/d",
                program,
            ],
            "no such image file",
        ),
        (
            vec![
                "image", "-o", out_dir, "--net", "none", "-p", "80:80", program,
            ],
            "user networking",
        ),
        (
            vec!["image", "-o", out_dir, "--net", "tap:a$b", program],
            "tap names",
        ),
    ] {
        let out = oxv(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    assert!(
        !dir.join("bundle").exists(),
        "nothing is written when a bundle is refused"
    );
}

#[test]
fn boot_refuses_an_incomplete_bundle() {
    let dir = scratch("bundle-incomplete");
    std::fs::write(
        dir.join("bundle.conf"),
        "MEM=128M\nCPUS=1\nMACHINE=microvm\nTIMEOUT=\nINITRD=\nDISKS=rootfs.ext2\n",
    )
    .unwrap();
    std::fs::write(dir.join("cmdline"), "disk=/ -- /bin/app\n").unwrap();
    std::fs::write(dir.join("oxv-kernel"), "").unwrap();
    let out = oxv(&["boot", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("rootfs.ext2 is missing"),
        "{}",
        stderr(&out)
    );
    std::fs::write(dir.join("bundle.conf"), "DISKS=../escape.img\n").unwrap();
    let out = oxv(&["boot", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("DISKS=../escape.img"),
        "{}",
        stderr(&out)
    );
}
