//! The pool of RTP/RTCP port pairs a program hands out to call streams.
//!
//! Pairs are an even RTP port and the odd RTCP port after it (RFC 3550 §11). Released pairs go
//! to the back of the queue, so a port just freed is the last to be reused: late packets of an
//! ended call do not land in a new one.

use std::collections::{HashSet, VecDeque};

/// Free and used RTP/RTCP pairs of a port range.
#[derive(Debug)]
pub struct PortPool {
    free: VecDeque<u16>,
    used: HashSet<u16>,
    total: usize,
}

impl PortPool {
    /// The pairs in `start..=end` (rounded in to even RTP ports), except those whose RTP or
    /// RTCP port is in `reserved` (exp-e's demultiplexing ports).
    pub fn new(start: u16, end: u16, reserved: &[u16]) -> Self {
        let first = u32::from(start) + u32::from(start % 2);
        let free: VecDeque<u16> = (first..u32::from(end))
            .step_by(2)
            .filter_map(|p| u16::try_from(p).ok())
            .filter(|&p| p != 0 && !reserved.contains(&p) && !reserved.contains(&(p + 1)))
            .collect();
        let total = free.len();
        PortPool {
            free,
            used: HashSet::new(),
            total,
        }
    }

    /// Takes the next free pair; its RTP port (RTCP is one more). `None` when exhausted.
    pub fn allocate(&mut self) -> Option<u16> {
        let p = self.free.pop_front()?;
        self.used.insert(p);
        Some(p)
    }

    /// Returns a pair. Ports that are not in use (double release, foreign ports) are ignored.
    pub fn release(&mut self, rtp_port: u16) {
        if self.used.remove(&rtp_port) {
            self.free.push_back(rtp_port);
        }
    }

    /// Free pairs.
    pub fn free(&self) -> usize {
        self.free.len()
    }

    /// Pairs in the pool, free or used.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Pairs in use.
    pub fn in_use(&self) -> usize {
        self.used.len()
    }
}
