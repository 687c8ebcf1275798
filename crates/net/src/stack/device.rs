//! The devices under smoltcp's interfaces: the loopback queue and any [`Nic`], behind one
//! type ([`PortDevice`]) that implements smoltcp's `Device`.
//!
//! Received frames are taken into an owned buffer first, so the stack can look at the next
//! frame before smoltcp does (the listen backlog is enforced there, see
//! [`super::Inner::admit`]). Loopback frames move by value from the transmit side to the
//! receive side (no copy) in buffers that are reused, with checksums neither computed nor
//! checked, and an MTU of 65535 bytes, like Linux's `lo` (64 KiB). A NIC's frames stay in
//! the buffer the device wrote them in: the stack gives the driver a spare buffer for each
//! frame it takes ([`Nic::receive_swap`]), and a frame's buffer, once smoltcp has read it,
//! becomes a spare. A driver that copies instead copies into the spare.

use crate::nic::Nic;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;
use smoltcp::phy::{self, Checksum, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use spin::Mutex;

/// The loopback MTU: the largest IPv4 datagram.
pub const LOOPBACK_MTU: usize = 65535;

/// Frames the loopback holds before transmits fail (smoltcp then retries on a later poll).
const LOOPBACK_QUEUE: usize = 256;

/// Frame buffers each device keeps for reuse, so a segment costs no allocation or zeroing.
const RX_POOL: usize = 16;

/// Frame buffers kept for reuse.
type Pool = Arc<Mutex<Vec<Box<[u8]>>>>;

/// The loopback's frames in flight and its spare buffers (each `LOOPBACK_MTU` long; a frame
/// is a buffer and the length used).
#[derive(Default)]
pub struct LoopQueue {
    frames: VecDeque<(Box<[u8]>, usize)>,
    /// Frames sent so far.
    sent: u64,
    pool: Pool,
}

impl LoopQueue {
    fn buffer(&self) -> Box<[u8]> {
        self.pool
            .lock()
            .pop()
            .unwrap_or_else(|| vec![0u8; LOOPBACK_MTU].into_boxed_slice())
    }
}

/// A device as the stack drives it.
pub enum PortDevice {
    /// The loopback interface.
    Loopback(LoopQueue),
    /// A network card.
    Nic {
        /// The driver.
        nic: Box<dyn Nic + Send>,
        /// Frames taken from the driver and not yet given to smoltcp: a buffer and where
        /// the frame lies in it.
        pending: VecDeque<(Box<[u8]>, Range<usize>)>,
        /// Spare receive buffers (each `rx_len` long), so a frame costs no allocation or
        /// zeroing.
        rx_pool: Pool,
        /// The length of the driver's receive buffers ([`Nic::rx_buffer_len`], at least a
        /// full Ethernet frame).
        rx_len: usize,
        /// A transmit buffer, reused.
        scratch: Vec<u8>,
        /// The largest frame the driver sends or receives (header included).
        mtu: usize,
        /// The device computes TCP/UDP checksums of sent frames.
        tx_csum: bool,
        /// The driver's queue was full at the last transmit: the NIC interrupts when room
        /// frees up, so polls meanwhile are not needed for sending.
        tx_blocked: bool,
        /// The driver said it had no more frames at the last look. Until it has, it may
        /// raise no interrupt (see the virtio-net driver), so the stack must poll on.
        rx_drained: bool,
        /// Frames sent so far (handed to the driver, whether it had room or not).
        sent: u64,
    },
}

impl PortDevice {
    /// A device for `nic`; `tx_csum` when it computes TCP and UDP checksums of sent frames.
    pub fn nic(nic: Box<dyn Nic + Send>, tx_csum: bool) -> PortDevice {
        let mtu = nic.capabilities().mtu;
        let rx_len = nic.rx_buffer_len().max(MIN_RX_FRAME);
        PortDevice::Nic {
            nic,
            pending: VecDeque::new(),
            rx_pool: Arc::default(),
            rx_len,
            scratch: Vec::new(),
            mtu,
            tx_csum,
            tx_blocked: false,
            rx_drained: true,
            sent: 0,
        }
    }

    /// Whether the last transmit found the NIC's queue full.
    pub fn tx_blocked(&self) -> bool {
        matches!(
            self,
            PortDevice::Nic {
                tx_blocked: true,
                ..
            }
        )
    }

    /// How many frames smoltcp has sent through this device: a connection's calls compare
    /// it before and after (see `ConnSet::drive`).
    pub fn sent(&self) -> u64 {
        match self {
            PortDevice::Loopback(q) => q.sent,
            PortDevice::Nic { sent, .. } => *sent,
        }
    }

    /// Whether this is the loopback.
    pub fn is_loopback(&self) -> bool {
        matches!(self, PortDevice::Loopback(_))
    }

    /// The smoltcp medium.
    pub fn medium(&self) -> Medium {
        match self {
            PortDevice::Loopback(_) => Medium::Ip,
            PortDevice::Nic { .. } => Medium::Ethernet,
        }
    }

    /// The next received frame, without taking it.
    pub fn peek(&mut self) -> Option<&[u8]> {
        match self {
            PortDevice::Loopback(q) => q.frames.front().map(|(f, len)| &f[..*len]),
            PortDevice::Nic {
                nic,
                pending,
                rx_pool,
                rx_len,
                rx_drained,
                ..
            } => {
                if pending.is_empty() {
                    let mut buf = rx_pool
                        .lock()
                        .pop()
                        .filter(|b| b.len() == *rx_len)
                        .unwrap_or_else(|| vec![0u8; *rx_len].into_boxed_slice());
                    loop {
                        match nic.receive_swap(&mut buf) {
                            Some(Ok(at)) if at.start <= at.end && at.end <= buf.len() => {
                                pending.push_back((buf, at));
                                *rx_drained = false;
                                break;
                            }
                            // A frame too large for the buffer (or placed outside it by
                            // a wrong driver): dropped, try the next.
                            Some(_) => continue,
                            None => {
                                rx_pool.lock().push(buf);
                                *rx_drained = true;
                                break;
                            }
                        }
                    }
                }
                pending.front().map(|(f, at)| &f[at.clone()])
            }
        }
    }

    /// Drops the next received frame.
    pub fn drop_front(&mut self) {
        match self {
            PortDevice::Loopback(q) => {
                q.frames.pop_front();
            }
            PortDevice::Nic {
                pending, rx_pool, ..
            } => {
                if let Some((buf, _)) = pending.pop_front() {
                    let mut p = rx_pool.lock();
                    if p.len() < RX_POOL {
                        p.push(buf);
                    }
                }
            }
        }
    }

    /// Sends what the NIC holds back (one doorbell for the frames of a pass, see
    /// [`Nic::flush`]).
    #[inline]
    pub fn flush(&mut self) {
        if let PortDevice::Nic { nic, .. } = self {
            nic.flush();
        }
    }

    /// Whether received frames wait, or may (a NIC not seen drained since it last gave a
    /// frame).
    pub fn has_pending(&self) -> bool {
        match self {
            PortDevice::Loopback(q) => !q.frames.is_empty(),
            PortDevice::Nic {
                pending,
                rx_drained,
                ..
            } => !pending.is_empty() || !rx_drained,
        }
    }
}

/// Receive buffers hold at least a full Ethernet frame, whatever the driver reports.
const MIN_RX_FRAME: usize = 1514;

/// A received frame: `frame[at]`; its buffer goes back to its pool once consumed.
pub struct Rx {
    frame: Box<[u8]>,
    at: Range<usize>,
    pool: Pool,
}

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let r = f(&self.frame[self.at]);
        let mut p = self.pool.lock();
        if p.len() < RX_POOL {
            p.push(self.frame);
        }
        r
    }
}

/// Room for one frame to send.
pub enum Tx<'a> {
    /// Onto the loopback queue.
    Loopback(&'a mut LoopQueue),
    /// To a NIC, through a reused buffer.
    Nic(&'a mut (dyn Nic + Send), &'a mut Vec<u8>, &'a mut u64),
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        match self {
            Tx::Loopback(q) => {
                let mut frame = q.buffer();
                let len = len.min(frame.len());
                let r = f(&mut frame[..len]);
                q.frames.push_back((frame, len));
                q.sent += 1;
                r
            }
            Tx::Nic(nic, scratch, sent) => {
                *sent += 1;
                // Built in the driver's buffer when it has one (no copy).
                let mut f = Some(f);
                let mut r = None;
                let _ = nic.transmit_with(len, scratch, &mut |buf: &mut [u8]| {
                    if let Some(f) = f.take() {
                        r = Some(f(buf));
                    }
                });
                match (r, f) {
                    (Some(r), _) => r,
                    // Refused before it was built. smoltcp counts the frame as sent, so it
                    // is built and dropped: TCP retransmits, as on a real wire.
                    (None, Some(f)) => {
                        scratch.clear();
                        scratch.resize(len, 0);
                        f(scratch)
                    }
                    (None, None) => unreachable!("fill ran, so it gave its result"),
                }
            }
        }
    }
}

impl phy::Device for PortDevice {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(Rx, Tx<'_>)> {
        self.peek()?;
        match self {
            PortDevice::Loopback(q) => {
                let (frame, len) = q.frames.pop_front()?;
                let pool = q.pool.clone();
                Some((
                    Rx {
                        frame,
                        at: 0..len,
                        pool,
                    },
                    Tx::Loopback(q),
                ))
            }
            PortDevice::Nic {
                nic,
                pending,
                rx_pool,
                scratch,
                sent,
                ..
            } => {
                let (frame, at) = pending.pop_front()?;
                let rx = Rx {
                    frame,
                    at,
                    pool: rx_pool.clone(),
                };
                Some((rx, Tx::Nic(&mut **nic, scratch, sent)))
            }
        }
    }

    fn transmit(&mut self, _now: Instant) -> Option<Tx<'_>> {
        match self {
            PortDevice::Loopback(q) => (q.frames.len() < LOOPBACK_QUEUE).then_some(Tx::Loopback(q)),
            PortDevice::Nic {
                nic,
                scratch,
                tx_blocked,
                sent,
                ..
            } => {
                *tx_blocked = !nic.can_transmit();
                (!*tx_blocked).then_some(Tx::Nic(&mut **nic, scratch, sent))
            }
        }
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        match self {
            PortDevice::Loopback(_) => {
                caps.medium = Medium::Ip;
                caps.max_transmission_unit = LOOPBACK_MTU;
                caps.checksum = ChecksumCapabilities::ignored();
            }
            PortDevice::Nic { mtu, tx_csum, .. } => {
                caps.medium = Medium::Ethernet;
                caps.max_transmission_unit = *mtu;
                if *tx_csum {
                    caps.checksum.tcp = Checksum::Rx;
                    caps.checksum.udp = Checksum::Rx;
                }
            }
        }
        caps
    }
}
