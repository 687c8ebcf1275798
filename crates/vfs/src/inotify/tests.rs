//! The event queue on its own: merging, overflow, record sizes.

use super::*;

fn ev(wd: i32, m: u32, name: &[u8]) -> Event {
    Event {
        wd,
        mask: m,
        cookie: 0,
        name: name.to_vec(),
    }
}

#[test]
fn identical_unread_events_merge_with_the_last_only() {
    let mut st = State::default();
    assert!(st.push(ev(1, mask::MODIFY, b"a")));
    assert!(
        !st.push(ev(1, mask::MODIFY, b"a")),
        "same as the last: merged"
    );
    assert!(st.push(ev(1, mask::MODIFY, b"b")));
    assert!(st.push(ev(1, mask::MODIFY, b"a")), "not the last one: kept");
    assert_eq!(st.events.len(), 3);
    assert_eq!(st.bytes, 3 * 32);
}

#[test]
fn a_full_queue_ends_with_one_overflow_event() {
    let mut st = State::default();
    for i in 0..MAX_QUEUED_EVENTS {
        assert!(st.push(ev(1, mask::CREATE, alloc::format!("{i}").as_bytes())));
    }
    assert!(st.push(ev(1, mask::CREATE, b"lost")));
    assert!(!st.push(ev(1, mask::CREATE, b"lost too")));
    assert_eq!(st.events.len(), MAX_QUEUED_EVENTS + 1);
    let last = st.events.back().unwrap();
    assert_eq!((last.wd, last.mask), (-1, mask::Q_OVERFLOW));
}

#[test]
fn names_are_padded_to_a_multiple_of_the_header() {
    assert_eq!(ev(1, mask::OPEN, b"").size(), 16);
    assert_eq!(ev(1, mask::OPEN, b"a").size(), 32);
    assert_eq!(ev(1, mask::OPEN, &[b'x'; 15]).size(), 32);
    assert_eq!(
        ev(1, mask::OPEN, &[b'x'; 16]).size(),
        48,
        "room for the NUL"
    );
}
