//! One allocation (RFC 8656 §6): its relay, its owner, its lifetime, its permissions
//! (§9) and channel bindings (§12) and its traffic counters. Permissions and channels expire
//! lazily: the relay paths compare the expiry with the time they are given, so an expired entry
//! is never used even before the timer sweeps it away.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::message::TransactionId;

use super::credentials::LongTermKeys;
use super::hashing::{FastMap, FastState};
use super::io::{ClientKey, RelayId};
use super::stats::{ChannelInfo, PermissionInfo, Traffic};
use super::timers::deadline;

/// A channel binding (RFC 8656 §12).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Channel {
    pub(crate) peer: SocketAddr,
    /// Relaying stops here.
    pub(crate) expires: Instant,
    /// The entry (number and peer both reserved) is forgotten here: RFC 8656 §12 has clients
    /// wait 5 minutes after expiry before rebinding either elsewhere; the server holds them too.
    pub(crate) forget: Instant,
}

/// An allocation.
pub(crate) struct Allocation {
    pub(crate) client: ClientKey,
    pub(crate) relay: RelayId,
    /// Address the relay socket is bound to (its port is in the pool of `bind.ip()`).
    pub(crate) bind: SocketAddr,
    /// Relayed transport address as told to the client.
    pub(crate) relayed: SocketAddr,
    pub(crate) username: Arc<str>,
    /// Keys of the user, kept so that Refresh, CreatePermission and ChannelBind need no new
    /// credential lookup (RFC 8656 §5: later requests use the same credentials).
    pub(crate) keys: LongTermKeys,
    /// Transaction id of the Allocate that created it (retransmission detection, §7.2).
    pub(crate) txid: TransactionId,
    /// RESERVATION-TOKEN returned by that Allocate, if any.
    pub(crate) token: Option<[u8; 8]>,
    pub(crate) expires: Instant,
    /// The time the timer heap holds for this allocation (the earliest of its deadlines when
    /// last scheduled).
    pub(crate) timer_at: Option<Instant>,
    pub(crate) permissions: FastMap<IpAddr, Instant>,
    pub(crate) channels: FastMap<u16, Channel>,
    /// Peer → channel number and the channel's expiry (a copy, so the peer → client path
    /// needs one lookup).
    pub(crate) channel_by_peer: FastMap<SocketAddr, (u16, Instant)>,
    pub(crate) traffic: Traffic,
}

impl Allocation {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        client: ClientKey,
        relay: RelayId,
        bind: SocketAddr,
        relayed: SocketAddr,
        username: Arc<str>,
        keys: LongTermKeys,
        txid: TransactionId,
        token: Option<[u8; 8]>,
        expires: Instant,
        hasher: FastState,
    ) -> Allocation {
        Allocation {
            client,
            relay,
            bind,
            relayed,
            username,
            keys,
            txid,
            token,
            expires,
            timer_at: None,
            permissions: FastMap::with_hasher(hasher),
            channels: FastMap::with_hasher(hasher),
            channel_by_peer: FastMap::with_hasher(hasher),
            traffic: Traffic::default(),
        }
    }

    /// Whether a permission for `ip` is in force (RFC 8656 §9: the port does not matter).
    #[inline]
    pub(crate) fn permitted(&self, ip: IpAddr, now: Instant) -> bool {
        matches!(self.permissions.get(&ip), Some(exp) if *exp > now)
    }

    /// Installs or refreshes a permission.
    pub(crate) fn permit(&mut self, ip: IpAddr, until: Instant) {
        let e = self.permissions.entry(ip).or_insert(until);
        if *e < until {
            *e = until;
        }
    }

    /// Permissions in force.
    pub(crate) fn active_permissions(&self, now: Instant) -> usize {
        self.permissions.values().filter(|e| **e > now).count()
    }

    /// Channel bindings remembered (in force or cooling down).
    pub(crate) fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// The peer of a channel in force.
    #[inline]
    pub(crate) fn channel_peer(&self, number: u16, now: Instant) -> Option<SocketAddr> {
        match self.channels.get(&number) {
            Some(c) if c.expires > now => Some(c.peer),
            _ => None,
        }
    }

    /// The channel in force toward `peer`.
    #[inline]
    pub(crate) fn peer_channel(&self, peer: &SocketAddr, now: Instant) -> Option<u16> {
        match self.channel_by_peer.get(peer) {
            Some((n, expires)) if *expires > now => Some(*n),
            _ => None,
        }
    }

    /// Whether binding `number` to `peer` conflicts with another binding, in force or cooling
    /// down (RFC 8656 §12.2: 400 if the number is bound to another peer or the peer to another
    /// number).
    pub(crate) fn channel_conflict(&self, number: u16, peer: SocketAddr, now: Instant) -> bool {
        if let Some(c) = self.channels.get(&number) {
            if c.peer != peer && c.forget > now {
                return true;
            }
        }
        match self.channel_by_peer.get(&peer) {
            Some((n, _)) if *n != number => {
                matches!(self.channels.get(n), Some(c) if c.forget > now)
            }
            _ => false,
        }
    }

    /// Installs or refreshes a channel binding, replacing entries past their cool-down that
    /// the timer has not swept yet.
    pub(crate) fn bind_channel(
        &mut self,
        number: u16,
        peer: SocketAddr,
        until: Instant,
        cooldown: Duration,
    ) {
        if let Some(old) = self.channels.get(&number) {
            if old.peer != peer {
                let old_peer = old.peer;
                self.channel_by_peer.remove(&old_peer);
            }
        }
        if let Some(&(n, _)) = self.channel_by_peer.get(&peer) {
            if n != number {
                self.channels.remove(&n);
            }
        }
        self.channels.insert(
            number,
            Channel {
                peer,
                expires: until,
                forget: deadline(until, cooldown),
            },
        );
        self.channel_by_peer.insert(peer, (number, until));
    }

    /// Forgets expired permissions and channels past their cool-down.
    pub(crate) fn sweep(&mut self, now: Instant) {
        self.permissions.retain(|_, e| *e > now);
        let by_peer = &mut self.channel_by_peer;
        self.channels.retain(|_, c| {
            let keep = c.forget > now;
            if !keep {
                by_peer.remove(&c.peer);
            }
            keep
        });
        // Shrink tables that grew large and emptied, so a long-lived allocation does not keep
        // the memory of a past burst of peers.
        if self.permissions.capacity() > 16
            && self.permissions.len() < self.permissions.capacity() / 4
        {
            self.permissions.shrink_to_fit();
        }
        if self.channels.capacity() > 16 && self.channels.len() < self.channels.capacity() / 4 {
            self.channels.shrink_to_fit();
            self.channel_by_peer.shrink_to_fit();
        }
    }

    /// When something about this allocation next changes by itself: it expires, a permission
    /// expires, or a channel is forgotten.
    pub(crate) fn next_deadline(&self) -> Instant {
        let mut t = self.expires;
        for e in self.permissions.values() {
            t = t.min(*e);
        }
        for c in self.channels.values() {
            t = t.min(c.forget);
        }
        t
    }

    pub(crate) fn permission_info(&self, now: Instant) -> Vec<PermissionInfo> {
        let mut v: Vec<PermissionInfo> = self
            .permissions
            .iter()
            .filter(|(_, e)| **e > now)
            .map(|(ip, e)| PermissionInfo {
                peer: *ip,
                time_left: e.saturating_duration_since(now),
            })
            .collect();
        v.sort_by_key(|p| p.peer);
        v
    }

    pub(crate) fn channel_info(&self, now: Instant) -> Vec<ChannelInfo> {
        let mut v: Vec<ChannelInfo> = self
            .channels
            .iter()
            .filter(|(_, c)| c.expires > now)
            .map(|(n, c)| ChannelInfo {
                number: *n,
                peer: c.peer,
                time_left: c.expires.saturating_duration_since(now),
            })
            .collect();
        v.sort_by_key(|c| c.number);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_is_small() {
        // Without permissions nothing is on the heap but the shared username.
        let size = std::mem::size_of::<Allocation>();
        eprintln!(
            "Allocation {size} B, ClientKey {} B, Channel {} B",
            std::mem::size_of::<ClientKey>(),
            std::mem::size_of::<Channel>()
        );
        assert!(size <= 512, "Allocation is {size} bytes");
    }
}
