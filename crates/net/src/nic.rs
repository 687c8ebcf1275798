//! The network-interface seam: what a driver gives the socket layer.
//!
//! Deliberately narrow (Tock's HIL and smoltcp's `Device` are the models): frames in, frames
//! out, and fixed capabilities. Control (link state, MAC address, offloads) stays apart from
//! the data path, in [`NicCapabilities`]. A frame handed to [`Nic::transmit`] is copied
//! before the call returns, so the caller keeps its buffer, on error too; with
//! [`Nic::transmit_with`] the caller writes the frame into the driver's buffer instead.
//! Received frames are copied into the caller's buffer by [`Nic::receive`]; with
//! [`Nic::receive_swap`] a driver hands over the buffer the device wrote instead, taking the
//! caller's in exchange.
//!
//! Transmit is batched: a driver may hold the device's notification (its doorbell) back
//! until [`Nic::flush`], so that several frames queued in one go cost one notification, as
//! Linux's `xmit_more` does. The stack flushes after each pass over an interface.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::ops::Range;

/// What an interface can do, fixed when it is created.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NicCapabilities {
    /// The largest frame the interface sends or receives, in bytes.
    pub mtu: usize,
    /// The hardware address, if the medium has one (Ethernet).
    pub mac: Option<[u8; 6]>,
}

/// Why a frame could not be sent or received.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NicError {
    /// The frame is larger than the MTU (send) or the buffer (receive).
    TooLarge,
    /// The device's queue is full; try again after it drains.
    QueueFull,
}

impl core::fmt::Display for NicError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            NicError::TooLarge => "frame larger than the MTU or the buffer",
            NicError::QueueFull => "device queue full",
        })
    }
}

impl core::error::Error for NicError {}

/// A network interface. Methods never block.
pub trait Nic {
    /// The interface's capabilities.
    fn capabilities(&self) -> NicCapabilities;

    /// Queues one frame for sending. The frame may wait for [`Nic::flush`] to leave.
    fn transmit(&mut self, frame: &[u8]) -> Result<(), NicError>;

    /// Queues one frame of `len` bytes that `fill` writes, as [`Nic::transmit`] does. A
    /// driver with buffers of its own hands `fill` one of them, so the frame is built where
    /// the device reads it (no copy); the default builds it in `scratch` (the caller's, kept
    /// between calls) and copies it with [`Nic::transmit`]. `fill` is called at most once,
    /// and not at all when the frame is refused before it is built (too large, queue full);
    /// on an error the frame, built or not, is not sent.
    fn transmit_with(
        &mut self,
        len: usize,
        scratch: &mut Vec<u8>,
        fill: &mut dyn FnMut(&mut [u8]),
    ) -> Result<(), NicError> {
        scratch.clear();
        scratch.resize(len, 0);
        fill(scratch);
        self.transmit(scratch)
    }

    /// Sends the frames queued since the last flush: one notification of the device for all
    /// of them. Callers flush after each batch of [`Nic::transmit`] calls; a driver that
    /// sends at once in `transmit` keeps this default, which does nothing.
    fn flush(&mut self) {}

    /// Whether [`Nic::transmit`] would take a frame now. The stack asks before it builds a
    /// frame, so that a full queue holds data back in the sockets (sent on a later poll)
    /// instead of losing frames that TCP must then retransmit after a timeout. A NIC that
    /// says `false` must raise its interrupt (so the stack is polled) once room frees up, and
    /// must not wait for [`Nic::flush`] to send what fills its queue.
    fn can_transmit(&mut self) -> bool {
        true
    }

    /// Takes one received frame into `buf`; `None` when nothing is waiting. A frame larger
    /// than `buf` is dropped and reported as [`NicError::TooLarge`].
    fn receive(&mut self, buf: &mut [u8]) -> Option<Result<usize, NicError>>;

    /// How long a buffer must be for [`Nic::receive_swap`] to take it in exchange: the
    /// length of the driver's receive buffers. The default, for drivers that copy, is the
    /// MTU.
    fn rx_buffer_len(&self) -> usize {
        self.capabilities().mtu
    }

    /// Takes one received frame, as [`Nic::receive`], and says where in `buf` it lies. A
    /// driver whose receive buffers are boxed slices of [`Nic::rx_buffer_len`] bytes swaps:
    /// `buf` becomes the buffer the device wrote the frame in, and the driver gives the
    /// device `buf`'s old one in its place, so no byte of the frame is copied. A `buf` of
    /// another length, or a frame the device spread over several buffers, is copied into
    /// `buf`. The default copies, with [`Nic::receive`].
    fn receive_swap(&mut self, buf: &mut Box<[u8]>) -> Option<Result<Range<usize>, NicError>> {
        self.receive(buf).map(|r| r.map(|n| 0..n))
    }
}

/// The loopback interface: every frame sent is received, in order.
#[derive(Debug)]
pub struct Loopback {
    mtu: usize,
    queue: VecDeque<Vec<u8>>,
    limit: usize,
}

impl Loopback {
    /// A loopback interface with the given MTU and room for 64 frames in flight.
    pub fn new(mtu: usize) -> Loopback {
        Loopback {
            mtu,
            queue: VecDeque::new(),
            limit: 64,
        }
    }
}

impl Nic for Loopback {
    fn capabilities(&self) -> NicCapabilities {
        NicCapabilities {
            mtu: self.mtu,
            mac: None,
        }
    }

    fn transmit(&mut self, frame: &[u8]) -> Result<(), NicError> {
        if frame.len() > self.mtu {
            return Err(NicError::TooLarge);
        }
        if self.queue.len() >= self.limit {
            return Err(NicError::QueueFull);
        }
        self.queue.push_back(frame.to_vec());
        Ok(())
    }

    fn receive(&mut self, buf: &mut [u8]) -> Option<Result<usize, NicError>> {
        let frame = self.queue.pop_front()?;
        if frame.len() > buf.len() {
            return Some(Err(NicError::TooLarge));
        }
        buf[..frame.len()].copy_from_slice(&frame);
        Some(Ok(frame.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_back_in_order() {
        let mut lo = Loopback::new(100);
        lo.transmit(b"one").unwrap();
        lo.transmit(b"two").unwrap();
        let mut buf = [0u8; 100];
        assert_eq!(lo.receive(&mut buf), Some(Ok(3)));
        assert_eq!(&buf[..3], b"one");
        assert_eq!(lo.receive(&mut buf), Some(Ok(3)));
        assert_eq!(&buf[..3], b"two");
        assert_eq!(lo.receive(&mut buf), None);
    }

    #[test]
    fn transmit_with_defaults_to_a_copy_from_scratch() {
        let mut lo = Loopback::new(100);
        let mut scratch = Vec::new();
        lo.transmit_with(5, &mut scratch, &mut |b| b.copy_from_slice(b"hello"))
            .unwrap();
        assert_eq!(scratch, b"hello");
        let mut calls = 0;
        assert_eq!(
            lo.transmit_with(101, &mut scratch, &mut |_| calls += 1),
            Err(NicError::TooLarge)
        );
        assert_eq!(calls, 1, "the default builds, then transmit refuses");
        let mut buf = [0u8; 100];
        assert_eq!(lo.receive(&mut buf), Some(Ok(5)));
        assert_eq!(&buf[..5], b"hello");
        assert_eq!(lo.receive(&mut buf), None);
    }

    #[test]
    fn receive_swap_defaults_to_a_copy_into_the_callers_buffer() {
        let mut lo = Loopback::new(100);
        assert_eq!(lo.rx_buffer_len(), 100);
        lo.transmit(b"hello").unwrap();
        let mut buf: Box<[u8]> = alloc::vec![0u8; 100].into_boxed_slice();
        let at = buf.as_ptr();
        assert_eq!(lo.receive_swap(&mut buf), Some(Ok(0..5)));
        assert_eq!(buf.as_ptr(), at, "the caller's buffer, kept");
        assert_eq!(&buf[..5], b"hello");
        assert_eq!(lo.receive_swap(&mut buf), None);
    }

    #[test]
    fn mtu_and_queue_limits() {
        let mut lo = Loopback::new(4);
        assert_eq!(lo.transmit(b"12345"), Err(NicError::TooLarge));
        for _ in 0..64 {
            lo.transmit(b"x").unwrap();
        }
        assert_eq!(lo.transmit(b"x"), Err(NicError::QueueFull));
        assert_eq!(lo.capabilities().mtu, 4);
    }

    #[test]
    fn small_receive_buffer_drops_the_frame() {
        let mut lo = Loopback::new(100);
        lo.transmit(b"long frame").unwrap();
        let mut small = [0u8; 4];
        assert_eq!(lo.receive(&mut small), Some(Err(NicError::TooLarge)));
        assert_eq!(lo.receive(&mut small), None);
    }
}
