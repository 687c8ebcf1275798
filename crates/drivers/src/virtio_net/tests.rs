use super::*;
use crate::virtio::fake::{Device, FakeHal, FakeTransport, Queue};
use std::collections::VecDeque;
use std::sync::Mutex as StdMutex;
use std::vec::Vec;

/// The other end of the cable.
#[derive(Default)]
struct Wire {
    header_len: usize,
    merged: bool,
    /// Frames the driver sent, with their headers.
    sent: Vec<(Vec<u8>, Vec<u8>)>,
    /// Frames waiting to be received.
    incoming: VecDeque<Vec<u8>>,
    /// Frames dropped for lack of room.
    dropped: u32,
}

struct FakeNic(Arc<StdMutex<Wire>>);

impl FakeNic {
    /// Delivers waiting frames into posted receive buffers.
    fn deliver(wire: &mut Wire, rx: &mut Queue) -> bool {
        let mut used = false;
        while let Some(frame) = wire.incoming.front() {
            let need = wire.header_len + frame.len();
            let mut chains = Vec::new();
            let mut room = 0;
            while room < need && rx.available() > 0 && (chains.is_empty() || wire.merged) {
                let chain = rx.pop_avail().expect("available");
                room += chain.writable_len();
                chains.push(chain);
            }
            if room < need {
                assert!(chains.is_empty() || !wire.merged, "test ran out of buffers");
                wire.dropped += 1;
                wire.incoming.pop_front();
                for c in chains {
                    rx.push_used(c.head, 0);
                }
                continue;
            }
            let frame = wire.incoming.pop_front().expect("front");
            let mut header = std::vec![0u8; wire.header_len];
            if wire.header_len == 12 {
                header[10..12].copy_from_slice(&(chains.len() as u16).to_le_bytes());
            }
            let mut bytes = header;
            bytes.extend_from_slice(&frame);
            let mut rest = &bytes[..];
            for c in &chains {
                let n = rest.len().min(c.writable_len());
                c.write(0, &rest[..n]);
                rest = &rest[n..];
                rx.push_used(c.head, n as u32);
            }
            used = true;
        }
        used
    }
}

impl Device for FakeNic {
    fn process(&mut self, queues: &mut [Queue], q: u16) -> bool {
        let mut wire = self.0.lock().unwrap();
        match q {
            RX_QUEUE => Self::deliver(&mut wire, &mut queues[0]),
            TX_QUEUE => {
                let mut used = false;
                while let Some(chain) = queues[1].pop_avail() {
                    let bytes = chain.readable();
                    let (h, f) = bytes.split_at(wire.header_len);
                    wire.sent.push((h.to_vec(), f.to_vec()));
                    queues[1].push_used(chain.head, 0);
                    used = true;
                }
                used
            }
            _ => false,
        }
    }
}

const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const MODERN: u64 = Features::VERSION_1.bits()
    | Features::MAC.bits()
    | Features::STATUS.bits()
    | Features::MRG_RXBUF.bits();

struct Rig {
    nic: VirtioNet<FakeHal, FakeTransport>,
    wire: Arc<StdMutex<Wire>>,
    transport: FakeTransport,
}

fn rig(features: u64, mtu: u16, header_len: usize) -> Rig {
    let mut config = std::vec![0u8; 16];
    config[0..6].copy_from_slice(&MAC);
    config[6..8].copy_from_slice(&STATUS_LINK_UP.to_le_bytes());
    config[10..12].copy_from_slice(&mtu.to_le_bytes());
    let wire = Arc::new(StdMutex::new(Wire {
        header_len,
        merged: features & Features::MRG_RXBUF.bits() != 0,
        ..Wire::default()
    }));
    let transport = FakeTransport::new(
        DeviceType::Network,
        features,
        config,
        2,
        Box::new(FakeNic(wire.clone())),
    );
    let nic = VirtioNet::<FakeHal, _>::new(transport.clone()).expect("set up");
    Rig {
        nic,
        wire,
        transport,
    }
}

impl Rig {
    fn inject(&self, frame: &[u8]) {
        self.wire.lock().unwrap().incoming.push_back(frame.to_vec());
        self.transport.state.lock().unwrap().run(RX_QUEUE);
    }

    fn rx_available(&self) -> u16 {
        self.transport.state.lock().unwrap().queues[0].available()
    }
}

fn udp_frame(payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&MAC);
    f.extend_from_slice(&[0x08, 0x00]);
    let total = 28 + payload.len();
    f.extend_from_slice(&[0x45, 0, 0, total as u8, 0, 0, 0x40, 0, 64, 17, 0, 0]);
    f.extend_from_slice(&[10, 0, 2, 15, 10, 0, 2, 2]);
    let udp_len = 8 + payload.len();
    f.extend_from_slice(&[0x30, 0x39, 0, 53, 0, udp_len as u8, 0xde, 0xad]);
    f.extend_from_slice(payload);
    f
}

#[test]
fn setup_reads_the_config_and_posts_every_receive_buffer() {
    let r = rig(MODERN | (1 << 1) | (1 << 7), 0, 12);
    assert_eq!(r.nic.mac(), MAC);
    assert_eq!(r.nic.mtu(), DEFAULT_MTU);
    let caps = r.nic.capabilities();
    assert_eq!((caps.mtu, caps.mac), (1514, Some(MAC)));
    assert!(r.nic.link_up());
    let s = r.transport.state.lock().unwrap();
    // GUEST_CSUM (1) and GUEST_TSO4 (7) were offered but are not taken.
    assert_eq!(s.driver_features, MODERN);
    assert!(s.notifications.contains(&RX_QUEUE));
    drop(s);
    assert_eq!(r.rx_available(), RX_QUEUE_SIZE as u16);
    assert!(r.nic.offloads().merged_rx_buffers);
    assert!(!r.nic.offloads().tx_checksum);
}

#[test]
fn mtu_comes_from_the_device_when_offered() {
    let r = rig(MODERN | Features::MTU.bits(), 9000, 12);
    assert_eq!(r.nic.mtu(), 9000);
    assert_eq!(r.nic.capabilities().mtu, 9014);
}

#[test]
fn legacy_device_needs_any_layout() {
    let transport = FakeTransport::new(
        DeviceType::Network,
        Features::MAC.bits(),
        std::vec![0; 16],
        2,
        Box::new(FakeNic(Default::default())),
    );
    assert!(matches!(
        VirtioNet::<FakeHal, _>::new(transport),
        Err(SetupError::NeedsSeparateHeader)
    ));
}

#[test]
fn legacy_header_is_ten_bytes() {
    let mut r = rig(Features::ANY_LAYOUT.bits() | Features::MAC.bits(), 0, 10);
    r.nic.transmit(b"0123456789abcdef").unwrap();
    r.nic.flush();
    {
        let wire = r.wire.lock().unwrap();
        assert_eq!(wire.sent[0].0, [0; 10]);
        assert_eq!(wire.sent[0].1, b"0123456789abcdef");
    }
    r.inject(b"an incoming frame");
    let mut buf = [0u8; 64];
    assert_eq!(r.nic.receive(&mut buf), Some(Ok(17)));
    assert_eq!(&buf[..17], b"an incoming frame");
}

#[test]
fn transmit_puts_a_plain_header_before_the_frame() {
    let mut r = rig(MODERN, 0, 12);
    let frame = udp_frame(b"hi");
    r.nic.transmit(&frame).unwrap();
    r.nic.flush();
    let wire = r.wire.lock().unwrap();
    assert_eq!(wire.sent.len(), 1);
    assert_eq!(wire.sent[0].0, [0; 12]);
    assert_eq!(
        wire.sent[0].1, frame,
        "checksum untouched without VIRTIO_NET_F_CSUM"
    );
    assert_eq!(r.nic.stats().tx_frames, 1);
}

#[test]
fn transmit_offloads_udp_checksums() {
    let mut r = rig(MODERN | Features::CSUM.bits(), 0, 12);
    assert!(r.nic.offloads().tx_checksum);
    r.nic.transmit(&udp_frame(b"payload")).unwrap();
    r.nic.flush();
    let (header, mut frame) = r.wire.lock().unwrap().sent.pop().unwrap();
    assert_eq!(header[0], HDR_NEEDS_CSUM);
    let start = u16::from_le_bytes([header[6], header[7]]);
    let offset = u16::from_le_bytes([header[8], header[9]]);
    assert_eq!((start, offset), (34, 6));
    // The device finishes it; the result checks out against the pseudo header.
    assert!(checksum::complete(
        &mut frame,
        checksum::PartialChecksum { start, offset }
    ));
    let mut pseudo = Vec::from(&frame[26..34]);
    pseudo.extend_from_slice(&[0, 17, 0, 15]);
    let sum = checksum::add(checksum::add(0, &pseudo), &frame[34..]);
    assert_eq!(checksum::fold(sum), 0xffff);
    assert_eq!(r.nic.stats().tx_checksum_offloaded, 1);

    // Not TCP/UDP: no offload.
    let mut arp = std::vec![0u8; 42];
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    r.nic.transmit(&arp).unwrap();
    r.nic.flush();
    assert_eq!(r.wire.lock().unwrap().sent[0].0[0], 0);
}

#[test]
fn transmit_refuses_oversized_frames_and_reports_a_full_queue() {
    let mut r = rig(MODERN, 0, 12);
    assert_eq!(r.nic.transmit(&[0; 1515]), Err(NicError::TooLarge));
    r.nic.transmit(&[0; 1514]).unwrap();
    r.nic.flush();

    // A device that does not send: the queue fills, then drains once it does.
    r.transport.state.lock().unwrap().deferred = true;
    let mut sent = 1;
    loop {
        match r.nic.transmit(&[1; 60]) {
            Ok(()) => sent += 1,
            Err(e) => {
                assert_eq!(e, NicError::QueueFull);
                break;
            }
        }
        assert!(sent <= TX_QUEUE_SIZE + 1, "queue never filled");
    }
    assert_eq!(sent, TX_QUEUE_SIZE + 1);
    r.transport.state.lock().unwrap().run_pending();
    r.nic.transmit(&[2; 60]).unwrap();
    r.nic.flush();
    assert_eq!(r.wire.lock().unwrap().sent.len(), TX_QUEUE_SIZE + 1);
}

#[test]
fn transmit_with_builds_the_frame_in_the_device_buffer() {
    let mut r = rig(MODERN | Features::CSUM.bits(), 0, 12);
    let frame = udp_frame(b"built in place");
    let mut scratch = Vec::new();
    let mut calls = 0;
    r.nic
        .transmit_with(frame.len(), &mut scratch, &mut |buf| {
            calls += 1;
            buf.copy_from_slice(&frame);
        })
        .unwrap();
    r.nic.flush();
    assert_eq!(calls, 1);
    assert!(scratch.is_empty(), "no staging copy in the caller's buffer");
    let (header, sent) = r.wire.lock().unwrap().sent.pop().unwrap();
    assert_eq!(
        header[0], HDR_NEEDS_CSUM,
        "offload prepared after the frame was built"
    );
    assert_eq!(sent.len(), frame.len());
    assert_eq!(sent[..34], frame[..34]);
    assert_eq!(sent[42..], frame[42..]);
    assert_eq!(r.nic.stats().tx_frames, 1);
}

#[test]
fn transmit_with_refuses_before_building() {
    let mut r = rig(MODERN, 0, 12);
    let mut calls = 0;
    let mut scratch = Vec::new();
    let mut fill = |_: &mut [u8]| calls += 1;
    assert_eq!(
        r.nic.transmit_with(1515, &mut scratch, &mut fill),
        Err(NicError::TooLarge)
    );
    r.transport.state.lock().unwrap().deferred = true;
    let mut queued = 0;
    while r.nic.transmit_with(60, &mut scratch, &mut fill).is_ok() {
        queued += 1;
        assert!(queued <= TX_QUEUE_SIZE + 1, "queue never filled");
    }
    assert_eq!(
        calls, queued,
        "a frame refused for a full queue is not built"
    );
}

#[test]
fn frames_are_received_in_order_and_buffers_reposted() {
    let mut r = rig(MODERN, 0, 12);
    let mut buf = [0u8; 2048];
    assert_eq!(r.nic.receive(&mut buf), None);
    r.inject(b"first frame");
    r.inject(b"second");
    assert!(r.nic.can_receive());
    assert_eq!(r.rx_available(), RX_QUEUE_SIZE as u16 - 2);
    assert_eq!(r.nic.receive(&mut buf), Some(Ok(11)));
    assert_eq!(&buf[..11], b"first frame");
    assert_eq!(r.nic.receive(&mut buf), Some(Ok(6)));
    assert_eq!(&buf[..6], b"second");
    assert_eq!(r.nic.receive(&mut buf), None);
    assert_eq!(r.rx_available(), RX_QUEUE_SIZE as u16);
    assert_eq!(r.nic.stats().rx_frames, 2);
}

#[test]
fn receive_swap_hands_over_the_devices_buffer_and_posts_the_callers() {
    let mut r = rig(MODERN, 0, 12);
    assert_eq!(r.nic.rx_buffer_len(), RX_BUFFER);
    let spare: Box<[u8]> = std::vec![0u8; RX_BUFFER].into_boxed_slice();
    let spare_at = spare.as_ptr() as usize;
    let mut buf = spare;
    r.inject(b"first frame");
    assert_eq!(r.nic.receive_swap(&mut buf), Some(Ok(12..23)));
    assert_eq!(&buf[12..23], b"first frame");
    assert_ne!(
        buf.as_ptr() as usize,
        spare_at,
        "the device's buffer, not a copy"
    );
    assert_eq!(
        r.rx_available(),
        RX_QUEUE_SIZE as u16,
        "a buffer posted in its place"
    );
    // The device uses the caller's old buffer in its turn, after the ones posted before it.
    let mut seen = false;
    for i in 0..RX_QUEUE_SIZE {
        let frame = [i as u8; 60];
        r.inject(&frame);
        let mut fresh: Box<[u8]> = std::vec![0u8; RX_BUFFER].into_boxed_slice();
        assert_eq!(r.nic.receive_swap(&mut fresh), Some(Ok(12..72)));
        assert_eq!(&fresh[12..72], &frame[..]);
        seen |= fresh.as_ptr() as usize == spare_at;
    }
    assert!(seen, "the spare given was never written by the device");
    assert_eq!(r.nic.receive_swap(&mut buf), None);
    assert_eq!(r.nic.stats().rx_frames, RX_QUEUE_SIZE as u64 + 1);
}

#[test]
fn receive_swap_copies_what_it_cannot_swap() {
    let mut r = rig(MODERN, 0, 12);
    // A buffer of another length: copied into, kept.
    r.inject(b"short");
    let mut other: Box<[u8]> = std::vec![0u8; 100].into_boxed_slice();
    let at = other.as_ptr();
    assert_eq!(r.nic.receive_swap(&mut other), Some(Ok(0..5)));
    assert_eq!((other.as_ptr(), &other[..5]), (at, &b"short"[..]));
    // A frame over several merged buffers: joined by copy when it fits, else dropped.
    let big: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
    r.inject(&big);
    let mut buf: Box<[u8]> = std::vec![0u8; RX_BUFFER].into_boxed_slice();
    assert_eq!(r.nic.receive_swap(&mut buf), Some(Err(NicError::TooLarge)));
    r.inject(&big);
    let mut large: Box<[u8]> = std::vec![0u8; 8192].into_boxed_slice();
    assert_eq!(r.nic.receive_swap(&mut large), Some(Ok(0..5000)));
    assert_eq!(&large[..5000], &big[..]);
    assert_eq!(r.rx_available(), RX_QUEUE_SIZE as u16);
}

#[test]
fn a_frame_too_large_for_the_caller_is_dropped() {
    let mut r = rig(MODERN, 0, 12);
    r.inject(&[9; 100]);
    r.inject(&[8; 10]);
    let mut small = [0u8; 50];
    assert_eq!(r.nic.receive(&mut small), Some(Err(NicError::TooLarge)));
    assert_eq!(r.nic.receive(&mut small), Some(Ok(10)));
    assert_eq!(r.nic.stats().rx_dropped, 1);
    assert_eq!(r.rx_available(), RX_QUEUE_SIZE as u16);
}

#[test]
fn merged_buffers_are_joined() {
    let mut r = rig(MODERN, 0, 12);
    let big: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
    r.inject(&big);
    assert_eq!(r.rx_available(), RX_QUEUE_SIZE as u16 - 3);
    let mut buf = std::vec![0u8; 8192];
    assert_eq!(r.nic.receive(&mut buf), Some(Ok(5000)));
    assert_eq!(&buf[..5000], &big[..]);
    assert_eq!(r.rx_available(), RX_QUEUE_SIZE as u16);
}

#[test]
fn interrupt_handle_acknowledges_the_device() {
    let r = rig(MODERN, 0, 12);
    let irq = r.nic.interrupt();
    assert!(!irq.handle());
    r.inject(b"x");
    assert!(irq.handle());
    assert!(!irq.handle());
}

const EVENT_IDX: u64 = Features::EVENT_IDX.bits();

impl Rig {
    /// The interrupts the device raised on queue `q` so far.
    fn interrupts(&self, q: u16) -> usize {
        let s = self.transport.state.lock().unwrap();
        s.interrupts.iter().filter(|&&i| i == q).count()
    }

    fn wants(&self, q: u16) -> bool {
        self.transport.state.lock().unwrap().queues[usize::from(q)].wants_interrupts()
    }
}

#[test]
fn event_idx_is_negotiated_only_when_offered() {
    let r = rig(MODERN | EVENT_IDX, 0, 12);
    let s = r.transport.state.lock().unwrap();
    assert_eq!(s.driver_features, MODERN | EVENT_IDX);
    assert!(s.queues.iter().all(|q| q.event_idx));
    drop(s);
    let r = rig(MODERN, 0, 12);
    let s = r.transport.state.lock().unwrap();
    assert_eq!(s.driver_features, MODERN);
    assert!(s.queues.iter().all(|q| !q.event_idx));
}

#[test]
fn an_interrupt_silences_the_next_ones_until_the_queue_is_drained() {
    for features in [MODERN, MODERN | EVENT_IDX] {
        let mut r = rig(features, 0, 12);
        assert!(r.wants(RX_QUEUE));
        r.inject(b"one");
        assert_eq!(r.interrupts(RX_QUEUE), 1);
        assert!(r.nic.interrupt().handle());
        assert!(
            !r.wants(RX_QUEUE),
            "frames are being taken: no interrupt needed"
        );
        r.inject(b"two");
        let mut buf = [0u8; 64];
        assert_eq!(r.nic.receive(&mut buf), Some(Ok(3)));
        assert!(!r.wants(RX_QUEUE), "still off after a pop");
        r.inject(b"six");
        assert_eq!(r.nic.receive(&mut buf), Some(Ok(3)));
        assert_eq!(r.nic.receive(&mut buf), Some(Ok(3)));
        assert_eq!(
            r.interrupts(RX_QUEUE),
            1,
            "{features:#x}: one interrupt, three frames"
        );
        assert_eq!(r.nic.receive(&mut buf), None);
        assert!(r.wants(RX_QUEUE), "drained: the next frame must interrupt");
        r.inject(b"four");
        assert_eq!(r.interrupts(RX_QUEUE), 2);
        assert_eq!(r.nic.stats().interrupts, 1);
    }
}

#[test]
fn with_event_idx_no_interrupt_is_lost_when_a_frame_comes_as_they_are_turned_on() {
    let mut r = rig(MODERN | EVENT_IDX, 0, 12);
    let irq = r.nic.interrupt();
    r.inject(b"one");
    assert!(irq.handle());
    let mut buf = [0u8; 64];
    assert_eq!(r.nic.receive(&mut buf), Some(Ok(3)));
    // The queue is empty and interrupts are still off (`receive` has not yet seen it drained):
    // a frame now raises nothing...
    r.inject(b"late");
    assert_eq!(r.interrupts(RX_QUEUE), 1);
    // ...so the call that finds the queue empty and turns interrupts on must still return it.
    assert_eq!(r.nic.receive(&mut buf), Some(Ok(4)));
    assert_eq!(r.nic.receive(&mut buf), None);
    r.inject(b"next");
    assert_eq!(r.interrupts(RX_QUEUE), 2);
    assert!(irq.handle());
}

#[test]
fn a_full_transmit_queue_asks_for_the_interrupt_that_says_room_is_back() {
    for features in [MODERN, MODERN | EVENT_IDX] {
        let mut r = rig(features, 0, 12);
        assert!(!r.wants(TX_QUEUE), "sent buffers are reclaimed lazily");
        r.nic.transmit(&[1; 60]).unwrap();
        r.nic.transmit(&[1; 60]).unwrap();
        assert_eq!(r.interrupts(TX_QUEUE), 0);
        r.transport.state.lock().unwrap().deferred = true;
        while r.nic.can_transmit() {
            r.nic.transmit(&[1; 60]).unwrap();
        }
        assert!(r.wants(TX_QUEUE));
        r.transport.state.lock().unwrap().run_pending();
        assert_eq!(r.interrupts(TX_QUEUE), 1, "{features:#x}");
        assert!(r.nic.can_transmit());
        assert!(!r.wants(TX_QUEUE));
        r.transport.state.lock().unwrap().deferred = false;
        r.nic.transmit(&[1; 60]).unwrap();
        assert_eq!(r.interrupts(TX_QUEUE), 1, "off again once there is room");
    }
}

#[test]
fn frames_wait_for_the_flush_and_a_batch_kicks_once() {
    for features in [MODERN, MODERN | EVENT_IDX] {
        let mut r = rig(features, 0, 12);
        for _ in 0..10 {
            r.nic.transmit(&[1; 60]).unwrap();
        }
        assert_eq!(
            r.nic.stats().tx_kicks,
            0,
            "{features:#x}: no kick before the flush"
        );
        assert!(r.wire.lock().unwrap().sent.is_empty());
        r.nic.flush();
        assert_eq!(
            r.nic.stats().tx_kicks,
            1,
            "{features:#x}: one kick for ten frames"
        );
        assert_eq!(r.wire.lock().unwrap().sent.len(), 10);
        r.nic.flush();
        assert_eq!(
            r.nic.stats().tx_kicks,
            1,
            "{features:#x}: nothing new, no kick"
        );
        // One frame per batch: one kick each (the device caught up in between).
        for i in 2..5 {
            r.nic.transmit(&[1; 60]).unwrap();
            r.nic.flush();
            assert_eq!(r.nic.stats().tx_kicks, i);
        }
    }
}

#[test]
fn a_transmit_queue_that_fills_kicks_without_waiting_for_the_flush() {
    let mut r = rig(MODERN | EVENT_IDX, 0, 12);
    r.transport.state.lock().unwrap().deferred = true;
    for _ in 0..TX_QUEUE_SIZE {
        r.nic.transmit(&[1; 60]).unwrap();
    }
    assert_eq!(
        r.nic.stats().tx_kicks,
        1,
        "kicked as the last descriptor went"
    );
    assert!(!r.nic.can_transmit());
    assert!(r.transport.state.lock().unwrap().run_pending());
    assert_eq!(r.wire.lock().unwrap().sent.len(), TX_QUEUE_SIZE);
    assert!(r.nic.can_transmit());
}

#[test]
fn with_event_idx_a_busy_device_is_kicked_once_per_burst() {
    let mut r = rig(MODERN | EVENT_IDX, 0, 12);
    r.transport.state.lock().unwrap().deferred = true;
    for _ in 0..10 {
        r.nic.transmit(&[1; 60]).unwrap();
        r.nic.flush();
    }
    assert_eq!(r.nic.stats().tx_kicks, 1);
    r.transport.state.lock().unwrap().run_pending();
    r.nic.transmit(&[1; 60]).unwrap();
    r.nic.flush();
    assert_eq!(r.nic.stats().tx_kicks, 2, "caught up: kicked again");
    assert_eq!(r.wire.lock().unwrap().sent.len(), 10);

    // Without the event index every flushed batch kicks (unless the device sets NO_NOTIFY,
    // which the fake does not).
    let mut r = rig(MODERN, 0, 12);
    r.transport.state.lock().unwrap().deferred = true;
    for _ in 0..10 {
        r.nic.transmit(&[1; 60]).unwrap();
        r.nic.flush();
    }
    assert_eq!(r.nic.stats().tx_kicks, 10);
}

#[test]
fn with_event_idx_reposted_receive_buffers_kick_only_a_device_short_of_them() {
    let mut r = rig(MODERN | EVENT_IDX, 0, 12);
    let mut buf = [0u8; 64];
    let kicks = r.nic.stats().rx_kicks;
    assert_eq!(kicks, 1, "the initial post");
    // The device took one buffer and has plenty left: reposting it needs no kick.
    r.inject(b"one");
    assert_eq!(r.nic.receive(&mut buf), Some(Ok(3)));
    assert_eq!(r.nic.stats().rx_kicks, 1);
    // It took every one: the first reposted buffer kicks it, the next ones do not.
    for _ in 0..RX_QUEUE_SIZE {
        r.inject(b"two");
    }
    assert_eq!(r.rx_available(), 0);
    assert_eq!(r.nic.receive(&mut buf), Some(Ok(3)));
    assert_eq!(r.nic.stats().rx_kicks, 2);
    assert_eq!(r.nic.receive(&mut buf), Some(Ok(3)));
    assert_eq!(r.nic.stats().rx_kicks, 2);
}

#[test]
fn link_state_follows_the_config_space() {
    let r = rig(MODERN, 0, 12);
    assert!(r.nic.link_up());
    r.transport.state.lock().unwrap().config[6] = 0;
    assert!(!r.nic.link_up());
    // Without VIRTIO_NET_F_STATUS the link is taken as up.
    let r = rig(MODERN & !Features::STATUS.bits(), 0, 12);
    r.transport.state.lock().unwrap().config[6] = 0;
    assert!(r.nic.link_up());
}
