//! Guest tests of the network seen from the host (issue 6): a server inside oxv answers HTTP
//! requests from the host through `-p HOSTPORT:GUESTPORT`, and a client inside oxv fetches
//! from a server on the host through QEMU user networking (the host is 10.0.2.2 there).
//!
//! The server is `bench/http_server.c`, the one `oxv bench` measures for `http_rps`.
//!
//! `#[ignore]`d like the other guest tests (they need QEMU); run them with
//!
//! ```text
//! cargo test -p oxv-cli --test net -- --ignored --test-threads=1
//! ```
//!
//! Nothing here depends on timing: every wait has a deadline of minutes (TCG on a loaded
//! machine boots slowly), and the host retries its first connection until the guest's
//! server answers, since QEMU's user networking accepts a forwarded connection before the
//! guest listens and then drops it.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// `oxv run --timeout`: the VM's own limit.
const VM_TIMEOUT_SECS: &str = "300";
/// How long the host tries to reach the guest's server before it gives up.
const REACH_DEADLINE: Duration = Duration::from_secs(240);
/// Read and write timeout of each host socket once the server has answered.
const IO_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a guest may take to exit after it was told to.
const EXIT_DEADLINE: Duration = Duration::from_secs(120);
/// The server's port inside the guest.
const GUEST_PORT: u16 = 8080;
/// The body `http_server` answers with by default.
const DEFAULT_BODY: &[u8] = b"hello from oxv http_server\n";

/// Fetches each URL path given after ADDR and PORT on a fresh connection (HTTP/1.0, so the
/// server closes) and writes each body to stdout. Exit status: 2 usage, 3 socket,
/// 4 connect, 5 write, 6 read, 7 no header end.
const HTTP_GET: &str = r#"
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char buf[1 << 21];

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
    if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) return 2;
    for (int i = 3; i < argc; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0) { perror("socket"); return 3; }
        if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); return 4; }
        char req[512];
        int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", argv[i], argv[1]);
        if (write(s, req, (size_t)n) != n) { perror("write"); return 5; }
        size_t len = 0;
        for (;;) {
            ssize_t r = read(s, buf + len, sizeof buf - len);
            if (r < 0) { perror("read"); return 6; }
            if (r == 0 || len + (size_t)r == sizeof buf) { len += (size_t)r; break; }
            len += (size_t)r;
        }
        close(s);
        char *body = memmem(buf, len, "\r\n\r\n", 4);
        if (!body) { fprintf(stderr, "no header end in %zu bytes\n", len); return 7; }
        body += 4;
        fwrite(body, 1, len - (size_t)(body - buf), stdout);
    }
    return 0;
}
"#;

fn build_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("net");
    std::fs::create_dir_all(&dir).expect("create the test's build directory");
    dir
}

/// Builds `source` as `name`. Tests build in parallel (two of them the same program): the
/// binary is written under a name of its own and renamed into place, so no test runs a
/// half-written file.
fn gcc(source: &Path, name: &str) -> PathBuf {
    let bin = build_dir().join(name);
    let tmp = common::unique(&bin);
    let out = Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(&tmp)
        .args(["-x", "c"])
        .arg(source)
        .output()
        .expect("gcc must be installed (oxv test installs it)");
    assert!(
        out.status.success(),
        "gcc failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::rename(&tmp, &bin).expect("move the binary into place");
    bin
}

/// `bench/http_server.c`, built.
fn http_server() -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/http_server.c");
    gcc(&src, "http_server")
}

fn http_get() -> PathBuf {
    let src = common::unique(&build_dir().join("http_get.c"));
    std::fs::write(&src, HTTP_GET).expect("write the C source");
    let bin = gcc(&src, "http_get");
    let _ = std::fs::remove_file(&src);
    bin
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// A TCP port free on the host's loopback right now (QEMU binds it a moment later).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("a bound address").port()
}

/// An `oxv run` in the background, killed if the test ends before it does.
struct Guest {
    child: Option<Child>,
    stdout: mpsc::Receiver<Vec<u8>>,
    stderr: mpsc::Receiver<Vec<u8>>,
}

impl Guest {
    fn spawn(args: &[&str]) -> Guest {
        let mut child = Command::new(env!("CARGO_BIN_EXE_oxv"))
            .args(["run", "--timeout", VM_TIMEOUT_SECS])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run oxv");
        let stdout = drain(child.stdout.take().expect("stdout was piped"));
        let stderr = drain(child.stderr.take().expect("stderr was piped"));
        Guest {
            child: Some(child),
            stdout,
            stderr,
        }
    }

    /// Whether `oxv` has exited (then its output is all there).
    fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().expect("poll the oxv process"))
    }

    /// Waits for `oxv` to exit on its own; kills it after `deadline`.
    fn wait(&mut self, deadline: Duration) -> (Option<ExitStatus>, Output) {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.exited() {
                break Some(s);
            }
            if start.elapsed() > deadline {
                break None;
            }
            thread::sleep(Duration::from_millis(100));
        };
        let mut child = self.child.take().expect("the child is there until waited");
        if status.is_none() {
            let _ = child.kill();
        }
        let code = child.wait().expect("wait for oxv");
        let out = Output {
            status: code,
            stdout: self.stdout.recv().unwrap_or_default(),
            stderr: self.stderr.recv().unwrap_or_default(),
        };
        (status, out)
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Reads all of `r` on a thread; the whole is sent when it ends.
fn drain(mut r: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut all = Vec::new();
        let _ = r.read_to_end(&mut all);
        let _ = tx.send(all);
    });
    rx
}

fn show(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A keep-alive HTTP/1.1 connection from the host.
struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(port: u16) -> std::io::Result<Client> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(IO_TIMEOUT))?;
        s.set_write_timeout(Some(IO_TIMEOUT))?;
        s.set_nodelay(true)?;
        Ok(Client {
            reader: BufReader::new(s),
        })
    }

    /// Sends `GET path` and reads the response: status line and body.
    fn get(&mut self, path: &str) -> std::io::Result<(String, Vec<u8>)> {
        let req = format!("GET {path} HTTP/1.1\r\nHost: oxv\r\n\r\n");
        self.reader.get_mut().write_all(req.as_bytes())?;
        let mut status = String::new();
        if self.reader.read_line(&mut status)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let mut length = None;
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse::<usize>().ok();
                }
            }
        }
        let length = length.ok_or(std::io::ErrorKind::InvalidData)?;
        let mut body = vec![0u8; length];
        self.reader.read_exact(&mut body)?;
        Ok((status.trim_end().to_string(), body))
    }
}

/// Connects and fetches `/` until the guest's server answers; panics with the guest's
/// output if it exits or the deadline passes first.
fn first_answer(guest: &mut Guest, port: u16) -> (Client, Vec<u8>) {
    let start = Instant::now();
    let mut last = None;
    while start.elapsed() < REACH_DEADLINE {
        if guest.exited().is_some() {
            break;
        }
        match Client::connect(port).and_then(|mut c| c.get("/").map(|r| (c, r))) {
            Ok((c, (status, body))) => {
                assert_eq!(status, "HTTP/1.1 200 OK");
                return (c, body);
            }
            Err(e) => last = Some(e),
        }
        thread::sleep(Duration::from_millis(250));
    }
    let (_, out) = guest.wait(Duration::ZERO);
    panic!(
        "the guest's server never answered (last error {last:?})\n{}",
        show(&out)
    );
}

/// Boots `http_server` with `-p` and gives the test its host port.
fn serve(server_args: &[&str]) -> (Guest, u16) {
    let server = http_server();
    let port = free_port();
    let forward = format!("{port}:{GUEST_PORT}");
    let mut args = vec!["-p", &forward, "--", path_str(&server)];
    args.extend_from_slice(server_args);
    (Guest::spawn(&args), port)
}

/// Tells the server to quit and checks that the guest exits 0 having served `at_least`.
fn quit(mut guest: Guest, port: u16, at_least: usize) {
    let mut c = Client::connect(port).expect("connect for /quit");
    let (status, _) = c.get("/quit").expect("the answer to /quit");
    assert_eq!(status, "HTTP/1.1 200 OK");
    let (status, out) = guest.wait(EXIT_DEADLINE);
    assert!(status.is_some(), "the guest did not exit\n{}", show(&out));
    assert!(out.status.success(), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(&format!("http_server: listening on {GUEST_PORT}\n")),
        "{}",
        show(&out)
    );
    let served: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("http_server: served "))
        .and_then(|l| l.strip_suffix(" requests"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no request count\n{}", show(&out)));
    assert!(served >= at_least, "served {served} < {at_least}");
}

#[test]
#[ignore = "boots QEMU"]
fn a_server_in_oxv_answers_the_host_through_a_forwarded_port() {
    let (mut guest, port) = serve(&[]);
    let (mut c, body) = first_answer(&mut guest, port);
    assert_eq!(body, DEFAULT_BODY);
    // Keep-alive: more requests on the same connection.
    for i in 0..5 {
        let (status, body) = c.get(&format!("/again/{i}")).expect("a keep-alive request");
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(body, DEFAULT_BODY);
    }
    // Fresh connections, closed by the host after each answer.
    for _ in 0..3 {
        let mut fresh = Client::connect(port).expect("connect");
        assert_eq!(fresh.get("/fresh").expect("a request").1, DEFAULT_BODY);
        let _ = fresh.reader.get_ref().shutdown(Shutdown::Both);
    }
    // Several connections at once, each keeping its own requests in order.
    let workers: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(move || {
                let mut c = Client::connect(port).expect("connect");
                for _ in 0..10 {
                    let (status, body) = c.get("/parallel").expect("a request");
                    assert_eq!(status, "HTTP/1.1 200 OK");
                    assert_eq!(body, DEFAULT_BODY);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("a worker thread");
    }
    drop(c);
    quit(guest, port, 1 + 5 + 3 + 40);
}

#[test]
#[ignore = "boots QEMU"]
fn a_large_answer_from_oxv_arrives_whole() {
    // 300 kB: many segments, more than the socket's send buffer, so the server meets a full
    // socket and waits for EPOLLOUT.
    const LEN: usize = 300_000;
    let (mut guest, port) = serve(&["8080", &LEN.to_string()]);
    let (mut c, body) = first_answer(&mut guest, port);
    assert_eq!(body.len(), LEN);
    assert!(body.iter().all(|&b| b == b'x'));
    let (_, body) = c.get("/again").expect("a second large answer");
    assert_eq!(body.len(), LEN);
    drop(c);
    quit(guest, port, 2);
}

/// A body the host serves: a pattern that shows any lost, repeated or reordered byte.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
#[ignore = "boots QEMU"]
fn a_client_in_oxv_fetches_from_the_host() {
    client_fetches_from_the_host("microvm");
}

/// The same through virtio-net on PCI (INTx interrupts, another transport).
#[test]
#[ignore = "boots QEMU"]
fn a_client_in_oxv_on_q35_fetches_from_the_host() {
    client_fetches_from_the_host("q35");
}

fn client_fetches_from_the_host(machine: &str) {
    let small = b"body served by the host\n".to_vec();
    let big = pattern(500_000);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the host server");
    let port = listener.local_addr().expect("its address").port();
    let (served_tx, served_rx) = mpsc::channel();
    {
        let (small, big) = (small.clone(), big.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let _ = s.set_read_timeout(Some(IO_TIMEOUT));
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match s.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let body: &[u8] = if head.starts_with("GET /small ") {
                    &small
                } else if head.starts_with("GET /big ") {
                    &big
                } else {
                    b"unexpected request\n"
                };
                let reply = format!(
                    "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(reply.as_bytes());
                let _ = s.write_all(body);
                let _ = s.shutdown(Shutdown::Write);
                let _ = served_tx.send(head);
            }
        });
    }
    let client = http_get();
    let port_arg = port.to_string();
    let mut guest = Guest::spawn(&[
        "--machine",
        machine,
        "--net",
        "user",
        "--",
        path_str(&client),
        "10.0.2.2",
        &port_arg,
        "/small",
        "/big",
    ]);
    let (status, out) = guest.wait(Duration::from_secs(400));
    assert!(status.is_some(), "the guest did not exit\n{}", show(&out));
    assert!(out.status.success(), "{}", show(&out));
    let mut want = small;
    want.extend_from_slice(&big);
    assert!(
        out.stdout == want,
        "the guest printed {} bytes, expected {}\nstderr:\n{}",
        out.stdout.len(),
        want.len(),
        String::from_utf8_lossy(&out.stderr)
    );
    let heads: Vec<String> = served_rx.try_iter().collect();
    assert_eq!(heads.len(), 2, "{heads:?}");
    assert!(heads[0].contains("Host: 10.0.2.2\r\n"), "{heads:?}");
}
