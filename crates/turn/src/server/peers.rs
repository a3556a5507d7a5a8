//! CreatePermission (RFC 8656 §10.2) and ChannelBind (RFC 8656 §12.2): both install
//! permissions toward peers, after the peer policy (403), the address family (443) and the
//! per-allocation limits (508); ChannelBind also binds a channel number to a peer, refusing
//! numbers out of range and conflicting bindings (400).

use std::net::SocketAddr;
use std::time::Instant;

use crate::attribute::{types, Attribute};
use crate::channel::is_valid_channel;
use crate::message::{Class, Message};

use super::credentials::CredentialSource;
use super::engine::Server;
use super::io::ClientKey;
use super::respond::Auth;
use super::timers::deadline;

/// Why a request about peers is refused, as an error code.
type Refusal = u16;

impl<C: CredentialSource> Server<C> {
    /// The allocation of the client owned by the request's user: 437 if none (RFC 8656
    /// §10.2, §12.2), 441 if another user's (RFC 8656 §5).
    fn own_allocation(&self, client: &ClientKey, auth: &Auth) -> Result<u32, Refusal> {
        let slot = self.table.slot_of_client(client).ok_or(437u16)?;
        match self.table.get(slot) {
            Some(a) if *a.username == *auth.username => Ok(slot),
            Some(_) => Err(441),
            None => Err(437),
        }
    }

    /// Family (443, RFC 8656 §10.2, §12.2) and policy (403, same sections and §21.2.2) checks
    /// of one peer.
    fn check_peer(&mut self, slot: u32, peer: SocketAddr) -> Result<(), Refusal> {
        let Some(a) = self.table.get(slot) else {
            return Err(437);
        };
        if a.relayed.is_ipv6() != peer.is_ipv6() {
            return Err(443);
        }
        if !self.policy.permits(peer.ip()) {
            self.counters.peer_refused += 1;
            return Err(403);
        }
        Ok(())
    }

    pub(super) fn create_permission(
        &mut self,
        now: Instant,
        client: &ClientKey,
        msg: &Message,
        auth: &Auth,
    ) {
        match self.try_create_permission(now, client, msg, auth) {
            Ok(()) => self.respond(client, msg, Class::Success, &[], Some(auth)),
            Err(code) => self.respond_error(client, msg, code, &[], Some(auth)),
        }
    }

    fn try_create_permission(
        &mut self,
        now: Instant,
        client: &ClientKey,
        msg: &Message,
        auth: &Auth,
    ) -> Result<(), Refusal> {
        let slot = self.own_allocation(client, auth)?;
        let peers: Vec<SocketAddr> = msg
            .attributes()
            .iter()
            .filter_map(|a| match a {
                Attribute::XorPeerAddress(p) => Some(*p),
                _ => None,
            })
            .collect();
        if peers.is_empty() {
            return Err(400);
        }
        // All or nothing (RFC 8656 §10.2: a failure for one peer fails the request).
        for p in &peers {
            self.check_peer(slot, *p)?;
        }
        let until = deadline(now, self.config.permission_lifetime);
        let max = self.config.max_permissions;
        let alloc = self.table.get_mut(slot).ok_or(437u16)?;
        let mut new_ips: Vec<_> = peers
            .iter()
            .map(|p| p.ip())
            .filter(|ip| !alloc.permitted(*ip, now))
            .collect();
        new_ips.sort();
        new_ips.dedup();
        if alloc.active_permissions(now) + new_ips.len() > max {
            return Err(508);
        }
        for p in &peers {
            alloc.permit(p.ip(), until);
        }
        self.schedule(slot);
        Ok(())
    }

    pub(super) fn channel_bind(
        &mut self,
        now: Instant,
        client: &ClientKey,
        msg: &Message,
        auth: &Auth,
    ) {
        match self.try_channel_bind(now, client, msg, auth) {
            Ok(()) => self.respond(client, msg, Class::Success, &[], Some(auth)),
            Err(code) => self.respond_error(client, msg, code, &[], Some(auth)),
        }
    }

    fn try_channel_bind(
        &mut self,
        now: Instant,
        client: &ClientKey,
        msg: &Message,
        auth: &Auth,
    ) -> Result<(), Refusal> {
        let slot = self.own_allocation(client, auth)?;
        let number = match msg.get(types::CHANNEL_NUMBER) {
            Some(Attribute::ChannelNumber(n)) if is_valid_channel(*n) => *n,
            _ => return Err(400),
        };
        let peer = match msg.get(types::XOR_PEER_ADDRESS) {
            Some(Attribute::XorPeerAddress(p)) => *p,
            _ => return Err(400),
        };
        self.check_peer(slot, peer)?;
        let cfg = &self.config;
        let perm_until = deadline(now, cfg.permission_lifetime);
        let chan_until = deadline(now, cfg.channel_lifetime);
        let (max_perm, max_chan, cooldown) =
            (cfg.max_permissions, cfg.max_channels, cfg.channel_cooldown);
        let alloc = self.table.get_mut(slot).ok_or(437u16)?;
        // RFC 8656 §12.2: the number bound to another peer, or the peer to another number
        // (in force or within the cool-down after expiry) → 400.
        if alloc.channel_conflict(number, peer, now) {
            return Err(400);
        }
        if !alloc.channels.contains_key(&number) && alloc.channel_count() >= max_chan {
            return Err(508);
        }
        if !alloc.permitted(peer.ip(), now) && alloc.active_permissions(now) >= max_perm {
            return Err(508);
        }
        alloc.bind_channel(number, peer, chan_until, cooldown);
        // RFC 8656 §12.2: a channel binding installs or refreshes the peer's permission.
        alloc.permit(peer.ip(), perm_until);
        self.schedule(slot);
        Ok(())
    }
}
