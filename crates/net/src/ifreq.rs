//! The interface ioctls every socket answers, netdevice(7): `SIOCGIFNAME`, `SIOCGIFINDEX`,
//! `SIOCGIFFLAGS`, `SIOCGIFMTU`, `SIOCGIFADDR`, `SIOCGIFNETMASK`, `SIOCGIFBRDADDR`,
//! `SIOCGIFHWADDR` and `SIOCGIFCONF`. libc's if_nametoindex(3) and if_indextoname(3) use the
//! first two. Unknown interfaces are `ENODEV`, an interface without an IPv4 address
//! `EADDRNOTAVAIL` for the address requests. The set requests are not supported (`EPERM`
//! would say why on Linux without privileges; oxv answers `EOPNOTSUPP`).

use crate::stack::{InterfaceInfo, Stack};
use alloc::vec::Vec;
use linux_raw_sys::ioctl as io;
use oxv_abi::linux::net::{
    self as n, IFF_BROADCAST, IFF_LOOPBACK, IFF_MULTICAST, IFF_RUNNING, IFF_UP,
};
use oxv_abi::{Errno, SysResult, UserAddr, UserMemory, UserPtr};
use smoltcp::wire::IpCidr;

/// Size of `struct ifreq`.
const IFREQ: usize = 40;
/// Size of `ifr_name` (`IFNAMSIZ`).
const IFNAMSIZ: usize = 16;

const _: () = assert!(core::mem::offset_of!(linux_raw_sys::net::ifreq, ifr_ifru) == IFNAMSIZ);

/// Whether `request` is one of the interface ioctls handled here.
pub fn is_interface_request(request: u32) -> bool {
    matches!(
        request,
        io::SIOCGIFNAME
            | io::SIOCGIFINDEX
            | io::SIOCGIFFLAGS
            | io::SIOCGIFMTU
            | io::SIOCGIFADDR
            | io::SIOCGIFNETMASK
            | io::SIOCGIFBRDADDR
            | io::SIOCGIFHWADDR
            | io::SIOCGIFCONF
            | io::SIOCSIFFLAGS
            | io::SIOCSIFADDR
            | io::SIOCSIFMTU
    )
}

fn flags(i: &InterfaceInfo) -> u32 {
    IFF_UP
        | IFF_RUNNING
        | if i.loopback {
            IFF_LOOPBACK
        } else {
            IFF_BROADCAST | IFF_MULTICAST
        }
}

fn sockaddr_in(ip: [u8; 4]) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..2].copy_from_slice(&(n::AF_INET as u16).to_ne_bytes());
    a[4..8].copy_from_slice(&ip);
    a
}

fn v4(i: &InterfaceInfo) -> Option<(smoltcp::wire::Ipv4Address, u8)> {
    i.addrs.iter().find_map(|c| match c {
        IpCidr::Ipv4(c) => Some((c.address(), c.prefix_len())),
        _ => None,
    })
}

/// Runs interface ioctl `request` with the `struct ifreq` (or `struct ifconf`) at `arg`.
pub fn ioctl(stack: &Stack, request: u32, arg: u64, mem: &mut dyn UserMemory) -> SysResult {
    let at = UserAddr::new(arg);
    if request == io::SIOCGIFCONF {
        return ifconf(stack, at, mem);
    }
    if matches!(request, io::SIOCSIFFLAGS | io::SIOCSIFADDR | io::SIOCSIFMTU) {
        return Err(Errno::EOPNOTSUPP);
    }
    let mut req = [0u8; IFREQ];
    mem.copy_in(at, &mut req)?;
    let all = stack.interfaces();
    let found = if request == io::SIOCGIFNAME {
        let index = i32::from_ne_bytes([req[16], req[17], req[18], req[19]]);
        all.iter().find(|i| i.index as i32 == index)
    } else {
        let end = req[..IFNAMSIZ]
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(IFNAMSIZ);
        let name = &req[..end];
        all.iter().find(|i| i.name.as_bytes() == name)
    };
    let i = found.ok_or(Errno::ENODEV)?;
    let u = &mut req[IFNAMSIZ..];
    match request {
        io::SIOCGIFNAME => {
            req[..IFNAMSIZ].fill(0);
            req[..i.name.len()].copy_from_slice(i.name.as_bytes());
        }
        io::SIOCGIFINDEX => u[..4].copy_from_slice(&(i.index as i32).to_ne_bytes()),
        io::SIOCGIFFLAGS => u[..2].copy_from_slice(&(flags(i) as u16).to_ne_bytes()),
        io::SIOCGIFMTU => u[..4].copy_from_slice(&(i.mtu as i32).to_ne_bytes()),
        io::SIOCGIFADDR | io::SIOCGIFNETMASK | io::SIOCGIFBRDADDR => {
            let (addr, prefix) = v4(i).ok_or(Errno::EADDRNOTAVAIL)?;
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix as u32)
            };
            let ip = match request {
                io::SIOCGIFADDR => addr.octets(),
                io::SIOCGIFNETMASK => mask.to_be_bytes(),
                _ => (u32::from_be_bytes(addr.octets()) | !mask).to_be_bytes(),
            };
            u[..16].copy_from_slice(&sockaddr_in(ip));
        }
        io::SIOCGIFHWADDR => {
            let family = if i.loopback {
                n::ARPHRD_LOOPBACK
            } else {
                n::ARPHRD_ETHER
            };
            u[..16].fill(0);
            u[..2].copy_from_slice(&family.to_ne_bytes());
            u[2..8].copy_from_slice(&i.mac.unwrap_or([0; 6]));
        }
        _ => return Err(Errno::ENOTTY),
    }
    mem.copy_out(at, &req)?;
    Ok(0)
}

/// `SIOCGIFCONF`: one `struct ifreq` per interface with an IPv4 address; with a null
/// buffer, only the length needed.
fn ifconf(stack: &Stack, at: UserAddr, mem: &mut dyn UserMemory) -> SysResult {
    let mut conf = [0u8; 16];
    mem.copy_in(at, &mut conf)?;
    let room = i32::from_ne_bytes([conf[0], conf[1], conf[2], conf[3]]).max(0) as usize;
    let buf = u64::from_ne_bytes(conf[8..16].try_into().expect("8 bytes"));
    let mut out: Vec<u8> = Vec::new();
    for i in stack.interfaces() {
        if let Some((addr, _)) = v4(&i) {
            let mut r = [0u8; IFREQ];
            r[..i.name.len()].copy_from_slice(i.name.as_bytes());
            r[IFNAMSIZ..IFNAMSIZ + 16].copy_from_slice(&sockaddr_in(addr.octets()));
            out.extend_from_slice(&r);
        }
    }
    let len = if buf == 0 {
        out.len()
    } else {
        let fit = (room / IFREQ * IFREQ).min(out.len());
        mem.copy_out(UserAddr::new(buf), &out[..fit])?;
        fit
    };
    UserPtr::<i32>::new(at.get()).write(mem, &(len as i32))?;
    Ok(0)
}
