//! The host side of `http_rps`: a load generator against `bench/http_server.c` in a guest,
//! reached through QEMU user networking's `hostfwd`.
//!
//! [`Load`] opens `connections` keep-alive HTTP/1.1 connections spread over `threads`
//! threads. Each thread keeps one request in flight on each of its connections: it writes a
//! request on every connection, then reads one response from each, and again, so the
//! server always has up to `connections` requests to answer, as with `wrk -c N -t T`. After
//! a warm-up (not counted) it counts complete responses (status line, headers,
//! `Content-Length` bytes of body) for a fixed duration; requests per second is that count
//! over the time measured. The clock starts once every connection is open.
//!
//! Before the load, [`wait_until_serving`] retries `GET /` until the server answers: QEMU
//! accepts a forwarded connection on the host before the guest listens, then drops it.
//! After it, [`quit`] asks the server to exit (`GET /quit`).
//!
//! With a probe path, one more connection (not part of the load) asks the server for that
//! path when the counted time starts and when it ends; `http_server`'s `/cpu` answers with
//! the requests it has served and the guest's busy CPU time ([`GuestCpu`]), so the guest's
//! own cost per request over the window comes out ([`GuestCpu::per_request`]).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// The request every connection sends, over and over.
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: oxv-bench\r\n\r\n";
/// Read and write timeout of the load's sockets: a stall this long is a failure.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// The shape of a load.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Keep-alive connections in all.
    pub connections: usize,
    /// Threads sharing them.
    pub threads: usize,
    /// Time not counted, first.
    pub warmup: Duration,
    /// Time counted.
    pub duration: Duration,
}

/// What a load measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Complete responses in the counted time.
    pub responses: u64,
    /// The counted time.
    pub elapsed: Duration,
    /// The probe's answer bodies at the start and at the end of the counted time.
    pub probes: Option<(Vec<u8>, Vec<u8>)>,
}

/// `http_server`'s answer to `GET /cpu`: `served=N busy_ns=B`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestCpu {
    /// Requests served so far (not counting `/cpu`).
    pub served: u64,
    /// The guest's busy CPU time since boot, all CPUs, in ns (10 ms steps).
    pub busy_ns: u64,
}

impl GuestCpu {
    /// Parses an answer body.
    pub fn parse(body: &[u8]) -> Result<GuestCpu, String> {
        let text = std::str::from_utf8(body).map_err(|_| "a /cpu answer that is not UTF-8")?;
        let field = |name: &str| -> Result<i64, String> {
            text.split_whitespace()
                .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("no {name}= in the /cpu answer {text:?}"))
        };
        let served = field("served")?;
        let busy = field("busy_ns")?;
        if busy < 0 {
            return Err("the guest could not read its /proc/uptime".into());
        }
        Ok(GuestCpu {
            served: served.max(0) as u64,
            busy_ns: busy as u64,
        })
    }

    /// Busy ns per request served between `self` and `later`; under `-icount shift=0` a
    /// busy nanosecond is one instruction.
    pub fn per_request(&self, later: &GuestCpu) -> Result<f64, String> {
        let served = later.served.saturating_sub(self.served);
        if served == 0 {
            return Err("the server answered no request in the window".into());
        }
        Ok(later.busy_ns.saturating_sub(self.busy_ns) as f64 / served as f64)
    }
}

impl Measured {
    /// Responses per second.
    pub fn rps(&self) -> f64 {
        self.responses as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Reads HTTP/1.1 responses off a byte stream, keeping what follows the last one.
#[derive(Debug, Default)]
pub struct ResponseReader {
    buf: Vec<u8>,
    start: usize,
}

impl ResponseReader {
    /// The length of the complete response at the start of `data` (head and body), `None`
    /// if it is not all there yet; `Err` if the head is not an HTTP 200 response with a
    /// `Content-Length`.
    pub fn complete(data: &[u8]) -> Result<Option<usize>, String> {
        let Some(head_end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
            if data.len() > 64 * 1024 {
                return Err("a response head over 64 KiB".into());
            }
            return Ok(None);
        };
        let head = std::str::from_utf8(&data[..head_end])
            .map_err(|_| "a response head that is not UTF-8".to_string())?;
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap_or_default();
        if !status.starts_with("HTTP/1.1 200 ") && !status.starts_with("HTTP/1.0 200 ") {
            return Err(format!("unexpected status line {status:?}"));
        }
        let length = lines
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .ok_or_else(|| "a response without Content-Length".to_string())?;
        let total = head_end + 4 + length;
        Ok((data.len() >= total).then_some(total))
    }

    /// Reads from `r` until one whole response is in, and consumes it.
    pub fn next(&mut self, r: &mut impl Read) -> io::Result<()> {
        self.take(r, false).map(drop)
    }

    /// Reads from `r` until one whole response is in, consumes it and returns its body.
    pub fn next_body(&mut self, r: &mut impl Read) -> io::Result<Vec<u8>> {
        self.take(r, true).map(Option::unwrap_or_default)
    }

    fn take(&mut self, r: &mut impl Read, keep_body: bool) -> io::Result<Option<Vec<u8>>> {
        loop {
            match Self::complete(&self.buf[self.start..]) {
                Ok(Some(n)) => {
                    let body = keep_body.then(|| {
                        let response = &self.buf[self.start..self.start + n];
                        let head = response
                            .windows(4)
                            .position(|w| w == b"\r\n\r\n")
                            .map_or(n, |h| h + 4);
                        response[head..].to_vec()
                    });
                    self.start += n;
                    if self.start == self.buf.len() {
                        self.buf.clear();
                        self.start = 0;
                    }
                    return Ok(body);
                }
                Ok(None) => {}
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
            }
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            let len = self.buf.len();
            self.buf.resize(len + 16 * 1024, 0);
            let got = r.read(&mut self.buf[len..]);
            match got {
                Ok(0) => {
                    self.buf.truncate(len);
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                Ok(n) => self.buf.truncate(len + n),
                Err(e) => {
                    self.buf.truncate(len);
                    return Err(e);
                }
            }
        }
    }
}

pub(super) fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// One `GET path` on a fresh connection; the response's length.
fn get_once(addr: SocketAddr, path: &str) -> io::Result<()> {
    let mut s = connect(addr)?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: oxv-bench\r\n\r\n").as_bytes())?;
    ResponseReader::default().next(&mut s)
}

/// Retries `GET /` until the server answers, `gone()` says the VM ended, or `deadline`
/// passes. The last error on failure.
pub fn wait_until_serving(
    addr: SocketAddr,
    deadline: Duration,
    gone: impl Fn() -> bool,
) -> Result<(), String> {
    let start = Instant::now();
    loop {
        let err = match get_once(addr, "/") {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if gone() {
            return Err(format!("the VM ended before its server answered ({err})"));
        }
        if start.elapsed() > deadline {
            return Err(format!(
                "no answer from the server within {} s ({err})",
                deadline.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Asks the server to exit.
pub fn quit(addr: SocketAddr) -> Result<(), String> {
    get_once(addr, "/quit").map_err(|e| format!("GET /quit: {e}"))
}

/// `GET path` on the keep-alive connection `s`; the answer's body.
fn ask(s: &mut TcpStream, r: &mut ResponseReader, path: &str) -> Result<Vec<u8>, String> {
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: oxv-bench\r\n\r\n").as_bytes())
        .and_then(|()| r.next_body(s))
        .map_err(|e| format!("GET {path}: {e}"))
}

/// Runs `load` against `addr`; with `probe`, asks for that path at both ends of the counted
/// time on a connection of its own.
pub fn run(addr: SocketAddr, load: Load, probe: Option<&str>) -> Result<Measured, String> {
    let mut probe = match probe {
        Some(path) => Some((
            path,
            connect(addr).map_err(|e| format!("connect: {e}"))?,
            ResponseReader::default(),
        )),
        None => None,
    };
    let counting = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let threads = load.threads.clamp(1, load.connections.max(1));
    // Every connection is open before the clock starts: QEMU's user networking accepts
    // forwarded connections slowly (its host socket's listen backlog is 1, so a burst of
    // connects waits for SYN retransmissions), which must not count as the guest's time.
    let connected = Arc::new(Barrier::new(threads + 1));
    let mut workers = Vec::new();
    for t in 0..threads {
        // Connections dealt out as evenly as they go.
        let n = load.connections / threads + usize::from(t < load.connections % threads);
        let (counting, stop, count) = (counting.clone(), stop.clone(), count.clone());
        let connected = connected.clone();
        workers.push(std::thread::spawn(move || -> Result<(), String> {
            let mut conns = Vec::with_capacity(n);
            let mut failed = None;
            for _ in 0..n {
                match connect(addr) {
                    Ok(s) => conns.push((s, ResponseReader::default())),
                    Err(e) => {
                        failed = Some(format!("connect: {e}"));
                        break;
                    }
                }
            }
            connected.wait();
            if let Some(e) = failed {
                return Err(e);
            }
            while !stop.load(Ordering::Relaxed) {
                for (s, _) in conns.iter_mut() {
                    s.write_all(REQUEST).map_err(|e| format!("send: {e}"))?;
                }
                for (s, r) in conns.iter_mut() {
                    r.next(s).map_err(|e| format!("receive: {e}"))?;
                }
                if counting.load(Ordering::Relaxed) {
                    count.fetch_add(n as u64, Ordering::Relaxed);
                }
            }
            Ok(())
        }));
    }
    connected.wait();
    std::thread::sleep(load.warmup);
    let first = probe.as_mut().map(|(path, s, r)| ask(s, r, path));
    let before = count.load(Ordering::Relaxed);
    counting.store(true, Ordering::Relaxed);
    let start = Instant::now();
    std::thread::sleep(load.duration);
    let responses = count.load(Ordering::Relaxed) - before;
    let elapsed = start.elapsed();
    let last = probe.as_mut().map(|(path, s, r)| ask(s, r, path));
    stop.store(true, Ordering::Relaxed);
    let mut failure = None;
    for w in workers {
        match w.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                failure.get_or_insert(e);
            }
            Err(_) => {
                failure.get_or_insert("a load thread panicked".into());
            }
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let probes = match (first, last) {
        (Some(a), Some(b)) => Some((a?, b?)),
        _ => None,
    };
    Ok(Measured {
        responses,
        elapsed,
        probes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
    const CPU: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 23\r\n\r\nserved=7 busy_ns=12345\n";

    #[test]
    fn a_response_is_complete_with_its_whole_body() {
        assert_eq!(ResponseReader::complete(OK), Ok(Some(OK.len())));
        assert_eq!(ResponseReader::complete(&OK[..OK.len() - 1]), Ok(None));
        assert_eq!(ResponseReader::complete(b"HTTP/1.1 200 OK\r\n"), Ok(None));
        assert!(ResponseReader::complete(b"HTTP/1.1 404 Not Found\r\n\r\n").is_err());
        assert!(ResponseReader::complete(b"HTTP/1.1 200 OK\r\nX: y\r\n\r\n").is_err());
    }

    #[test]
    fn guest_cpu_answers_give_busy_time_per_request() {
        let a = GuestCpu::parse(b"served=100 busy_ns=5000000000\n").unwrap();
        let b = GuestCpu::parse(b"served=1100 busy_ns=5250000000\n").unwrap();
        assert_eq!(a.per_request(&b), Ok(250_000.0));
        assert!(a.per_request(&a).is_err(), "no request in the window");
        assert!(GuestCpu::parse(b"served=1 busy_ns=-1\n").is_err());
        assert!(GuestCpu::parse(b"served=1\n").is_err());
        assert!(GuestCpu::parse(b"busy_ns=1 served=x").is_err());
    }

    #[test]
    fn pipelined_responses_are_read_one_at_a_time() {
        let mut two = OK.to_vec();
        two.extend_from_slice(OK);
        let mut stream = &two[..];
        let mut r = ResponseReader::default();
        r.next(&mut stream).unwrap();
        r.next(&mut stream).unwrap();
        assert_eq!(
            r.next(&mut stream).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    /// A keep-alive server on a host thread that answers every request with `OK`.
    fn serve() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                std::thread::spawn(move || {
                    let mut pending = Vec::new();
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = s.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        pending.extend_from_slice(&buf[..n]);
                        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            let cpu = pending.starts_with(b"GET /cpu ");
                            pending.drain(..end + 4);
                            let answer: &[u8] = if cpu { CPU } else { OK };
                            if s.write_all(answer).is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        addr
    }

    #[test]
    fn the_load_counts_responses_from_a_real_server() {
        let addr = serve();
        wait_until_serving(addr, Duration::from_secs(30), || false).unwrap();
        let m = run(
            addr,
            Load {
                connections: 4,
                threads: 2,
                warmup: Duration::from_millis(50),
                duration: Duration::from_millis(200),
            },
            Some("/cpu"),
        )
        .unwrap();
        assert!(m.responses > 0);
        assert!(m.rps() > 0.0);
        let (a, b) = m.probes.expect("probed");
        assert_eq!(a, b"served=7 busy_ns=12345\n");
        assert_eq!(GuestCpu::parse(&b).unwrap().busy_ns, 12345);
        quit(addr).unwrap();
    }

    #[test]
    fn nobody_listening_is_an_error_not_a_hang() {
        let addr = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let e = wait_until_serving(addr, Duration::ZERO, || false).unwrap_err();
        assert!(e.contains("no answer"), "{e}");
        let e = wait_until_serving(addr, Duration::from_secs(60), || true).unwrap_err();
        assert!(e.contains("VM ended"), "{e}");
    }
}
