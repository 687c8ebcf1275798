//! The Internet checksum (RFC 1071) as virtio-net's transmit checksum offload needs it.
//!
//! With `VIRTIO_NET_F_CSUM` the driver may hand over a TCP or UDP packet whose checksum is
//! not computed: it sets `VIRTIO_NET_HDR_F_NEEDS_CSUM` with `csum_start` (where the L4 header
//! begins) and `csum_offset` (where its checksum field is), and the device sums from
//! `csum_start` to the end and stores the result (VIRTIO 1.2, 5.1.6.2). As in Linux's
//! `CHECKSUM_PARTIAL`, the field must first hold the folded pseudo-header sum (RFC 793 3.1,
//! RFC 768, RFC 8200 8.1), which [`prepare_tx`] writes.
//!
//! Only plain frames qualify: Ethernet II with IPv4 (not a fragment) or IPv6 (no extension
//! headers) carrying TCP or UDP. Anything else is left as the stack built it.

/// Ethernet header length (no VLAN tag).
const ETH_HEADER: usize = 14;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
/// Where the checksum field sits in a TCP (RFC 9293 3.1) and a UDP (RFC 768) header.
const TCP_CHECKSUM_AT: usize = 16;
const UDP_CHECKSUM_AT: usize = 6;

/// Where the device must compute a checksum: `virtio_net_hdr`'s `csum_start`/`csum_offset`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PartialChecksum {
    /// Offset of the L4 header in the frame.
    pub start: u16,
    /// Offset of the checksum field from `start`.
    pub offset: u16,
}

/// Adds `data` as big-endian 16-bit words (a trailing odd byte padded with zero) to `sum`,
/// without folding.
pub fn add(mut sum: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        sum += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

/// Folds a sum to 16 bits with end-around carry.
pub fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Writes the pseudo-header sum into the TCP or UDP checksum field of `frame` and returns
/// where the device must finish the checksum; `None` (frame untouched) if the frame is not a
/// plain IPv4/IPv6 TCP/UDP packet that fits in `frame`.
pub fn prepare_tx(frame: &mut [u8]) -> Option<PartialChecksum> {
    if frame.len() < ETH_HEADER {
        return None;
    }
    let ip = &frame[ETH_HEADER..];
    let (proto, l4_start, l4_len, pseudo) = match be16(frame, 12) {
        ETHERTYPE_IPV4 => {
            if ip.len() < 20 || ip[0] >> 4 != 4 {
                return None;
            }
            let ihl = usize::from(ip[0] & 0xf) * 4;
            let total = usize::from(be16(ip, 2));
            let fragment = be16(ip, 6) & 0x3fff != 0;
            if ihl < 20 || total < ihl || total > ip.len() || fragment {
                return None;
            }
            let l4_len = total - ihl;
            let proto = ip[9];
            let sum = add(0, &ip[12..20]) + u64::from(proto) + l4_len as u64;
            (proto, ETH_HEADER + ihl, l4_len, sum)
        }
        ETHERTYPE_IPV6 => {
            if ip.len() < 40 || ip[0] >> 4 != 6 {
                return None;
            }
            let l4_len = usize::from(be16(ip, 4));
            if 40 + l4_len > ip.len() {
                return None;
            }
            let proto = ip[6];
            let sum = add(0, &ip[8..40]) + u64::from(proto) + l4_len as u64;
            (proto, ETH_HEADER + 40, l4_len, sum)
        }
        _ => return None,
    };
    let (offset, min_len) = match proto {
        PROTO_TCP => (TCP_CHECKSUM_AT, 20),
        PROTO_UDP => (UDP_CHECKSUM_AT, 8),
        _ => return None,
    };
    if l4_len < min_len {
        return None;
    }
    let at = l4_start + offset;
    frame[at..at + 2].copy_from_slice(&fold(pseudo).to_be_bytes());
    Some(PartialChecksum {
        start: l4_start as u16,
        offset: offset as u16,
    })
}

/// Finishes a partial checksum as a device does: sums from `start` to the end of `frame`
/// and stores the complement at `start + offset` (0 becomes 0xffff, as UDP requires and TCP
/// allows). `false` if the offsets do not fit the frame.
pub fn complete(frame: &mut [u8], partial: PartialChecksum) -> bool {
    let start = usize::from(partial.start);
    let at = start + usize::from(partial.offset);
    if at + 2 > frame.len() {
        return false;
    }
    let sum = !fold(add(0, &frame[start..]));
    let sum = if sum == 0 { 0xffff } else { sum };
    frame[at..at + 2].copy_from_slice(&sum.to_be_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// An Ethernet + IPv4 + UDP frame carrying `payload`, checksum field zero.
    fn udp4(payload: &[u8]) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&[0xff; 6]);
        f.extend_from_slice(&[0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        f.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        let total = 20 + 8 + payload.len();
        f.extend_from_slice(&[
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            1,
            0x40,
            0,
            64,
            17,
        ]);
        f.extend_from_slice(&[0, 0, 10, 0, 2, 15, 10, 0, 2, 2]);
        let udp_len = 8 + payload.len();
        f.extend_from_slice(&[0x30, 0x39, 0, 53, (udp_len >> 8) as u8, udp_len as u8, 0, 0]);
        f.extend_from_slice(payload);
        f
    }

    /// Checks a UDP/TCP checksum the long way: pseudo header + segment sums to 0xffff.
    fn verifies(frame: &[u8], v6: bool) -> bool {
        let ip = &frame[14..];
        let (pseudo, seg) = if v6 {
            let len = usize::from(be16(ip, 4));
            let mut p = Vec::from(&ip[8..40]);
            p.extend_from_slice(&(len as u32).to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, ip[6]]);
            (p, &ip[40..40 + len])
        } else {
            let ihl = usize::from(ip[0] & 0xf) * 4;
            let len = usize::from(be16(ip, 2)) - ihl;
            let mut p = Vec::from(&ip[12..20]);
            p.extend_from_slice(&[0, ip[9], (len >> 8) as u8, len as u8]);
            (p, &ip[ihl..ihl + len])
        };
        fold(add(add(0, &pseudo), seg)) == 0xffff
    }

    #[test]
    fn rfc1071_example_sum() {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        assert_eq!(
            fold(add(0, &[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])),
            0xddf2
        );
        assert_eq!(add(0, &[0xab]), 0xab00);
    }

    #[test]
    fn udp4_offload_then_device_completion_is_a_valid_checksum() {
        for payload in [&b"odd"[..], b"even", b""] {
            let mut f = udp4(payload);
            let partial = prepare_tx(&mut f).expect("offloadable");
            assert_eq!(
                partial,
                PartialChecksum {
                    start: 34,
                    offset: 6
                }
            );
            assert!(complete(&mut f, partial));
            assert!(verifies(&f, false), "{payload:?}");
        }
    }

    #[test]
    fn tcp6_offload_is_valid() {
        let mut f = Vec::new();
        f.extend_from_slice(&[0; 12]);
        f.extend_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
        let seg_len = 20 + 5;
        f.extend_from_slice(&[0x60, 0, 0, 0, 0, seg_len as u8, PROTO_TCP, 64]);
        f.extend((0..32).map(|i| i as u8 * 7));
        let mut tcp = [0u8; 20];
        tcp[12] = 5 << 4;
        f.extend_from_slice(&tcp);
        f.extend_from_slice(b"hello");
        let partial = prepare_tx(&mut f).expect("offloadable");
        assert_eq!(
            partial,
            PartialChecksum {
                start: 54,
                offset: 16
            }
        );
        complete(&mut f, partial);
        assert!(verifies(&f, true));
    }

    #[test]
    fn other_frames_are_left_alone() {
        // ARP.
        let mut arp = Vec::from([0u8; 42]);
        arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        assert_eq!(prepare_tx(&mut arp), None);
        // An IPv4 fragment.
        let mut frag = udp4(b"x");
        frag[14 + 6] = 0x20; // MF
        let before = frag.clone();
        assert_eq!(prepare_tx(&mut frag), None);
        assert_eq!(frag, before);
        // ICMP.
        let mut icmp = udp4(b"x");
        icmp[14 + 9] = 1;
        assert_eq!(prepare_tx(&mut icmp), None);
        // A length that claims more than the frame holds.
        let mut short = udp4(b"abc");
        short.truncate(short.len() - 1);
        assert_eq!(prepare_tx(&mut short), None);
        // Runt frames.
        assert_eq!(prepare_tx(&mut [0u8; 13]), None);
        let mut runt = udp4(b"");
        runt.truncate(20);
        assert_eq!(prepare_tx(&mut runt), None);
    }

    #[test]
    fn complete_refuses_offsets_past_the_frame() {
        let mut f = [0u8; 10];
        assert!(!complete(
            &mut f,
            PartialChecksum {
                start: 4,
                offset: 6
            }
        ));
        assert!(complete(
            &mut f,
            PartialChecksum {
                start: 4,
                offset: 4
            }
        ));
    }
}
