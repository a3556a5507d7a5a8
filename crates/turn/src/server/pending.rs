//! Requests waiting for a delegated credential check (SPEC: exp-e may ask a traversal client
//! to check TURN credentials against its own database). The credential source answers
//! `Pending`; the request waits here, bounded in number and in time, until the runtime reports
//! the answer. The runtime is told once per username, not once per request, so a client's
//! retransmissions do not multiply the checks.

use std::collections::{HashSet, VecDeque};
use std::time::Instant;

use crate::message::Message;

use super::io::ClientKey;

/// A request waiting for the keys of `username`.
pub(crate) struct PendingRequest {
    pub(crate) client: ClientKey,
    pub(crate) msg: Message,
    pub(crate) username: String,
    pub(crate) deadline: Instant,
}

/// The queue, oldest first.
#[derive(Default)]
pub(crate) struct Pending {
    queue: VecDeque<PendingRequest>,
    waiting: HashSet<String>,
}

/// What queuing a request did.
pub(crate) struct Queued {
    /// First request for this username: tell the runtime.
    pub(crate) ask: bool,
    /// Requests pushed out because the queue was full.
    pub(crate) evicted: u64,
}

impl Pending {
    pub(crate) fn push(&mut self, req: PendingRequest, limit: usize) -> Queued {
        let mut evicted = 0;
        if limit == 0 {
            return Queued {
                ask: false,
                evicted: 1,
            };
        }
        // A retransmission of a request already waiting replaces nothing: keep the first.
        let txid = req.msg.transaction_id();
        if self
            .queue
            .iter()
            .any(|p| p.client == req.client && p.msg.transaction_id() == txid)
        {
            return Queued {
                ask: false,
                evicted: 0,
            };
        }
        while self.queue.len() >= limit {
            if let Some(old) = self.queue.pop_front() {
                evicted += 1;
                self.forget_if_unused(&old.username);
            }
        }
        let ask = self.waiting.insert(req.username.clone());
        self.queue.push_back(req);
        Queued { ask, evicted }
    }

    /// Takes every request waiting for `username`.
    pub(crate) fn take_user(&mut self, username: &str) -> Vec<PendingRequest> {
        self.waiting.remove(username);
        let mut taken = Vec::new();
        let mut kept = VecDeque::with_capacity(self.queue.len());
        for p in self.queue.drain(..) {
            if p.username == username {
                taken.push(p);
            } else {
                kept.push_back(p);
            }
        }
        self.queue = kept;
        taken
    }

    /// Drops requests whose deadline has passed; returns how many.
    pub(crate) fn expire(&mut self, now: Instant) -> u64 {
        let before = self.queue.len();
        let mut expired = Vec::new();
        self.queue.retain(|p| {
            let keep = p.deadline > now;
            if !keep {
                expired.push(p.username.clone());
            }
            keep
        });
        for u in expired {
            self.forget_if_unused(&u);
        }
        (before - self.queue.len()) as u64
    }

    /// Drops the requests of a client that went away.
    pub(crate) fn remove_client(&mut self, client: &ClientKey) {
        let mut gone = Vec::new();
        self.queue.retain(|p| {
            let keep = p.client != *client;
            if !keep {
                gone.push(p.username.clone());
            }
            keep
        });
        for u in gone {
            self.forget_if_unused(&u);
        }
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.queue.iter().map(|p| p.deadline).min()
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// A username with no request left is no longer waited for, so the next request asks the
    /// runtime again.
    fn forget_if_unused(&mut self, username: &str) {
        if !self.queue.iter().any(|p| p.username == username) {
            self.waiting.remove(username);
        }
    }
}
