//! The resolver against real objects: host binaries, and small programs and libraries built
//! here with gcc, with `DT_RPATH`/`DT_RUNPATH` using `$ORIGIN`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("oxv-deps-test-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs gcc with `args`; panics with its output on failure.
fn gcc(args: &[&str]) {
    let out = Command::new("gcc")
        .args(args)
        .output()
        .expect("gcc is installed where Rust links host programs");
    assert!(
        out.status.success(),
        "gcc {args:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds, under `dir`: `lib/libinner.so`, `lib/libgreet.so` (needs libinner, no paths of
/// its own) and `bin/greet` (needs libgreet) with `rpath` and the given dtags flag.
fn build_program(dir: &Path, rpath: Option<&str>, new_dtags: bool) -> PathBuf {
    fs::create_dir_all(dir.join("lib")).unwrap();
    fs::create_dir_all(dir.join("bin")).unwrap();
    let s = |p: &str| dir.join(p).to_str().unwrap().to_string();
    fs::write(dir.join("inner.c"), "int inner(void) { return 41; }\n").unwrap();
    fs::write(
        dir.join("greet.c"),
        "int inner(void); int greet(void) { return inner() + 1; }\n",
    )
    .unwrap();
    fs::write(
        dir.join("main.c"),
        "int greet(void); int main(void) { return greet() == 42 ? 0 : 1; }\n",
    )
    .unwrap();
    gcc(&[
        "-shared",
        "-fPIC",
        "-Wl,-soname,libinner.so",
        "-o",
        &s("lib/libinner.so"),
        &s("inner.c"),
    ]);
    gcc(&[
        "-shared",
        "-fPIC",
        "-Wl,-soname,libgreet.so",
        "-o",
        &s("lib/libgreet.so"),
        &s("greet.c"),
        "-L",
        &s("lib"),
        "-linner",
    ]);
    let mut args = vec![
        "-o".to_string(),
        s("bin/greet"),
        s("main.c"),
        "-L".into(),
        s("lib"),
        "-lgreet".into(),
        "-Wl,--allow-shlib-undefined".into(),
    ];
    if let Some(rpath) = rpath {
        args.push(format!("-Wl,-rpath,{rpath}"));
        args.push(if new_dtags {
            "-Wl,--enable-new-dtags".into()
        } else {
            "-Wl,--disable-new-dtags".into()
        });
    }
    gcc(&args.iter().map(String::as_str).collect::<Vec<_>>());
    dir.join("bin/greet")
}

fn resolve(root: &Root, library_path: Option<&str>, program: &Path) -> Result<Closure, DepsError> {
    let guest = root
        .guest_of(program)
        .expect("the program is under the root");
    let bytes = fs::read(program).unwrap();
    Resolver::new(root, library_path).resolve(&guest, &bytes, &[])
}

fn lib<'c>(closure: &'c Closure, name: &str) -> &'c Object {
    closure
        .libs
        .iter()
        .find(|o| o.name == name)
        .unwrap_or_else(|| panic!("{name} not in {:#?}", closure.libs))
}

#[test]
fn bin_ls_needs_the_loader_libc_and_its_own_libraries() {
    let ls = fs::canonicalize("/bin/ls").unwrap();
    let closure = resolve(&Root::host(), None, &ls).unwrap();
    let interp = closure.interp.as_ref().expect("/bin/ls is dynamic");
    assert_eq!(interp.path, "/lib64/ld-linux-x86-64.so.2");
    assert_eq!(
        interp.walk.real,
        fs::canonicalize(&interp.path).unwrap().to_str().unwrap()
    );
    let libc = lib(&closure, "libc.so.6");
    assert_eq!(libc.needed_by, ls.to_str().unwrap());
    assert!(Path::new(&libc.walk.real).is_file());
    assert!(matches!(libc.found, Found::Cache | Found::Default));
    // libc needs the loader by name; it is the interpreter, not a second copy.
    assert!(!closure.libs.iter().any(|o| o.name.starts_with("ld-linux")));
    // Every library of ldd's list is there (ldd only reads, for a trusted system binary).
    if let Ok(out) = Command::new("ldd").arg(&ls).output() {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let name = line.split_whitespace().next().unwrap_or_default();
            if name.starts_with("lib") && name.contains(".so") {
                lib(&closure, name);
            }
        }
    }
}

#[test]
fn a_static_program_needs_nothing() {
    let dir = scratch("static");
    let src = dir.join("s.c");
    fs::write(&src, "int main(void) { return 0; }\n").unwrap();
    let exe = dir.join("s");
    gcc(&[
        "-static",
        "-o",
        exe.to_str().unwrap(),
        src.to_str().unwrap(),
    ]);
    assert_eq!(
        resolve(&Root::host(), None, &exe).unwrap(),
        Closure::default()
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rpath_with_origin_serves_the_whole_chain() {
    let dir = scratch("rpath");
    let exe = build_program(&dir, Some("$ORIGIN/../lib"), false);
    let closure = resolve(&Root::host(), None, &exe).unwrap();
    let greet = lib(&closure, "libgreet.so");
    let origin = dir.join("bin").to_str().unwrap().to_string();
    assert_eq!(greet.path, format!("{origin}/../lib/libgreet.so"));
    assert_eq!(greet.found, Found::Rpath);
    assert_eq!(
        greet.walk.real,
        dir.join("lib/libgreet.so").to_str().unwrap()
    );
    // libgreet has no paths: the executable's DT_RPATH applies to what it loads too.
    let inner = lib(&closure, "libinner.so");
    assert_eq!(
        (inner.found, inner.needed_by.as_str()),
        (Found::Rpath, greet.path.as_str())
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn runpath_serves_only_direct_dependencies() {
    let dir = scratch("runpath");
    let exe = build_program(&dir, Some("$ORIGIN/../lib"), true);
    // As with glibc, DT_RUNPATH is not inherited: libinner is not found.
    let Err(DepsError::Missing(missing)) = resolve(&Root::host(), None, &exe) else {
        panic!("libinner.so must be missing");
    };
    assert_eq!(
        missing,
        [Missing {
            name: "libinner.so".into(),
            needed_by: format!("{}/bin/../lib/libgreet.so", dir.to_str().unwrap()),
        }]
    );
    let msg = DepsError::Missing(missing).to_string();
    assert!(msg.contains("libinner.so (needed by"), "{msg}");
    // LD_LIBRARY_PATH finds it.
    let libdir = dir.join("lib");
    let closure = resolve(&Root::host(), libdir.to_str(), &exe).unwrap();
    assert_eq!(lib(&closure, "libgreet.so").found, Found::LibraryPath);
    assert_eq!(lib(&closure, "libinner.so").found, Found::LibraryPath);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_libraries_are_all_named() {
    let dir = scratch("missing");
    let exe = build_program(&dir, None, false);
    let Err(DepsError::Missing(missing)) = resolve(&Root::host(), None, &exe) else {
        panic!("libgreet.so must be missing");
    };
    let names: Vec<&str> = missing.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["libgreet.so"]);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_rootfs_is_searched_inside_with_its_own_cache_and_links() {
    // A tiny root: the program in /opt/app/bin, its library in /usr/lib64 reached through
    // an absolute /lib64 symlink, the loader at its PT_INTERP path through a symlink.
    let build = scratch("rootfs-build");
    let exe = build_program(&build, Some("/lib64"), false);
    let root_dir = scratch("rootfs");
    let r = |p: &str| root_dir.join(p);
    fs::create_dir_all(r("opt/app/bin")).unwrap();
    fs::create_dir_all(r("usr/lib64")).unwrap();
    fs::create_dir_all(r("usr/lib/x86_64-linux-gnu")).unwrap();
    std::os::unix::fs::symlink("/usr/lib64", r("lib64")).unwrap();
    fs::copy(&exe, r("opt/app/bin/greet")).unwrap();
    for l in ["libgreet.so", "libinner.so"] {
        fs::copy(build.join("lib").join(l), r("usr/lib64").join(l)).unwrap();
    }
    let host_closure = resolve(&Root::host(), None, &fs::canonicalize("/bin/true").unwrap());
    for o in host_closure.unwrap().libs {
        let name = Path::new(&o.walk.real).file_name().unwrap().to_owned();
        fs::copy(&o.walk.real, r("usr/lib/x86_64-linux-gnu").join(&name)).unwrap();
        if o.name.as_str() != name.to_str().unwrap() {
            std::os::unix::fs::symlink(&name, r("usr/lib/x86_64-linux-gnu").join(&o.name)).unwrap();
        }
    }
    let loader = fs::canonicalize("/lib64/ld-linux-x86-64.so.2").unwrap();
    fs::copy(&loader, r("usr/lib64/ld.so")).unwrap();
    std::os::unix::fs::symlink("ld.so", r("usr/lib64/ld-linux-x86-64.so.2")).unwrap();

    let root = Root::new(&root_dir);
    let closure = resolve(&root, None, &r("opt/app/bin/greet")).unwrap();
    let interp = closure.interp.as_ref().unwrap();
    assert_eq!(interp.walk.real, "/usr/lib64/ld.so");
    assert_eq!(
        interp.walk.links,
        [
            ("/lib64".to_string(), "/usr/lib64".to_string()),
            (
                "/usr/lib64/ld-linux-x86-64.so.2".to_string(),
                "ld.so".to_string()
            )
        ]
    );
    let greet = lib(&closure, "libgreet.so");
    assert_eq!(
        (greet.path.as_str(), greet.found),
        ("/lib64/libgreet.so", Found::Rpath)
    );
    assert_eq!(greet.walk.real, "/usr/lib64/libgreet.so");
    // The first default directory does not exist in this root; the second has libc.
    assert_eq!(
        lib(&closure, "libc.so.6").path,
        "/usr/lib/x86_64-linux-gnu/libc.so.6"
    );
    assert_eq!(lib(&closure, "libc.so.6").found, Found::Default);
    assert!(!closure.needs_ld_cache());

    // Without the loader the error names it.
    fs::remove_file(r("usr/lib64/ld.so")).unwrap();
    let err = resolve(&root, None, &r("opt/app/bin/greet")).unwrap_err();
    assert!(
        err.to_string()
            .contains("its interpreter /lib64/ld-linux-x86-64.so.2 is missing"),
        "{err}"
    );
    fs::remove_dir_all(&build).unwrap();
    fs::remove_dir_all(&root_dir).unwrap();
}

#[test]
fn extra_objects_get_their_libraries_and_report_missing_ones() {
    let dir = scratch("extras");
    build_program(&dir, Some("$ORIGIN/../lib"), false);
    let true_bin = fs::canonicalize("/bin/true").unwrap();
    let root = Root::host();
    let extras = vec![
        (
            dir.join("lib/libgreet.so").to_str().unwrap().to_string(),
            fs::read(dir.join("lib/libgreet.so")).unwrap(),
        ),
        ("/not/elf".to_string(), b"text".to_vec()),
    ];
    let closure = Resolver::new(&root, None)
        .resolve(
            true_bin.to_str().unwrap(),
            &fs::read(&true_bin).unwrap(),
            &extras,
        )
        .unwrap();
    // libgreet needs libinner, which only the RPATH of the program built here would find.
    assert_eq!(
        closure.extra_missing,
        [Missing {
            name: "libinner.so".into(),
            needed_by: extras[0].0.clone(),
        }]
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dynamic_string_tokens_expand() {
    assert_eq!(
        expand("$ORIGIN/../lib", "/opt/a/bin"),
        ["/opt/a/bin/../lib"]
    );
    assert_eq!(expand("${ORIGIN}/x:$PLATFORM", "/o"), ["/o/x:x86_64"]);
    assert_eq!(
        expand("/usr/$LIB/app", "/o"),
        ["/usr/lib/x86_64-linux-gnu/app", "/usr/lib64/app"]
    );
    assert_eq!(expand("/a/$UNKNOWN/${X}/$", "/o"), ["/a/$UNKNOWN/${X}/$"]);
    assert_eq!(expand("/a/${ORIGIN", "/o"), ["/a/${ORIGIN"]);
    assert_eq!(expand("plain", "/o"), ["plain"]);
}

#[test]
fn musl_programs_follow_musl_rules() {
    assert!(musl_builtin("libc.so") && musl_builtin("libm.so.6") && musl_builtin("libdl.so"));
    assert!(!musl_builtin("libcrypto.so.3") && !musl_builtin("libc.so6") && !musl_builtin("c.so"));
    if Command::new("musl-gcc").arg("--version").output().is_err()
        || !Path::new("/lib/ld-musl-x86_64.so.1").exists()
    {
        return; // musl-tools is not installed here.
    }
    let dir = scratch("musl");
    fs::create_dir_all(dir.join("lib")).unwrap();
    let s = |p: &str| dir.join(p).to_str().unwrap().to_string();
    fs::write(dir.join("f.c"), "int f(void) { return 1; }\n").unwrap();
    fs::write(
        dir.join("main.c"),
        "int f(void); int main(void) { return f(); }\n",
    )
    .unwrap();
    let musl_gcc = |args: &[&str]| {
        let out = Command::new("musl-gcc").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    musl_gcc(&["-shared", "-fPIC", "-o", &s("lib/libf.so"), &s("f.c")]);
    // DT_RUNPATH: musl, unlike glibc, applies it to the whole chain; here one level.
    musl_gcc(&[
        "-o",
        &s("prog"),
        &s("main.c"),
        "-L",
        &s("lib"),
        "-lf",
        "-Wl,-rpath,$ORIGIN/lib",
        "-Wl,--enable-new-dtags",
    ]);
    let closure = resolve(&Root::host(), None, &dir.join("prog")).unwrap();
    assert_eq!(
        closure.interp.as_ref().unwrap().path,
        "/lib/ld-musl-x86_64.so.1"
    );
    // libc.so is the interpreter; only libf is a library of its own.
    let names: Vec<&str> = closure.libs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["libf.so"]);
    assert_eq!(lib(&closure, "libf.so").found, Found::Runpath);
    fs::remove_dir_all(&dir).unwrap();
}
