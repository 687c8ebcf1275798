//! Extended attributes (xattr(7)): the in-memory store a file system keeps per inode
//! ([`XattrMap`], Linux's `simple_xattrs`), and the namespace rules of tmpfs.
//!
//! A name is its namespace prefix and a suffix: `user.mime_type`, `trusted.md5`,
//! `security.capability`. What a file system accepts is its business; the syscall layer
//! ([`crate::syscalls::xattr`]) does the checks that come before it (name and size limits,
//! `user.*` only on regular files and directories, read-only mounts).
//!
//! tmpfs, as Linux's since 6.6, stores `user.*`, `trusted.*` and `security.*` attributes;
//! `system.posix_acl_access`/`system.posix_acl_default` exist (reading them on a file without
//! an ACL is `ENODATA`, removing them succeeds) but oxv cannot set ACLs (`EOPNOTSUPP`, where
//! Linux would check and store the ACL and change the mode to match); any other namespace is
//! `EOPNOTSUPP`, and a bare prefix (`user.`) is `EINVAL`. Setting or removing an attribute
//! changes the inode's ctime (the file system stamps it).

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use oxv_abi::Errno;
use spin::Mutex;

/// How a set treats an existing attribute (setxattr(2)'s flags).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum XattrSet {
    /// Create or replace.
    Any,
    /// `XATTR_CREATE`: `EEXIST` if it exists.
    Create,
    /// `XATTR_REPLACE`: `ENODATA` if it does not.
    Replace,
    /// Both flags: `EEXIST` if it exists, `ENODATA` if not.
    Neither,
}

/// The `user.` namespace.
pub const USER_PREFIX: &[u8] = b"user.";
/// The `trusted.` namespace.
pub const TRUSTED_PREFIX: &[u8] = b"trusted.";
/// The `security.` namespace.
pub const SECURITY_PREFIX: &[u8] = b"security.";
/// The `system.` namespace.
pub const SYSTEM_PREFIX: &[u8] = b"system.";
/// The POSIX ACL attributes (in `system.`).
pub const POSIX_ACL_NAMES: [&[u8]; 2] = [b"system.posix_acl_access", b"system.posix_acl_default"];

/// The xattrs of one inode. Listed in descending byte order of their names, as Linux's
/// `simple_xattrs` rb-tree lists them (its comparison runs backwards).
#[derive(Default)]
pub struct XattrMap {
    map: Mutex<Attrs>,
}

/// Name to value.
type Attrs = BTreeMap<Box<[u8]>, Box<[u8]>>;

impl XattrMap {
    /// No attributes.
    pub fn new() -> XattrMap {
        XattrMap::default()
    }

    /// The value of `name` (`ENODATA` if none).
    pub fn get(&self, name: &[u8]) -> Result<Vec<u8>, Errno> {
        self.map
            .lock()
            .get(name)
            .map(|v| v.to_vec())
            .ok_or(Errno::ENODATA)
    }

    /// Sets `name` to `value`, or removes it (`None`, which must exist: `ENODATA`), as `how`
    /// says (`EEXIST`, `ENODATA`).
    pub fn set(&self, name: &[u8], value: Option<&[u8]>, how: XattrSet) -> Result<(), Errno> {
        let mut map = self.map.lock();
        let exists = map.contains_key(name);
        match (how, exists, value) {
            (XattrSet::Create | XattrSet::Neither, true, _) => return Err(Errno::EEXIST),
            (XattrSet::Replace | XattrSet::Neither, false, _) | (_, false, None) => {
                return Err(Errno::ENODATA);
            }
            _ => {}
        }
        match value {
            Some(v) => {
                map.insert(name.into(), v.into());
            }
            None => {
                map.remove(name);
            }
        }
        Ok(())
    }

    /// Every name, each followed by a NUL, in descending order.
    pub fn list(&self) -> Vec<u8> {
        let map = self.map.lock();
        let mut out = Vec::new();
        for name in map.keys().rev() {
            out.extend_from_slice(name);
            out.push(0);
        }
        out
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.map.lock().is_empty()
    }
}

/// What tmpfs does with attribute `name` (see the [module docs](self)): `Ok(true)` if it
/// stores it, `Ok(false)` for a POSIX ACL name (readable as absent, not settable),
/// `EINVAL` for a bare prefix, `EOPNOTSUPP` for another namespace.
pub fn tmpfs_namespace(name: &[u8]) -> Result<bool, Errno> {
    if POSIX_ACL_NAMES.contains(&name) {
        return Ok(false);
    }
    for prefix in [SECURITY_PREFIX, TRUSTED_PREFIX, USER_PREFIX] {
        if let Some(rest) = name.strip_prefix(prefix) {
            return if rest.is_empty() {
                Err(Errno::EINVAL)
            } else {
                Ok(true)
            };
        }
    }
    Err(Errno::EOPNOTSUPP)
}

/// tmpfs's getxattr over `map`.
pub fn tmpfs_get(map: &XattrMap, name: &[u8]) -> Result<Vec<u8>, Errno> {
    if tmpfs_namespace(name)? {
        map.get(name)
    } else {
        Err(Errno::ENODATA)
    }
}

/// tmpfs's setxattr/removexattr over `map`.
pub fn tmpfs_set(
    map: &XattrMap,
    name: &[u8],
    value: Option<&[u8]>,
    how: XattrSet,
) -> Result<(), Errno> {
    if tmpfs_namespace(name)? {
        map.set(name, value, how)
    } else if value.is_none() {
        // Removing an ACL that is not there succeeds, as on Linux.
        Ok(())
    } else {
        Err(Errno::EOPNOTSUPP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_replace_remove() {
        let m = XattrMap::new();
        assert_eq!(m.get(b"user.a"), Err(Errno::ENODATA));
        assert_eq!(
            m.set(b"user.a", Some(b"1"), XattrSet::Replace),
            Err(Errno::ENODATA)
        );
        m.set(b"user.a", Some(b"1"), XattrSet::Create).unwrap();
        assert_eq!(
            m.set(b"user.a", Some(b"2"), XattrSet::Create),
            Err(Errno::EEXIST)
        );
        m.set(b"user.a", Some(b"22"), XattrSet::Replace).unwrap();
        m.set(b"user.a", Some(b""), XattrSet::Any).unwrap();
        assert_eq!(m.get(b"user.a"), Ok(Vec::new()), "empty values exist");
        m.set(b"user.a", None, XattrSet::Replace).unwrap();
        assert_eq!(m.set(b"user.a", None, XattrSet::Any), Err(Errno::ENODATA));
        assert!(m.is_empty());
    }

    #[test]
    fn lists_are_sorted_backwards_and_nul_separated() {
        let m = XattrMap::new();
        for n in [&b"user.b"[..], b"trusted.x", b"user.a"] {
            m.set(n, Some(b"v"), XattrSet::Any).unwrap();
        }
        assert_eq!(m.list(), b"user.b\0user.a\0trusted.x\0");
    }

    #[test]
    fn tmpfs_namespaces() {
        let m = XattrMap::new();
        assert_eq!(tmpfs_namespace(b"user.x"), Ok(true));
        assert_eq!(tmpfs_namespace(b"security.selinux"), Ok(true));
        assert_eq!(tmpfs_namespace(b"user."), Err(Errno::EINVAL));
        assert_eq!(tmpfs_namespace(b"system.foo"), Err(Errno::EOPNOTSUPP));
        assert_eq!(tmpfs_namespace(b"os2.x"), Err(Errno::EOPNOTSUPP));
        assert_eq!(
            tmpfs_get(&m, b"system.posix_acl_access"),
            Err(Errno::ENODATA)
        );
        assert_eq!(
            tmpfs_set(&m, b"system.posix_acl_access", Some(b"x"), XattrSet::Any),
            Err(Errno::EOPNOTSUPP)
        );
        assert_eq!(
            tmpfs_set(&m, b"system.posix_acl_default", None, XattrSet::Replace),
            Ok(())
        );
        assert_eq!(
            tmpfs_set(&m, b"weird", Some(b"x"), XattrSet::Any),
            Err(Errno::EOPNOTSUPP)
        );
    }
}
