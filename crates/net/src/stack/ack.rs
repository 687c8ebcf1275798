//! Delayed ACKs, and the two cases where the held-back ACK goes out at once.
//!
//! Every TCP connection, loopback included, keeps smoltcp's delayed ACK (10 ms): data that
//! arrives is acknowledged by the next frame the connection sends, which in a request and
//! answer exchange is the answer. A 1-byte ping-pong then costs 2 segments per round trip
//! instead of 4 (data, ACK, answer, ACK).
//!
//! smoltcp sends a held-back ACK early only when more than one full segment is
//! unacknowledged or the receive window doubled. A sender whose send buffer is smaller than
//! a segment (65,495 bytes on the loopback) would then wait the whole delay for room each
//! time it filled its buffer. Two escape hatches send the ACK at once:
//!
//! 1. **A read that empties the receive queue** of a connection not in ping-pong mode
//!    ([`super::ConnSet::consume`]): nothing is left to read and no answer is expected to
//!    carry the ACK. A connection is in ping-pong mode once the app queues data after data
//!    arrived (it answers), and leaves it when the delay timer sent the ACK (no answer came).
//! 2. **A segment from a sender whose send buffer is full**, on the loopback, where the
//!    sender is a connection of the same stack ([`super::Conns::ingress`]): it waits for
//!    room that only this ACK gives, whatever the receiver does.
//!
//! A connection also acknowledges its first segments with data at once (two): the peer's
//! first view of the window comes from the SYN, unscaled (64 KiB at most), and a sender that
//! filled it waits for the ACK that shows the real window, however much it has to send.
//!
//! [`super::ConnSet`] follows whether an ACK is held back: data arrived (the receive queue
//! grew) and no frame went out since, as every frame smoltcp builds acknowledges all that
//! arrived.
//!
//! # Sending the held-back ACK now
//!
//! smoltcp 0.14 has no call for it. `set_ack_delay(None)` does not do it: the delay is read
//! only when a segment arrives, to start the timer (`Waiting(arrival + delay)`); `dispatch`
//! sends a pure ACK when `delayed_ack_expired(now)` holds, which looks at the timer alone.
//! A timer already running keeps running whatever the delay is set to afterwards.
//!
//! What works is running egress for the connection's own set (one socket: see
//! [`super::conns`]) with the clock `now + delay`, which is at or past the timer's expiry
//! since the data arrived at or before `now`. It is done only when that clock changes
//! nothing else ([`super::ConnSet`]'s `send_owed_ack`):
//!
//! - the send buffer is empty and the state is ESTABLISHED or FIN-WAIT-2, so nothing is
//!   unacknowledged (smoltcp keeps sent data in the buffer until it is acknowledged; a FIN
//!   in flight means FIN-WAIT-1, CLOSING or LAST-ACK): no retransmission timer runs, no data
//!   or FIN is sent, no round-trip sample is taken, and TIME-WAIT's timer is not involved;
//! - the stack sets no user timeout (`set_timeout`), so the connection cannot time out;
//! - the checks before the ACK in `dispatch` (data or flags to send) are false, so the ACK
//!   is what goes: the frame's fields (sequence, ACK number, window, timestamps) do not
//!   depend on the clock;
//! - afterwards the keep-alive timer restarts from the later clock: the next probe comes up
//!   to 10 ms late, which keep-alive (intervals of seconds) does not notice;
//! - the interface's own egress work at that clock (fragments, SLAAC, multicast reports) is
//!   compiled out in this stack; on Ethernet a neighbour entry within 10 ms of expiring may
//!   look expired, and then the ACK is not sent and waits for its timer as before.
//!
//! When the send buffer is not empty the hatch does nothing: data in flight comes back
//! acknowledged by the peer, and the ACK rides on the next data this side sends.
