//! What a dynamically linked program loads before `main`: its interpreter (`PT_INTERP`) and
//! the closure of its `DT_NEEDED` libraries, found the way glibc's dynamic loader finds them
//! (ld.so(8), "Rules for finding the shared objects"), so that an image holding exactly
//! these files lets the real loader start the program in the guest.
//!
//! For a name without a slash, the directories tried are, in order:
//!
//! 1. the `DT_RPATH` of the object that needs the name, then of the object that loaded it,
//!    and so on up to the executable; but only when the needing object has no
//!    `DT_RUNPATH`;
//! 2. `LD_LIBRARY_PATH` (as the guest will see it);
//! 3. the needing object's own `DT_RUNPATH`;
//! 4. the root's `/etc/ld.so.cache` ([`ldcache`]);
//! 5. the default directories, [`DEFAULT_DIRS`].
//!
//! `$ORIGIN` (the directory of the object whose path list it is), `$LIB` and `$PLATFORM` are
//! expanded in those lists and in names with a slash. A candidate that is not a 64-bit x86-64
//! ELF file is skipped, as ld.so skips it. A name already loaded (as a `DT_NEEDED` name, a
//! soname or the interpreter's name) is not searched again.
//!
//! What this is not: it does not run the host's loader (`ldd` executes code and cannot look
//! inside another root), it does not follow `dlopen` calls made at run time (put such
//! libraries in with `--file`/`--dir`; [`Resolver::resolve`] resolves the libraries of every
//! extra ELF object it is given), and it ignores the legacy hwcap subdirectories (`tls/`,
//! `x86_64/`) that glibc 2.36 still probes but no Debian package fills. It does pack the
//! `glibc-hwcaps/x86-64-v{2,3,4}` variants it finds next to a library, since the guest's
//! loader may prefer them.
//!
//! A program whose interpreter is musl's (`/lib/ld-musl-x86_64.so.1`) is searched the way
//! musl's loader does instead: `LD_LIBRARY_PATH`, then the `DT_RUNPATH` (or else `DT_RPATH`)
//! of the needing object and of each object above it, then the directories of
//! `/etc/ld-musl-x86_64.path` or [`MUSL_DEFAULT_PATH`]; no cache. The names musl's loader
//! provides itself (`libc.so`, `libpthread.so`, `libm.so`, ...) are the interpreter.
//!
//! Paths are resolved inside a [`Root`]: the host's `/`, or a prepared tree (`--rootfs`).

pub mod ldcache;
pub mod root;

use std::collections::{HashMap, VecDeque};

use goblin::elf::Elf;
use goblin::elf::header::EM_X86_64;

use ldcache::LdCache;
pub use root::{Root, Walk, WalkError};

/// The directories glibc's loader searches last, as Debian's x86_64 glibc (multiarch
/// directories) and other distributions' (`lib64`) configure them.
pub const DEFAULT_DIRS: [&str; 6] = [
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
];

/// musl's library search path when `/etc/ld-musl-x86_64.path` does not exist.
pub const MUSL_DEFAULT_PATH: &str = "/lib:/usr/local/lib:/usr/lib";

/// The file listing musl's library directories (separated by `:` or newlines).
const MUSL_PATH_FILE: &str = "/etc/ld-musl-x86_64.path";

/// The libraries musl's loader implements itself: `lib` + one of these + `.so` (optionally
/// followed by a version) names the loader.
const MUSL_BUILTIN: [&str; 7] = ["c", "pthread", "rt", "m", "dl", "util", "xnet"];

/// Whose loader rules apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavor {
    /// glibc's ld.so (and the default when the program has no interpreter).
    Glibc,
    /// musl's loader.
    Musl,
}

impl Flavor {
    fn of(interp: Option<&str>) -> Flavor {
        match interp.and_then(basename) {
            Some(name) if name.starts_with("ld-musl-") => Flavor::Musl,
            _ => Flavor::Glibc,
        }
    }
}

/// Whether musl's loader answers `name` with itself.
fn musl_builtin(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("lib") else {
        return false;
    };
    MUSL_BUILTIN.iter().any(|lib| {
        rest.strip_prefix(lib)
            .and_then(|r| r.strip_prefix(".so"))
            .is_some_and(|r| r.is_empty() || r.starts_with('.'))
    })
}

/// What `$LIB` expands to: Debian's multiarch directory, then the `lib64` of other
/// distributions (glibc configures one of them at build time; trying both is harmless).
const LIB_EXPANSIONS: [&str; 2] = ["lib/x86_64-linux-gnu", "lib64"];

/// The `glibc-hwcaps` subdirectories an x86-64 loader may prefer (glibc 2.33+).
const HWCAPS_SUBDIRS: [&str; 3] = ["x86-64-v2", "x86-64-v3", "x86-64-v4"];

/// How a library was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// The `DT_NEEDED` name contained a slash.
    Path,
    /// `DT_RPATH` of the needing object or one of its loaders.
    Rpath,
    /// `LD_LIBRARY_PATH`.
    LibraryPath,
    /// `DT_RUNPATH` of the needing object.
    Runpath,
    /// `/etc/ld.so.cache`.
    Cache,
    /// A default directory.
    Default,
}

/// One object the loader will map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// The `DT_NEEDED` name (or, for the interpreter, its `PT_INTERP` path).
    pub name: String,
    /// The guest path where it was found, before symlinks were resolved.
    pub path: String,
    /// How the path resolves: the symlinks crossed and the real file.
    pub walk: Walk,
    /// The guest path of the object that needs it (empty for the interpreter).
    pub needed_by: String,
    /// How it was found.
    pub found: Found,
}

/// A name no directory had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    /// The `DT_NEEDED` name.
    pub name: String,
    /// The guest path of the object that needs it.
    pub needed_by: String,
}

/// Everything a program (and the extra objects given) needs from the root.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Closure {
    /// The interpreter, for a dynamic program.
    pub interp: Option<Object>,
    /// The libraries, in the loader's breadth-first order.
    pub libs: Vec<Object>,
    /// `glibc-hwcaps` variants of the libraries (guest paths, with how each resolves).
    pub variants: Vec<(String, Walk)>,
    /// Names that the extra objects need and no directory has (the program's own missing
    /// names are an error instead).
    pub extra_missing: Vec<Missing>,
}

impl Closure {
    /// Whether some library was found only through `/etc/ld.so.cache`, in a directory the
    /// loader would not search without it: then the image needs the cache too.
    pub fn needs_ld_cache(&self) -> bool {
        self.libs.iter().any(|o| {
            o.found == Found::Cache
                && !DEFAULT_DIRS.contains(&parent(&o.path).unwrap_or_default().as_str())
        })
    }
}

/// Why a closure could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum DepsError {
    /// The interpreter named by `PT_INTERP` is not in the root.
    #[error("{program}: its interpreter {interp} is missing: {source}")]
    Interpreter {
        /// The program.
        program: String,
        /// Its `PT_INTERP`.
        interp: String,
        /// Why.
        source: WalkError,
    },
    /// An object could not be parsed as ELF.
    #[error("{path}: not an ELF file the loader can use: {reason}")]
    BadElf {
        /// The object's guest path.
        path: String,
        /// What goblin said.
        reason: String,
    },
    /// Libraries the program needs that no directory has.
    #[error("{}", missing_message(.0))]
    Missing(Vec<Missing>),
}

fn missing_message(missing: &[Missing]) -> String {
    let list: Vec<String> = missing
        .iter()
        .map(|m| format!("{} (needed by {})", m.name, m.needed_by))
        .collect();
    format!(
        "shared libraries not found: {}; add their directory with --dir, or --env \
         LD_LIBRARY_PATH=... if they are in the image already",
        list.join(", ")
    )
}

/// What the loader reads from one object.
#[derive(Clone, Debug, Default)]
struct ElfInfo {
    interp: Option<String>,
    needed: Vec<String>,
    rpath: Vec<String>,
    runpath: Vec<String>,
    soname: Option<String>,
}

/// Parses `bytes`; `Ok(None)` for an ELF file of another class or machine.
fn elf_info(path: &str, bytes: &[u8]) -> Result<Option<ElfInfo>, DepsError> {
    let elf = Elf::parse(bytes).map_err(|e| DepsError::BadElf {
        path: path.to_string(),
        reason: e.to_string(),
    })?;
    if !elf.is_64 || elf.header.e_machine != EM_X86_64 {
        return Ok(None);
    }
    let split = |list: &[&str]| -> Vec<String> {
        list.iter()
            .flat_map(|l| l.split(':'))
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .collect()
    };
    Ok(Some(ElfInfo {
        interp: elf.interpreter.map(str::to_string),
        needed: elf.libraries.iter().map(|s| s.to_string()).collect(),
        rpath: split(&elf.rpaths),
        runpath: split(&elf.runpaths),
        soname: elf.soname.map(str::to_string),
    }))
}

/// Whether `bytes` start like an ELF file.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
}

/// One node of the load graph.
struct Node {
    path: String,
    /// The canonical guest path, which identifies the file.
    real: String,
    info: ElfInfo,
    /// The node that caused this one to be loaded (`None` for the executable and the
    /// interpreter).
    loader: Option<usize>,
}

/// Finds libraries inside one root.
pub struct Resolver<'a> {
    root: &'a Root,
    library_path: Vec<String>,
    cache: Option<LdCache>,
}

impl<'a> Resolver<'a> {
    /// A resolver for `root`, with the guest's `LD_LIBRARY_PATH` (colon- or
    /// semicolon-separated, as ld.so(8) accepts; `None` when unset). The root's
    /// `/etc/ld.so.cache` is read if it is there and valid.
    pub fn new(root: &'a Root, library_path: Option<&str>) -> Self {
        let cache = root
            .read("/etc/ld.so.cache")
            .ok()
            .and_then(|(_, bytes)| LdCache::parse(&bytes).ok());
        let library_path = library_path
            .unwrap_or_default()
            .split([':', ';'])
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .collect();
        Resolver {
            root,
            library_path,
            cache,
        }
    }

    /// The closure of `program` (its canonical guest path and bytes) and of `extras` (guest
    /// paths and bytes of other ELF objects in the image, e.g. Python extension modules,
    /// which the program may `dlopen`). A static program with no extras has an empty
    /// closure. Names the program's closure misses are an error naming them all; names only
    /// the extras miss are listed in [`Closure::extra_missing`].
    pub fn resolve(
        &self,
        program: &str,
        bytes: &[u8],
        extras: &[(String, Vec<u8>)],
    ) -> Result<Closure, DepsError> {
        let Some(exe) = elf_info(program, bytes)? else {
            return Err(DepsError::BadElf {
                path: program.to_string(),
                reason: "not a 64-bit x86-64 ELF file".into(),
            });
        };
        let mut closure = Closure::default();
        let mut nodes = vec![Node {
            path: program.to_string(),
            real: program.to_string(),
            info: exe.clone(),
            loader: None,
        }];
        let flavor = Flavor::of(exe.interp.as_deref());
        let mut loaded: HashMap<String, usize> = HashMap::new();
        if let Some(interp) = &exe.interp {
            let (walk, bytes) =
                self.root
                    .read(interp)
                    .map_err(|source| DepsError::Interpreter {
                        program: program.to_string(),
                        interp: interp.clone(),
                        source,
                    })?;
            let info = elf_info(interp, &bytes)?.ok_or_else(|| DepsError::BadElf {
                path: interp.clone(),
                reason: "not a 64-bit x86-64 ELF file".into(),
            })?;
            let index = nodes.len();
            for name in [Some(interp.clone()), basename(interp), info.soname.clone()]
                .into_iter()
                .flatten()
            {
                loaded.insert(name, index);
            }
            nodes.push(Node {
                path: interp.clone(),
                real: walk.real.clone(),
                info,
                loader: None,
            });
            closure.interp = Some(Object {
                name: interp.clone(),
                path: interp.clone(),
                walk,
                needed_by: String::new(),
                found: Found::Path,
            });
        }
        let mut queue = VecDeque::from([0]);
        let mut missing = Vec::new();
        self.load_all(
            flavor,
            &mut nodes,
            &mut loaded,
            &mut queue,
            &mut closure,
            &mut missing,
        )?;
        if !missing.is_empty() {
            return Err(DepsError::Missing(missing));
        }
        for (path, bytes) in extras {
            if loaded.contains_key(path) {
                continue;
            }
            let Some(info) = elf_info(path, bytes).ok().flatten() else {
                continue;
            };
            if let Some(soname) = &info.soname {
                loaded.entry(soname.clone()).or_insert(nodes.len());
            }
            loaded.insert(path.clone(), nodes.len());
            queue.push_back(nodes.len());
            nodes.push(Node {
                path: path.clone(),
                real: path.clone(),
                info,
                loader: Some(0),
            });
        }
        let mut extra_missing = Vec::new();
        self.load_all(
            flavor,
            &mut nodes,
            &mut loaded,
            &mut queue,
            &mut closure,
            &mut extra_missing,
        )?;
        closure.extra_missing = extra_missing;
        Ok(closure)
    }

    /// Loads the `DT_NEEDED` names of every queued node, breadth first.
    fn load_all(
        &self,
        flavor: Flavor,
        nodes: &mut Vec<Node>,
        loaded: &mut HashMap<String, usize>,
        queue: &mut VecDeque<usize>,
        closure: &mut Closure,
        missing: &mut Vec<Missing>,
    ) -> Result<(), DepsError> {
        while let Some(i) = queue.pop_front() {
            for name in nodes[i].info.needed.clone() {
                if loaded.contains_key(&name) {
                    continue;
                }
                if flavor == Flavor::Musl && musl_builtin(&name) {
                    // The interpreter (node 1) is musl's libc.
                    loaded.insert(name, 1);
                    continue;
                }
                let found = match flavor {
                    Flavor::Glibc => self.find(&name, i, nodes)?,
                    Flavor::Musl => self.find_musl(&name, i, nodes)?,
                };
                let Some((path, walk, found, info)) = found else {
                    missing.push(Missing {
                        name: name.clone(),
                        needed_by: nodes[i].path.clone(),
                    });
                    // Report each missing name once.
                    loaded.insert(name, usize::MAX);
                    continue;
                };
                // The same file under another name is one object (ld.so compares the
                // device and inode of what it opened with what it has).
                if let Some(existing) = nodes.iter().position(|n| n.real == walk.real) {
                    loaded.insert(name, existing);
                    continue;
                }
                let index = nodes.len();
                let real = walk.real.clone();
                loaded.insert(name.clone(), index);
                if let Some(soname) = &info.soname {
                    loaded.entry(soname.clone()).or_insert(index);
                }
                self.add_variants(&path, closure);
                closure.libs.push(Object {
                    name,
                    path: path.clone(),
                    walk,
                    needed_by: nodes[i].path.clone(),
                    found,
                });
                nodes.push(Node {
                    path,
                    real,
                    info,
                    loader: Some(i),
                });
                queue.push_back(index);
            }
        }
        Ok(())
    }

    /// Searches for `name`, needed by node `by`.
    fn find(
        &self,
        name: &str,
        by: usize,
        nodes: &[Node],
    ) -> Result<Option<(String, Walk, Found, ElfInfo)>, DepsError> {
        let origin = |n: usize| parent(&nodes[n].path).unwrap_or_else(|| "/".into());
        if name.contains('/') {
            for path in expand(name, &origin(by)) {
                let path = if path.starts_with('/') {
                    path
                } else {
                    // The guest's working directory is `/`.
                    format!("/{path}")
                };
                if let Some(hit) = self.candidate(&path)? {
                    return Ok(Some((path, hit.0, Found::Path, hit.1)));
                }
            }
            return Ok(None);
        }
        let mut dirs: Vec<(String, Found)> = Vec::new();
        if nodes[by].info.runpath.is_empty() {
            let mut at = Some(by);
            let mut saw_exe = false;
            while let Some(n) = at {
                saw_exe |= n == 0;
                for d in &nodes[n].info.rpath {
                    dirs.extend(expand(d, &origin(n)).into_iter().map(|d| (d, Found::Rpath)));
                }
                at = nodes[n].loader;
            }
            if !saw_exe {
                for d in &nodes[0].info.rpath {
                    dirs.extend(expand(d, &origin(0)).into_iter().map(|d| (d, Found::Rpath)));
                }
            }
        }
        for d in &self.library_path {
            dirs.extend(
                expand(d, &origin(0))
                    .into_iter()
                    .map(|d| (d, Found::LibraryPath)),
            );
        }
        for d in &nodes[by].info.runpath {
            dirs.extend(
                expand(d, &origin(by))
                    .into_iter()
                    .map(|d| (d, Found::Runpath)),
            );
        }
        for (dir, found) in dirs {
            let path = format!("{}/{name}", dir.trim_end_matches('/'));
            if let Some((walk, info)) = self.candidate(&path)? {
                return Ok(Some((path, walk, found, info)));
            }
        }
        if let Some(path) = self.cache.as_ref().and_then(|c| c.lookup(name)) {
            if let Some((walk, info)) = self.candidate(path)? {
                return Ok(Some((path.to_string(), walk, Found::Cache, info)));
            }
        }
        for dir in DEFAULT_DIRS {
            let path = format!("{dir}/{name}");
            if let Some((walk, info)) = self.candidate(&path)? {
                return Ok(Some((path, walk, Found::Default, info)));
            }
        }
        Ok(None)
    }

    /// Searches for `name`, needed by node `by`, as musl's loader does.
    fn find_musl(
        &self,
        name: &str,
        by: usize,
        nodes: &[Node],
    ) -> Result<Option<(String, Walk, Found, ElfInfo)>, DepsError> {
        if name.contains('/') {
            return self.find(name, by, nodes);
        }
        let origin = |n: usize| parent(&nodes[n].path).unwrap_or_else(|| "/".into());
        let mut dirs: Vec<(String, Found)> = self
            .library_path
            .iter()
            .flat_map(|d| expand(d, &origin(0)))
            .map(|d| (d, Found::LibraryPath))
            .collect();
        let mut at = Some(by);
        while let Some(n) = at {
            let info = &nodes[n].info;
            let (list, found) = if info.runpath.is_empty() {
                (&info.rpath, Found::Rpath)
            } else {
                (&info.runpath, Found::Runpath)
            };
            for d in list {
                dirs.extend(expand(d, &origin(n)).into_iter().map(|d| (d, found)));
            }
            at = nodes[n].loader;
        }
        let sys_path = match self.root.read(MUSL_PATH_FILE) {
            Ok((_, bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(_) => MUSL_DEFAULT_PATH.to_string(),
        };
        dirs.extend(
            sys_path
                .split([':', '\n'])
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(|d| (d.to_string(), Found::Default)),
        );
        for (dir, found) in dirs {
            let path = format!("{}/{name}", dir.trim_end_matches('/'));
            if let Some((walk, info)) = self.candidate(&path)? {
                return Ok(Some((path, walk, found, info)));
            }
        }
        Ok(None)
    }

    /// The file at `path` if it exists and is a 64-bit x86-64 ELF file.
    fn candidate(&self, path: &str) -> Result<Option<(Walk, ElfInfo)>, DepsError> {
        let Ok(walk) = self.root.walk(path) else {
            return Ok(None);
        };
        let host = self.root.host_path(&walk.real);
        if !host.is_file() {
            return Ok(None);
        }
        let Ok(bytes) = std::fs::read(&host) else {
            return Ok(None);
        };
        if !is_elf(&bytes) {
            return Ok(None);
        }
        Ok(elf_info(path, &bytes)?.map(|info| (walk, info)))
    }

    /// Records the `glibc-hwcaps` variants next to the library at `path`.
    fn add_variants(&self, path: &str, closure: &mut Closure) {
        let (Some(dir), Some(name)) = (parent(path), basename(path)) else {
            return;
        };
        for sub in HWCAPS_SUBDIRS {
            let variant = format!("{}/glibc-hwcaps/{sub}/{name}", dir.trim_end_matches('/'));
            if let Ok(walk) = self.root.walk(&variant) {
                if self.root.host_path(&walk.real).is_file() {
                    closure.variants.push((variant, walk));
                }
            }
        }
    }
}

/// The directory part of a guest path (`/a/b` -> `/a`, `/a` -> `/`).
fn parent(path: &str) -> Option<String> {
    let (dir, _) = path.rsplit_once('/')?;
    Some(if dir.is_empty() {
        "/".into()
    } else {
        dir.into()
    })
}

/// The last component of a path.
fn basename(path: &str) -> Option<String> {
    path.rsplit('/')
        .next()
        .filter(|b| !b.is_empty())
        .map(str::to_string)
}

/// Expands the dynamic string tokens of ld.so(8) in `s`: `$ORIGIN` to `origin`, `$PLATFORM`
/// to `x86_64`, `$LIB` to each of [`LIB_EXPANSIONS`] (so there may be several results). Both
/// `$NAME` and `${NAME}` are accepted; an unknown token is kept literally.
pub fn expand(s: &str, origin: &str) -> Vec<String> {
    let mut results = vec![String::new()];
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        for r in &mut results {
            r.push_str(&rest[..at]);
        }
        let after = &rest[at + 1..];
        let (token, len) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        let values: Vec<&str> = match token {
            "ORIGIN" => vec![origin],
            "PLATFORM" => vec!["x86_64"],
            "LIB" => LIB_EXPANSIONS.to_vec(),
            _ => {
                for r in &mut results {
                    r.push('$');
                }
                rest = after;
                continue;
            }
        };
        results = results
            .iter()
            .flat_map(|r| values.iter().map(move |v| format!("{r}{v}")))
            .collect();
        rest = &after[len..];
    }
    for r in &mut results {
        r.push_str(rest);
    }
    results
}

#[cfg(test)]
mod tests;
