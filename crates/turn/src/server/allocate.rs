//! Allocate and Refresh (RFC 8656 §7.2, §8.2; address families per RFC 6156 and RFC 8656
//! §7.2): the checks in the RFC's order, quota and capacity (486, or 300 Try Alternate toward
//! a cluster peer when full), choosing and binding a relay port (EVEN-PORT, RESERVATION-TOKEN),
//! lifetimes, and deleting an allocation on Refresh with LIFETIME 0.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use ring::hmac;

use crate::attribute::{types, AddressFamily, Attribute};
use crate::message::{Class, Message};

use super::allocation::Allocation;
use super::config::RelayAddr;
use super::credentials::CredentialSource;
use super::engine::{Reservation, Server};
use super::io::{ClientKey, DeleteReason, Event, RelayBinder, RelayId};
use super::ports::PortPool;
use super::respond::Auth;
use super::timers::{deadline, TimerTarget};

/// UDP's protocol number, the only REQUESTED-TRANSPORT served (RFC 8656 §7.2, §18.8).
const UDP: u8 = 17;

/// A relay socket bound for a new allocation.
struct Bound {
    relay: RelayId,
    bind: SocketAddr,
    public: SocketAddr,
    token: Option<[u8; 8]>,
}

/// Why no relay socket could be had.
enum BindFailure {
    /// No family relay address configured (440).
    Family,
    /// Ports exhausted, binds failing or reservation unknown (508).
    Capacity,
}

impl<C: CredentialSource> Server<C> {
    pub(super) fn allocate(
        &mut self,
        now: Instant,
        client: &ClientKey,
        msg: &Message,
        auth: &Auth,
        relays: &mut dyn RelayBinder,
    ) {
        let a = Some(auth);
        // 1. One allocation per 5-tuple (437), but a retransmitted Allocate gets its success
        // response again (RFC 8656 §5: requests are idempotent, the "stateless stack approach").
        if let Some(slot) = self.table.slot_of_client(client) {
            let same = matches!(self.table.get(slot),
                Some(x) if x.txid == msg.transaction_id() && *x.username == *auth.username);
            if same {
                self.allocate_success(now, client, msg, auth, slot, None);
            } else {
                self.respond_error(client, msg, 437, &[], a);
            }
            return;
        }
        // 2. REQUESTED-TRANSPORT: required (400), UDP only (442).
        match msg.get(types::REQUESTED_TRANSPORT) {
            Some(Attribute::RequestedTransport(UDP)) => {}
            Some(Attribute::RequestedTransport(_)) => {
                return self.respond_error(client, msg, 442, &[], a);
            }
            _ => return self.respond_error(client, msg, 400, &[], a),
        }
        // 3. DONT-FRAGMENT is accepted (the runtime's relay sockets set DF as they can).
        let token = match msg.get(types::RESERVATION_TOKEN) {
            Some(Attribute::ReservationToken(t)) => Some(*t),
            _ => None,
        };
        let even = match msg.get(types::EVEN_PORT) {
            Some(Attribute::EvenPort(r)) => Some(*r),
            _ => None,
        };
        let requested = match msg.get(types::REQUESTED_ADDRESS_FAMILY) {
            Some(Attribute::RequestedAddressFamily(f)) => Some(*f),
            _ => None,
        };
        let additional = match msg.get(types::ADDITIONAL_ADDRESS_FAMILY) {
            Some(Attribute::AdditionalAddressFamily(f)) => Some(*f),
            _ => None,
        };
        // 4. RESERVATION-TOKEN excludes EVEN-PORT and the family attributes (400).
        if token.is_some() && (even.is_some() || requested.is_some() || additional.is_some()) {
            return self.respond_error(client, msg, 400, &[], a);
        }
        // 5. Families: REQUESTED- and ADDITIONAL-ADDRESS-FAMILY together → 400; an unknown or
        // unconfigured family → 440 (RFC 6156 §4.2). Dual allocation is not offered: with
        // ADDITIONAL-ADDRESS-FAMILY IPv6 the client gets IPv4 and ADDRESS-ERROR-CODE 440.
        if requested.is_some() && additional.is_some() {
            return self.respond_error(client, msg, 400, &[], a);
        }
        // EVEN-PORT with R and ADDITIONAL-ADDRESS-FAMILY → 400 (RFC 8656 §7.2 step 8).
        if even == Some(true) && additional.is_some() {
            return self.respond_error(client, msg, 400, &[], a);
        }
        let mut address_error = None;
        let ipv6 = match (requested, additional) {
            (Some(AddressFamily::Ipv6), _) => true,
            (Some(AddressFamily::Other(_)), _) => {
                return self.respond_error(client, msg, 440, &[], a)
            }
            (None, Some(AddressFamily::Ipv6)) => {
                address_error = Some(Attribute::AddressErrorCode {
                    family: AddressFamily::Ipv6,
                    code: 440,
                    reason: "Dual allocation not supported".to_string(),
                });
                false
            }
            (None, Some(_)) => return self.respond_error(client, msg, 400, &[], a),
            _ => false,
        };
        if token.is_none() && self.config.relay_for(ipv6).is_none() {
            return self.respond_error(client, msg, 440, &[], a);
        }
        // 6. Quota per user (486) and capacity (300 to a cluster peer, else 486).
        let quota = self.config.user_quota;
        if quota > 0 && self.table.user_count(&auth.username) >= quota {
            self.counters.allocations_refused += 1;
            return self.respond_error(client, msg, 486, &[], a);
        }
        if self.table.len() >= self.config.capacity {
            self.counters.allocations_refused += 1;
            return match self.next_alternate(client) {
                Some(alt) => {
                    self.respond_error(client, msg, 300, &[Attribute::AlternateServer(alt)], a)
                }
                None => self.respond_error(client, msg, 486, &[], a),
            };
        }
        // 7. The relay socket.
        let bound = match token {
            Some(t) => self.claim_reservation(now, t, relays),
            None => self.bind_relay(now, ipv6, even, relays),
        };
        let bound = match bound {
            Ok(b) => b,
            Err(BindFailure::Family) => return self.respond_error(client, msg, 440, &[], a),
            Err(BindFailure::Capacity) => return self.respond_error(client, msg, 508, &[], a),
        };
        let requested_lifetime = match msg.get(types::LIFETIME) {
            Some(Attribute::Lifetime(s)) => Some(*s),
            _ => None,
        };
        let expires = deadline(now, self.granted_lifetime(requested_lifetime));
        let username = self.table.shared_username(&auth.username);
        let alloc = Allocation::new(
            *client,
            bound.relay,
            bound.bind,
            bound.public,
            username,
            auth.keys,
            msg.transaction_id(),
            bound.token,
            expires,
            self.hasher,
        );
        let slot = self.table.insert(alloc);
        self.schedule(slot);
        self.counters.allocations_total += 1;
        self.events.push_back(Event::AllocationCreated {
            client: *client,
            relay: bound.relay,
            relayed: bound.public,
            username: auth.username.clone(),
        });
        self.allocate_success(now, client, msg, auth, slot, address_error);
    }

    /// The Allocate success response (RFC 8656 §7.2): XOR-RELAYED-ADDRESS, LIFETIME,
    /// RESERVATION-TOKEN if one was made, XOR-MAPPED-ADDRESS.
    fn allocate_success(
        &mut self,
        now: Instant,
        client: &ClientKey,
        msg: &Message,
        auth: &Auth,
        slot: u32,
        address_error: Option<Attribute>,
    ) {
        let Some(alloc) = self.table.get(slot) else {
            return;
        };
        let left = alloc.expires.saturating_duration_since(now).as_secs();
        let mut attrs = vec![
            Attribute::XorRelayedAddress(alloc.relayed),
            Attribute::Lifetime(u32::try_from(left).unwrap_or(u32::MAX)),
        ];
        if let Some(t) = alloc.token {
            attrs.push(Attribute::ReservationToken(t));
        }
        attrs.push(Attribute::XorMappedAddress(client.remote));
        attrs.extend(address_error);
        self.respond(client, msg, Class::Success, &attrs, Some(auth));
    }

    /// Binds a relay socket on a free port of the family's relay address, trying a bounded
    /// number of ports if the runtime cannot bind (RFC 8656 §7.2 leaves the choice to the
    /// server; the first candidate is random). With EVEN-PORT the port is even, and with its R
    /// bit the next port is reserved under a new token.
    fn bind_relay(
        &mut self,
        now: Instant,
        ipv6: bool,
        even: Option<bool>,
        relays: &mut dyn RelayBinder,
    ) -> Result<Bound, BindFailure> {
        let Some(RelayAddr { bind, public }) = self.config.relay_for(ipv6) else {
            return Err(BindFailure::Family);
        };
        let (min, max) = (self.config.relay_port_min, self.config.relay_port_max);
        if min == 0 || min > max {
            return Err(BindFailure::Capacity);
        }
        let span = u32::from(max - min) + 1;
        let mut start = min + self.rng.below(span) as u16;
        let want_even = even.is_some();
        let pair = even == Some(true);
        for _ in 0..self.config.bind_attempts.max(1) {
            let pool = self.pools.entry(bind).or_insert_with(PortPool::new);
            let Some(port) = pool.find(min, max, start, want_even, pair) else {
                break;
            };
            let addr = SocketAddr::new(bind, port);
            match relays.bind(addr) {
                Ok(relay) => {
                    pool.take(port);
                    let token = if pair {
                        pool.take(port + 1);
                        Some(self.new_reservation(now, bind, public, port + 1))
                    } else {
                        None
                    };
                    return Ok(Bound {
                        relay,
                        bind: addr,
                        public: SocketAddr::new(public, port),
                        token,
                    });
                }
                Err(_) => start = if port >= max { min } else { port + 1 },
            }
        }
        Err(BindFailure::Capacity)
    }

    /// Records a reserved port and returns its token: 8 bytes of an HMAC of a counter, so
    /// tokens cannot be guessed from one another.
    fn new_reservation(
        &mut self,
        now: Instant,
        bind: IpAddr,
        public: IpAddr,
        port: u16,
    ) -> [u8; 8] {
        self.token_counter += 1;
        let tag = hmac::sign(&self.token_key, &self.token_counter.to_be_bytes());
        let mut token = [0u8; 8];
        for (d, s) in token.iter_mut().zip(tag.as_ref()) {
            *d = *s;
        }
        let expires = deadline(now, self.config.reservation_lifetime);
        let id = u64::from_be_bytes(token);
        self.reservations.insert(
            id,
            Reservation {
                bind,
                public,
                port,
                expires,
            },
        );
        self.timers.push(expires, TimerTarget::Reservation(id));
        token
    }

    /// Binds the port held under `token` (RFC 8656 §7.2: an unknown token → 508).
    fn claim_reservation(
        &mut self,
        now: Instant,
        token: [u8; 8],
        relays: &mut dyn RelayBinder,
    ) -> Result<Bound, BindFailure> {
        let id = u64::from_be_bytes(token);
        match self.reservations.get(&id) {
            Some(r) if r.expires > now => {}
            _ => return Err(BindFailure::Capacity),
        }
        let Some(r) = self.reservations.remove(&id) else {
            return Err(BindFailure::Capacity);
        };
        let addr = SocketAddr::new(r.bind, r.port);
        match relays.bind(addr) {
            Ok(relay) => Ok(Bound {
                relay,
                bind: addr,
                public: SocketAddr::new(r.public, r.port),
                token: None,
            }),
            Err(_) => {
                if let Some(pool) = self.pools.get_mut(&r.bind) {
                    pool.release(r.port);
                }
                Err(BindFailure::Capacity)
            }
        }
    }

    pub(super) fn refresh(
        &mut self,
        now: Instant,
        client: &ClientKey,
        msg: &Message,
        auth: &Auth,
        relays: &mut dyn RelayBinder,
    ) {
        let a = Some(auth);
        let Some(slot) = self.table.slot_of_client(client) else {
            return self.respond_error(client, msg, 437, &[], a);
        };
        let Some(alloc) = self.table.get(slot) else {
            return self.respond_error(client, msg, 437, &[], a);
        };
        if *alloc.username != *auth.username {
            return self.respond_error(client, msg, 441, &[], a);
        }
        // RFC 8656 §8.2: REQUESTED-ADDRESS-FAMILY must match the allocation's family (443).
        if let Some(Attribute::RequestedAddressFamily(f)) = msg.get(types::REQUESTED_ADDRESS_FAMILY)
        {
            if *f != AddressFamily::of(&alloc.relayed) {
                return self.respond_error(client, msg, 443, &[], a);
            }
        }
        let requested = match msg.get(types::LIFETIME) {
            Some(Attribute::Lifetime(s)) => Some(*s),
            _ => None,
        };
        if requested == Some(0) {
            self.delete_allocation(slot, DeleteReason::Refreshed, relays);
            return self.respond(client, msg, Class::Success, &[Attribute::Lifetime(0)], a);
        }
        let lifetime = self.granted_lifetime(requested);
        if let Some(alloc) = self.table.get_mut(slot) {
            alloc.expires = deadline(now, lifetime);
        }
        self.schedule(slot);
        let secs = u32::try_from(lifetime.as_secs()).unwrap_or(u32::MAX);
        self.respond(client, msg, Class::Success, &[Attribute::Lifetime(secs)], a);
    }
}
