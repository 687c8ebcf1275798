//! The line discipline of a pty pair: the slave's termios applied to the bytes crossing the
//! pair (input processing, canonical line editing, echo, output processing), as Linux's
//! n_tty does for the cases [`super`] lists. No waiting and no readiness here: the pair's
//! files call it under the pair's lock and announce what changed.

use super::BUFFER_SIZE;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use linux_raw_sys::general as raw;
use oxv_abi::linux::fs::{Termios, Winsize};
use oxv_abi::linux::signal::Signal;

/// Echo stops while this much output waits for the master: erase keys take no input room,
/// so without a bound a master writing "a DEL" forever would grow the queue without end
/// (n_tty's echo buffer is fixed too, and drops what does not fit).
const ECHO_ROOM: usize = 2 * BUFFER_SIZE;

/// In the slave's input queue: a `VEOF` that ends a canonical line without a byte.
pub(super) const EOF_MARK: u16 = 0x100;

/// A pair's shared state: settings and both directions' queues.
pub(super) struct PairState {
    pub(super) termios: Termios,
    pub(super) winsize: Winsize,
    /// Signals the input raised (`ISIG`), for the foreground group once the lock is let go.
    pub(super) raised: Vec<Signal>,
    pub(super) locked: bool,
    pub(super) master_open: bool,
    pub(super) slaves: usize,
    /// The last slave closed (Linux's `TTY_OTHER_CLOSED` on the master); a new slave open
    /// clears it.
    pub(super) slaves_closed: bool,
    /// Slave output (and echo), for the master to read.
    pub(super) to_master: VecDeque<u8>,
    /// Input the slave can read: bytes, and [`EOF_MARK`]s in canonical mode.
    pub(super) input: VecDeque<u16>,
    /// The canonical line being edited.
    pub(super) line: Vec<u8>,
    /// `VLNEXT` came: the next byte is taken literally.
    pub(super) literal_next: bool,
}

impl PairState {
    pub(super) fn new() -> PairState {
        PairState {
            termios: Termios::linux_default(),
            winsize: Winsize::default(),
            raised: Vec::new(),
            locked: true,
            master_open: true,
            slaves: 0,
            slaves_closed: false,
            to_master: VecDeque::new(),
            input: VecDeque::new(),
            line: Vec::new(),
            literal_next: false,
        }
    }

    pub(super) fn lflag(&self, f: u32) -> bool {
        self.termios.c_lflag & f != 0
    }

    pub(super) fn iflag(&self, f: u32) -> bool {
        self.termios.c_iflag & f != 0
    }

    pub(super) fn cc(&self, i: u32) -> u8 {
        self.termios.c_cc[i as usize]
    }

    pub(super) fn is_line_end(&self, c: u16) -> bool {
        if c == EOF_MARK || c == u16::from(b'\n') {
            return true;
        }
        let (eol, eol2) = (self.cc(raw::VEOL), self.cc(raw::VEOL2));
        (eol != 0 && c == u16::from(eol)) || (eol2 != 0 && c == u16::from(eol2))
    }

    /// Whether poll(2) shows the slave readable: a whole line in canonical mode, else
    /// `VMIN` bytes when `VTIME` is 0 (n_tty's `input_available_p`), else one byte.
    pub(super) fn slave_readable(&self) -> bool {
        if self.lflag(raw::ICANON) {
            return self.input.iter().any(|&c| self.is_line_end(c));
        }
        let (vmin, vtime) = (self.cc(raw::VMIN), self.cc(raw::VTIME));
        let need = if vtime == 0 && vmin > 0 {
            usize::from(vmin)
        } else {
            1
        };
        self.input.len() >= need
    }

    pub(super) fn input_room(&self) -> usize {
        BUFFER_SIZE.saturating_sub(self.input.len() + self.line.len())
    }

    /// Output processing of one byte into the master's queue.
    pub(super) fn output(&mut self, c: u8) {
        let t = self.termios;
        if t.c_oflag & raw::OPOST != 0 {
            if c == b'\n' && t.c_oflag & raw::ONLCR != 0 {
                self.to_master.extend([b'\r', b'\n']);
                return;
            }
            if c == b'\r' && t.c_oflag & raw::OCRNL != 0 {
                self.to_master.push_back(b'\n');
                return;
            }
        }
        self.to_master.push_back(c);
    }

    pub(super) fn echo(&mut self, c: u8) {
        let ctl = (c < 0x20 && c != b'\t' && c != b'\n') || c == 0x7f;
        if ctl && self.lflag(raw::ECHOCTL) {
            self.to_master.extend([b'^', c ^ 0x40]);
        } else {
            self.output(c);
        }
    }

    pub(super) fn erase_echo(&mut self, n: usize) {
        for _ in 0..n {
            self.to_master.extend([8, b' ', 8]);
        }
    }

    /// Input processing of one byte the master wrote.
    pub(super) fn input_byte(&mut self, mut c: u8) {
        if self.iflag(raw::ISTRIP) {
            c &= 0x7f;
        }
        let room = self.to_master.len() < ECHO_ROOM;
        let echo = self.lflag(raw::ECHO) && room;
        if core::mem::take(&mut self.literal_next) {
            // As n_tty's lnext path: no mapping, no special meaning; the echo overwrites the
            // "^" left by VLNEXT.
            if echo {
                self.echo(c);
            }
            if self.lflag(raw::ICANON) {
                self.line.push(c);
            } else {
                self.input.push_back(u16::from(c));
            }
            return;
        }
        if self.lflag(raw::ISIG) && self.signal_key(c) {
            return;
        }
        let iexten = self.lflag(raw::IEXTEN);
        if iexten && c != 0 && c == self.cc(raw::VLNEXT) {
            self.literal_next = true;
            if echo && self.lflag(raw::ECHOCTL) {
                self.to_master.extend([b'^', 8]);
            }
            return;
        }
        if c == b'\r' {
            if self.iflag(raw::IGNCR) {
                return;
            }
            if self.iflag(raw::ICRNL) {
                c = b'\n';
            }
        } else if c == b'\n' && self.iflag(raw::INLCR) {
            c = b'\r';
        }
        if !self.lflag(raw::ICANON) {
            self.input.push_back(u16::from(c));
            if echo {
                self.echo(c);
            }
            return;
        }
        let cc = |i| self.cc(i);
        if c != 0 && c == cc(raw::VERASE) {
            if self.line.pop().is_some() && echo && self.lflag(raw::ECHOE) {
                self.erase_echo(1);
            }
            return;
        }
        if iexten && c != 0 && c == cc(raw::VWERASE) {
            // BSD's ALTWERASE, as n_tty: non-word bytes, then the word before them.
            let mut seen_word = false;
            let mut n = 0;
            while let Some(&last) = self.line.last() {
                let word = last.is_ascii_alphanumeric() || last == b'_';
                if !word && seen_word {
                    break;
                }
                seen_word |= word;
                self.line.pop();
                n += 1;
            }
            if echo && self.lflag(raw::ECHOE) {
                self.erase_echo(n);
            }
            return;
        }
        if c != 0 && c == cc(raw::VKILL) {
            let n = self.line.len();
            self.line.clear();
            if echo && self.lflag(raw::ECHOKE) {
                self.erase_echo(n);
            } else if echo && self.lflag(raw::ECHOK) {
                self.echo(c);
                self.output(b'\n');
            }
            return;
        }
        if c != 0 && c == cc(raw::VEOF) {
            self.commit_line();
            self.input.push_back(EOF_MARK);
            return;
        }
        self.line.push(c);
        let ends = self.is_line_end(u16::from(c));
        if echo || (room && c == b'\n' && self.lflag(raw::ECHONL)) {
            self.echo(c);
        }
        if ends {
            self.commit_line();
        }
    }

    /// `VINTR`, `VQUIT` and `VSUSP` under `ISIG` (n_tty's `n_tty_receive_signal_char`):
    /// raise `SIGINT`, `SIGQUIT` or `SIGTSTP`, flush both directions unless `NOFLSH`, then
    /// echo the key. Whether `c` was one.
    fn signal_key(&mut self, c: u8) -> bool {
        let Some(sig) = crate::tty::signal_key(&self.termios, c) else {
            return false;
        };
        self.raised.push(sig);
        if !self.lflag(raw::NOFLSH) {
            self.input.clear();
            self.line.clear();
            self.to_master.clear();
        }
        if self.lflag(raw::ECHO) && self.to_master.len() < ECHO_ROOM {
            self.echo(c);
        }
        true
    }

    pub(super) fn commit_line(&mut self) {
        let line = core::mem::take(&mut self.line);
        self.input.extend(line.iter().map(|&b| u16::from(b)));
    }

    /// What a slave read of at most `max` bytes would return, and how many queue entries it
    /// consumes; `None` when nothing is readable.
    pub(super) fn peek_input(&self, max: usize) -> Option<(Vec<u8>, usize)> {
        let canon = self.lflag(raw::ICANON);
        if canon && !self.slave_readable() {
            return None;
        }
        let mut out = Vec::new();
        let mut used = 0;
        for &c in &self.input {
            if out.len() == max {
                break;
            }
            used += 1;
            if c == EOF_MARK {
                break;
            }
            out.push(c as u8);
            if canon && self.is_line_end(c) {
                break;
            }
        }
        Some((out, used))
    }

    pub(super) fn set_termios(&mut self, t: Termios) {
        let was_canon = self.lflag(raw::ICANON);
        self.termios = t;
        if was_canon && !self.lflag(raw::ICANON) {
            // Leaving canonical mode makes the partial line readable, as n_tty does.
            self.commit_line();
            self.input.retain(|&c| c != EOF_MARK);
        }
    }
}
