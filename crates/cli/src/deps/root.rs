//! A directory tree seen as a root file system: paths inside it are resolved the way the
//! guest's kernel will resolve them once the tree is its `/`.
//!
//! That differs from the host's own path resolution in one way: an absolute symlink target
//! (`/lib64 -> /usr/lib64` in an extracted container image) means the root's `/usr/lib64`,
//! not the host's, and `..` stops at the root (path_resolution(7), "Step 2" and chroot(2)).
//! [`Root::host`] is the host's `/` itself, where both agree.
//!
//! [`Root::walk`] also returns every symlink it crossed, so an image can keep the host's
//! layout exactly: `/lib64/ld-linux-x86-64.so.2` on Debian crosses `/lib64 -> usr/lib64`,
//! then `/usr/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2`,
//! then `/lib -> usr/lib`, and ends at the regular file
//! `/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2`. Guest paths are UTF-8 strings (the
//! image holds nothing else); a host name that is not UTF-8 is an error.

use std::collections::VecDeque;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Symlinks followed in one walk before giving up, as Linux's `ELOOP` limit
/// (path_resolution(7): "a maximum of 40 symbolic links").
const MAX_LINKS: usize = 40;

/// A directory tree used as `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Root {
    dir: PathBuf,
}

/// The outcome of resolving a path inside a [`Root`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Walk {
    /// The symlinks crossed, in order: (the link's canonical guest path, its target as
    /// stored).
    pub links: Vec<(String, String)>,
    /// The canonical guest path: no symlinks, no `.` or `..`.
    pub real: String,
}

/// Why a path could not be resolved inside a root.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    /// A component does not exist (or cannot be examined).
    #[error("{path}: {source}")]
    Io {
        /// The guest path of the component.
        path: String,
        /// Why.
        source: io::Error,
    },
    /// A component before the last is not a directory.
    #[error("{0}: not a directory")]
    NotADirectory(String),
    /// More than [`MAX_LINKS`] symlinks.
    #[error("{0}: too many levels of symbolic links")]
    Loop(String),
    /// A name or symlink target that is not UTF-8.
    #[error("{0}: not a UTF-8 path")]
    NotUtf8(String),
    /// The path is relative.
    #[error("{0}: not an absolute path")]
    Relative(String),
}

impl Root {
    /// The host's own `/`.
    pub fn host() -> Root {
        Root { dir: "/".into() }
    }

    /// The tree at `dir` (which should be an existing directory).
    pub fn new(dir: impl Into<PathBuf>) -> Root {
        Root { dir: dir.into() }
    }

    /// The host directory that plays `/`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether this is the host's `/`.
    pub fn is_host(&self) -> bool {
        self.dir == Path::new("/")
    }

    /// The host path of a guest path (no symlinks are followed).
    pub fn host_path(&self, guest: &str) -> PathBuf {
        self.dir.join(guest.trim_start_matches('/'))
    }

    /// Resolves `guest` (absolute) inside the root, following every symlink including a
    /// final one. The result exists; it may be of any file type.
    pub fn walk(&self, guest: &str) -> Result<Walk, WalkError> {
        if !guest.starts_with('/') {
            return Err(WalkError::Relative(guest.to_string()));
        }
        let mut todo: VecDeque<String> = components(guest).collect();
        let mut walk = Walk::default();
        let mut at: Vec<String> = Vec::new();
        while let Some(name) = todo.pop_front() {
            match name.as_str() {
                "." => continue,
                ".." => {
                    at.pop();
                    continue;
                }
                _ => {}
            }
            let path = join(&at, &name);
            let host = self.host_path(&path);
            let meta = fs::symlink_metadata(&host).map_err(|source| WalkError::Io {
                path: path.clone(),
                source,
            })?;
            if meta.file_type().is_symlink() {
                if walk.links.len() == MAX_LINKS {
                    return Err(WalkError::Loop(guest.to_string()));
                }
                let target = fs::read_link(&host).map_err(|source| WalkError::Io {
                    path: path.clone(),
                    source,
                })?;
                let target = target
                    .into_os_string()
                    .into_string()
                    .map_err(|_| WalkError::NotUtf8(path.clone()))?;
                if target.starts_with('/') {
                    at.clear();
                }
                for (i, c) in components(&target).enumerate() {
                    todo.insert(i, c);
                }
                walk.links.push((path, target));
                continue;
            }
            if !todo.is_empty() && !meta.is_dir() {
                return Err(WalkError::NotADirectory(path));
            }
            at.push(name);
        }
        walk.real = join(&at, "");
        if walk.real.len() > 1 {
            walk.real.pop();
        }
        Ok(walk)
    }

    /// Resolves `guest` and reads the file it names.
    pub fn read(&self, guest: &str) -> Result<(Walk, Vec<u8>), WalkError> {
        let walk = self.walk(guest)?;
        let bytes = fs::read(self.host_path(&walk.real)).map_err(|source| WalkError::Io {
            path: walk.real.clone(),
            source,
        })?;
        Ok((walk, bytes))
    }

    /// Converts a host path under this root to its guest path (`None` if it is outside, or
    /// not UTF-8).
    #[cfg(test)]
    pub fn guest_of(&self, host: &Path) -> Option<String> {
        let rel = host.strip_prefix(&self.dir).ok()?;
        let rel = rel.to_str()?;
        Some(format!("/{}", rel.trim_start_matches('/')))
    }
}

/// The non-empty components of a path.
fn components(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split('/')
        .filter(|c| !c.is_empty())
        .map(str::to_string)
}

/// `/a/b` + `c` -> `/a/b/c`; with an empty `name`, `/a/b/`.
fn join(at: &[String], name: &str) -> String {
    let mut s = String::from("/");
    for c in at {
        s.push_str(c);
        s.push('/');
    }
    s.push_str(name);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("oxv-root-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn absolute_links_stay_inside_the_root_and_every_link_is_reported() {
        let dir = scratch("abs");
        fs::create_dir_all(dir.join("usr/lib/x86_64-linux-gnu")).unwrap();
        fs::create_dir_all(dir.join("usr/lib64")).unwrap();
        fs::write(dir.join("usr/lib/x86_64-linux-gnu/ld.so"), "ld").unwrap();
        symlink("usr/lib", dir.join("lib")).unwrap();
        symlink("usr/lib64", dir.join("lib64")).unwrap();
        symlink(
            "/lib/x86_64-linux-gnu/ld.so",
            dir.join("usr/lib64/ld-linux.so.2"),
        )
        .unwrap();
        let root = Root::new(&dir);
        let walk = root.walk("/lib64/ld-linux.so.2").unwrap();
        assert_eq!(walk.real, "/usr/lib/x86_64-linux-gnu/ld.so");
        assert_eq!(
            walk.links,
            [
                ("/lib64".to_string(), "usr/lib64".to_string()),
                (
                    "/usr/lib64/ld-linux.so.2".to_string(),
                    "/lib/x86_64-linux-gnu/ld.so".to_string()
                ),
                ("/lib".to_string(), "usr/lib".to_string()),
            ]
        );
        assert_eq!(root.read("/lib64/ld-linux.so.2").unwrap().1, b"ld");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn dot_dot_stops_at_the_root_and_errors_are_typed() {
        let dir = scratch("dots");
        fs::create_dir_all(dir.join("a")).unwrap();
        fs::write(dir.join("a/f"), "x").unwrap();
        symlink("../../../a", dir.join("a/up")).unwrap();
        symlink("loop", dir.join("loop")).unwrap();
        let root = Root::new(&dir);
        assert_eq!(root.walk("/a/up/f").unwrap().real, "/a/f");
        assert_eq!(root.walk("/../../a/./f").unwrap().real, "/a/f");
        assert_eq!(root.walk("/").unwrap().real, "/");
        assert!(matches!(root.walk("/loop"), Err(WalkError::Loop(_))));
        assert!(matches!(
            root.walk("/a/f/g"),
            Err(WalkError::NotADirectory(p)) if p == "/a/f"
        ));
        assert!(matches!(root.walk("/nope"), Err(WalkError::Io { .. })));
        assert!(matches!(root.walk("a/f"), Err(WalkError::Relative(_))));
        assert_eq!(root.guest_of(&dir.join("a/f")).as_deref(), Some("/a/f"));
        assert_eq!(root.guest_of(Path::new("/elsewhere")), None);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_host_root_agrees_with_canonicalize() {
        let root = Root::host();
        for path in ["/bin/sh", "/lib64/ld-linux-x86-64.so.2", "/usr/bin/env"] {
            let Ok(canonical) = fs::canonicalize(path) else {
                continue;
            };
            assert_eq!(root.walk(path).unwrap().real, canonical.to_str().unwrap());
        }
    }
}
