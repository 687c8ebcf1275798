//! The few Linux facts the banner shows that std does not expose: the boot
//! clock, `uname(2)` and the CPU affinity mask, as safe wrappers over `libc`.
//! A failing call is reported as `std::io::Error` (the errno), never a panic.

use std::io;
use std::mem::MaybeUninit;

/// The `uname(2)` fields the banner prints.
pub struct Uname {
    /// Kernel name: "Linux" on Linux and in oxv.
    pub sysname: String,
    /// Kernel release, e.g. "6.1.0-18-amd64".
    pub release: String,
    /// Kernel build/version string.
    pub version: String,
    /// Hardware name: "x86_64".
    pub machine: String,
}

/// `CLOCK_BOOTTIME` in milliseconds: time since the kernel started.
pub fn boottime_ms() -> io::Result<f64> {
    let mut ts = MaybeUninit::<libc::timespec>::uninit();
    // SAFETY: `ts` is a valid, writable timespec that outlives the call.
    if unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, ts.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: clock_gettime returned 0, so it filled in `ts`.
    let ts = unsafe { ts.assume_init() };
    Ok(ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6)
}

/// `uname(2)`.
pub fn uname() -> io::Result<Uname> {
    let mut u = MaybeUninit::<libc::utsname>::uninit();
    // SAFETY: `u` is a valid, writable utsname that outlives the call.
    if unsafe { libc::uname(u.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: uname returned 0, so it filled in every field of `u`.
    let u = unsafe { u.assume_init() };
    Ok(Uname {
        sysname: field(&u.sysname),
        release: field(&u.release),
        version: field(&u.version),
        machine: field(&u.machine),
    })
}

/// A NUL-terminated utsname field as text (the whole array if no NUL).
fn field(raw: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = raw
        .iter()
        .map(|&c| c as u8)
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Number of CPUs this process may run on (`sched_getaffinity(2)`).
pub fn cpu_count() -> io::Result<usize> {
    // SAFETY: cpu_set_t is a plain bit array; all-zero is a valid (empty) set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is valid and writable for size_of::<cpu_set_t>() bytes.
    let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `set` is a valid cpu_set_t filled in by the kernel.
    let n = unsafe { libc::CPU_COUNT(&set) };
    usize::try_from(n).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uname_is_linux() {
        let u = uname().expect("uname works on Linux");
        assert_eq!(u.sysname, "Linux");
        assert_eq!(u.machine, "x86_64");
    }

    #[test]
    fn field_stops_at_nul() {
        let raw: [libc::c_char; 6] = [b'a' as _, b'b' as _, 0, b'c' as _, 0, 0];
        assert_eq!(field(&raw), "ab");
    }

    #[test]
    fn boot_clock_and_cpus() {
        assert!(boottime_ms().expect("CLOCK_BOOTTIME exists") > 0.0);
        assert!(cpu_count().expect("sched_getaffinity works") >= 1);
    }
}
