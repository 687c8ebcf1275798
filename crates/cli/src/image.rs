//! The initramfs the guest boots with: the program, the user's `--file`s, and mount points.
//!
//! [`Image`] is a model of the archive's tree, keyed by guest path, so conflicts are found
//! (a file where a directory must go) and parents are created before their children
//! (missing parents are directories with mode 0755). It always holds the mount points `/tmp`
//! (01777), `/dev` and `/proc` (0755). [`Image::to_cpio`] writes it with
//! `oxv_vfs::initramfs::Writer` in path order, which puts every parent first.
//!
//! Callers that keep a host layout (a library behind `/lib -> usr/lib`) add the symlinks
//! themselves with [`Image::add_symlink`] and the real file with [`Image::add_host_file`];
//! a path whose parent is a symlink in the image is refused, naming the link.
//!
//! Host files keep their permission bits; directory trees are copied recursively with their
//! symlinks as symlinks; sockets, FIFOs and device nodes inside a tree are skipped with a
//! warning (the initramfs has no use for them). Guest paths must be absolute, UTF-8, without
//! `..`; `.` and repeated slashes are normalized away.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use oxv_vfs::initramfs::Writer;

use crate::error::CliError;

/// What the image holds at one path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Dir { mode: u32 },
    File { mode: u32, source: Source },
    Symlink { target: String },
}

/// Where a file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// Read when the archive is written.
    Host(PathBuf),
    /// Already in memory (the program, read once for the ELF check).
    Bytes(Vec<u8>),
}

/// An initramfs being assembled.
#[derive(Debug, Clone)]
pub struct Image {
    entries: BTreeMap<String, Entry>,
}

impl Default for Image {
    fn default() -> Self {
        Self::new()
    }
}

impl Image {
    /// An image with only the mount points.
    pub fn new() -> Self {
        let mut entries = BTreeMap::new();
        entries.insert("/dev".to_string(), Entry::Dir { mode: 0o755 });
        entries.insert("/proc".to_string(), Entry::Dir { mode: 0o755 });
        entries.insert("/tmp".to_string(), Entry::Dir { mode: 0o1777 });
        Image { entries }
    }

    /// Adds a file whose contents are already in memory.
    pub fn add_bytes(&mut self, guest: &str, mode: u32, data: Vec<u8>) -> Result<(), CliError> {
        let path = normalize(guest)?;
        self.insert(
            path,
            Entry::File {
                mode: mode & 0o7777,
                source: Source::Bytes(data),
            },
        )
    }

    /// Adds a host file, or a directory tree recursively, at `guest`. A symlink given
    /// directly is followed; symlinks inside a tree are kept as symlinks.
    pub fn add_host(&mut self, host: &Path, guest: &str) -> Result<(), CliError> {
        let path = normalize(guest)?;
        let meta = fs::metadata(host).map_err(|e| host_err(host, e))?;
        if meta.is_dir() {
            self.add_tree(host, path, meta.permissions().mode())
        } else if meta.is_file() {
            // Fail now rather than halfway through writing the archive.
            fs::File::open(host).map_err(|e| host_err(host, e))?;
            self.insert(
                path,
                Entry::File {
                    mode: meta.permissions().mode() & 0o7777,
                    source: Source::Host(host.into()),
                },
            )
        } else {
            Err(CliError::Usage(format!(
                "--file {}: not a regular file or directory",
                host.display()
            )))
        }
    }

    fn add_tree(&mut self, host: &Path, guest: String, mode: u32) -> Result<(), CliError> {
        self.insert(
            guest.clone(),
            Entry::Dir {
                mode: mode & 0o7777,
            },
        )?;
        let mut children: Vec<fs::DirEntry> = fs::read_dir(host)
            .map_err(|e| host_err(host, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| host_err(host, e))?;
        children.sort_by_key(|e| e.file_name());
        for child in children {
            let host_child = child.path();
            let Some(name) = child.file_name().to_str().map(str::to_string) else {
                return Err(CliError::Usage(format!(
                    "{}: guest paths must be UTF-8",
                    host_child.display()
                )));
            };
            let guest_child = if guest == "/" {
                format!("/{name}")
            } else {
                format!("{guest}/{name}")
            };
            let meta = fs::symlink_metadata(&host_child).map_err(|e| host_err(&host_child, e))?;
            let ft = meta.file_type();
            if ft.is_dir() {
                self.add_tree(&host_child, guest_child, meta.permissions().mode())?;
            } else if ft.is_file() {
                self.insert(
                    guest_child,
                    Entry::File {
                        mode: meta.permissions().mode() & 0o7777,
                        source: Source::Host(host_child),
                    },
                )?;
            } else if ft.is_symlink() {
                let target = fs::read_link(&host_child).map_err(|e| host_err(&host_child, e))?;
                let Some(target) = target.to_str().map(str::to_string) else {
                    return Err(CliError::Usage(format!(
                        "{}: symlink target is not UTF-8",
                        host_child.display()
                    )));
                };
                self.insert(guest_child, Entry::Symlink { target })?;
            } else {
                let kind = if ft.is_fifo() {
                    "FIFO"
                } else if ft.is_socket() {
                    "socket"
                } else {
                    "device node"
                };
                eprintln!("oxv: warning: skipping {} ({kind})", host_child.display());
            }
        }
        Ok(())
    }

    /// Adds an empty directory (a mount point) at `guest`; one already there keeps its
    /// contents and mode.
    pub fn add_dir(&mut self, guest: &str, mode: u32) -> Result<(), CliError> {
        let path = normalize(guest)?;
        if self.contains(&path) {
            return match self.entries[&path] {
                Entry::Dir { .. } => Ok(()),
                _ => Err(CliError::GuestPath {
                    path,
                    reason: "already a file in the image".into(),
                }),
            };
        }
        self.insert(
            path,
            Entry::Dir {
                mode: mode & 0o7777,
            },
        )
    }

    /// Adds a symlink at `guest` pointing at `target` (stored as is). The same link added
    /// twice is one entry.
    pub fn add_symlink(&mut self, guest: &str, target: &str) -> Result<(), CliError> {
        let path = normalize(guest)?;
        self.insert(
            path,
            Entry::Symlink {
                target: target.to_string(),
            },
        )
    }

    /// Adds the host file `host` at `guest` with its permission bits; symlinks in `host`
    /// are followed (the caller adds the links it wants kept with [`Image::add_symlink`]).
    pub fn add_host_file(&mut self, host: &Path, guest: &str) -> Result<(), CliError> {
        let path = normalize(guest)?;
        let meta = fs::metadata(host).map_err(|e| host_err(host, e))?;
        if !meta.is_file() {
            return Err(CliError::GuestPath {
                path,
                reason: format!("{} is not a regular file", host.display()),
            });
        }
        self.insert(
            path,
            Entry::File {
                mode: meta.permissions().mode() & 0o7777,
                source: Source::Host(host.into()),
            },
        )
    }

    /// Whether the image has something at `guest` (a normalized path).
    pub fn contains(&self, guest: &str) -> bool {
        self.entries.contains_key(guest)
    }

    /// The regular files and their sizes (the program and host files; a host file that
    /// cannot be examined counts 0 and fails later, when the archive is written).
    pub fn files(&self) -> impl Iterator<Item = (&str, u64)> {
        self.entries.iter().filter_map(|(path, entry)| match entry {
            Entry::File {
                source: Source::Bytes(data),
                ..
            } => Some((path.as_str(), data.len() as u64)),
            Entry::File {
                source: Source::Host(host),
                ..
            } => Some((
                path.as_str(),
                fs::metadata(host).map(|m| m.len()).unwrap_or(0),
            )),
            _ => None,
        })
    }

    /// The host file behind a guest path, if it is one (for reading ELF headers).
    pub fn host_source(&self, guest: &str) -> Option<&Path> {
        match self.entries.get(guest) {
            Some(Entry::File {
                source: Source::Host(host),
                ..
            }) => Some(host),
            _ => None,
        }
    }

    /// Inserts `entry` at normalized `path`, creating missing parents.
    fn insert(&mut self, path: String, entry: Entry) -> Result<(), CliError> {
        if path == "/" {
            return match entry {
                Entry::Dir { .. } => Ok(()),
                _ => Err(CliError::GuestPath {
                    path,
                    reason: "the root can only be a directory".into(),
                }),
            };
        }
        // Every '/' after the leading one ends a parent's path.
        for (end, _) in path.match_indices('/').skip(1) {
            let parent = path[..end].to_string();
            match self.entries.get(&parent) {
                Some(Entry::Dir { .. }) => {}
                Some(Entry::Symlink { target }) => {
                    return Err(CliError::GuestPath {
                        path: path.clone(),
                        reason: format!(
                            "its parent {parent} is a symlink in the image (to {target}); \
                             use the path it points to"
                        ),
                    });
                }
                Some(_) => {
                    return Err(CliError::GuestPath {
                        path: path.clone(),
                        reason: format!("its parent {parent} is a file in the image"),
                    });
                }
                None => {
                    self.entries.insert(parent, Entry::Dir { mode: 0o755 });
                }
            }
        }
        match (self.entries.get(&path), &entry) {
            (Some(Entry::Dir { .. }), Entry::Dir { .. }) | (None, _) => {}
            (Some(Entry::Dir { .. }), _) => {
                return Err(CliError::GuestPath {
                    path,
                    reason: "already a directory in the image".into(),
                });
            }
            (Some(_), Entry::Dir { .. }) => {
                return Err(CliError::GuestPath {
                    path,
                    reason: "already a file in the image".into(),
                });
            }
            // A later file replaces an earlier one, as a copy would.
            (Some(_), _) => {}
        }
        self.entries.insert(path, entry);
        Ok(())
    }

    /// Writes the image as a cpio newc archive. Entry names are relative (`usr/bin/app`),
    /// as in archives made by cpio(1) and the kernel's own initramfs tools.
    pub fn to_cpio(&self) -> Result<Vec<u8>, CliError> {
        self.to_cpio_with_progress(|_| {})
    }

    /// [`Image::to_cpio`], calling `progress` with the bytes of file data read so far after
    /// each file.
    pub fn to_cpio_with_progress(
        &self,
        mut progress: impl FnMut(u64),
    ) -> Result<Vec<u8>, CliError> {
        let mut done = 0u64;
        let mut writer = Writer::new();
        // BTreeMap order puts "/a" before "/a/..." (a prefix sorts first): parents first.
        for (path, entry) in &self.entries {
            let name = &path[1..];
            let added = match entry {
                Entry::Dir { mode } => writer.add_dir(name, *mode),
                Entry::Symlink { target } => writer.add_symlink(name, target),
                Entry::File {
                    mode,
                    source: Source::Bytes(data),
                } => {
                    done += data.len() as u64;
                    progress(done);
                    writer.add_file(name, *mode, data)
                }
                Entry::File {
                    mode,
                    source: Source::Host(host),
                } => {
                    let data = fs::read(host).map_err(|e| host_err(host, e))?;
                    done += data.len() as u64;
                    progress(done);
                    writer.add_file(name, *mode, &data)
                }
            };
            added.map_err(|e| CliError::GuestPath {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        }
        Ok(writer.finish())
    }

    /// The guest paths in the image, in archive order (for tests and `--verbose`).
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }
}

fn host_err(path: &Path, source: std::io::Error) -> CliError {
    CliError::HostFile {
        context: path.display().to_string(),
        source,
    }
}

/// Normalizes an absolute guest path: no empty or `.` components, no `..`, no NUL.
pub fn normalize(path: &str) -> Result<String, CliError> {
    let bad = |reason: &str| CliError::GuestPath {
        path: path.to_string(),
        reason: reason.into(),
    };
    if !path.starts_with('/') {
        return Err(bad("guest paths must be absolute"));
    }
    if path.contains('\0') {
        return Err(bad("guest paths cannot contain NUL"));
    }
    let mut out = String::new();
    for component in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
        if component == ".." {
            return Err(bad("guest paths cannot contain `..`"));
        }
        out.push('/');
        out.push_str(component);
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("oxv-image-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn guest_paths_are_normalized_or_refused() {
        assert_eq!(normalize("/a//b/./c/").unwrap(), "/a/b/c");
        assert_eq!(normalize("/").unwrap(), "/");
        assert!(normalize("rel/x").is_err());
        assert!(normalize("/a/../b").is_err());
        assert!(normalize("/a\0b").is_err());
    }

    #[test]
    fn mount_points_and_parents_exist() {
        let mut img = Image::new();
        img.add_bytes("/usr/local/bin/app", 0o755, b"\x7fELF".to_vec())
            .unwrap();
        let paths: Vec<&str> = img.paths().collect();
        assert_eq!(
            paths,
            [
                "/dev",
                "/proc",
                "/tmp",
                "/usr",
                "/usr/local",
                "/usr/local/bin",
                "/usr/local/bin/app"
            ]
        );
        assert_eq!(img.entries["/tmp"], Entry::Dir { mode: 0o1777 });
        assert_eq!(img.entries["/usr/local"], Entry::Dir { mode: 0o755 });
        img.add_dir("/sys", 0o555).unwrap();
        img.add_dir("/tmp", 0o755).unwrap();
        assert_eq!(img.entries["/sys"], Entry::Dir { mode: 0o555 });
        assert_eq!(img.entries["/tmp"], Entry::Dir { mode: 0o1777 });
        assert!(img.add_dir("/usr/local/bin/app", 0o755).is_err());
    }

    #[test]
    fn parents_sort_before_children_even_with_lookalike_names() {
        let mut img = Image::new();
        img.add_bytes("/a-b/x", 0o644, vec![]).unwrap();
        img.add_bytes("/a/b", 0o644, vec![]).unwrap();
        img.add_bytes("/a.c", 0o644, vec![]).unwrap();
        let paths: Vec<&str> = img.paths().collect();
        for (i, p) in paths.iter().enumerate() {
            if let Some((parent, _)) = p.rsplit_once('/').filter(|(parent, _)| !parent.is_empty()) {
                let at = paths
                    .iter()
                    .position(|q| *q == parent)
                    .expect("parent present");
                assert!(at < i, "{parent} after {p}");
            }
        }
    }

    #[test]
    fn conflicts_are_errors_and_later_files_win() {
        let mut img = Image::new();
        img.add_bytes("/x", 0o644, b"1".to_vec()).unwrap();
        img.add_bytes("/x", 0o600, b"2".to_vec()).unwrap();
        assert_eq!(
            img.entries["/x"],
            Entry::File {
                mode: 0o600,
                source: Source::Bytes(b"2".to_vec())
            }
        );
        assert!(matches!(
            img.add_bytes("/x/y", 0o644, vec![]),
            Err(CliError::GuestPath { .. })
        ));
        assert!(matches!(
            img.add_bytes("/tmp", 0o644, vec![]),
            Err(CliError::GuestPath { .. })
        ));
        assert!(matches!(
            img.add_bytes("/", 0o644, vec![]),
            Err(CliError::GuestPath { .. })
        ));
    }

    #[test]
    fn host_trees_are_copied_with_modes_and_symlinks() {
        let dir = scratch("tree");
        fs::create_dir_all(dir.join("sub/deeper")).unwrap();
        fs::write(dir.join("sub/f.txt"), "hi").unwrap();
        fs::set_permissions(dir.join("sub/f.txt"), fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink("f.txt", dir.join("sub/link")).unwrap();
        let mut img = Image::new();
        img.add_host(&dir.join("sub"), "/data").unwrap();
        assert_eq!(
            img.entries["/data/f.txt"],
            Entry::File {
                mode: 0o640,
                source: Source::Host(dir.join("sub/f.txt"))
            }
        );
        assert_eq!(
            img.entries["/data/link"],
            Entry::Symlink {
                target: "f.txt".into()
            }
        );
        assert!(matches!(img.entries["/data/deeper"], Entry::Dir { .. }));
        assert!(matches!(
            img.add_host(&dir.join("missing"), "/m"),
            Err(CliError::HostFile { .. })
        ));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn symlinks_files_and_progress() {
        let dir = scratch("links");
        fs::write(dir.join("lib.so"), "0123456789").unwrap();
        let mut img = Image::new();
        img.add_symlink("/lib", "usr/lib").unwrap();
        img.add_symlink("/lib", "usr/lib").unwrap();
        img.add_host_file(&dir.join("lib.so"), "/usr/lib/lib.so")
            .unwrap();
        img.add_bytes("/bin/app", 0o755, b"abc".to_vec()).unwrap();
        assert!(img.contains("/lib") && img.contains("/usr/lib/lib.so"));
        let files: Vec<(&str, u64)> = img.files().collect();
        assert_eq!(files, [("/bin/app", 3), ("/usr/lib/lib.so", 10)]);
        assert_eq!(
            img.host_source("/usr/lib/lib.so"),
            Some(&*dir.join("lib.so"))
        );
        assert_eq!(img.host_source("/bin/app"), None);
        let err = img.add_bytes("/lib/x", 0o644, vec![]).unwrap_err();
        assert!(
            err.to_string()
                .contains("its parent /lib is a symlink in the image (to usr/lib)"),
            "{err}"
        );
        assert!(img.add_host_file(&dir, "/d").is_err(), "a directory");
        let mut seen = Vec::new();
        img.to_cpio_with_progress(|done| seen.push(done)).unwrap();
        assert_eq!(seen, [3, 13]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_archive_reads_back_with_parents_first_and_modes_kept() {
        let dir = scratch("cpio");
        fs::write(dir.join("data.txt"), "payload").unwrap();
        fs::set_permissions(dir.join("data.txt"), fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink("data.txt", dir.join("link")).unwrap();
        let mut img = Image::new();
        img.add_bytes("/opt/app/bin/prog", 0o755, b"\x7fELF...".to_vec())
            .unwrap();
        img.add_host(&dir, "/srv").unwrap();
        let archive = img.to_cpio().unwrap();
        let entries: Vec<(String, u32, Vec<u8>)> = oxv_vfs::initramfs::Reader::new(&archive)
            .map(|e| {
                let e = e.expect("a valid archive");
                (
                    String::from_utf8(e.name.to_vec()).unwrap(),
                    e.mode,
                    e.data.to_vec(),
                )
            })
            .collect();
        let names: Vec<&str> = entries.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "dev",
                "opt",
                "opt/app",
                "opt/app/bin",
                "opt/app/bin/prog",
                "proc",
                "srv",
                "srv/data.txt",
                "srv/link",
                "tmp"
            ]
        );
        let find = |name: &str| entries.iter().find(|(n, _, _)| n == name).unwrap();
        assert_eq!(find("tmp").1, 0o040000 | 0o1777);
        assert_eq!(find("opt/app").1, 0o040000 | 0o755);
        assert_eq!(find("opt/app/bin/prog").1, 0o100000 | 0o755);
        assert_eq!(find("opt/app/bin/prog").2, b"\x7fELF...");
        assert_eq!(find("srv/data.txt").1, 0o100000 | 0o600);
        assert_eq!(find("srv/data.txt").2, b"payload");
        assert_eq!(find("srv/link").1, 0o120000 | 0o777);
        assert_eq!(find("srv/link").2, b"data.txt");
        fs::remove_dir_all(&dir).unwrap();
    }
}
