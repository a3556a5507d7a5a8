//! Media anchoring for H.323 calls: the H.245 rewrite that puts the relay between the two
//! legs of every call, the counterpart of [`crate::anchor`]'s SDP rewrite.
//!
//! Each RTP session (`sessionID` of the H.225.0 logical channel parameters; 1 is audio) of a
//! call gets one relay stream with a leg per side, used by the logical channels of both
//! directions. What a tunnelled message says about its sender's side tells that leg where to
//! send; what leaves toward the other side names that leg's own ports:
//! - OpenLogicalChannel carries the sender's `mediaControlChannel` (where it wants RTCP):
//!   it becomes the sender's leg's RTCP destination, and is rewritten to our other leg's RTCP
//!   port;
//! - OpenLogicalChannelAck carries the acknowledging side's `mediaChannel` and
//!   `mediaControlChannel` (where it receives): they become its leg's destinations, and are
//!   rewritten to our other leg's ports.
//!
//! Toward a traversal client (our server zone, a [`LegKind::Demux`] leg) both messages also
//! carry the H.460.19 traversal parameters (H.460.19 §11): the demultiplexing pair as
//! `multiplexedMediaChannel`/`multiplexedMediaControlChannel` and `keepAliveChannel`, the
//! stream's mux identifier as `multiplexID`, and the keep-alive payload type and interval.
//! From a traversal server (our client zone, a [`LegKind::MuxOut`] leg) those parameters say
//! where to send and with which identifier; the leg then sends H.460.19 keep-alives at once
//! and puts the identifier in front of every packet. Toward anyone else the parameters are
//! removed.
//!
//! Messages this module does not rewrite pass unchanged, byte for byte.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Instant;

use exp_h460::gateway::{Peer, Side};
use exp_h460::h245::{
    MultimediaSystemControlMessage as Msg, RequestMessage, ResponseMessage, TransportAddress,
    TraversalParameters,
};
use exp_media::{LegKind, LegSide, LegSpec, StreamId};

use crate::anchor::{media_status, MediaLegStatus};
use crate::media_io::MediaRelay;

/// Where one leg sends: RTP, RTCP, and (MuxOut) the server's identifier.
#[derive(Clone, Copy, Debug, Default)]
struct Remote {
    rtp: Option<SocketAddr>,
    rtcp: Option<SocketAddr>,
    mux: Option<u32>,
}

struct StreamRec {
    id: StreamId,
    pairs: Vec<u16>,
    remotes: [Remote; 2],
}

#[derive(Default)]
struct CallRec {
    /// Streams by RTP session.
    sessions: HashMap<u8, StreamRec>,
    /// The session of each logical channel, by (side that opened it, channel number).
    channels: HashMap<(Side, u16), u8>,
}

/// Per-call H.323 media streams of one program.
pub struct H323Media {
    media: Arc<MediaRelay>,
    /// Server zones whose H.460.19 demultiplexing mode is off (per-call ports toward the
    /// client).
    no_demux: std::collections::HashSet<String>,
    keepalive_payload_type: u8,
    keepalive_interval: u32,
    calls: HashMap<u64, CallRec>,
}

fn leg_side(s: Side) -> LegSide {
    match s {
        Side::A => LegSide::A,
        Side::B => LegSide::B,
    }
}

fn side_index(s: Side) -> usize {
    match s {
        Side::A => 0,
        Side::B => 1,
    }
}

/// How we reach a peer: the leg kind, and whether it is a traversal client we must let open
/// the path (a non-multiplexed H.460.19 leg: a plain pair that only latches).
fn toward(peer: &Peer, no_demux: &std::collections::HashSet<String>) -> (LegKind, bool) {
    match peer {
        Peer::ServerZone(z) if no_demux.contains(z) => (LegKind::Plain, true),
        Peer::ServerZone(_) => (LegKind::Demux, true),
        Peer::ClientZone(_) => (LegKind::MuxOut, false),
        Peer::Net(_) => (LegKind::Plain, false),
    }
}

fn v4(ip: IpAddr, port: u16) -> TransportAddress {
    let ip = match ip {
        IpAddr::V4(v) => v,
        IpAddr::V6(v) => v.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED),
    };
    TransportAddress::from(SocketAddrV4::new(ip, port))
}

fn usable(a: Option<&TransportAddress>) -> Option<SocketAddr> {
    a.and_then(|a| a.ipv4())
        .filter(|a| !a.ip().is_unspecified())
        .map(SocketAddr::V4)
}

impl H323Media {
    /// Anchoring on `media`, with H.460.19 keep-alives of `keepalive_payload_type` every
    /// `keepalive_interval` seconds.
    pub fn new(
        media: Arc<MediaRelay>,
        keepalive_payload_type: u8,
        keepalive_interval: u32,
        no_demux: std::collections::HashSet<String>,
    ) -> Self {
        H323Media {
            media,
            no_demux,
            keepalive_payload_type,
            keepalive_interval: keepalive_interval.max(1),
            calls: HashMap::new(),
        }
    }

    fn stream(
        &mut self,
        call: u64,
        session: u8,
        kinds: [LegKind; 2],
        traversal: [bool; 2],
    ) -> Result<&mut StreamRec, String> {
        let rec = self.calls.entry(call).or_default();
        if let std::collections::hash_map::Entry::Vacant(slot) = rec.sessions.entry(session) {
            let mut pairs = Vec::new();
            let mut specs = Vec::new();
            for kind in kinds {
                if kind == LegKind::Demux {
                    specs.push(LegSpec {
                        kind,
                        rtp_port: 0,
                        rtcp_port: 0,
                    });
                    continue;
                }
                match self.media.alloc_pair() {
                    Ok(p) => {
                        pairs.push(p);
                        specs.push(LegSpec {
                            kind,
                            rtp_port: p,
                            rtcp_port: p.wrapping_add(1),
                        });
                    }
                    Err(e) => {
                        for p in pairs {
                            self.media.free_pair(p);
                        }
                        return Err(format!("no media port: {e:#}"));
                    }
                }
            }
            let (a, b) = (specs[0], specs[1]);
            let added = self
                .media
                .with_relay(|r| r.add_stream(call, a, b, Instant::now()));
            let id = match added {
                Ok(id) => id,
                Err(e) => {
                    for p in pairs {
                        self.media.free_pair(p);
                    }
                    return Err(e.to_string());
                }
            };
            // A Demux leg recognises H.460.19 keep-alives; a MuxOut leg sends them.
            for (i, kind) in kinds.iter().enumerate() {
                if matches!(kind, LegKind::Demux | LegKind::MuxOut) || traversal[i] {
                    let side = if i == 0 { LegSide::A } else { LegSide::B };
                    let ssrc =
                        u32::from_be_bytes([(call >> 8) as u8, call as u8, session, i as u8 + 1]);
                    let pt = self.keepalive_payload_type;
                    self.media
                        .with_relay(|r| r.set_h460_19_keepalive(id, side, pt, ssrc));
                }
            }
            slot.insert(StreamRec {
                id,
                pairs,
                remotes: [Remote::default(); 2],
            });
        }
        rec.sessions
            .get_mut(&session)
            .ok_or_else(|| "stream vanished".to_string())
    }

    fn apply_remote(&self, id: StreamId, side: Side, r: Remote) {
        self.media.with_relay(|relay| {
            relay.set_remote(id, leg_side(side), r.rtp, r.rtcp, r.mux, Instant::now())
        });
    }

    /// Our address and ports on the leg of `side`, and its mux identifier (Demux legs).
    fn ours(&self, id: StreamId, side: Side) -> Option<(IpAddr, [u16; 2], Option<u32>, LegKind)> {
        let [a, b] = self.media.with_relay(|r| r.status(id))?;
        let leg = if side == Side::A { a } else { b };
        Some((
            self.media.address_for(leg.kind),
            leg.local_ports,
            leg.mux_id,
            leg.kind,
        ))
    }

    /// The H.460.19 parameters for a traversal client: with demultiplexing the multiplexed
    /// channels and identifier, without it only the keep-alive channel (our per-call pair).
    fn traversal_for(
        &self,
        kind: LegKind,
        ip: IpAddr,
        ports: [u16; 2],
        mux: Option<u32>,
    ) -> TraversalParameters {
        let multiplexed = kind == LegKind::Demux;
        TraversalParameters {
            multiplexed_media_channel: multiplexed.then(|| v4(ip, ports[0])),
            multiplexed_media_control_channel: multiplexed.then(|| v4(ip, ports[1])),
            multiplex_id: mux.filter(|_| multiplexed),
            keep_alive_channel: Some(v4(ip, ports[0])),
            keep_alive_payload_type: Some(self.keepalive_payload_type),
            keep_alive_interval: Some(self.keepalive_interval),
        }
    }

    /// Rewrites one tunnelled H.245 message of `call` going from side `from` to the other.
    pub fn h245(
        &mut self,
        call: u64,
        from: Side,
        from_peer: &Peer,
        to_peer: &Peer,
        message: &[u8],
    ) -> Result<Vec<u8>, String> {
        let Ok(mut msg) = Msg::decode(message) else {
            // Not ours to judge: the endpoints may understand it.
            return Ok(message.to_vec());
        };
        let to = match from {
            Side::A => Side::B,
            Side::B => Side::A,
        };
        let mut kinds = [LegKind::Plain; 2];
        let mut trav = [false; 2];
        (kinds[side_index(from)], trav[side_index(from)]) = toward(from_peer, &self.no_demux);
        (kinds[side_index(to)], trav[side_index(to)]) = toward(to_peer, &self.no_demux);
        let (from_kind, to_kind) = (kinds[side_index(from)], kinds[side_index(to)]);
        // A traversal client's own addresses name its LAN: never send there, latch instead.
        let from_latch_only = trav[side_index(from)];
        let to_traversal = trav[side_index(to)];
        match &mut msg {
            Msg::Request(RequestMessage::OpenLogicalChannel(olc)) => {
                let Some(session) = olc.h2250().map(|p| p.session_id) else {
                    return Ok(message.to_vec());
                };
                let session = if session == 0 { 1 } else { session };
                let traversal = olc.traversal_parameters().and_then(Result::ok);
                let rtcp = usable(olc.media_control_channel());
                let rtp = usable(olc.media_channel());
                let lcn = olc.forward_logical_channel_number;
                let id = {
                    let s = self.stream(call, session, kinds, trav)?;
                    let r = &mut s.remotes[side_index(from)];
                    if from_kind == LegKind::MuxOut {
                        if let Some(t) = &traversal {
                            r.rtp = usable(t.multiplexed_media_channel.as_ref())
                                .or(usable(t.keep_alive_channel.as_ref()))
                                .or(rtp)
                                .or(r.rtp);
                            r.rtcp = usable(t.multiplexed_media_control_channel.as_ref())
                                .or(rtcp)
                                .or(r.rtcp);
                            r.mux = t.multiplex_id;
                        }
                    } else if !from_latch_only {
                        r.rtcp = rtcp.or(r.rtcp);
                        r.rtp = rtp.or(r.rtp);
                    }
                    (s.id, *r)
                };
                self.apply_remote(id.0, from, id.1);
                if let Some(c) = self.calls.get_mut(&call) {
                    c.channels.insert((from, lcn), session);
                }
                let (ip, ports, mux, _) = self.ours(id.0, to).ok_or("media stream vanished")?;
                olc.set_media_control_channel(Some(v4(ip, ports[1])));
                if olc.media_channel().is_some() {
                    olc.set_media_channel(Some(v4(ip, ports[0])));
                }
                olc.generic_information = strip_traversal(olc.generic_information.take());
                if to_traversal {
                    olc.set_traversal_parameters(&self.traversal_for(to_kind, ip, ports, mux));
                }
            }
            Msg::Response(ResponseMessage::OpenLogicalChannelAck(ack)) => {
                let lcn = ack.forward_logical_channel_number;
                let session = self
                    .calls
                    .get(&call)
                    .and_then(|c| c.channels.get(&(to, lcn)).copied())
                    .unwrap_or(1);
                let traversal = ack.traversal_parameters().and_then(Result::ok);
                let rtp = usable(ack.media_channel());
                let rtcp = usable(ack.media_control_channel());
                let id = {
                    let s = self.stream(call, session, kinds, trav)?;
                    let r = &mut s.remotes[side_index(from)];
                    match (&traversal, from_kind) {
                        (Some(t), LegKind::MuxOut) => {
                            r.rtp = usable(t.multiplexed_media_channel.as_ref())
                                .or(usable(t.keep_alive_channel.as_ref()))
                                .or(rtp)
                                .or(r.rtp);
                            r.rtcp = usable(t.multiplexed_media_control_channel.as_ref())
                                .or(rtcp)
                                .or(r.rtcp);
                            r.mux = t.multiplex_id.or(r.mux);
                        }
                        _ if from_latch_only => {}
                        _ => {
                            r.rtp = rtp.or(r.rtp);
                            r.rtcp = rtcp.or(r.rtcp);
                        }
                    }
                    (s.id, *r)
                };
                self.apply_remote(id.0, from, id.1);
                let (ip, ports, mux, _) = self.ours(id.0, to).ok_or("media stream vanished")?;
                ack.set_media_channel(Some(v4(ip, ports[0])));
                ack.set_media_control_channel(Some(v4(ip, ports[1])));
                ack.generic_information = strip_traversal(ack.generic_information.take());
                if to_traversal {
                    ack.set_traversal_parameters(&self.traversal_for(to_kind, ip, ports, mux));
                }
            }
            _ => return Ok(message.to_vec()),
        }
        Ok(msg.encode())
    }

    /// Frees a call's streams.
    pub fn end(&mut self, call: u64) {
        if let Some(rec) = self.calls.remove(&call) {
            for (_, s) in rec.sessions {
                self.media.with_relay(|r| r.remove_stream(s.id));
                for p in s.pairs {
                    self.media.free_pair(p);
                }
            }
        }
    }

    /// A call's media legs for status.
    pub fn legs(&self, call: u64) -> Vec<MediaLegStatus> {
        let Some(rec) = self.calls.get(&call) else {
            return Vec::new();
        };
        let mut streams: Vec<(usize, StreamId)> = rec
            .sessions
            .iter()
            .map(|(s, r)| (usize::from(*s), r.id))
            .collect();
        streams.sort();
        media_status(&self.media, &streams)
    }
}

/// `generic` without the H.460.19 traversal parameters entry.
fn strip_traversal(
    generic: Option<Vec<exp_h460::h245::GenericInformation>>,
) -> Option<Vec<exp_h460::h245::GenericInformation>> {
    let kept: Vec<_> = generic
        .unwrap_or_default()
        .into_iter()
        .filter(|g| {
            TraversalParameters::from_generic_information(std::slice::from_ref(g)).is_none()
        })
        .collect();
    (!kept.is_empty()).then_some(kept)
}
