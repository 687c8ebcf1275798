//! Pipe tests, state by state: empty, holding data, full, without writers, without readers;
//! then packet mode, capacity changes, and real threads blocking on each other.

use super::*;
use crate::fake::FakeBlocker;
use crate::fake::threads::ThreadBlocker;
use crate::file::OpenFile;
use alloc::vec::Vec;
use oxv_abi::UserBuf;
use oxv_abi::user::fake::FakeUserMemory;

struct Ends {
    r: Arc<OpenFile>,
    w: Arc<OpenFile>,
}

fn pipe_with(blocker: Arc<dyn Blocker>, flags: OpenFlags) -> Ends {
    let (r, w) = Pipe::new(blocker, Timestamp::EPOCH).open_ends(flags);
    Ends { r, w }
}

fn nb_pipe() -> Ends {
    pipe_with(Arc::new(FakeBlocker::new()), OpenFlags::NONBLOCK)
}

fn end(f: &OpenFile) -> &PipeEnd {
    f.ops().as_any().unwrap().downcast_ref::<PipeEnd>().unwrap()
}

#[track_caller]
fn write(f: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
    f.write(&WriteBuf::kernel(data))
}

#[track_caller]
fn read(f: &OpenFile, n: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; n];
    let got = f.read(&mut ReadBuf::kernel(&mut buf))?;
    buf.truncate(got);
    Ok(buf)
}

fn fill(f: &OpenFile) -> usize {
    let mut total = 0;
    let chunk = [b'x'; SLOT_SIZE];
    loop {
        match write(f, &chunk) {
            Ok(n) => total += n,
            Err(Errno::EAGAIN) => return total,
            Err(e) => panic!("filling: {e:?}"),
        }
    }
}

// ---- An empty pipe ----

#[test]
fn empty_pipe_reads_eagain_and_is_writable() {
    let p = nb_pipe();
    assert_eq!(read(&p.r, 10), Err(Errno::EAGAIN));
    assert_eq!(p.r.ops().poll(), PollEvents::empty());
    assert_eq!(p.w.ops().poll(), PollEvents::OUT | PollEvents::WRNORM);
    assert_eq!(read(&p.r, 0), Ok(vec![]), "a zero-length read never waits");
    assert_eq!(write(&p.w, b""), Ok(0));
    assert_eq!(end(&p.r).pipe().capacity(), DEFAULT_CAPACITY);
}

#[test]
fn blocking_read_of_an_empty_pipe_is_interrupted() {
    let p = pipe_with(Arc::new(FakeBlocker::new()), OpenFlags::empty());
    assert_eq!(
        read(&p.r, 10),
        Err(Errno::EINTR),
        "the fake's sleep is a signal"
    );
}

#[test]
fn ends_refuse_the_wrong_direction() {
    let p = nb_pipe();
    assert_eq!(
        p.r.ops()
            .write(WritePos::At(0), &WriteBuf::kernel(b"x"), true),
        Err(Errno::EBADF)
    );
    let mut b = [0u8; 1];
    assert_eq!(
        p.w.ops().read(0, &mut ReadBuf::kernel(&mut b), true),
        Err(Errno::EBADF)
    );
}

// ---- Holding data ----

#[test]
fn data_comes_out_in_order_and_reads_take_what_is_there() {
    let p = nb_pipe();
    assert_eq!(write(&p.w, b"hello "), Ok(6));
    assert_eq!(write(&p.w, b"world"), Ok(5));
    assert_eq!(p.r.ops().poll(), PollEvents::IN | PollEvents::RDNORM);
    assert_eq!(read(&p.r, 3), Ok(b"hel".to_vec()));
    assert_eq!(read(&p.r, 100), Ok(b"lo world".to_vec()));
    assert_eq!(read(&p.r, 100), Err(Errno::EAGAIN));
}

#[test]
fn fionread_counts_bytes_on_either_end() {
    let p = nb_pipe();
    write(&p.w, &[1; 5000]).unwrap();
    let mut mem = FakeUserMemory::new();
    mem.map(0x1000, 0x1000, true);
    for f in [&p.r, &p.w] {
        assert_eq!(f.ops().ioctl(FIONREAD, 0x1000, &mut mem), Ok(0));
        assert_eq!(UserPtr::<i32>::new(0x1000).read(&mem), Ok(5000));
    }
    assert_eq!(
        p.r.ops().ioctl(0x5401, 0x1000, &mut mem),
        Err(Errno::ENOTTY)
    );
}

#[test]
fn a_fault_leaves_the_data_in_the_pipe() {
    let p = nb_pipe();
    write(&p.w, b"abcdef").unwrap();
    let mut mem = FakeUserMemory::new();
    mem.map(0x1000, 0x1000, true);
    // Four bytes fit before the unmapped page.
    let mut dst = ReadBuf::user(&mut mem, UserBuf::new(0x1ffc, 6));
    assert_eq!(p.r.read(&mut dst), Ok(4));
    assert_eq!(mem.peek(0x1ffc, 4), b"abcd");
    let mut dst = ReadBuf::user(&mut mem, UserBuf::new(0x5000, 6));
    assert_eq!(p.r.read(&mut dst), Err(Errno::EFAULT));
    assert_eq!(read(&p.r, 10), Ok(b"ef".to_vec()));
    // A write from bad memory moves nothing.
    let src = WriteBuf::user(&mem, UserBuf::new(0x5000, 3));
    assert_eq!(p.w.write(&src), Err(Errno::EFAULT));
    assert_eq!(end(&p.r).pipe().bytes_readable(), 0);
}

// ---- Full ----

#[test]
fn a_pipe_holds_64_kib_then_refuses() {
    let p = nb_pipe();
    assert_eq!(fill(&p.w), DEFAULT_CAPACITY);
    assert!(!p.w.ops().poll().contains(PollEvents::OUT));
    assert_eq!(write(&p.w, b"x"), Err(Errno::EAGAIN));
    // Reading one page frees one slot.
    assert_eq!(read(&p.r, SLOT_SIZE).unwrap().len(), SLOT_SIZE);
    assert!(p.w.ops().poll().contains(PollEvents::OUT));
    assert_eq!(
        write(&p.w, &[0; SLOT_SIZE + 1]),
        Ok(SLOT_SIZE),
        "a big write is cut"
    );
}

#[test]
fn small_writes_are_atomic_and_merge_into_the_last_slot() {
    let p = nb_pipe();
    // 15 full slots and one with 100 bytes of room.
    assert_eq!(
        write(&p.w, &[1; DEFAULT_CAPACITY - 100]),
        Ok(DEFAULT_CAPACITY - 100)
    );
    assert_eq!(
        write(&p.w, &[2; 200]),
        Err(Errno::EAGAIN),
        "PIPE_BUF writes are all or nothing"
    );
    assert_eq!(write(&p.w, &[3; 60]), Ok(60), "fits in the last slot");
    // The remainder of a big write must fit whole too, or nothing moves.
    assert_eq!(write(&p.w, &[4; 5000]), Err(Errno::EAGAIN));
    assert_eq!(write(&p.w, &[5; 40]), Ok(40));
    assert_eq!(write(&p.w, &[6; 1]), Err(Errno::EAGAIN));
}

#[test]
fn a_partially_read_full_pipe_has_no_free_slot() {
    let p = nb_pipe();
    fill(&p.w);
    assert_eq!(read(&p.r, 100).unwrap().len(), 100);
    assert_eq!(
        write(&p.w, b"y"),
        Err(Errno::EAGAIN),
        "as Linux: slots, not bytes"
    );
}

// ---- No writers ----

#[test]
fn eof_once_every_writer_is_gone() {
    let p = nb_pipe();
    write(&p.w, b"last").unwrap();
    let w2 = p.w.clone();
    drop(p.w);
    assert!(
        !p.r.ops().poll().contains(PollEvents::HUP),
        "a copy is still open"
    );
    drop(w2);
    assert_eq!(
        p.r.ops().poll(),
        PollEvents::IN | PollEvents::RDNORM | PollEvents::HUP
    );
    assert_eq!(read(&p.r, 10), Ok(b"last".to_vec()));
    assert_eq!(read(&p.r, 10), Ok(vec![]), "end of file, not EAGAIN");
    assert_eq!(p.r.ops().poll(), PollEvents::HUP);
}

// ---- No readers ----

#[test]
fn epipe_once_every_reader_is_gone() {
    let p = nb_pipe();
    drop(p.r);
    assert_eq!(write(&p.w, b"x"), Err(Errno::EPIPE));
    assert!(raises_sigpipe(&Err(Errno::EPIPE)));
    assert_eq!(write(&p.w, b""), Ok(0), "an empty write does not notice");
    assert_eq!(
        p.w.ops().poll(),
        PollEvents::OUT | PollEvents::WRNORM | PollEvents::ERR
    );
}

// ---- Packet mode ----

#[test]
fn packet_mode_keeps_write_boundaries() {
    let p = pipe_with(
        Arc::new(FakeBlocker::new()),
        OpenFlags::NONBLOCK | OpenFlags::DIRECT,
    );
    write(&p.w, b"one").unwrap();
    write(&p.w, b"two!").unwrap();
    write(&p.w, b"three").unwrap();
    assert_eq!(read(&p.r, 100), Ok(b"one".to_vec()));
    assert_eq!(
        read(&p.r, 2),
        Ok(b"tw".to_vec()),
        "the rest of the packet is dropped"
    );
    assert_eq!(read(&p.r, 100), Ok(b"three".to_vec()));
    // Bigger than PIPE_BUF: split into packets of PIPE_BUF.
    write(&p.w, &[7; PIPE_BUF + 10]).unwrap();
    assert_eq!(read(&p.r, 100_000).unwrap().len(), PIPE_BUF);
    assert_eq!(read(&p.r, 100_000).unwrap().len(), 10);
}

// ---- Capacity ----

#[test]
fn set_capacity_rounds_to_pages_and_refuses_to_drop_data() {
    let p = nb_pipe();
    let pipe = end(&p.r).pipe().clone();
    assert_eq!(pipe.set_capacity(0), Ok(SLOT_SIZE));
    assert_eq!(pipe.set_capacity(5000), Ok(2 * SLOT_SIZE));
    assert_eq!(pipe.set_capacity(3 * SLOT_SIZE as u64), Ok(4 * SLOT_SIZE));
    assert_eq!(pipe.set_capacity(MAX_REQUEST + 1), Err(Errno::EINVAL));
    assert_eq!(fill(&p.w), 4 * SLOT_SIZE);
    assert_eq!(pipe.set_capacity(SLOT_SIZE as u64), Err(Errno::EBUSY));
    assert_eq!(pipe.set_capacity(1 << 20), Ok(1 << 20));
    assert_eq!(pipe.capacity(), 1 << 20);
    assert!(p.w.ops().poll().contains(PollEvents::OUT));
}

#[test]
fn fstat_says_fifo() {
    let p = nb_pipe();
    let m = p.r.stat().unwrap();
    assert_eq!(m.kind, FileKind::Fifo);
    assert_eq!(m.perm, 0o600);
    assert_eq!(m.ino, p.w.stat().unwrap().ino, "both ends are one inode");
    assert_eq!(p.r.flags(), OpenFlags::NONBLOCK, "O_RDONLY, no O_LARGEFILE");
}

// ---- Threads ----

#[test]
fn a_blocked_reader_wakes_when_data_comes() {
    let p = pipe_with(ThreadBlocker::new(), OpenFlags::empty());
    let w = p.w.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(20));
        write(&w, b"ping").unwrap();
    });
    assert_eq!(read(&p.r, 10), Ok(b"ping".to_vec()));
    t.join().unwrap();
}

#[test]
fn a_blocked_writer_wakes_when_room_is_made_and_big_writes_complete() {
    let p = pipe_with(ThreadBlocker::new(), OpenFlags::empty());
    let r = p.r.clone();
    const TOTAL: usize = 1 << 20;
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        while got.len() < TOTAL {
            let chunk = read(&r, 7000).unwrap();
            assert!(!chunk.is_empty());
            got.extend(chunk);
        }
        got
    });
    let data: Vec<u8> = (0..TOTAL).map(|i| (i % 251) as u8).collect();
    assert_eq!(write(&p.w, &data), Ok(TOTAL));
    assert_eq!(reader.join().unwrap(), data);
}

#[test]
fn concurrent_small_writes_never_interleave() {
    let p = pipe_with(ThreadBlocker::new(), OpenFlags::empty());
    let writers: Vec<_> = (0..4u8)
        .map(|k| {
            let w = p.w.clone();
            std::thread::spawn(move || {
                for _ in 0..50 {
                    assert_eq!(write(&w, &[k; PIPE_BUF]), Ok(PIPE_BUF));
                }
            })
        })
        .collect();
    let mut seen = Vec::new();
    while seen.len() < 4 * 50 * PIPE_BUF {
        seen.extend(read(&p.r, PIPE_BUF * 3).unwrap());
    }
    for w in writers {
        w.join().unwrap();
    }
    for block in seen.chunks(PIPE_BUF) {
        assert!(
            block.iter().all(|&b| b == block[0]),
            "a PIPE_BUF write was split"
        );
    }
}

#[test]
fn closing_the_write_end_wakes_a_blocked_reader_with_eof() {
    let p = pipe_with(ThreadBlocker::new(), OpenFlags::empty());
    let w = p.w;
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(20));
        drop(w);
    });
    assert_eq!(read(&p.r, 10), Ok(vec![]));
    t.join().unwrap();
}

#[test]
fn closing_the_read_end_fails_a_blocked_writer() {
    let p = pipe_with(ThreadBlocker::new(), OpenFlags::empty());
    let r = p.r;
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(20));
        drop(r);
    });
    // 64 KiB fit, then the writer blocks until the reader goes away.
    assert_eq!(
        write(&p.w, &[0; 2 * DEFAULT_CAPACITY]),
        Ok(DEFAULT_CAPACITY)
    );
    assert_eq!(write(&p.w, b"more"), Err(Errno::EPIPE));
    t.join().unwrap();
}

// ---- vmsplice's pieces ----

#[test]
fn pushed_pieces_take_a_slot_each_and_are_never_appended_to() {
    let p = nb_pipe();
    let pipe = end(&p.w).pipe().clone();
    let pieces: Vec<Vec<u8>> = (0..DEFAULT_SLOTS as u8).map(|i| vec![i; 10]).collect();
    assert_eq!(pipe.push_pieces(&pieces), Ok(10 * DEFAULT_SLOTS));
    assert_eq!(pipe.free_slots(), 0);
    // Plenty of bytes of room in the last slot, but it is not mergeable.
    assert_eq!(write(&p.w, b"x"), Err(Errno::EAGAIN));
    assert_eq!(pipe.push_pieces(&[vec![1u8]]), Err(Errno::EAGAIN));
    // A read takes across the pieces, in order, not one piece at a time.
    let got = read(&p.r, 25).unwrap();
    assert_eq!(got, [[0u8; 10].as_slice(), &[1; 10], &[2; 5]].concat());
    assert_eq!(pipe.free_slots(), 2);
}

#[test]
fn pushed_pieces_stop_when_the_pipe_fills() {
    let p = nb_pipe();
    let pipe = end(&p.w).pipe().clone();
    write(&p.w, &[b'a'; SLOT_SIZE * (DEFAULT_SLOTS - 1)]).unwrap();
    let pieces = [vec![b'b'; 3], vec![b'c'; 4]];
    assert_eq!(pipe.push_pieces(&pieces), Ok(3));
    assert_eq!(pipe.bytes_readable(), SLOT_SIZE * (DEFAULT_SLOTS - 1) + 3);
}

#[test]
fn pushing_pieces_without_a_reader_is_epipe() {
    let p = nb_pipe();
    let pipe = end(&p.w).pipe().clone();
    drop(p.r);
    assert_eq!(pipe.push_pieces(&[vec![1u8]]), Err(Errno::EPIPE));
}

#[test]
fn peeked_pieces_follow_the_slots_and_leave_the_data() {
    let p = nb_pipe();
    let pipe = end(&p.w).pipe().clone();
    write(&p.w, b"0123456789").unwrap();
    write(&p.w, &[b'x'; SLOT_SIZE]).unwrap();
    let pieces = pipe.peek_pieces(usize::MAX, usize::MAX);
    assert_eq!(pieces.len(), 2);
    assert_eq!(pieces[0], b"0123456789");
    assert_eq!(pieces[1].len(), SLOT_SIZE);
    // Cut short by bytes, then by slots.
    assert_eq!(
        pipe.peek_pieces(12, usize::MAX),
        [b"0123456789".to_vec(), b"xx".to_vec()]
    );
    assert_eq!(pipe.peek_pieces(usize::MAX, 1).len(), 1);
    assert_eq!(pipe.bytes_readable(), 10 + SLOT_SIZE);
}

// ---- A writer being killed ----

#[test]
fn a_write_stops_before_the_next_page_once_the_writer_is_being_killed() {
    let blocker = Arc::new(FakeBlocker::new());
    let p = pipe_with(blocker.clone(), OpenFlags::empty());
    end(&p.w).pipe().set_capacity(1 << 20).unwrap();
    // Three slots are filled, then the writer is being killed: the write stops short (the
    // old pipe went on allocating all 64 pages of a write whose count no one will see).
    blocker.kill_after(3);
    assert_eq!(write(&p.w, &[7u8; 64 * 4096]), Ok(3 * 4096));
    assert_eq!(end(&p.r).pipe().bytes_readable(), 3 * 4096);
    // Killed before the first page: nothing is written.
    assert_eq!(write(&p.w, &[7u8; 2 * 4096]), Err(Errno::EINTR));
    assert_eq!(end(&p.r).pipe().bytes_readable(), 3 * 4096);
}
