//! Media anchoring: the SDP rewrite that puts the relay between the two legs of every call.
//!
//! Every offer and answer crossing the B2BUA passes here. For each media line the call gets
//! one relay stream with a leg per side; the SDP arriving from one side tells that leg where to
//! send, and the SDP leaving toward the other side names that leg's own ports:
//! - toward an endpoint or proxy (`Peer::Net`): our RTP/RTCP pair from the media range; the
//!   endpoint's address is latched from its packets ([`LegKind::Plain`]);
//! - toward the traversal client of one of our server zones (exp-e → exp-c): our
//!   demultiplexing pair and `a=x-exp-mux:<id>`, the stream's mux identifier
//!   ([`LegKind::Demux`]);
//! - toward the traversal server of one of our client zones (exp-c → exp-e): our own pair,
//!   from which we send to the demultiplexing address and identifier the server's SDP gave
//!   ([`LegKind::MuxOut`]).
//!
//! ICE attributes are removed (they name addresses the relay hides); codecs, crypto,
//! directions, rtcp-mux and everything else pass unchanged, so the two endpoints negotiate with
//! each other as if directly connected.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use exp_media::{LegKind, LegSide, LegSpec, LegStatus, StreamId};
use exp_sip::b2bua::{CallId, LegRole, Peer};
use exp_sip::sdp::SessionDescription;
use serde::Serialize;

use crate::media_io::MediaRelay;

/// The SDP attribute carrying a stream's mux identifier (docs/media-demux.md).
pub const MUX_ATTRIBUTE: &str = "x-exp-mux";

struct StreamRec {
    id: StreamId,
    /// Own port pairs to free when the stream ends.
    pairs: Vec<u16>,
}

/// One media leg as `/api/v1/calls` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct MediaLegStatus {
    /// Media line index in the SDP.
    pub stream: usize,
    /// `caller` or `callee` side.
    pub side: &'static str,
    /// `endpoint`, `demux` (exp-e toward exp-c) or `mux-out` (toward exp-e).
    pub kind: &'static str,
    /// Our RTP address.
    pub local: String,
    /// Where RTP goes (latched source, else the SDP address); empty while unknown.
    pub remote: String,
    /// True once the leg latched its remote's source.
    pub latched: bool,
    /// Packets received on this leg and relayed.
    pub packets_in: u64,
    /// Bytes received and relayed.
    pub bytes_in: u64,
    /// Packets sent on this leg.
    pub packets_out: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Datagrams dropped on this leg.
    pub dropped: u64,
}

/// Per-call media streams of one program.
pub struct Anchor {
    media: Arc<MediaRelay>,
    server_zones: HashSet<String>,
    calls: HashMap<CallId, Vec<Option<StreamRec>>>,
}

fn side_of(role: LegRole) -> LegSide {
    match role {
        LegRole::Caller => LegSide::A,
        LegRole::Callee => LegSide::B,
    }
}

impl Anchor {
    /// Anchoring on `media`; `server_zones` names this program's traversal server zones.
    pub fn new(media: Arc<MediaRelay>, server_zones: HashSet<String>) -> Self {
        Anchor {
            media,
            server_zones,
            calls: HashMap::new(),
        }
    }

    fn kind_toward(&self, peer: &Peer) -> LegKind {
        match peer {
            Peer::Zone(z) if self.server_zones.contains(z) => LegKind::Demux,
            Peer::Zone(_) => LegKind::MuxOut,
            Peer::Net { .. } => LegKind::Plain,
        }
    }

    /// Rewrites `sdp`, which arrived from the `from` leg (`from_peer`) and goes to `to_peer`.
    pub fn anchor(
        &mut self,
        call: CallId,
        from: LegRole,
        from_peer: &Peer,
        to_peer: &Peer,
        sdp: &[u8],
    ) -> Result<Vec<u8>, String> {
        let mut sdp = SessionDescription::parse(sdp).map_err(|e| format!("bad SDP: {e}"))?;
        let (from_side, to_side) = (side_of(from), side_of(from).other());
        let (from_kind, to_kind) = (self.kind_toward(from_peer), self.kind_toward(to_peer));
        let our_addr = self.media.address_for(to_kind);
        let session_addr = sdp.session_connection();
        let now = Instant::now();
        let count = sdp.media_count();
        let mut recs = self.calls.remove(&call).unwrap_or_default();
        let result = (|| {
            for i in 0..count {
                if recs.len() <= i {
                    recs.push(None);
                }
                if sdp.media_disabled(i) {
                    if let Some(rec) = recs[i].take() {
                        self.drop_stream(rec);
                    }
                    continue;
                }
                if recs[i].is_none() {
                    recs[i] = Some(self.new_stream(call, from_side, from_kind, to_kind, now)?);
                }
                let Some(rec) = recs[i].as_ref() else {
                    continue;
                };
                // What the arriving SDP says about its own side.
                let addr = sdp.media_connection(i).or(session_addr);
                let port = sdp.media_port(i).unwrap_or(0);
                let rtp = addr.map(|a| SocketAddr::new(a, port));
                let rtcp = match sdp.rtcp_attr(i) {
                    Some((p, a)) => a.or(addr).map(|a| SocketAddr::new(a, p)),
                    None if sdp.rtcp_mux(i) => rtp,
                    None => addr.map(|a| SocketAddr::new(a, port.wrapping_add(1))),
                };
                let mux = match from_kind {
                    LegKind::MuxOut => Some(
                        sdp.attribute(i, MUX_ATTRIBUTE)
                            .and_then(|v| v.trim().parse::<u32>().ok())
                            .ok_or_else(|| {
                                format!("media line {i} from the traversal server has no a={MUX_ATTRIBUTE}")
                            })?,
                    ),
                    _ => None,
                };
                // A zero address (c=0.0.0.0, RFC 3264 §8.4 hold) means "do not send".
                let usable = |a: Option<SocketAddr>| a.filter(|a| !a.ip().is_unspecified());
                let id = rec.id;
                self.media.with_relay(|r| {
                    r.set_remote(id, from_side, usable(rtp), usable(rtcp), mux, now)
                });
                // What the leaving SDP says about ours.
                let [a, b] = self
                    .media
                    .with_relay(|r| r.status(id))
                    .ok_or("media stream vanished")?;
                let to_leg = if to_side == LegSide::A { a } else { b };
                sdp.remove_attribute(i, MUX_ATTRIBUTE);
                sdp.set_connection(i, our_addr);
                sdp.set_media_port(i, to_leg.local_ports[0]);
                if sdp.rtcp_attr(i).is_some() || !sdp.rtcp_mux(i) {
                    sdp.set_rtcp_attr(i, to_leg.local_ports[1], None);
                }
                if to_kind == LegKind::Demux {
                    let m = to_leg
                        .mux_id
                        .ok_or("demultiplexed stream without identifier")?;
                    sdp.set_attribute(i, MUX_ATTRIBUTE, Some(&m.to_string()));
                }
            }
            Ok::<(), String>(())
        })();
        self.calls.insert(call, recs);
        result?;
        if sdp.session_connection().is_some() {
            sdp.set_session_connection(our_addr);
        }
        if sdp.origin_address().is_some() {
            sdp.set_origin_address(our_addr);
        }
        sdp.remove_ice();
        Ok(sdp.to_bytes())
    }

    fn new_stream(
        &mut self,
        call: CallId,
        from_side: LegSide,
        from_kind: LegKind,
        to_kind: LegKind,
        now: Instant,
    ) -> Result<StreamRec, String> {
        let mut pairs = Vec::new();
        let spec = |kind: LegKind, pairs: &mut Vec<u16>| -> Result<LegSpec, String> {
            if kind == LegKind::Demux {
                return Ok(LegSpec {
                    kind,
                    rtp_port: 0,
                    rtcp_port: 0,
                });
            }
            let p = self
                .media
                .alloc_pair()
                .map_err(|e| format!("no media port: {e:#}"))?;
            pairs.push(p);
            Ok(LegSpec {
                kind,
                rtp_port: p,
                rtcp_port: p.wrapping_add(1),
            })
        };
        let specs = (|| {
            let f = spec(from_kind, &mut pairs)?;
            let t = spec(to_kind, &mut pairs)?;
            Ok::<_, String>((f, t))
        })();
        let (f, t) = match specs {
            Ok(s) => s,
            Err(e) => {
                for p in pairs {
                    self.media.free_pair(p);
                }
                return Err(e);
            }
        };
        let (a, b) = if from_side == LegSide::A {
            (f, t)
        } else {
            (t, f)
        };
        match self.media.with_relay(|r| r.add_stream(call, a, b, now)) {
            Ok(id) => Ok(StreamRec { id, pairs }),
            Err(e) => {
                for p in pairs {
                    self.media.free_pair(p);
                }
                Err(e.to_string())
            }
        }
    }

    fn drop_stream(&self, rec: StreamRec) {
        self.media.with_relay(|r| r.remove_stream(rec.id));
        for p in rec.pairs {
            self.media.free_pair(p);
        }
    }

    /// The media relay the streams live on.
    pub fn media(&self) -> &Arc<MediaRelay> {
        &self.media
    }

    /// The call is over: every stream ends and its ports go back to the pool.
    pub fn release(&mut self, call: CallId) {
        if let Some(recs) = self.calls.remove(&call) {
            for rec in recs.into_iter().flatten() {
                self.drop_stream(rec);
            }
        }
    }

    /// True when `stream` belongs to `call` (an idle report may be stale).
    pub fn owns(&self, call: CallId, stream: StreamId) -> bool {
        self.calls
            .get(&call)
            .is_some_and(|v| v.iter().flatten().any(|r| r.id == stream))
    }

    /// Relay streams of a call: (media line index, stream).
    pub fn streams(&self, call: CallId) -> Vec<(usize, StreamId)> {
        self.calls
            .get(&call)
            .map(|v| {
                v.iter()
                    .enumerate()
                    .filter_map(|(i, r)| r.as_ref().map(|r| (i, r.id)))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Live status of the media legs of `streams` (media line index, stream).
pub fn media_status(media: &MediaRelay, streams: &[(usize, StreamId)]) -> Vec<MediaLegStatus> {
    let mut out = Vec::new();
    for (i, id) in streams {
        let Some(legs) = media.with_relay(|r| r.status(*id)) else {
            continue;
        };
        for (side, leg) in ["caller", "callee"].into_iter().zip(legs) {
            out.push(leg_status(*i, side, media.address_for(leg.kind), &leg));
        }
    }
    out
}

fn leg_status(stream: usize, side: &'static str, ip: IpAddr, leg: &LegStatus) -> MediaLegStatus {
    MediaLegStatus {
        stream,
        side,
        kind: match leg.kind {
            LegKind::Plain => "endpoint",
            LegKind::Demux => "demux",
            LegKind::MuxOut => "mux-out",
        },
        local: SocketAddr::new(ip, leg.local_ports[0]).to_string(),
        remote: leg.remote.map(|r| r.to_string()).unwrap_or_default(),
        latched: leg.latched,
        packets_in: leg.counters.rx_packets,
        bytes_in: leg.counters.rx_bytes,
        packets_out: leg.counters.tx_packets,
        bytes_out: leg.counters.tx_bytes,
        dropped: leg.counters.dropped,
    }
}
