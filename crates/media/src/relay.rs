//! The relay: call streams, each joining two legs, and the decision for every datagram.
//!
//! A *stream* is one media line of a call (RTP and its RTCP). It joins two *legs*, one per
//! side of the program. A leg is one of:
//! - [`LegKind::Plain`]: our own RTP/RTCP port pair toward an endpoint. The endpoint's SDP
//!   address is used until its first packet arrives; from then on we send to the address the
//!   packets come from (latching), which gets media through NATs.
//! - [`LegKind::Demux`] (exp-e toward exp-c): the stream shares one of exp-e's demultiplexing
//!   pairs and is known by its mux identifier. exp-e learns exp-c's address only from exp-c's
//!   own packets and never sends on the leg before that.
//! - [`LegKind::MuxOut`] (exp-c toward exp-e): our own pair, sending to exp-e's demultiplexing
//!   address with the mux identifier prefix, keep-alives while silent, and accepting packets
//!   only from that address.
//!
//! Media toward exp-c on a stream whose demultiplexed leg has not latched yet (exp-c's first
//! keep-alive is still on its way: early media from the far end can race it) is held, up to
//! [`HELD_MAX`] packets for [`HELD_FOR`], and sent as soon as the leg latches.
//!
//! Latching policy (per leg and component): the first valid packet latches its source. A
//! packet from another source is dropped and counted ([`DropReason::ForeignSource`]) unless
//! the latched source has been silent for `relatch_after` *and* the packet carries the SSRC
//! last seen from the latched source, in which case the stream moves to the new source (an
//! endpoint whose NAT binding changed). Keep-alives carry no SSRC and never move a stream. A
//! new SDP address for the leg (re-INVITE) clears the latch.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::packet::{
    classify, h460_19_keepalive, is_h460_19_keepalive, keepalive, split_mux, MAX_DATAGRAM,
    MUX_PREFIX_LEN,
};

/// Relay timers.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// A stream without media (either way) for this long is reported idle.
    pub idle_timeout: Duration,
    /// Silence on a [`LegKind::MuxOut`] leg after which a keep-alive is sent.
    pub keepalive_interval: Duration,
    /// Silence of a latched source after which another source with its SSRC may take over.
    pub relatch_after: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            idle_timeout: Duration::from_secs(60),
            keepalive_interval: Duration::from_secs(5),
            relatch_after: Duration::from_secs(2),
        }
    }
}

/// Most packets held per stream while its demultiplexed leg waits for exp-c's first packet.
pub const HELD_MAX: usize = 16;
/// How long such a packet is held before it is dropped.
pub const HELD_FOR: Duration = Duration::from_secs(1);

/// A stream, as the relay numbers it.
pub type StreamId = u32;

/// RTP or RTCP: which port of a pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component {
    /// The even port.
    Rtp = 0,
    /// The odd port.
    Rtcp = 1,
}

impl Component {
    fn index(self) -> usize {
        self as usize
    }
    const BOTH: [Component; 2] = [Component::Rtp, Component::Rtcp];
}

/// One of a stream's two legs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegSide {
    /// The first leg given to [`Relay::add_stream`].
    A = 0,
    /// The second.
    B = 1,
}

impl LegSide {
    /// The other leg.
    pub fn other(self) -> LegSide {
        match self {
            LegSide::A => LegSide::B,
            LegSide::B => LegSide::A,
        }
    }
    fn index(self) -> usize {
        self as usize
    }
}

/// How a leg sends and receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegKind {
    /// Own port pair toward an endpoint, with latching.
    Plain,
    /// exp-e toward exp-c, on a demultiplexing pair.
    Demux,
    /// exp-c toward exp-e's demultiplexing pair.
    MuxOut,
}

/// A leg to create.
#[derive(Clone, Copy, Debug)]
pub struct LegSpec {
    /// Kind.
    pub kind: LegKind,
    /// Our RTP port (ignored for [`LegKind::Demux`]: the relay picks a demultiplexing pair).
    pub rtp_port: u16,
    /// Our RTCP port (ignored for [`LegKind::Demux`]).
    pub rtcp_port: u16,
}

/// Why a datagram was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// Larger than [`MAX_DATAGRAM`].
    Oversize,
    /// Not RTP/RTCP, or no mux identifier where one is required.
    Malformed,
    /// Arrived on a port no stream uses (e.g. a late packet of an ended call).
    UnknownPort,
    /// Mux identifier of no stream (or of a stream on another demultiplexing pair).
    UnknownMux,
    /// From a source other than the one the leg is latched to (or, toward exp-e, other than
    /// exp-e's address).
    ForeignSource,
    /// The other leg has no address to send to yet.
    NoDestination,
}

/// What to do with a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send `data[strip..]`, preceded by `prefix` when given (big-endian), from our port
    /// `from_port` to `to`.
    Forward {
        /// Our socket to send from.
        from_port: u16,
        /// Destination.
        to: SocketAddr,
        /// Leading bytes of the received datagram to leave out (the mux prefix).
        strip: usize,
        /// Mux identifier to put in front.
        prefix: Option<u32>,
    },
    /// A keep-alive, consumed.
    Consumed,
    /// Dropped (and counted).
    Drop(DropReason),
}

/// A datagram the relay itself sends (keep-alives).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Our socket to send from.
    pub from_port: u16,
    /// Destination.
    pub to: SocketAddr,
    /// The datagram.
    pub payload: Vec<u8>,
}

/// Something the runtime must act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// No media on the stream for `idle_timeout`: end its call.
    Idle {
        /// The stream.
        stream: StreamId,
        /// The tag it was created with.
        tag: u64,
    },
}

/// Why a stream could not be created.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    /// A leg's port is already in use by another stream or a demultiplexing pair.
    #[error("port {0} is already in use by the relay")]
    PortInUse(u16),
    /// A [`LegKind::Demux`] leg on a relay without demultiplexing pairs.
    #[error("no demultiplexing ports configured")]
    NoDemux,
    /// Both legs are [`LegKind::Demux`].
    #[error("a stream has at most one demultiplexing leg")]
    TwoDemuxLegs,
}

/// Packet and byte counts of one leg; `rx` is what arrived on the leg, `tx` what we sent on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LegCounters {
    /// Packets received and relayed.
    pub rx_packets: u64,
    /// Bytes received and relayed (without mux prefix).
    pub rx_bytes: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes sent (without mux prefix).
    pub tx_bytes: u64,
    /// Packets arriving on the leg that were dropped.
    pub dropped: u64,
    /// Keep-alives received.
    pub keepalives_rx: u64,
    /// Keep-alives sent.
    pub keepalives_tx: u64,
}

/// A leg as the status API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegStatus {
    /// Kind.
    pub kind: LegKind,
    /// Our RTP and RTCP ports.
    pub local_ports: [u16; 2],
    /// Where RTP goes: the latched source, else the SDP address.
    pub remote: Option<SocketAddr>,
    /// True once the RTP component latched.
    pub latched: bool,
    /// The leg's mux identifier (Demux: ours; MuxOut: exp-e's).
    pub mux_id: Option<u32>,
    /// Counters.
    pub counters: LegCounters,
}

/// Whole-relay counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Datagrams relayed.
    pub relayed_packets: u64,
    /// Bytes relayed.
    pub relayed_bytes: u64,
    /// Drops by reason.
    pub dropped_oversize: u64,
    /// See [`DropReason::Malformed`].
    pub dropped_malformed: u64,
    /// See [`DropReason::UnknownPort`].
    pub dropped_unknown_port: u64,
    /// See [`DropReason::UnknownMux`].
    pub dropped_unknown_mux: u64,
    /// See [`DropReason::ForeignSource`].
    pub dropped_foreign_source: u64,
    /// See [`DropReason::NoDestination`].
    pub dropped_no_destination: u64,
    /// Keep-alives received.
    pub keepalives_rx: u64,
    /// Keep-alives sent.
    pub keepalives_tx: u64,
    /// Packets held until a demultiplexed leg latched, then sent.
    pub held_sent: u64,
    /// Sources latched.
    pub latched: u64,
    /// Streams moved to a new source by the relatch policy.
    pub relatched: u64,
    /// Streams reported idle.
    pub idle_streams: u64,
    /// Streams created.
    pub streams_created: u64,
    /// Streams removed.
    pub streams_removed: u64,
}

impl Counters {
    fn count_drop(&mut self, reason: DropReason) {
        let c = match reason {
            DropReason::Oversize => &mut self.dropped_oversize,
            DropReason::Malformed => &mut self.dropped_malformed,
            DropReason::UnknownPort => &mut self.dropped_unknown_port,
            DropReason::UnknownMux => &mut self.dropped_unknown_mux,
            DropReason::ForeignSource => &mut self.dropped_foreign_source,
            DropReason::NoDestination => &mut self.dropped_no_destination,
        };
        *c += 1;
    }
}

#[derive(Clone, Debug, Default)]
struct Remote {
    expected: Option<SocketAddr>,
    latched: Option<SocketAddr>,
    ssrc: Option<u32>,
    last_rx: Option<Instant>,
    last_tx: Option<Instant>,
}

#[derive(Clone, Debug)]
struct Leg {
    kind: LegKind,
    ports: [u16; 2],
    remote: [Remote; 2],
    mux_id: Option<u32>,
    /// H.460.19 keep-alives (payload type) instead of exp's bare identifier: sent by a
    /// MuxOut leg, recognised by a Demux leg.
    keepalive_pt: Option<u8>,
    /// SSRC and sequence number of the H.460.19 keep-alives a MuxOut leg sends.
    keepalive_ssrc: u32,
    keepalive_seq: u16,
    counters: LegCounters,
}

impl Leg {
    /// The keep-alive datagram this MuxOut leg sends on `comp`: exp's bare identifier, or
    /// with H.460.19 keep-alives set an RTP keep-alive (behind the identifier when there is
    /// one: H.460.19 without multiplexing sends it bare).
    fn keepalive_payload(&mut self, comp: Component) -> Option<Vec<u8>> {
        match (self.keepalive_pt, self.mux_id) {
            (None, Some(m)) => Some(keepalive(m).to_vec()),
            (Some(pt), mux) => {
                if comp == Component::Rtp {
                    self.keepalive_seq = self.keepalive_seq.wrapping_add(1);
                }
                Some(h460_19_keepalive(
                    mux,
                    comp == Component::Rtcp,
                    pt,
                    self.keepalive_ssrc,
                    self.keepalive_seq,
                ))
            }
            (None, None) => None,
        }
    }

    /// True for a MuxOut leg that knows how to keep its path open.
    fn sends_keepalives(&self) -> bool {
        self.kind == LegKind::MuxOut && (self.mux_id.is_some() || self.keepalive_pt.is_some())
    }
}

#[derive(Clone, Debug)]
struct Stream {
    tag: u64,
    legs: [Leg; 2],
    demux_pair: usize,
    last_media: Instant,
    idle_reported: bool,
    /// Packets for the demultiplexed leg, waiting for it to latch: (component, packet, since).
    held: Vec<(Component, Vec<u8>, Instant)>,
}

#[derive(Clone, Copy, Debug)]
enum Role {
    Free,
    Demux {
        pair: usize,
        comp: Component,
    },
    Leg {
        stream: StreamId,
        side: LegSide,
        comp: Component,
    },
}

/// The relay state machine.
pub struct Relay {
    cfg: RelayConfig,
    roles: Vec<Role>,
    demux: Vec<[u16; 2]>,
    next_demux: usize,
    streams: Vec<Option<Stream>>,
    free_slots: Vec<StreamId>,
    by_mux: HashMap<u32, StreamId>,
    rng: u64,
    counters: Counters,
    transmits: Vec<Transmit>,
    events: Vec<Event>,
    next_sweep: Option<Instant>,
}

impl Relay {
    /// A relay with the given demultiplexing pairs (empty on exp-c). `seed` seeds the mux
    /// identifiers; give it real randomness, since an identifier is what stands between a
    /// forged datagram and a stream.
    pub fn new(cfg: RelayConfig, demux: &[(u16, u16)], seed: u64) -> Self {
        let mut roles = vec![Role::Free; 65536];
        for (pair, (rtp, rtcp)) in demux.iter().enumerate() {
            roles[usize::from(*rtp)] = Role::Demux {
                pair,
                comp: Component::Rtp,
            };
            roles[usize::from(*rtcp)] = Role::Demux {
                pair,
                comp: Component::Rtcp,
            };
        }
        Relay {
            cfg,
            roles,
            demux: demux.iter().map(|(a, b)| [*a, *b]).collect(),
            next_demux: 0,
            streams: Vec::new(),
            free_slots: Vec::new(),
            by_mux: HashMap::new(),
            rng: seed ^ 0x6a09_e667_f3bc_c908,
            counters: Counters::default(),
            transmits: Vec::new(),
            events: Vec::new(),
            next_sweep: None,
        }
    }

    /// Whole-relay counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Live streams.
    pub fn stream_count(&self) -> usize {
        self.streams.len() - self.free_slots.len()
    }

    /// splitmix64 (a fixed, well-known mixing function; only unpredictability to outsiders
    /// matters, and the seed provides it).
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn new_mux_id(&mut self) -> u32 {
        loop {
            let id = (self.next_random() >> 32) as u32;
            if id != 0 && !self.by_mux.contains_key(&id) {
                return id;
            }
        }
    }

    /// Creates a stream joining legs `a` and `b`; `tag` comes back in its events.
    pub fn add_stream(
        &mut self,
        tag: u64,
        a: LegSpec,
        b: LegSpec,
        now: Instant,
    ) -> Result<StreamId, RelayError> {
        if a.kind == LegKind::Demux && b.kind == LegKind::Demux {
            return Err(RelayError::TwoDemuxLegs);
        }
        let has_demux = a.kind == LegKind::Demux || b.kind == LegKind::Demux;
        if has_demux && self.demux.is_empty() {
            return Err(RelayError::NoDemux);
        }
        let mut seen = Vec::with_capacity(4);
        for spec in [a, b].iter().filter(|s| s.kind != LegKind::Demux) {
            for p in [spec.rtp_port, spec.rtcp_port] {
                if !matches!(self.roles[usize::from(p)], Role::Free) || seen.contains(&p) {
                    return Err(RelayError::PortInUse(p));
                }
                seen.push(p);
            }
        }
        let demux_pair = if has_demux {
            let p = self.next_demux % self.demux.len();
            self.next_demux = self.next_demux.wrapping_add(1);
            p
        } else {
            0
        };
        let mux = if has_demux {
            Some(self.new_mux_id())
        } else {
            None
        };
        let make = |spec: LegSpec, demux: &[[u16; 2]]| Leg {
            kind: spec.kind,
            ports: match spec.kind {
                LegKind::Demux => demux[demux_pair],
                _ => [spec.rtp_port, spec.rtcp_port],
            },
            remote: [Remote::default(), Remote::default()],
            mux_id: if spec.kind == LegKind::Demux {
                mux
            } else {
                None
            },
            keepalive_pt: None,
            keepalive_ssrc: 0,
            keepalive_seq: 0,
            counters: LegCounters::default(),
        };
        let stream = Stream {
            tag,
            legs: [make(a, &self.demux), make(b, &self.demux)],
            demux_pair,
            last_media: now,
            idle_reported: false,
            held: Vec::new(),
        };
        let id = match self.free_slots.pop() {
            Some(id) => id,
            None => {
                self.streams.push(None);
                (self.streams.len() - 1) as StreamId
            }
        };
        for side in [LegSide::A, LegSide::B] {
            let leg = &stream.legs[side.index()];
            if leg.kind != LegKind::Demux {
                for comp in Component::BOTH {
                    self.roles[usize::from(leg.ports[comp.index()])] = Role::Leg {
                        stream: id,
                        side,
                        comp,
                    };
                }
            }
        }
        if let Some(m) = mux {
            self.by_mux.insert(m, id);
        }
        self.streams[id as usize] = Some(stream);
        self.counters.streams_created += 1;
        self.schedule(now);
        Ok(id)
    }

    fn schedule(&mut self, now: Instant) {
        if self.next_sweep.is_none() {
            self.next_sweep = Some(now + self.sweep_interval());
        }
    }

    fn sweep_interval(&self) -> Duration {
        let shortest = self.cfg.keepalive_interval.min(self.cfg.idle_timeout);
        (shortest / 4).clamp(Duration::from_millis(20), Duration::from_secs(1))
    }

    fn stream_mut(&mut self, id: StreamId) -> Option<&mut Stream> {
        self.streams.get_mut(id as usize)?.as_mut()
    }

    fn stream(&self, id: StreamId) -> Option<&Stream> {
        self.streams.get(id as usize)?.as_ref()
    }

    /// The tag of a live stream.
    pub fn tag(&self, id: StreamId) -> Option<u64> {
        self.stream(id).map(|s| s.tag)
    }

    /// The mux identifier of the stream's demultiplexing leg, and that pair's ports.
    pub fn demux_of(&self, id: StreamId) -> Option<(u32, [u16; 2])> {
        let s = self.stream(id)?;
        let leg = s.legs.iter().find(|l| l.kind == LegKind::Demux)?;
        Some((leg.mux_id?, leg.ports))
    }

    /// Sets where a leg sends before latching (its SDP address), and for a
    /// [`LegKind::MuxOut`] leg exp-e's mux identifier; a changed address clears the latch.
    /// A MuxOut leg that has both sends its first keep-alives at once. Ignored for
    /// [`LegKind::Demux`] legs, which learn exp-c's address from its packets.
    pub fn set_remote(
        &mut self,
        id: StreamId,
        side: LegSide,
        rtp: Option<SocketAddr>,
        rtcp: Option<SocketAddr>,
        mux_id: Option<u32>,
        now: Instant,
    ) {
        let Some(stream) = self.stream_mut(id) else {
            return;
        };
        let leg = &mut stream.legs[side.index()];
        if leg.kind == LegKind::Demux {
            return;
        }
        for (comp, addr) in [(Component::Rtp, rtp), (Component::Rtcp, rtcp)] {
            let r = &mut leg.remote[comp.index()];
            if r.expected != addr {
                r.expected = addr;
                r.latched = None;
                r.ssrc = None;
                r.last_rx = None;
            }
        }
        let mut sends = Vec::new();
        if leg.kind == LegKind::MuxOut {
            let changed = leg.mux_id != mux_id;
            leg.mux_id = mux_id;
            if leg.sends_keepalives() {
                for comp in Component::BOTH {
                    let r = &leg.remote[comp.index()];
                    if let (Some(to), true) = (r.expected, changed || r.last_tx.is_none()) {
                        leg.remote[comp.index()].last_tx = Some(now);
                        leg.counters.keepalives_tx += 1;
                        if let Some(payload) = leg.keepalive_payload(comp) {
                            sends.push(Transmit {
                                from_port: leg.ports[comp.index()],
                                to,
                                payload,
                            });
                        }
                    }
                }
            }
        }
        self.counters.keepalives_tx += sends.len() as u64;
        self.transmits.extend(sends);
    }

    /// Makes a leg use H.460.19 keep-alives with `payload_type` (H.323 calls): a
    /// [`LegKind::MuxOut`] leg sends them (prefixed by the mux identifier when it has one,
    /// bare for H.460.19 without multiplexing, and then it sends media unprefixed too), a
    /// [`LegKind::Demux`] or [`LegKind::Plain`] leg consumes them as keep-alives that latch
    /// it (the bare identifier still counts on Demux). `ssrc` is the keep-alives' SSRC.
    pub fn set_h460_19_keepalive(
        &mut self,
        id: StreamId,
        side: LegSide,
        payload_type: u8,
        ssrc: u32,
    ) {
        if let Some(stream) = self.stream_mut(id) {
            let leg = &mut stream.legs[side.index()];
            leg.keepalive_pt = Some(payload_type & 0x7f);
            leg.keepalive_ssrc = ssrc;
        }
    }

    /// Removes a stream; its ports stop being relayed at once. Returns its legs' final status.
    pub fn remove_stream(&mut self, id: StreamId) -> Option<[LegStatus; 2]> {
        let status = self.status(id)?;
        let stream = self.streams.get_mut(id as usize)?.take()?;
        for leg in &stream.legs {
            if leg.kind != LegKind::Demux {
                for p in leg.ports {
                    self.roles[usize::from(p)] = Role::Free;
                }
            } else if let Some(m) = leg.mux_id {
                self.by_mux.remove(&m);
            }
        }
        self.free_slots.push(id);
        self.counters.streams_removed += 1;
        Some(status)
    }

    /// Status of both legs of a stream.
    pub fn status(&self, id: StreamId) -> Option<[LegStatus; 2]> {
        let s = self.stream(id)?;
        let one = |leg: &Leg| {
            let r = &leg.remote[0];
            LegStatus {
                kind: leg.kind,
                local_ports: leg.ports,
                remote: r.latched.or(match leg.kind {
                    LegKind::Demux => None,
                    _ => r.expected,
                }),
                latched: r.latched.is_some(),
                mux_id: leg.mux_id,
                counters: leg.counters,
            }
        };
        Some([one(&s.legs[0]), one(&s.legs[1])])
    }

    /// Decides what to do with `data`, received on our port `local_port` from `from`.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        local_port: u16,
        from: SocketAddr,
        data: &[u8],
    ) -> Action {
        let action = self.decide(now, local_port, from, data);
        if let Action::Drop(reason) = action {
            self.counters.count_drop(reason);
        }
        action
    }

    fn decide(&mut self, now: Instant, local_port: u16, from: SocketAddr, data: &[u8]) -> Action {
        if data.len() > MAX_DATAGRAM {
            self.count_leg_drop(local_port);
            return Action::Drop(DropReason::Oversize);
        }
        let relatch_after = self.cfg.relatch_after;
        match self.roles[usize::from(local_port)] {
            Role::Free => Action::Drop(DropReason::UnknownPort),
            Role::Demux { pair, comp } => {
                let Some((mux, payload)) = split_mux(data) else {
                    return Action::Drop(DropReason::Malformed);
                };
                let Some(&id) = self.by_mux.get(&mux) else {
                    return Action::Drop(DropReason::UnknownMux);
                };
                let Some(stream) = self.stream_mut(id) else {
                    return Action::Drop(DropReason::UnknownMux);
                };
                if stream.demux_pair != pair {
                    return Action::Drop(DropReason::UnknownMux);
                }
                let Some(side) = stream
                    .legs
                    .iter()
                    .position(|l| l.kind == LegKind::Demux)
                    .map(|i| if i == 0 { LegSide::A } else { LegSide::B })
                else {
                    return Action::Drop(DropReason::UnknownMux);
                };
                let h460_19 = stream.legs[side.index()]
                    .keepalive_pt
                    .is_some_and(|pt| is_h460_19_keepalive(payload, pt));
                if payload.is_empty() || h460_19 {
                    let leg = &mut stream.legs[side.index()];
                    let r = &mut leg.remote[comp.index()];
                    let (ok, fresh) = latch(r, from, None, now, relatch_after);
                    if !ok {
                        leg.counters.dropped += 1;
                        return Action::Drop(DropReason::ForeignSource);
                    }
                    leg.counters.keepalives_rx += 1;
                    self.counters.keepalives_rx += 1;
                    self.counters.latched += u64::from(fresh);
                    if fresh {
                        self.release_held(id, side, comp, now);
                    }
                    return Action::Consumed;
                }
                let before = self
                    .stream(id)
                    .and_then(|s| s.legs[side.index()].remote[comp.index()].latched);
                let action = self.relay(now, id, side, comp, from, data, MUX_PREFIX_LEN);
                if before.is_none() && matches!(action, Action::Forward { .. }) {
                    self.release_held(id, side, comp, now);
                }
                action
            }
            Role::Leg { stream, side, comp } => {
                // H.460.19 without multiplexing: the traversal client's keep-alives reach its
                // own pair here; they latch the leg and are not media.
                let relatch_after = self.cfg.relatch_after;
                if let Some(s) = self.stream_mut(stream) {
                    let leg = &mut s.legs[side.index()];
                    if leg.kind == LegKind::Plain
                        && leg
                            .keepalive_pt
                            .is_some_and(|pt| is_h460_19_keepalive(data, pt))
                    {
                        let r = &mut leg.remote[comp.index()];
                        let (ok, fresh) = latch(r, from, None, now, relatch_after);
                        if !ok {
                            leg.counters.dropped += 1;
                            return Action::Drop(DropReason::ForeignSource);
                        }
                        leg.counters.keepalives_rx += 1;
                        self.counters.keepalives_rx += 1;
                        self.counters.latched += u64::from(fresh);
                        return Action::Consumed;
                    }
                }
                self.relay(now, stream, side, comp, from, data, 0)
            }
        }
    }

    fn count_leg_drop(&mut self, local_port: u16) {
        if let Role::Leg { stream, side, .. } = self.roles[usize::from(local_port)] {
            if let Some(s) = self.stream_mut(stream) {
                s.legs[side.index()].counters.dropped += 1;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn relay(
        &mut self,
        now: Instant,
        id: StreamId,
        side: LegSide,
        comp: Component,
        from: SocketAddr,
        data: &[u8],
        strip: usize,
    ) -> Action {
        let relatch_after = self.cfg.relatch_after;
        let Some(stream) = self.streams.get_mut(id as usize).and_then(|s| s.as_mut()) else {
            return Action::Drop(DropReason::UnknownPort);
        };
        let payload = data.get(strip..).unwrap_or_default();
        let leg = &mut stream.legs[side.index()];
        let Some(kind) = classify(payload) else {
            leg.counters.dropped += 1;
            return Action::Drop(DropReason::Malformed);
        };
        let r = &mut leg.remote[comp.index()];
        let (accepted, fresh, moved) = match leg.kind {
            // exp-c accepts media from exp-e's demultiplexing address only.
            LegKind::MuxOut => {
                if r.expected == Some(from) {
                    r.last_rx = Some(now);
                    (true, false, false)
                } else {
                    (false, false, false)
                }
            }
            _ => {
                let before = r.latched;
                let (ok, fresh) = latch(r, from, Some(kind.ssrc()), now, relatch_after);
                (ok, fresh, ok && before.is_some() && before != Some(from))
            }
        };
        if !accepted {
            leg.counters.dropped += 1;
            return Action::Drop(DropReason::ForeignSource);
        }
        self.counters.latched += u64::from(fresh);
        self.counters.relatched += u64::from(moved);
        let len = payload.len() as u64;
        let out = &mut stream.legs[side.other().index()];
        let r = &mut out.remote[comp.index()];
        let to = match out.kind {
            LegKind::Demux => r.latched,
            LegKind::MuxOut => r.expected,
            LegKind::Plain => r.latched.or(r.expected),
        };
        let prefix = match out.kind {
            LegKind::MuxOut => out.mux_id,
            _ => None,
        };
        let unprefixed_ok = out.keepalive_pt.is_some();
        let Some(to) =
            to.filter(|_| out.kind != LegKind::MuxOut || prefix.is_some() || unprefixed_ok)
        else {
            if out.kind == LegKind::Demux && stream.held.len() < HELD_MAX {
                stream.held.push((comp, payload.to_vec(), now));
                stream.last_media = now;
                return Action::Consumed;
            }
            stream.legs[side.index()].counters.dropped += 1;
            return Action::Drop(DropReason::NoDestination);
        };
        r.last_tx = Some(now);
        out.counters.tx_packets += 1;
        out.counters.tx_bytes += len;
        let from_port = out.ports[comp.index()];
        let leg = &mut stream.legs[side.index()];
        leg.counters.rx_packets += 1;
        leg.counters.rx_bytes += len;
        stream.last_media = now;
        stream.idle_reported = false;
        self.counters.relayed_packets += 1;
        self.counters.relayed_bytes += len;
        Action::Forward {
            from_port,
            to,
            strip,
            prefix,
        }
    }

    /// The demultiplexed leg `side` of stream `id` latched on `comp`: send what was held for it.
    fn release_held(&mut self, id: StreamId, side: LegSide, comp: Component, now: Instant) {
        let Some(stream) = self.streams.get_mut(id as usize).and_then(|s| s.as_mut()) else {
            return;
        };
        if stream.held.is_empty() {
            return;
        }
        let (to, from_port) = {
            let leg = &stream.legs[side.index()];
            let Some(to) = leg.remote[comp.index()].latched else {
                return;
            };
            (to, leg.ports[comp.index()])
        };
        let mut sent = 0u64;
        let mut bytes = 0u64;
        let mut kept = Vec::new();
        for (c, packet, since) in std::mem::take(&mut stream.held) {
            if c != comp {
                kept.push((c, packet, since));
                continue;
            }
            if now.saturating_duration_since(since) > HELD_FOR {
                self.counters.dropped_no_destination += 1;
                continue;
            }
            sent += 1;
            bytes += packet.len() as u64;
            self.transmits.push(Transmit {
                from_port,
                to,
                payload: packet,
            });
        }
        stream.held = kept;
        let leg = &mut stream.legs[side.index()];
        leg.counters.tx_packets += sent;
        leg.counters.tx_bytes += bytes;
        leg.remote[comp.index()].last_tx = Some(now);
        let other = &mut stream.legs[side.other().index()].counters;
        other.rx_packets += sent;
        other.rx_bytes += bytes;
        self.counters.relayed_packets += sent;
        self.counters.relayed_bytes += bytes;
        self.counters.held_sent += sent;
    }

    /// When [`Relay::handle_timeout`] wants to run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_sweep
    }

    /// Sends due keep-alives and reports idle streams.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.next_sweep {
            Some(t) if t <= now => {}
            _ => return,
        }
        self.next_sweep = None;
        let (idle, interval) = (self.cfg.idle_timeout, self.cfg.keepalive_interval);
        let mut sends = Vec::new();
        let mut events = Vec::new();
        let mut expired = 0u64;
        for (id, slot) in self.streams.iter_mut().enumerate() {
            let Some(stream) = slot else { continue };
            let before = stream.held.len();
            stream
                .held
                .retain(|(_, _, since)| now.saturating_duration_since(*since) <= HELD_FOR);
            expired += (before - stream.held.len()) as u64;
            if !stream.idle_reported && now.saturating_duration_since(stream.last_media) >= idle {
                stream.idle_reported = true;
                events.push(Event::Idle {
                    stream: id as StreamId,
                    tag: stream.tag,
                });
            }
            for leg in stream.legs.iter_mut() {
                if !leg.sends_keepalives() {
                    continue;
                }
                for comp in Component::BOTH {
                    let r = &mut leg.remote[comp.index()];
                    let Some(to) = r.expected else { continue };
                    let due = r
                        .last_tx
                        .is_none_or(|t| now.saturating_duration_since(t) >= interval);
                    if due {
                        r.last_tx = Some(now);
                        leg.counters.keepalives_tx += 1;
                        if let Some(payload) = leg.keepalive_payload(comp) {
                            sends.push(Transmit {
                                from_port: leg.ports[comp.index()],
                                to,
                                payload,
                            });
                        }
                    }
                }
            }
        }
        self.counters.keepalives_tx += sends.len() as u64;
        self.counters.idle_streams += events.len() as u64;
        self.counters.dropped_no_destination += expired;
        self.transmits.extend(sends);
        self.events.extend(events);
        if self.stream_count() > 0 {
            self.next_sweep = Some(now + self.sweep_interval());
        }
    }

    /// True when keep-alives wait to be sent ([`Relay::poll_transmit`]).
    pub fn has_transmits(&self) -> bool {
        !self.transmits.is_empty()
    }

    /// Next datagram the relay wants sent.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if self.transmits.is_empty() {
            None
        } else {
            Some(self.transmits.remove(0))
        }
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        if self.events.is_empty() {
            None
        } else {
            Some(self.events.remove(0))
        }
    }
}

/// Applies the latching policy (module comment) to a packet from `from`; returns whether it is
/// accepted and whether it latched a leg that had no source yet.
fn latch(
    r: &mut Remote,
    from: SocketAddr,
    ssrc: Option<u32>,
    now: Instant,
    relatch_after: Duration,
) -> (bool, bool) {
    match r.latched {
        None => {
            r.latched = Some(from);
            if ssrc.is_some() {
                r.ssrc = ssrc;
            }
            r.last_rx = Some(now);
            (true, true)
        }
        Some(a) if a == from => {
            if ssrc.is_some() {
                r.ssrc = ssrc;
            }
            r.last_rx = Some(now);
            (true, false)
        }
        Some(_) => {
            let silent = r
                .last_rx
                .is_none_or(|t| now.saturating_duration_since(t) >= relatch_after);
            if silent && ssrc.is_some() && ssrc == r.ssrc {
                r.latched = Some(from);
                r.last_rx = Some(now);
                (true, false)
            } else {
                (false, false)
            }
        }
    }
}
