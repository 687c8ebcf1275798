//! Property test: random sequences of namespace and data operations, applied both to ext2
//! and to a model of what POSIX says must happen; results, errors and contents must agree
//! throughout, and the image must pass `e2fsck -fn` at the end and after a remount.

use super::*;
use crate::node::SetAttr;
use alloc::collections::BTreeMap;
use alloc::string::ToString;
use oxv_abi::Errno;
use oxv_abi::linux::fs::RenameFlags;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[derive(Default)]
struct Model {
    /// Directory paths ("" is the root).
    dirs: alloc::collections::BTreeSet<String>,
    /// File path → file id.
    files: BTreeMap<String, usize>,
    data: Vec<Vec<u8>>,
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        std::format!("{dir}/{name}")
    }
}

fn parent_of(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

impl Model {
    fn exists(&self, p: &str) -> bool {
        self.dirs.contains(p) || self.files.contains_key(p)
    }
    fn children(&self, dir: &str) -> usize {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            std::format!("{dir}/")
        };
        self.dirs
            .iter()
            .chain(self.files.keys())
            .filter(|p| !p.is_empty() && p.starts_with(&prefix) && parent_of(p) == dir)
            .count()
    }
    fn pick_dir(&self, rng: &mut Rng) -> String {
        let v: Vec<_> = self.dirs.iter().collect();
        v[rng.below(v.len())].clone()
    }
    fn pick_file(&self, rng: &mut Rng) -> Option<String> {
        let v: Vec<_> = self.files.keys().collect();
        (!v.is_empty()).then(|| v[rng.below(v.len())].clone())
    }
    fn pick_any(&self, rng: &mut Rng) -> Option<String> {
        let v: Vec<_> = self
            .dirs
            .iter()
            .filter(|d| !d.is_empty() && *d != "lost+found")
            .chain(self.files.keys())
            .collect();
        (!v.is_empty()).then(|| v[rng.below(v.len())].clone())
    }

    fn rename(&mut self, src: &str, dst: &str) -> Result<(), Errno> {
        if !self.exists(src) {
            return Err(Errno::ENOENT);
        }
        if let (Some(a), Some(b)) = (self.files.get(src), self.files.get(dst))
            && a == b
        {
            return Ok(());
        }
        if src == dst {
            return Ok(());
        }
        let src_dir = self.dirs.contains(src);
        if src_dir && (dst == src || dst.starts_with(&std::format!("{src}/"))) {
            return Err(Errno::EINVAL);
        }
        if self.exists(dst) {
            match (src_dir, self.dirs.contains(dst)) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) if self.children(dst) > 0 => return Err(Errno::ENOTEMPTY),
                _ => {}
            }
            self.dirs.remove(dst);
            self.files.remove(dst);
        }
        if src_dir {
            let prefix = std::format!("{src}/");
            let moved_dirs: Vec<String> = self
                .dirs
                .iter()
                .filter(|d| *d == src || d.starts_with(&prefix))
                .cloned()
                .collect();
            for d in moved_dirs {
                self.dirs.remove(&d);
                self.dirs.insert(std::format!("{dst}{}", &d[src.len()..]));
            }
            let moved_files: Vec<(String, usize)> = self
                .files
                .iter()
                .filter(|(f, _)| f.starts_with(&prefix))
                .map(|(f, &id)| (f.clone(), id))
                .collect();
            for (f, id) in moved_files {
                self.files.remove(&f);
                self.files
                    .insert(std::format!("{dst}{}", &f[src.len()..]), id);
            }
        } else {
            let id = self.files.remove(src).expect("exists");
            self.files.insert(dst.to_string(), id);
        }
        Ok(())
    }
}

const NAMES: [&str; 6] = [
    "a",
    "b",
    "c",
    "dd",
    "a-rather-long-name-for-a-directory-entry",
    "e",
];

fn lookup(fs: &Ext2, path: &str) -> Arc<dyn Inode> {
    walk(fs, path).unwrap_or_else(|e| panic!("{path}: {e:?}"))
}

fn check(fs: &Ext2, model: &Model) {
    for d in &model.dirs {
        let node = lookup(fs, d);
        assert_eq!(node.kind(), FileKind::Directory, "{d}");
        assert_eq!(list(&*node).len(), model.children(d), "entries of {d:?}");
    }
    for (f, &id) in &model.files {
        let node = lookup(fs, f);
        assert_eq!(read_all(&*node), model.data[id], "contents of {f}");
        let links = model.files.values().filter(|&&i| i == id).count();
        assert_eq!(node.metadata().nlink, links as u64, "links of {f}");
    }
}

fn run(seed: u64, steps: usize, block_size: usize, scratch: Option<&Scratch>) {
    let mut rng = Rng(seed | 1);
    let disk = Arc::new(RamDisk::new(24 * 1024)); // 12 MiB
    super::super::format(
        &*disk,
        &super::super::FormatOptions {
            block_size,
            bytes_per_inode: 4096,
        },
        NOW,
    )
    .unwrap();
    let mut fs = Ext2::mount(
        disk.clone(),
        DeviceId::new(8, 1),
        MountOptions::default(),
        NOW,
    )
    .unwrap();
    let mut model = Model::default();
    model.dirs.insert(String::new());
    model.dirs.insert("lost+found".into());
    for step in 0..steps {
        let op = rng.below(100);
        let ctx = std::format!("seed {seed} step {step} op {op}");
        match op {
            0..=11 => {
                let dir = model.pick_dir(&mut rng);
                let name = NAMES[rng.below(NAMES.len())];
                let path = join(&dir, name);
                let got = lookup(&fs, &dir)
                    .create(name.as_bytes(), NewNode::Directory, &attrs(0o755))
                    .map(|_| ());
                let want = if model.exists(&path) {
                    Err(Errno::EEXIST)
                } else {
                    Ok(())
                };
                assert_eq!(got, want, "mkdir {path}: {ctx}");
                if want.is_ok() {
                    model.dirs.insert(path);
                }
            }
            12..=29 => {
                let dir = model.pick_dir(&mut rng);
                let name = NAMES[rng.below(NAMES.len())];
                let path = join(&dir, name);
                let got = lookup(&fs, &dir)
                    .create(name.as_bytes(), NewNode::Regular, &attrs(0o644))
                    .map(|_| ());
                let want = if model.exists(&path) {
                    Err(Errno::EEXIST)
                } else {
                    Ok(())
                };
                assert_eq!(got, want, "create {path}: {ctx}");
                if want.is_ok() {
                    model.files.insert(path, model.data.len());
                    model.data.push(Vec::new());
                }
            }
            30..=49 => {
                let Some(f) = model.pick_file(&mut rng) else {
                    continue;
                };
                let id = model.files[&f];
                let size = model.data[id].len();
                let off = match rng.below(4) {
                    0 => size,
                    1 => rng.below(size + 1),
                    2 => rng.below(400_000),
                    _ => rng.below(size + 5000),
                };
                let cap = if rng.below(4) == 0 { 100_000 } else { 5000 };
                let len = rng.below(cap);
                let bytes = pattern(rng.next(), len);
                let w = lookup(&fs, &f)
                    .write_at(WritePos::At(off as u64), &WriteBuf::kernel(&bytes), NOW)
                    .unwrap_or_else(|e| panic!("write {f}: {e:?} {ctx}"));
                assert_eq!(w.count, len, "{ctx}");
                let d = &mut model.data[id];
                if len > 0 {
                    if d.len() < off + len {
                        d.resize(off + len, 0);
                    }
                    d[off..off + len].copy_from_slice(&bytes);
                }
            }
            50..=59 => {
                let Some(f) = model.pick_file(&mut rng) else {
                    continue;
                };
                let id = model.files[&f];
                let size = rng.below(model.data[id].len() * 2 + 3000);
                lookup(&fs, &f)
                    .set_attr(&SetAttr {
                        size: Some(size as u64),
                        ctime: NOW,
                        ..SetAttr::default()
                    })
                    .unwrap_or_else(|e| panic!("truncate {f}: {e:?} {ctx}"));
                model.data[id].resize(size, 0);
            }
            60..=74 => {
                let Some(src) = model.pick_any(&mut rng) else {
                    continue;
                };
                let dir = model.pick_dir(&mut rng);
                let name = NAMES[rng.below(NAMES.len())];
                let dst = join(&dir, name);
                let from = lookup(&fs, parent_of(&src));
                let to = lookup(&fs, &dir);
                let src_name = src.rsplit('/').next().expect("a name");
                let got = from.rename(
                    src_name.as_bytes(),
                    &*to,
                    name.as_bytes(),
                    RenameFlags::empty(),
                    NOW,
                );
                let want = model.rename(&src, &dst);
                assert_eq!(got, want, "rename {src} -> {dst}: {ctx}");
            }
            75..=84 => {
                let Some(p) = model.pick_any(&mut rng) else {
                    continue;
                };
                let name = p.rsplit('/').next().expect("a name");
                let parent = lookup(&fs, parent_of(&p));
                if model.dirs.contains(&p) {
                    assert_eq!(parent.unlink(name.as_bytes(), NOW), Err(Errno::EISDIR));
                    let got = parent.rmdir(name.as_bytes(), NOW);
                    let want = if model.children(&p) > 0 {
                        Err(Errno::ENOTEMPTY)
                    } else {
                        Ok(())
                    };
                    assert_eq!(got, want, "rmdir {p}: {ctx}");
                    if want.is_ok() {
                        model.dirs.remove(&p);
                    }
                } else {
                    assert_eq!(parent.rmdir(name.as_bytes(), NOW), Err(Errno::ENOTDIR));
                    parent
                        .unlink(name.as_bytes(), NOW)
                        .unwrap_or_else(|e| panic!("unlink {p}: {e:?} {ctx}"));
                    model.files.remove(&p);
                }
            }
            85..=92 => {
                let Some(f) = model.pick_file(&mut rng) else {
                    continue;
                };
                let dir = model.pick_dir(&mut rng);
                let name = NAMES[rng.below(NAMES.len())];
                let path = join(&dir, name);
                let target = lookup(&fs, &f);
                let got = lookup(&fs, &dir).link(name.as_bytes(), &*target, NOW);
                let want = if model.exists(&path) {
                    Err(Errno::EEXIST)
                } else {
                    Ok(())
                };
                assert_eq!(got, want, "link {f} {path}: {ctx}");
                if want.is_ok() {
                    let id = model.files[&f];
                    model.files.insert(path, id);
                }
            }
            93..=96 => check(&fs, &model),
            _ => {
                // Sync and mount again from what the disk holds.
                fs.sync().unwrap();
                fs = Ext2::mount(
                    disk.clone(),
                    DeviceId::new(8, 1),
                    MountOptions::default(),
                    NOW,
                )
                .unwrap();
            }
        }
    }
    check(&fs, &model);
    std::println!(
        "seed {seed}: {} dirs, {} names of {} files, {} bytes",
        model.dirs.len(),
        model.files.len(),
        model
            .files
            .values()
            .collect::<alloc::collections::BTreeSet<_>>()
            .len(),
        model.data.iter().map(Vec::len).sum::<usize>()
    );
    fs.sync().unwrap();
    if let Some(scratch) = scratch {
        let (code, text) = e2fsck(scratch, &disk.contents());
        assert_eq!(code, 0, "seed {seed}: e2fsck -fn:\n{text}");
    }
    let again = remount(&disk);
    check(&again, &model);
}

#[test]
fn random_operations_match_the_model_and_stay_clean() {
    let scratch = have_e2fsprogs("random_operations_match_the_model_and_stay_clean")
        .then(|| Scratch::new("model"));
    for seed in 1..=6 {
        run(
            seed * 7919,
            400,
            if seed % 2 == 0 { 4096 } else { 1024 },
            scratch.as_ref(),
        );
    }
}
