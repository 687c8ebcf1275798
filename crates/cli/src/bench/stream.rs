//! The host side of `tcp_host_to_guest` and `tcp_guest_to_host`: one TCP connection through
//! QEMU user networking's `hostfwd` to `bench/http_server.c` in a guest, moving one stream.
//!
//! Host to guest, the client sends `POST /sink` with a `Content-Length` body, which the
//! server reads and throws away before it answers `got N`; guest to host, it sends
//! `GET /stream/N` and reads the N bytes of body the server writes. A first transfer of
//! [`Stream::warmup`] bytes is not counted (slow start, the guest's first faults); the
//! figure is the second one's bytes over its time, request to last byte (or to the answer
//! that says the last byte arrived), in MB/s (10^6 bytes per second).
//!
//! Not a load generator ([`super::http`] is): one connection, one transfer at a time, as
//! `iperf -P 1`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use super::http::{ResponseReader, connect};

/// Which way the bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The host sends, the guest receives (`POST /sink`).
    HostToGuest,
    /// The guest sends, the host receives (`GET /stream/N`).
    GuestToHost,
}

/// One stream measurement.
#[derive(Debug, Clone, Copy)]
pub struct Stream {
    /// Which way.
    pub direction: Direction,
    /// Bytes of the counted transfer.
    pub bytes: u64,
    /// Bytes of the transfer before it, not counted.
    pub warmup: u64,
}

/// The size of the writes and reads on the host side.
const CHUNK: usize = 64 * 1024;

/// Runs `stream` against the server at `addr`; the counted transfer's MB/s.
pub fn run(addr: SocketAddr, stream: Stream) -> Result<f64, String> {
    let mut s = connect(addr).map_err(|e| format!("connect: {e}"))?;
    let mut answers = ResponseReader::default();
    let mut transfer = |n: u64| match stream.direction {
        Direction::HostToGuest => upload(&mut s, &mut answers, n),
        Direction::GuestToHost => download(&mut s, n),
    };
    if stream.warmup > 0 {
        transfer(stream.warmup)?;
    }
    let start = Instant::now();
    transfer(stream.bytes)?;
    let secs = start.elapsed().as_secs_f64();
    Ok(stream.bytes as f64 / secs.max(1e-9) / 1e6)
}

/// Sends `n` bytes to `/sink` and checks the server's count of them.
fn upload(s: &mut TcpStream, answers: &mut ResponseReader, n: u64) -> Result<(), String> {
    let head = format!("POST /sink HTTP/1.1\r\nHost: oxv-bench\r\nContent-Length: {n}\r\n\r\n");
    s.write_all(head.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let chunk = [b'u'; CHUNK];
    let mut left = n;
    while left > 0 {
        let k = left.min(CHUNK as u64) as usize;
        s.write_all(&chunk[..k])
            .map_err(|e| format!("send, {} of {n} bytes sent: {e}", n - left))?;
        left -= k as u64;
    }
    let body = answers
        .next_body(s)
        .map_err(|e| format!("the answer to POST /sink: {e}"))?;
    let want = format!("got {n}\n");
    if body != want.as_bytes() {
        return Err(format!(
            "the server counted {:?} of a {n}-byte body",
            String::from_utf8_lossy(&body)
        ));
    }
    Ok(())
}

/// Asks for `n` bytes from `/stream/N` and reads them all.
fn download(s: &mut TcpStream, n: u64) -> Result<(), String> {
    s.write_all(format!("GET /stream/{n} HTTP/1.1\r\nHost: oxv-bench\r\n\r\n").as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let mut buf = vec![0u8; CHUNK];
    let mut have = 0;
    let (head_len, length) = loop {
        if let Some(end) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
            break (end + 4, content_length(&buf[..end])?);
        }
        if have == buf.len() {
            return Err("a response head over 64 KiB".into());
        }
        match s.read(&mut buf[have..]) {
            Ok(0) => return Err("the connection closed before the response head".into()),
            Ok(k) => have += k,
            Err(e) => return Err(format!("receive: {e}")),
        }
    };
    if length != n {
        return Err(format!(
            "asked for {n} bytes, the server announced {length}"
        ));
    }
    let mut got = (have - head_len) as u64;
    while got < n {
        match s.read(&mut buf) {
            Ok(0) => return Err(format!("the connection closed after {got} of {n} bytes")),
            Ok(k) => got += k as u64,
            Err(e) => return Err(format!("receive, {got} of {n} bytes in: {e}")),
        }
    }
    if got > n {
        return Err(format!("{} bytes more than announced", got - n));
    }
    Ok(())
}

/// The `Content-Length` of a response head (without its final blank line).
fn content_length(head: &[u8]) -> Result<u64, String> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 200") {
        return Err(format!("the server answered {status:?}"));
    }
    lines
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<u64>().ok())?
        })
        .ok_or_else(|| format!("no Content-Length in {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::net::TcpListener;

    /// A server that speaks `/stream` and `/sink` as `http_server` does, except that it
    /// sends `short` bytes fewer than it announces and counts `miscount` bytes more than
    /// it read.
    fn serve(short: u64, miscount: u64) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let mut w = s.try_clone().unwrap();
            let mut r = std::io::BufReader::new(s);
            loop {
                let mut head = Vec::new();
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if line == "\r\n" {
                        break;
                    }
                    head.push(line);
                }
                if let Some(n) = head[0].strip_prefix("GET /stream/") {
                    let n: u64 = n.split(' ').next().unwrap().parse().unwrap();
                    let hdr = format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n");
                    w.write_all(hdr.as_bytes()).unwrap();
                    let body = vec![b'x'; (n - short) as usize];
                    w.write_all(&body).unwrap();
                    if short > 0 {
                        return;
                    }
                } else {
                    let n: u64 = head
                        .iter()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .unwrap()
                        .trim()
                        .parse()
                        .unwrap();
                    std::io::copy(&mut (&mut r).take(n), &mut std::io::sink()).unwrap();
                    let body = format!("got {}\n", n + miscount);
                    let hdr = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                    w.write_all(hdr.as_bytes()).unwrap();
                    w.write_all(body.as_bytes()).unwrap();
                }
            }
        });
        addr
    }

    #[test]
    fn both_directions_move_every_byte_and_give_a_rate() {
        for direction in [Direction::HostToGuest, Direction::GuestToHost] {
            let stream = Stream {
                direction,
                bytes: 3 * CHUNK as u64 + 5,
                warmup: 1000,
            };
            let rate = run(serve(0, 0), stream).unwrap();
            assert!(rate > 0.0 && rate.is_finite(), "{direction:?}: {rate}");
        }
    }

    #[test]
    fn a_short_stream_or_a_wrong_count_is_an_error() {
        let stream = |direction| Stream {
            direction,
            bytes: 100_000,
            warmup: 0,
        };
        let e = run(serve(10, 0), stream(Direction::GuestToHost)).unwrap_err();
        assert!(e.contains("closed after 99990 of 100000"), "{e}");
        let e = run(serve(0, 1), stream(Direction::HostToGuest)).unwrap_err();
        assert!(e.contains("counted \"got 100001\\n\""), "{e}");
    }

    #[test]
    fn the_length_comes_from_a_200_head() {
        assert_eq!(
            content_length(b"HTTP/1.1 200 OK\r\ncontent-length: 42"),
            Ok(42)
        );
        assert!(content_length(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0").is_err());
        assert!(content_length(b"HTTP/1.1 200 OK\r\nServer: x").is_err());
    }
}
