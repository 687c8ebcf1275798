//! The metrics measured from the host against `bench/http_server.c` in a guest, reached
//! through a QEMU user-networking port forward: `http_rps` (a load of small requests,
//! [`super::http`]) and the two TCP streams, `tcp_host_to_guest` and `tcp_guest_to_host`
//! ([`super::stream`]). Each sample boots the server in one kernel, waits until it
//! answers, measures, asks it to quit and checks that the VM ended cleanly.

use std::time::Duration;

use super::catalog::{HTTP_SERVER, Kind, Metric};
use super::kernels::{Invocation, Kernel, Runner};
use super::stream::{Direction, Stream};
use super::{MEM, MIB, http, stream};
use crate::error::CliError;

/// The port of the server in the guest (it answers `GET /` with its default body, one
/// short line).
const HTTP_GUEST_PORT: u16 = 8080;
/// The path at which `http_server` reports the requests it served and the guest's busy
/// CPU time.
const HTTP_CPU_PROBE: &str = "/cpu";
/// How long a guest may take to boot and start serving, and to exit after `/quit`.
const HTTP_READY: Duration = Duration::from_secs(180);
const HTTP_EXIT: Duration = Duration::from_secs(60);

/// The load of `http_rps`: connections and threads like a small `wrk` run; the duration is
/// long enough that the connection ramp and scheduling noise stay small.
fn http_load(quick: bool) -> http::Load {
    http::Load {
        connections: 8,
        threads: 2,
        warmup: Duration::from_secs(1),
        duration: Duration::from_secs(if quick { 3 } else { 5 }),
    }
}

/// A stream metric's transfer: 64 MiB (16 with `--quick`) after 4 MiB not counted.
fn stream_of(direction: Direction, quick: bool) -> Stream {
    Stream {
        direction,
        bytes: if quick { 16 } else { 64 } * MIB,
        warmup: 4 * MIB,
    }
}

/// Whether a metric of this kind is measured here.
pub fn is_served(kind: Kind) -> bool {
    matches!(kind, Kind::HttpRps | Kind::HostStream(_))
}

/// One sample of a served `metric` on `kernel`: its figure and a note, or why it
/// failed.
///
/// `http_rps`'s figure is requests per second; with `icount`, requests per billion guest
/// instructions (with the instructions per request in a note). Under `-icount
/// shift=0,sleep=off` an idle guest's clock jumps to its next timer, so its TCP timers would
/// fire early against a host that runs in real time. So the `icount` run uses `sleep=on`
/// (the clock follows the host's while the guest idles, one ns per instruction while it
/// runs), and the guest reports its own busy CPU time (`GET /cpu`: `/proc/uptime`'s elapsed
/// time times CPUs minus idle) and the requests it served, at both ends of the counted
/// time: busy ns are instructions, so their ratio is instructions per request, whatever
/// the host's speed. `/proc/uptime` has 10 ms steps. The streams have no `icount` figure.
pub fn sample(
    runner: &mut Runner,
    metric: &Metric,
    kernel: Kernel,
    quick: bool,
    icount: bool,
) -> Result<Result<(f64, Option<String>), String>, CliError> {
    let host_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| CliError::io("cannot find a free host port", e))?;
    let devices = crate::qemu::Devices {
        disks: Vec::new(),
        net: Some(crate::qemu::Network::User(vec![crate::qemu::PortForward {
            host: host_port,
            guest: HTTP_GUEST_PORT,
            udp: false,
        }])),
        rng: false,
    };
    let inv = Invocation {
        program: HTTP_SERVER,
        args: vec![HTTP_GUEST_PORT.to_string()],
    };
    let running = runner.start(kernel, &inv, MEM, devices, icount)?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], host_port));
    let measured =
        http::wait_until_serving(addr, HTTP_READY, || running.has_exited()).and_then(|()| {
            match metric.kind {
                Kind::HostStream(direction) => {
                    let mbs = stream::run(addr, stream_of(direction, quick))?;
                    Ok((mbs, None, format!("{mbs:.1} MB/s")))
                }
                _ => http_rps(addr, quick, icount),
            }
        });
    // Asked even after a failed measurement, so that the VM ends by itself when it can.
    let quit = http::quit(addr);
    let result = runner.finish(kernel, &inv, MEM, running, HTTP_EXIT, icount)?;
    if runner.verbose {
        if let Ok((_, note, said)) = &measured {
            eprintln!(
                "oxv: bench: {} {}{}: {said}{}",
                kernel.name(),
                metric.name,
                if icount { " (icount)" } else { "" },
                note.as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(match (measured, quit, result.error) {
        (Err(e), _, vm) | (Ok(_), Err(e), vm) => Err(match vm {
            Some(vm) => format!("{e}; {vm}"),
            None => e,
        }),
        (Ok(_), Ok(()), Some(vm)) => Err(vm),
        (Ok((value, note, _)), Ok(()), None) => Ok((value, note)),
    })
}

/// `http_rps` against the server at `addr`: the figure, a note, and what to print with
/// `--verbose`.
fn http_rps(
    addr: std::net::SocketAddr,
    quick: bool,
    icount: bool,
) -> Result<(f64, Option<String>, String), String> {
    let probe = icount.then_some(HTTP_CPU_PROBE);
    let m = http::run(addr, http_load(quick), probe)?;
    let said = format!(
        "{} responses in {:.2} s",
        m.responses,
        m.elapsed.as_secs_f64()
    );
    match (icount, &m.probes) {
        (false, _) => Ok((m.rps(), None, said)),
        (true, Some((a, b))) => {
            let insn = http::GuestCpu::parse(a)?.per_request(&http::GuestCpu::parse(b)?)?;
            let note = format!(
                "{insn:.0} guest instructions per request (busy time under -icount \
                 shift=0,sleep=on, from /proc/uptime)"
            );
            Ok((1e9 / insn.max(1.0), Some(note), said))
        }
        (true, None) => Err("no /cpu answers".to_string()),
    }
}
