//! virtio-net: an Ethernet interface behind two virtqueues, as an [`oxv_net::nic::Nic`].
//!
//! Specification: *VIRTIO 1.2*, section 5.1 (Network Device). Queue 0 receives, queue 1
//! transmits; every buffer starts with a `virtio_net_hdr` (12 bytes, or 10 on a legacy device
//! without merged buffers).
//!
//! The driver negotiates:
//!
//! - `VIRTIO_NET_F_MAC`, `_STATUS`, `_MTU`: the address, the link state and the MTU from the
//!   config space;
//! - `VIRTIO_NET_F_MRG_RXBUF`: a received frame may span several receive buffers
//!   (`num_buffers` in the header of the first); they are joined here;
//! - `VIRTIO_NET_F_CSUM`: transmit checksum offload. TCP and UDP frames go out with
//!   `NEEDS_CSUM` and the pseudo-header sum in place ([`checksum::prepare_tx`]), so the
//!   device computes the sum; a stack that leaves the checksum to the NIC saves the work
//!   ([`VirtioNet::offloads`] says so);
//! - `VIRTIO_F_VERSION_1` or, on a legacy device, `VIRTIO_F_ANY_LAYOUT` (header and frame in
//!   one descriptor);
//! - `VIRTIO_F_EVENT_IDX`: notification suppression by event index
//!   ([`crate::virtio::notify`]), in both directions: the driver kicks only when the device
//!   asks for it (its `avail_event` passed), and holds interrupts off by moving `used_event`
//!   out of the device's reach. The device, in turn, interrupts once when it passes
//!   `used_event`, not for every frame while the line is still up.
//!
//! Not negotiated: `GUEST_CSUM` (the device would then be free to hand over frames with
//! partial checksums, which smoltcp cannot take per frame), the GSO/TSO features, and the
//! control queue.
//!
//! Receive is interrupt-driven: every receive buffer is posted at start-up; the device's
//! interrupt ([`NetInterrupt::handle`]) tells the embedder that frames are waiting, and
//! [`Nic::receive`] takes them, copies each out and posts its buffers again. As with Linux's
//! NAPI, the interrupt turns further receive interrupts off (`VIRTQ_AVAIL_F_NO_INTERRUPT`,
//! or `used_event` moved out of reach with the event index) until `receive` finds the queue
//! drained, turns them back on and looks once more for a frame that came in between: under
//! load one interrupt serves many frames, which spares both the guest's handler and the
//! device's notification work. Transmit copies the frame into a driver-owned buffer (so the
//! caller keeps its own, as `Nic` requires) and reclaims sent buffers on later calls, without
//! asking the device for an interrupt, except when the queue is full: then
//! [`Nic::can_transmit`] says so and asks for the interrupt that tells the stack room is
//! back. Frames added to the transmit queue are announced to the device once per batch, at
//! [`Nic::flush`] (Linux's `xmit_more`), or at once when the queue fills; with the event
//! index that one kick covers the whole batch. [`NetStats`] counts kicks and interrupts.

pub mod checksum;

use crate::virtio::notify::{DmaMemory, F_EVENT_IDX, NotifyQueue};
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use bitflags::bitflags;
use core::ops::Range;
use oxv_net::nic::{Loopback, Nic, NicCapabilities, NicError};
use spin::Mutex;
use virtio_drivers::Hal;
use virtio_drivers::transport::{DeviceStatus, DeviceType, Transport};

/// Receive buffers posted at once (and so the most frames the device can hold for us).
const RX_QUEUE_SIZE: usize = 128;
/// Transmit buffers in flight at once.
const TX_QUEUE_SIZE: usize = 64;
const RX_QUEUE: u16 = 0;
const TX_QUEUE: u16 = 1;
/// One receive buffer: a standard frame plus header fits, and merged buffers join larger ones.
const RX_BUFFER: usize = 2048;
/// Ethernet header, which the MTU (an IP packet size) does not count.
const ETH_HEADER: usize = 14;
/// The MTU when the device does not give one.
const DEFAULT_MTU: usize = 1500;
/// The smallest MTU accepted from a device.
const MIN_MTU: usize = 68;

bitflags! {
    /// The feature bits this driver knows (VIRTIO 1.2, 5.1.3 and 6).
    #[derive(Copy, Clone, Debug, PartialEq, Eq)]
    struct Features: u64 {
        const CSUM = 1 << 0;
        const MTU = 1 << 3;
        const MAC = 1 << 5;
        const MRG_RXBUF = 1 << 15;
        const STATUS = 1 << 16;
        const ANY_LAYOUT = 1 << 27;
        const EVENT_IDX = F_EVENT_IDX;
        const VERSION_1 = 1 << 32;
    }
}

/// Config-space offsets (`struct virtio_net_config`).
const CONFIG_MAC: usize = 0;
const CONFIG_STATUS: usize = 6;
const CONFIG_MTU: usize = 10;
/// `VIRTIO_NET_S_LINK_UP`.
const STATUS_LINK_UP: u16 = 1;
/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`.
const HDR_NEEDS_CSUM: u8 = 1;

/// Why a virtio-net device could not be set up.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SetupError {
    /// The transport's device is not a network device.
    NotNetwork(DeviceType),
    /// A legacy device without `VIRTIO_F_ANY_LAYOUT` (it wants the header in a descriptor of
    /// its own, which this driver does not do).
    NeedsSeparateHeader,
    /// A virtqueue could not be created.
    Queue(virtio_drivers::Error),
    /// The config space could not be read.
    Config(virtio_drivers::Error),
}

impl core::fmt::Display for SetupError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SetupError::NotNetwork(t) => write!(f, "not a network device ({t:?})"),
            SetupError::NeedsSeparateHeader => {
                f.write_str("legacy device without VIRTIO_F_ANY_LAYOUT")
            }
            SetupError::Queue(e) => write!(f, "cannot set up a virtqueue: {e}"),
            SetupError::Config(e) => write!(f, "cannot read the config space: {e}"),
        }
    }
}

impl core::error::Error for SetupError {}

/// What the device does for the stack.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Offloads {
    /// The device computes TCP and UDP checksums of sent frames: the stack may leave them
    /// out (smoltcp: `ChecksumCapabilities` with `tcp`/`udp` tx off).
    pub tx_checksum: bool,
    /// Received frames may span several buffers (merged receive buffers).
    pub merged_rx_buffers: bool,
}

/// Counters.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Frames received and handed to the stack.
    pub rx_frames: u64,
    /// Frames dropped on receive (too large for the caller, malformed by the device).
    pub rx_dropped: u64,
    /// Frames sent.
    pub tx_frames: u64,
    /// Sent frames whose checksum the device computed.
    pub tx_checksum_offloaded: u64,
    /// Kicks of the transmit queue (available-buffer notifications).
    pub tx_kicks: u64,
    /// Kicks of the receive queue, for reposted buffers.
    pub rx_kicks: u64,
    /// Interrupts the device raised (and [`NetInterrupt::handle`] acknowledged).
    pub interrupts: u64,
}

struct State<H: Hal, T: Transport> {
    transport: T,
    rx: NotifyQueue<H, RX_QUEUE_SIZE>,
    tx: NotifyQueue<H, TX_QUEUE_SIZE>,
    /// The buffer posted under each receive token.
    rx_posted: Vec<Option<Box<[u8]>>>,
    /// The buffer and length in flight under each transmit token.
    tx_posted: Vec<Option<(Box<[u8]>, usize)>>,
    /// Sent buffers, for reuse.
    tx_spare: Vec<Box<[u8]>>,
    /// The transmit queue asks the device for an interrupt when it uses a buffer (it was
    /// full; see [`Nic::can_transmit`]).
    tx_interrupt: bool,
    /// Frames were added since the last kick decision (see [`Nic::flush`]).
    tx_unkicked: bool,
    stats: NetStats,
}

/// The parts of the device an interrupt handler needs, kept apart from the [`Nic`] (which the
/// network stack owns).
pub struct NetInterrupt<H: Hal, T: Transport> {
    state: Arc<Mutex<State<H, T>>>,
}

impl<H: Hal, T: Transport> NetInterrupt<H, T> {
    /// The device's interrupt: acknowledges it. Returns whether the device raised it (false
    /// on a shared line when it was someone else); the caller then tells the stack to call
    /// [`Nic::receive`].
    pub fn handle(&self) -> bool {
        let mut state = self.state.lock();
        let raised = !state.transport.ack_interrupt().is_empty();
        if raised {
            state.stats.interrupts += 1;
            // Until the stack has taken every waiting frame (`Nic::receive` returns `None`),
            // more frames need no interrupt: the device skips raising it, and the kernel its
            // handling.
            state.rx.set_interrupts(false);
        }
        raised
    }

    /// The device's counters so far.
    pub fn stats(&self) -> NetStats {
        self.state.lock().stats
    }
}

/// A virtio-net interface.
pub struct VirtioNet<H: Hal, T: Transport> {
    state: Arc<Mutex<State<H, T>>>,
    mac: [u8; 6],
    mtu: usize,
    header_len: usize,
    /// The length of every receive buffer posted (see [`Nic::receive_swap`]).
    rx_len: usize,
    offloads: Offloads,
    link_status: bool,
}

/// Where [`VirtioNet::take_frame`] puts a received frame.
enum RxInto<'a> {
    /// Copied into the caller's slice.
    Copy(&'a mut [u8]),
    /// The caller's buffer swapped for the device's when the frame fits in one; copied
    /// into it otherwise.
    Swap(&'a mut Box<[u8]>),
}

impl<H: DmaMemory, T: Transport> VirtioNet<H, T> {
    /// Initializes the device behind `transport` (VIRTIO 1.2, 3.1.1 and 5.1.5) and posts
    /// every receive buffer.
    pub fn new(mut transport: T) -> Result<Self, SetupError> {
        let kind = transport.device_type();
        if kind != DeviceType::Network {
            return Err(SetupError::NotNetwork(kind));
        }
        let features = transport.begin_init(Features::all());
        let modern = features.contains(Features::VERSION_1);
        if !modern && !features.contains(Features::ANY_LAYOUT) {
            transport.set_status(DeviceStatus::FAILED);
            return Err(SetupError::NeedsSeparateHeader);
        }
        let merged = features.contains(Features::MRG_RXBUF);
        // VIRTIO 1.2, 5.1.6: num_buffers is always there on a modern device.
        let header_len = if modern || merged { 12 } else { 10 };
        let (mac, mtu) = transport
            .read_consistent(|| {
                let mut mac = [0u8; 6];
                if features.contains(Features::MAC) {
                    for (i, b) in mac.iter_mut().enumerate() {
                        *b = transport.read_config_space(CONFIG_MAC + i)?;
                    }
                }
                let mtu = if features.contains(Features::MTU) {
                    let mtu: u16 = transport.read_config_space(CONFIG_MTU)?;
                    // IPv4's minimum (RFC 791); a smaller value is a broken device.
                    usize::from(mtu).max(MIN_MTU)
                } else {
                    DEFAULT_MTU
                };
                Ok((mac, mtu))
            })
            .map_err(SetupError::Config)?;
        let event_idx = features.contains(Features::EVENT_IDX);
        let mut rx =
            NotifyQueue::new(&mut transport, RX_QUEUE, event_idx).map_err(SetupError::Queue)?;
        let mut tx =
            NotifyQueue::new(&mut transport, TX_QUEUE, event_idx).map_err(SetupError::Queue)?;
        // Sent buffers are reclaimed on the next send: no interrupt needed for them.
        tx.set_interrupts(false);

        // Without merged buffers, one buffer must hold the largest frame.
        let rx_len = if merged {
            RX_BUFFER
        } else {
            RX_BUFFER.max(header_len + ETH_HEADER + mtu)
        };
        let mut rx_posted: Vec<Option<Box<[u8]>>> = (0..RX_QUEUE_SIZE).map(|_| None).collect();
        for _ in 0..RX_QUEUE_SIZE {
            let mut buf = vec![0u8; rx_len].into_boxed_slice();
            // SAFETY: the buffer lives in `rx_posted` under its token until the device
            // returns it, and the driver does not touch it meanwhile.
            let token = unsafe { rx.add(&[], &mut [&mut buf[..]]) }.map_err(SetupError::Queue)?;
            rx_posted[usize::from(token)] = Some(buf);
        }
        transport.finish_init();
        // VIRTIO 1.2, 5.1.6.3.1: the driver notifies after posting receive buffers, once
        // DRIVER_OK is set.
        let kicked = rx.should_notify();
        if kicked {
            transport.notify(RX_QUEUE);
        }
        Ok(VirtioNet {
            state: Arc::new(Mutex::new(State {
                transport,
                rx,
                tx,
                rx_posted,
                tx_posted: (0..TX_QUEUE_SIZE).map(|_| None).collect(),
                tx_spare: Vec::new(),
                tx_interrupt: false,
                tx_unkicked: false,
                stats: NetStats {
                    rx_kicks: kicked.into(),
                    ..NetStats::default()
                },
            })),
            mac,
            mtu,
            header_len,
            rx_len,
            offloads: Offloads {
                tx_checksum: features.contains(Features::CSUM),
                merged_rx_buffers: merged,
            },
            link_status: features.contains(Features::STATUS),
        })
    }

    /// The handle the interrupt handler keeps.
    pub fn interrupt(&self) -> NetInterrupt<H, T> {
        NetInterrupt {
            state: self.state.clone(),
        }
    }

    /// The hardware address (all zero if the device has none).
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// The MTU: the largest IP packet, without the Ethernet header.
    pub fn mtu(&self) -> usize {
        self.mtu
    }

    /// What the device offloads.
    pub fn offloads(&self) -> Offloads {
        self.offloads
    }

    /// Whether the link is up (always true on a device without `VIRTIO_NET_F_STATUS`).
    pub fn link_up(&self) -> bool {
        if !self.link_status {
            return true;
        }
        let state = self.state.lock();
        let status: Result<u16, _> = state.transport.read_config_space(CONFIG_STATUS);
        status.is_ok_and(|s| s & STATUS_LINK_UP != 0)
    }

    /// The counters so far.
    pub fn stats(&self) -> NetStats {
        self.state.lock().stats
    }

    /// Whether a received frame is waiting.
    pub fn can_receive(&self) -> bool {
        self.state.lock().rx.can_pop()
    }
}

impl<H: Hal, T: Transport> State<H, T> {
    /// Pops the next used receive buffer: the buffer and the bytes the device wrote.
    fn pop_rx(&mut self) -> Option<(Box<[u8]>, usize)> {
        let token = self.rx.peek_used()?;
        let mut buf = self.rx_posted.get_mut(usize::from(token))?.take()?;
        // SAFETY: `buf` is the buffer added under `token` (kept in `rx_posted`).
        let len = unsafe { self.rx.pop_used(token, &[], &mut [&mut buf[..]]) };
        match len {
            Ok(len) => {
                let len = (len as usize).min(buf.len());
                Some((buf, len))
            }
            Err(_) => {
                self.rx_posted[usize::from(token)] = Some(buf);
                None
            }
        }
    }

    /// Posts a receive buffer again.
    fn repost_rx(&mut self, mut buf: Box<[u8]>) {
        // SAFETY: as in `VirtioNet::new`: the buffer is kept under its token until returned.
        if let Ok(token) = unsafe { self.rx.add(&[], &mut [&mut buf[..]]) } {
            self.rx_posted[usize::from(token)] = Some(buf);
        }
    }

    /// Tells the device of the receive buffers posted, if it wants to know.
    fn kick_rx(&mut self) {
        if self.rx.should_notify() {
            self.stats.rx_kicks += 1;
            self.transport.notify(RX_QUEUE);
        }
    }

    /// Kicks the transmit queue for the frames added since the last call, if the device
    /// wants it: one kick for the whole batch.
    fn kick_tx(&mut self) {
        if core::mem::take(&mut self.tx_unkicked) && self.tx.should_notify() {
            self.stats.tx_kicks += 1;
            self.transport.notify(TX_QUEUE);
        }
    }

    /// Takes back the transmit buffers the device is done with.
    fn reclaim_tx(&mut self) {
        while let Some(token) = self.tx.peek_used() {
            let Some((buf, len)) = self
                .tx_posted
                .get_mut(usize::from(token))
                .and_then(Option::take)
            else {
                return;
            };
            // SAFETY: `buf[..len]` is what was added under `token`.
            let popped = unsafe { self.tx.pop_used(token, &[&buf[..len]], &mut []) };
            if popped.is_err() {
                self.tx_posted[usize::from(token)] = Some((buf, len));
                return;
            }
            self.tx_spare.push(buf);
        }
    }
}

impl<H: Hal, T: Transport> Nic for VirtioNet<H, T> {
    fn capabilities(&self) -> NicCapabilities {
        // NicCapabilities is non-exhaustive and has no constructor: start from a template.
        let mut caps = Loopback::new(self.mtu + ETH_HEADER).capabilities();
        caps.mac = Some(self.mac);
        caps
    }

    fn transmit(&mut self, frame: &[u8]) -> Result<(), NicError> {
        self.transmit_with(frame.len(), &mut Vec::new(), &mut |buf| {
            buf.copy_from_slice(frame)
        })
    }

    /// Builds the frame in the transmit buffer the device will read (`scratch` unused).
    fn transmit_with(
        &mut self,
        frame_len: usize,
        _scratch: &mut Vec<u8>,
        fill: &mut dyn FnMut(&mut [u8]),
    ) -> Result<(), NicError> {
        if frame_len > self.mtu + ETH_HEADER {
            return Err(NicError::TooLarge);
        }
        let mut state = self.state.lock();
        state.reclaim_tx();
        if state.tx.available_desc() == 0 {
            state.kick_tx();
            return Err(NicError::QueueFull);
        }
        let size = self.header_len + self.mtu + ETH_HEADER;
        let mut buf = match state.tx_spare.pop() {
            Some(b) if b.len() >= size => b,
            _ => vec![0u8; size].into_boxed_slice(),
        };
        let len = self.header_len + frame_len;
        buf[..self.header_len].fill(0);
        fill(&mut buf[self.header_len..len]);
        if self.offloads.tx_checksum {
            if let Some(p) = checksum::prepare_tx(&mut buf[self.header_len..len]) {
                buf[0] = HDR_NEEDS_CSUM;
                buf[6..8].copy_from_slice(&p.start.to_le_bytes());
                buf[8..10].copy_from_slice(&p.offset.to_le_bytes());
                state.stats.tx_checksum_offloaded += 1;
            }
        }
        // SAFETY: the buffer is kept in `tx_posted` under its token until reclaimed.
        let token = unsafe { state.tx.add(&[&buf[..len]], &mut []) };
        let Ok(token) = token else {
            state.tx_spare.push(buf);
            state.kick_tx();
            return Err(NicError::QueueFull);
        };
        state.tx_posted[usize::from(token)] = Some((buf, len));
        state.stats.tx_frames += 1;
        state.tx_unkicked = true;
        if state.tx.available_desc() == 0 {
            // Full: nothing more joins this batch, and the device must start on it.
            state.kick_tx();
        }
        Ok(())
    }

    fn flush(&mut self) {
        self.state.lock().kick_tx();
    }

    fn can_transmit(&mut self) -> bool {
        let mut state = self.state.lock();
        state.reclaim_tx();
        if state.tx.available_desc() > 0 {
            if state.tx_interrupt {
                state.tx.set_interrupts(false);
                state.tx_interrupt = false;
            }
            return true;
        }
        // Full: the device must know of every frame (transmit kicked when it filled up; this
        // is cheap if it did), then ask for an interrupt when it uses a buffer, and look
        // again, since it may have used them all before it could see the request.
        state.kick_tx();
        if !state.tx_interrupt {
            state.tx_interrupt = true;
            if !state.tx.set_interrupts(true) {
                return false;
            }
        }
        state.reclaim_tx();
        state.tx.available_desc() > 0
    }

    fn receive(&mut self, out: &mut [u8]) -> Option<Result<usize, NicError>> {
        self.take_frame(RxInto::Copy(out))
            .map(|r| r.map(|at| at.len()))
    }

    fn rx_buffer_len(&self) -> usize {
        self.rx_len
    }

    /// Swaps `buf` for the buffer the device wrote a one-buffer frame in (no copy); see
    /// [`Nic::receive_swap`].
    fn receive_swap(&mut self, buf: &mut Box<[u8]>) -> Option<Result<Range<usize>, NicError>> {
        if buf.len() == self.rx_len {
            self.take_frame(RxInto::Swap(buf))
        } else {
            self.take_frame(RxInto::Copy(&mut buf[..]))
        }
    }
}

impl<H: Hal, T: Transport> VirtioNet<H, T> {
    /// The next received frame, put `into` the caller's buffer; where it lies there.
    fn take_frame(&mut self, mut into: RxInto<'_>) -> Option<Result<Range<usize>, NicError>> {
        let mut state = self.state.lock();
        loop {
            let Some((first, written)) = state.pop_rx() else {
                // Drained: interrupts again for the next frame, then a last look for one
                // that came before the device could see that.
                if state.rx.set_interrupts(true) {
                    continue;
                }
                return None;
            };
            let buffers = if self.offloads.merged_rx_buffers && written >= 12 {
                usize::from(u16::from_le_bytes([first[10], first[11]])).max(1)
            } else {
                1
            };
            if let RxInto::Swap(buf) = &mut into {
                if buffers == 1 && written > self.header_len && first.len() == buf.len() {
                    // The frame stays where the device wrote it: the caller takes that
                    // buffer, and the device gets the caller's.
                    let old = core::mem::replace(&mut **buf, first);
                    state.repost_rx(old);
                    state.kick_rx();
                    state.stats.rx_frames += 1;
                    return Some(Ok(self.header_len..written));
                }
            }
            let out: &mut [u8] = match &mut into {
                RxInto::Copy(out) => out,
                RxInto::Swap(buf) => &mut buf[..],
            };
            let mut len = 0;
            let mut fits = true;
            let mut piece = |buf: &[u8], from: usize, to: usize| {
                let data = &buf[from.min(to)..to];
                if fits && len + data.len() <= out.len() {
                    out[len..len + data.len()].copy_from_slice(data);
                    len += data.len();
                } else {
                    fits = false;
                }
            };
            piece(&first, self.header_len, written);
            state.repost_rx(first);
            let mut whole = true;
            for _ in 1..buffers {
                // VIRTIO 1.2, 5.1.6.4.2: the device uses all of a frame's buffers together.
                let Some((buf, written)) = state.pop_rx() else {
                    whole = false;
                    break;
                };
                piece(&buf, 0, written);
                state.repost_rx(buf);
            }
            state.kick_rx();
            if !fits {
                state.stats.rx_dropped += 1;
                return Some(Err(NicError::TooLarge));
            }
            if !whole || len == 0 {
                // The device broke the protocol (a short header, missing buffers): drop it.
                state.stats.rx_dropped += 1;
                continue;
            }
            state.stats.rx_frames += 1;
            return Some(Ok(0..len));
        }
    }
}

#[cfg(test)]
mod tests;
