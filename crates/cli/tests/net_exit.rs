//! Guest test of the VM's end (issue 6): a client inside oxv that writes to a server on the
//! host and exits at once, without close(2) or shutdown(2), still delivers every byte. On
//! Linux the kernel goes on sending after the process is gone; here the VM ends with the
//! app, so the kernel must hold the power-off until the peer has acknowledged what the
//! sockets hold (`net::flush_before_exit` in `process::end_vm`), and the NIC must have been
//! told of the last frames (the virtio-net driver kicks once per batch, at the stack's flush).
//!
//! `#[ignore]`d like the other guest tests (they need QEMU); run them with
//!
//! ```text
//! cargo test -p oxv-cli --test net_exit -- --ignored
//! ```

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Connects to ADDR:PORT, writes LEN bytes of the pattern (blocking writes into a send
/// buffer of about a megabyte, so at exit up to that much is still unsent), then `_exit(0)`
/// at once. Exit status: 2
/// usage, 3 socket, 4 connect, 5 write.
const SEND_AND_EXIT: &str = r#"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
    if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) return 2;
    size_t len = (size_t)atol(argv[3]);
    unsigned char *buf = malloc(len);
    if (!buf) return 2;
    for (size_t i = 0; i < len; i++) buf[i] = (unsigned char)(i * 31 % 251);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) return 3;
    /* A large send buffer: write() returns with about a megabyte not yet sent. */
    int sndbuf = 512 * 1024;
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) return 4;
    for (size_t off = 0; off < len;) {
        ssize_t w = write(s, buf + off, len - off);
        if (w <= 0) return 5;
        off += (size_t)w;
    }
    _exit(0);
}
"#;

/// What the client sends: several socket buffers' worth.
const LEN: usize = 4_000_000;

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
#[ignore = "boots QEMU"]
fn a_client_that_exits_right_after_write_delivers_every_byte() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the host server");
    let port = listener.local_addr().expect("its address").port();
    let (got_tx, got_rx) = mpsc::channel();
    thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(120)));
        let mut all = Vec::new();
        let r = s.read_to_end(&mut all);
        let _ = got_tx.send((all, r.map(|_| ()).map_err(|e| e.to_string())));
    });
    let client = common::build_c("net_exit", "send_and_exit", SEND_AND_EXIT);
    let out = Command::new(env!("CARGO_BIN_EXE_oxv"))
        .args([
            "run",
            "-v",
            "--accel",
            "tcg",
            "--timeout",
            "300",
            "--net",
            "user",
            "--",
        ])
        .arg(&client)
        .args(["10.0.2.2", &port.to_string(), &LEN.to_string()])
        .stdin(Stdio::null())
        .output()
        .expect("run oxv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let log: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("virtio-net:") || l.contains("exit"))
        .collect();
    assert!(out.status.success(), "oxv run: {}\n{stderr}", out.status);
    let (got, how) = got_rx
        .recv_timeout(Duration::from_secs(150))
        .expect("the host server never saw the connection end");
    assert_eq!(how, Ok(()), "the host's read ended in an error");
    assert_eq!(
        got.len(),
        LEN,
        "the host received {} of {LEN} bytes\n{}",
        got.len(),
        log.join("\n")
    );
    assert!(got == pattern(LEN), "the bytes differ from what was sent");
}
