// Rust std threads, channels and sync primitives: what the output shows is deterministic.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Condvar, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

fn main() {
    // Channels: 4 producers, one consumer; the sum and count are exact.
    let (tx, rx) = mpsc::channel::<u64>();
    let producers: Vec<_> = (0..4u64)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..1000 {
                    tx.send(p * 1000 + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let (mut n, mut sum) = (0u64, 0u64);
    for v in rx {
        n += 1;
        sum += v;
    }
    for p in producers {
        p.join().unwrap();
    }
    println!("channel: {n} messages, sum {sum}");

    // A bounded channel blocks the sender: rendezvous ordering.
    let (stx, srx) = mpsc::sync_channel::<u32>(0);
    let h = thread::spawn(move || (0..5).map(|_| srx.recv().unwrap()).sum::<u32>());
    for i in 1..=5 {
        stx.send(i).unwrap();
    }
    println!("sync_channel: {}", h.join().unwrap());

    // Mutex + Condvar producer/consumer.
    let pair = Arc::new((Mutex::new(Vec::<u32>::new()), Condvar::new()));
    let c = {
        let pair = pair.clone();
        thread::spawn(move || {
            let (m, cv) = &*pair;
            let mut got = 0;
            let mut total = 0;
            while got < 100 {
                let mut q = cv.wait_while(m.lock().unwrap(), |q| q.is_empty()).unwrap();
                while let Some(v) = q.pop() {
                    got += 1;
                    total += v;
                }
            }
            total
        })
    };
    for i in 0..100 {
        let (m, cv) = &*pair;
        m.lock().unwrap().push(i);
        cv.notify_one();
    }
    println!("condvar: {}", c.join().unwrap());

    // Barrier and a shared counter under contention.
    let barrier = Arc::new(Barrier::new(8));
    let counter = Arc::new(Mutex::new(0u64));
    let leaders = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..8)
        .map(|_| {
            let (b, c, l) = (barrier.clone(), counter.clone(), leaders.clone());
            thread::spawn(move || {
                for _ in 0..10_000 {
                    *c.lock().unwrap() += 1;
                }
                if b.wait().is_leader() {
                    l.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    println!(
        "barrier: counter {}, leaders {}",
        counter.lock().unwrap(),
        leaders.load(Ordering::SeqCst)
    );

    // RwLock: many readers, one writer.
    let rw = Arc::new(RwLock::new(0u32));
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..1000 {
                    let v = *rw.read().unwrap();
                    assert!(v <= 1000);
                }
            });
        }
        s.spawn(|| {
            for _ in 0..1000 {
                *rw.write().unwrap() += 1;
            }
        });
    });
    println!("rwlock: {}", rw.read().unwrap());

    // Thread-locals, names, a panic caught by join, sleep, park/unpark.
    thread_local!(static TL: std::cell::Cell<u32> = const { std::cell::Cell::new(7) });
    let h = thread::Builder::new()
        .name("worker-1".into())
        .spawn(|| {
            TL.with(|t| t.set(99));
            (thread::current().name().unwrap().to_string(), TL.with(|t| t.get()))
        })
        .unwrap();
    let (name, tl) = h.join().unwrap();
    println!("thread: name {name}, its tls {tl}, main tls {}", TL.with(|t| t.get()));
    let r = thread::spawn(|| -> u32 { panic!("expected panic") }).join();
    println!("panic caught: {}", r.is_err());
    let t0 = Instant::now();
    thread::sleep(Duration::from_millis(20));
    println!("slept at least 20 ms: {}", t0.elapsed() >= Duration::from_millis(20));
    let flag = Arc::new(AtomicUsize::new(0));
    let parked = {
        let flag = flag.clone();
        thread::spawn(move || {
            while flag.load(Ordering::Acquire) == 0 {
                thread::park();
            }
            "unparked"
        })
    };
    flag.store(1, Ordering::Release);
    parked.thread().unpark();
    println!("park: {}", parked.join().unwrap());
    println!("available_parallelism ok: {}", thread::available_parallelism().is_ok());
}
