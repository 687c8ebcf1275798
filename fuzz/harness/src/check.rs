//! The invariants checked after every operation (listed in the [crate docs](crate)).
//!
//! Each check returns `Err(message)` naming what broke; the message is what a crash report
//! (and a replay test failure) shows.

use crate::route::{Effect, FdEffect};
use crate::world::{THREADS, ThreadState, World};
use oxv_abi::linux::signal::{SIG_DFL, Signal};
use oxv_abi::linux::system::RlimitResource;
use oxv_abi::{UserMemory, UserPtr};
use oxv_mm::{PAGE_SIZE, PteFlags, USER_TOP};
use oxv_sched::futex::FutexKey;
use oxv_sched::futex::pi::{TID_MASK, WAITERS};
use oxv_sched::signal::SA_KNOWN_FLAGS;
use oxv_sched::syscalls::futex::pi::Pending;

/// The open fds before an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdSnapshot {
    fds: Vec<i32>,
}

impl FdSnapshot {
    /// Records the open fds of `world`.
    pub fn take(world: &World) -> FdSnapshot {
        FdSnapshot {
            fds: world.proc.files.fds(),
        }
    }

    fn lowest_free_from(&self, min: i32) -> i32 {
        (min..)
            .find(|fd| self.fds.binary_search(fd).is_err())
            .expect("some fd is free")
    }
}

/// The lock words of the PI futexes the kernel holds state for or a blocked PI call waits
/// for (or was given: a woken thread that has not run yet), before an operation: what
/// changes them other than a PI call is the app's writing (a store, `FUTEX_WAKE_OP`, a
/// `read` into it), after which the word need not name the owner.
#[derive(Clone, Debug)]
pub struct PiWords {
    words: Vec<(FutexKey, Option<u32>)>,
    pi_calls: u64,
}

impl PiWords {
    /// Records the PI lock words of `world`.
    pub fn take(world: &mut World) -> PiWords {
        world.with_mem(|mem, p| {
            let t = &p.threads;
            let mut keys: Vec<FutexKey> = t.futex.table.pi.locks().map(|l| l.key).collect();
            keys.extend(t.futex.pending.iter().flatten().map(pending_lock));
            keys.sort_unstable();
            keys.dedup();
            PiWords {
                words: keys.into_iter().map(|k| (k, read_word(mem, k))).collect(),
                pi_calls: t.pi_calls,
            }
        })
    }

    /// After the operation: a word that changed while no PI call ran was the app's doing.
    pub fn note_app_writes(&self, world: &mut World) {
        world.with_mem(|mem, p| {
            let t = &mut p.threads;
            if t.pi_calls == self.pi_calls {
                for &(key, before) in &self.words {
                    if read_word(mem, key) != before {
                        t.pi_scribbled.insert(key);
                    }
                }
            }
            let (table, pending) = (&t.futex.table.pi, &t.futex.pending);
            t.pi_scribbled.retain(|&k| {
                table.contains(k) || pending.iter().flatten().any(|p| pending_lock(p) == k)
            });
        });
    }
}

/// The PI futex a blocked call locks.
fn pending_lock(p: &Pending) -> FutexKey {
    match *p {
        Pending::Lock { key, .. } => key,
        Pending::WaitRequeue { key2, .. } => key2,
    }
}

fn read_word(mem: &dyn UserMemory, key: FutexKey) -> Option<u32> {
    UserPtr::<u32>::new(key.offset).read(mem).ok()
}

/// Runs every check; `last` is the snapshot taken before the operation and its effect.
pub fn all(world: &mut World, last: Option<(&FdSnapshot, &Effect)>) -> Result<(), String> {
    if let Some((before, effect)) = last {
        result(effect)?;
        fd_table(world, before, effect)?;
    }
    address_space(world)?;
    signals(world)?;
    process(world)?;
    futexes(world)?;
    Ok(())
}

/// A successful result must not look like an error when the kernel encodes it.
fn result(effect: &Effect) -> Result<(), String> {
    if let Some(Ok(v)) = effect.result {
        let raw = oxv_abi::errno::encode_result(Ok(v));
        if raw >= (-4095i64) as u64 {
            return Err(format!(
                "success value {v:#x} reads as errno {} in rax",
                raw.wrapping_neg()
            ));
        }
    }
    Ok(())
}

fn fd_table(world: &World, before: &FdSnapshot, effect: &Effect) -> Result<(), String> {
    let files = &world.proc.files;
    let after = files.fds();
    let limit = files.limit() as i32;
    if let Some(&fd) = after.iter().find(|&&fd| fd < 0 || fd >= limit) {
        return Err(format!("fd {fd} open outside 0..{limit}"));
    }
    let nofile = world.proc.limits.soft(RlimitResource::Nofile);
    let mut expected = before.fds.clone();
    match effect.fds {
        FdEffect::None => {}
        FdEffect::Allocated { min } => {
            let Some(Ok(v)) = effect.result else {
                unreachable!("an fd effect is only recorded for a success")
            };
            let fd = v as i32;
            let lowest = before.lowest_free_from(min);
            if fd != lowest {
                return Err(format!(
                    "new fd {fd}, but the lowest free fd at or above {min} was {lowest}"
                ));
            }
            if world.proc.strict && fd as u64 >= nofile {
                return Err(format!(
                    "new fd {fd} at or above RLIMIT_NOFILE ({nofile}): setrlimit does not \
                     reach the fd table (bug 2 in docs/robustness.md)"
                ));
            }
            expected.push(fd);
        }
        FdEffect::Installed(fd) => {
            if !expected.contains(&fd) {
                expected.push(fd);
            }
        }
        FdEffect::Closed(fd) => expected.retain(|&f| f != fd),
        FdEffect::Pair => {
            for _ in 0..2 {
                expected.sort_unstable();
                let fd = FdSnapshot {
                    fds: expected.clone(),
                }
                .lowest_free_from(0);
                if world.proc.strict && fd as u64 >= nofile {
                    return Err(format!(
                        "new fd {fd} at or above RLIMIT_NOFILE {nofile} (pipe)"
                    ));
                }
                expected.push(fd);
            }
        }
        FdEffect::ClosedRange { first, last } => {
            expected.retain(|&f| !(first..=last).contains(&(f as u32)));
        }
        FdEffect::Received => {
            // As many new fds as appeared, each the lowest free one when it was installed.
            let new = after.len().saturating_sub(before.fds.len());
            for _ in 0..new {
                expected.sort_unstable();
                let fd = FdSnapshot {
                    fds: expected.clone(),
                }
                .lowest_free_from(0);
                if world.proc.strict && fd as u64 >= nofile {
                    return Err(format!(
                        "received fd {fd} at or above RLIMIT_NOFILE {nofile}"
                    ));
                }
                expected.push(fd);
            }
        }
    }
    expected.sort_unstable();
    if after != expected {
        return Err(format!(
            "open fds {after:?} after the call, expected {expected:?} (before: {:?}, effect \
             {:?})",
            before.fds, effect.fds
        ));
    }
    Ok(())
}

fn address_space(world: &World) -> Result<(), String> {
    let mm = &world.mm;
    let page = PAGE_SIZE as u64;
    let mut prev_end = 0u64;
    let vmas: Vec<_> = mm.vmas().collect();
    for v in &vmas {
        let (s, e) = (v.start(), v.end());
        if s >= e {
            return Err(format!("empty or inverted VMA {s:#x}..{e:#x}"));
        }
        if s % page != 0 || e % page != 0 {
            return Err(format!("unaligned VMA {s:#x}..{e:#x}"));
        }
        if e > USER_TOP {
            return Err(format!("VMA {s:#x}..{e:#x} leaves the user half"));
        }
        if s < prev_end {
            return Err(format!(
                "VMA {s:#x}..{e:#x} overlaps or precedes the one before"
            ));
        }
        prev_end = e;
    }
    let (brk_start, brk) = mm.brk_range();
    if brk < brk_start {
        return Err(format!("break {brk:#x} below its start {brk_start:#x}"));
    }
    let pt = mm.page_table();
    let mut entries = 0usize;
    for (pg, _frame, flags) in pt.entries() {
        entries += 1;
        let a = pg.start_address().as_u64();
        let Some(v) = mm.find_vma(a) else {
            return Err(format!("page-table entry at {a:#x} outside every VMA"));
        };
        if !flags.contains(PteFlags::USER) {
            return Err(format!("user page {a:#x} without the USER bit"));
        }
        let prot = v.prot();
        if flags.contains(PteFlags::WRITABLE) && !prot.contains(oxv_mm::Prot::WRITE) {
            return Err(format!("page {a:#x} writable in a VMA with {prot:?}"));
        }
        if !flags.contains(PteFlags::NO_EXECUTE) && !prot.contains(oxv_mm::Prot::EXEC) {
            return Err(format!("page {a:#x} executable in a VMA with {prot:?}"));
        }
        if prot.is_accessible() == flags.contains(PteFlags::NO_ACCESS) {
            return Err(format!(
                "page {a:#x}: entry {flags:?} disagrees with the VMA's {prot:?}"
            ));
        }
    }
    if entries != mm.resident_pages() {
        return Err(format!(
            "{entries} page-table entries, but the resident count says {}",
            mm.resident_pages()
        ));
    }
    // With one process nothing is shared: every mapped page holds a frame of its own (page
    // tables take more; the exact total is checked at teardown).
    let machine = world.machine();
    let used = world.free_at_start() - machine.frames.free_frames();
    if used < entries {
        return Err(format!(
            "{entries} pages mapped with only {used} frames in use (a frame mapped twice?)"
        ));
    }
    Ok(())
}

fn signals(world: &World) -> Result<(), String> {
    let st = &world.proc.signals;
    for sig in [Signal::SIGKILL, Signal::SIGSTOP] {
        if st.blocked().contains(sig) {
            return Err(format!("{sig} is blocked"));
        }
        if st.action(sig).handler != SIG_DFL {
            return Err(format!("{sig} has a handler"));
        }
    }
    for n in 1..=64 {
        let sig = Signal::new(n).expect("1..=64 are signals");
        let act = st.action(sig);
        if act.flags & !SA_KNOWN_FLAGS != 0 {
            return Err(format!("{sig}: unknown sa_flags {:#x} kept", act.flags));
        }
        if act.mask.contains(Signal::SIGKILL) || act.mask.contains(Signal::SIGSTOP) {
            return Err(format!("{sig}: handler mask holds SIGKILL or SIGSTOP"));
        }
    }
    Ok(())
}

fn process(world: &World) -> Result<(), String> {
    let p = &world.proc;
    for &r in RlimitResource::ALL {
        let l = p.limits.get(r);
        if l.rlim_cur > l.rlim_max {
            return Err(format!("{}: soft limit above the hard one", r.name()));
        }
    }
    let umask = p.cx.umask();
    if umask & !0o777 != 0 {
        return Err(format!("umask {umask:#o}"));
    }
    if !p.cx.cwd().is_dir() {
        return Err("the cwd is not a directory".into());
    }
    Ok(())
}

/// The fake threads and the futex table agree: the current thread is runnable, a runnable
/// thread is queued nowhere (futex_waitv(2)'s entries are gone once it returns), a parked
/// one on exactly one key; every key the table holds has waiters, and as many as its queue
/// lists; no wake took a thread that was not parked.
fn futexes(world: &mut World) -> Result<(), String> {
    let t = &world.proc.threads;
    if let Some(v) = &t.violation {
        return Err(v.clone());
    }
    if t.futex.current >= THREADS || t.state[t.futex.current] != ThreadState::Runnable {
        return Err(format!(
            "the current thread {} is not runnable ({:?})",
            t.futex.current,
            t.state.get(t.futex.current)
        ));
    }
    let mut queued = [0usize; THREADS];
    let mut per_key = std::collections::BTreeMap::new();
    for (key, &who) in t.futex.table.queued() {
        let Some(n) = queued.get_mut(who) else {
            return Err(format!(
                "futex table holds thread {who}, which does not exist"
            ));
        };
        *n += 1;
        *per_key.entry(key).or_insert(0usize) += 1;
    }
    for key in t.futex.table.keys() {
        let (listed, counted) = (
            per_key.get(&key).copied().unwrap_or(0),
            t.futex.table.waiters(key),
        );
        if listed == 0 || listed != counted {
            return Err(format!(
                "futex key {key:?}: {listed} waiters queued, the count says {counted}"
            ));
        }
    }
    if per_key.len() != t.futex.table.keys().count() {
        return Err("futex table lists waiters under a key it has no queue for".into());
    }
    for l in t.futex.table.pi.locks() {
        for &who in l.waiters {
            let Some(n) = queued.get_mut(who) else {
                return Err(format!("PI futex {:?} holds thread {who}", l.key));
            };
            *n += 1;
        }
    }
    for (who, (&n, state)) in queued.iter().zip(&t.state).enumerate() {
        let expected = match state {
            ThreadState::Runnable => 0,
            ThreadState::Parked { .. } => 1,
        };
        if n != expected {
            return Err(format!(
                "thread {who} ({state:?}) is queued {n} times on the futex table (PI waiters \
                 included)"
            ));
        }
    }
    pi_futexes(world)
}

/// The PI futexes agree with the threads and their words: a parked thread blocked in a PI
/// call is queued where its call waits (a `FUTEX_LOCK_PI` on its lock's PI waiters; a
/// `FUTEX_WAIT_REQUEUE_PI` on the condition's plain queue or, once requeued, on the lock's
/// PI waiters, never both), a thread parked in a plain wait on no PI futex; a PI futex's
/// state has a waiter (or an owner still to fix the word), its owner is not among its
/// waiters, and, unless the app wrote the word, the word holds the owner's TID and
/// `FUTEX_WAITERS`.
fn pi_futexes(world: &mut World) -> Result<(), String> {
    world.with_mem(|mem, p| {
        let t = &p.threads;
        let mut on_pi: [Vec<FutexKey>; THREADS] = Default::default();
        for l in t.futex.table.pi.locks() {
            let waiters: Vec<usize> = l.waiters.clone().copied().collect();
            if waiters.is_empty() && !l.owner_fixing_word {
                return Err(format!("PI futex {:?}: state without a waiter", l.key));
            }
            if waiters.contains(l.owner) {
                return Err(format!(
                    "PI futex {:?}: its owner {} waits for it",
                    l.key, l.owner
                ));
            }
            for &w in &waiters {
                let Some(keys) = on_pi.get_mut(w) else {
                    return Err(format!("PI futex {:?} holds thread {w}", l.key));
                };
                keys.push(l.key);
            }
            if l.owner_fixing_word || waiters.is_empty() || t.pi_scribbled.contains(&l.key) {
                continue;
            }
            let expected = t.futex.tids[*l.owner] as u32;
            match read_word(mem, l.key) {
                Some(word) if word & TID_MASK == expected && word & WAITERS != 0 => {}
                word => {
                    return Err(format!(
                        "PI futex {:?}: owner thread {} (TID {expected}) with waiters \
                         {waiters:?}, but the word is {word:x?}",
                        l.key, l.owner
                    ));
                }
            }
        }
        let mut on_plain: [Vec<FutexKey>; THREADS] = Default::default();
        for (key, &who) in t.futex.table.queued() {
            if let Some(keys) = on_plain.get_mut(who) {
                keys.push(key);
            }
        }
        for who in 0..THREADS {
            let (plain, pi) = (&on_plain[who], &on_pi[who]);
            let parked = matches!(t.state[who], ThreadState::Parked { .. });
            let fits = match (parked, t.futex.pending[who]) {
                (false, _) => pi.is_empty(),
                (true, None) => pi.is_empty(),
                (true, Some(Pending::Lock { key, .. })) => plain.is_empty() && pi == &[key],
                (true, Some(Pending::WaitRequeue { key1, key2, .. })) => {
                    (plain == &[key1] && pi.is_empty()) || (plain.is_empty() && pi == &[key2])
                }
            };
            if !fits {
                return Err(format!(
                    "thread {who} ({:?}, blocked in {:?}) queued on {plain:?} and as a PI \
                     waiter on {pi:?}",
                    t.state[who], t.futex.pending[who]
                ));
            }
        }
        Ok(())
    })
}
