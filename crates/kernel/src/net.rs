//! The kernel's network: the one [`oxv_net::Net`], the timer that polls its stack when
//! smoltcp's timers are due, its NICs, and the files libc resolvers read.
//!
//! The stack is polled by the socket calls themselves, by NIC interrupts
//! ([`poll`]), and by one app timer ([`crate::timers::Expiry::Net`]) that [`KernelTimer`]
//! keeps armed for the earliest deadline the stack asked for. Polls from the timer run in
//! interrupt context; the kernel runs with interrupts off, so they never find the stack's
//! lock held on this CPU.

use alloc::sync::Arc;
use oxv_net::Net;
use oxv_net::stack::PollTimer;
use oxv_sched::timer::TimerId;
use oxv_vfs::FsContext;
use spin::{Mutex, Once};

static NET: Once<Arc<Net>> = Once::new();

/// The armed poll timer: its deadline and queue id.
static TIMER: Mutex<Option<(u64, TimerId)>> = Mutex::new(None);

/// The stack's [`PollTimer`]: one app timer, moved earlier when the stack asks for earlier.
struct KernelTimer;

impl PollTimer for KernelTimer {
    fn arm(&self, deadline_ns: u64) {
        let mut t = TIMER.lock();
        if let Some((at, id)) = *t {
            if at <= deadline_ns {
                return;
            }
            crate::sched::cancel_app_timer(id);
        }
        let id = crate::sched::add_app_timer(deadline_ns, crate::timers::Expiry::Net);
        *t = Some((deadline_ns, id));
    }
}

/// Creates the network (the loopback interface). Call once at boot, after the clock and
/// the random generator.
pub fn init() {
    let mut seed = [0u8; 8];
    crate::random::fill(&mut seed);
    oxv_net::socket::set_contended_hook(crate::smp::yield_to_kernel_lock);
    NET.call_once(|| {
        Net::new(
            crate::devices::blocker(),
            Arc::new(KernelTimer),
            u64::from_ne_bytes(seed),
        )
    });
}

/// The network.
///
/// # Panics
/// Before [`init`] (boot calls it before the app runs).
pub fn net() -> &'static Arc<Net> {
    NET.get()
        .expect("net::init runs at boot, before any socket call")
}

/// How long boot waits for DHCP to configure the NIC before starting the app anyway.
const DHCP_WAIT_NS: u64 = 3_000_000_000;

/// Gives the virtio NIC, if there is one, to the stack, configured from the kernel command
/// line (`ip=`, `gw=`, `ip6=`, `gw6=`, `dns=`; see `oxv_net::config`), and routes its
/// interrupt to [`poll`]. With DHCP (the default), waits until it has configured the
/// interface (at most three seconds), so that the app starts with an address and
/// `/etc/resolv.conf` can name the DNS servers.
///
/// Also reads `nounlockednet`: socket data calls then take the kernel lock like every other
/// call (see `crate::syscall::unlocked`), for comparing the two.
pub fn attach_nic(args: &oxv_abi::cmdline::BootArgs) {
    crate::smp::set_unlocked_net(!args.has_option("nounlockednet"));
    let Some(nic) = crate::virtio::take_nic() else {
        return;
    };
    let mut cfg = oxv_net::stack::NicConfig::default();
    let options = args.options.iter().map(|(k, v)| (k.as_str(), v.as_deref()));
    oxv_net::config::apply_options(&mut cfg, options, |e| kprintln!("oxv: {e}; ignored"));
    cfg.tx_checksum_offload = crate::virtio::net_offloads().is_some_and(|o| o.tx_checksum);
    let dhcp = cfg.ipv4 == oxv_net::stack::Ipv4Setup::Dhcp;
    let stack = net().stack();
    stack.add_nic(nic, &cfg);
    crate::virtio::set_net_wakeup(poll);
    if dhcp {
        let until = crate::time::monotonic_ns() + DHCP_WAIT_NS;
        while !stack.is_configured() && crate::time::monotonic_ns() < until {
            stack.poll();
            core::hint::spin_loop();
        }
    }
    for i in stack.interfaces() {
        kdebug!("oxv: {} {:?}", i.name, i.addrs);
    }
}

/// Runs the stack: for NIC interrupts.
pub fn poll() {
    if let Some(n) = NET.get() {
        n.stack().poll();
    }
}

/// How long the end of the VM waits for the network's peers to take what the app sent.
const FLUSH_AT_EXIT_NS: u64 = 2_000_000_000;

/// Before the VM powers off: polls the stack until every TCP connection on a NIC has had
/// its data and FIN acknowledged, for at most two seconds. On Linux the kernel goes on
/// sending after the app exits; here the VM ends with the app, and without this the last
/// answer of a server that exits right after sending it (e.g. `http_server`'s `/quit`)
/// would be cut short. Runs with interrupts off, so it polls the NIC itself.
pub fn flush_before_exit() {
    let Some(n) = NET.get() else {
        return;
    };
    let stack = n.stack();
    let until = crate::time::monotonic_ns() + FLUSH_AT_EXIT_NS;
    while stack.has_unacked_output() && crate::time::monotonic_ns() < until {
        stack.poll();
        core::hint::spin_loop();
    }
    if let Some(s) = crate::virtio::net_stats().filter(|_| crate::console::verbose()) {
        kprintln!(
            "oxv: virtio-net: {} frames sent, {} transmit kicks; {} received, {} receive kicks, {} interrupts",
            s.tx_frames,
            s.tx_kicks,
            s.rx_frames,
            s.rx_kicks,
            s.interrupts
        );
    }
}

/// The poll timer expired (interrupt context).
pub fn timer_fired() {
    TIMER.lock().take();
    poll();
}

/// Writes `/etc/hosts` (and `/etc/resolv.conf` when DNS servers are known) into the root
/// file system if the image has none, so that libc resolvers find `localhost` and the
/// servers.
pub fn write_resolver_files(cx: &FsContext) {
    let n = net();
    let hosts = oxv_net::config::hosts("oxv", &n.stack().interfaces());
    create_if_missing(cx, b"/etc/hosts", hosts.as_bytes());
    let dns = n.stack().dns_servers();
    if !dns.is_empty() {
        create_if_missing(
            cx,
            b"/etc/resolv.conf",
            oxv_net::config::resolv_conf(&dns).as_bytes(),
        );
    }
}

fn create_if_missing(cx: &FsContext, path: &[u8], data: &[u8]) {
    use oxv_abi::linux::fs::OpenFlags;
    if cx.lookup(path, true).is_ok() || cx.mkdir_all(b"/etc", 0o755).is_err() {
        return;
    }
    let flags = OpenFlags::WRONLY | OpenFlags::CREAT | OpenFlags::EXCL;
    if let Ok(f) = cx.open(path, flags, 0o644) {
        let _ = f.write(&oxv_vfs::WriteBuf::kernel(data));
    }
}
