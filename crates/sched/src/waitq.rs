//! Wait queues: threads (or any waiter handle) blocked until an event, woken in FIFO order.
//!
//! The queue only holds handles; blocking and running them is the kernel's job. A waiter that
//! stops waiting for another reason (a timeout, a signal) removes itself with
//! [`WaitQueue::remove`], so a wake never picks a thread that is no longer waiting.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// A FIFO of waiters.
#[derive(Debug)]
pub struct WaitQueue<T> {
    waiters: VecDeque<T>,
}

impl<T> Default for WaitQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> WaitQueue<T> {
    /// An empty queue.
    pub const fn new() -> Self {
        WaitQueue {
            waiters: VecDeque::new(),
        }
    }
}

impl<T: PartialEq> WaitQueue<T> {
    /// Adds a waiter at the back.
    pub fn push(&mut self, waiter: T) {
        self.waiters.push_back(waiter);
    }

    /// Takes the longest-waiting waiter.
    pub fn wake_one(&mut self) -> Option<T> {
        self.waiters.pop_front()
    }

    /// Takes every waiter, oldest first.
    pub fn wake_all(&mut self) -> Vec<T> {
        self.waiters.drain(..).collect()
    }

    /// Removes `waiter` if it is queued; returns whether it was.
    pub fn remove(&mut self, waiter: &T) -> bool {
        match self.waiters.iter().position(|w| w == waiter) {
            Some(i) => {
                self.waiters.remove(i);
                true
            }
            None => false,
        }
    }

    /// How many wait.
    pub fn len(&self) -> usize {
        self.waiters.len()
    }

    /// Whether nobody waits.
    pub fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_and_removal() {
        let mut q = WaitQueue::new();
        q.push(1);
        q.push(2);
        q.push(3);
        assert!(q.remove(&2));
        assert!(!q.remove(&2));
        assert_eq!(q.wake_one(), Some(1));
        q.push(4);
        assert_eq!(q.wake_all(), [3, 4]);
        assert!(q.is_empty() && q.wake_one().is_none());
    }
}
