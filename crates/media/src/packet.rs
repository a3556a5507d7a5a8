//! What the relay needs to know about a datagram: is it RTP or RTCP (RFC 3550, RFC 5761 §4),
//! its SSRC, and the demultiplexing prefix of exp's zone media format.
//!
//! The format on exp-e's demultiplexing ports (modelled on H.460.19's multiplexID): every
//! datagram starts with the stream's 4-byte mux identifier in network byte order, followed by
//! the RTP or RTCP packet unchanged. A datagram of exactly the 4 identifier bytes is a
//! keep-alive: it opens and refreshes the firewall pinhole without carrying media.

/// Bytes of the mux identifier prefix.
pub const MUX_PREFIX_LEN: usize = 4;
/// A keep-alive is the prefix alone.
pub const KEEPALIVE_LEN: usize = MUX_PREFIX_LEN;
/// Largest datagram relayed (prefix included); larger ones are dropped and counted. 1500-byte
/// Ethernet MTU minus IPv6 and UDP headers, plus the prefix.
pub const MAX_DATAGRAM: usize = 1500 - 40 - 8 + MUX_PREFIX_LEN;

/// Smallest RTP packet: the fixed header (RFC 3550 §5.1).
const RTP_MIN: usize = 12;
/// Smallest RTCP packet: header and sender SSRC (RFC 3550 §6.4).
const RTCP_MIN: usize = 8;

/// The kind of a media packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// RTP, with its SSRC.
    Rtp(u32),
    /// RTCP, with the sender's SSRC.
    Rtcp(u32),
}

impl Kind {
    /// The SSRC of the packet.
    pub fn ssrc(self) -> u32 {
        match self {
            Kind::Rtp(s) | Kind::Rtcp(s) => s,
        }
    }
}

/// Classifies an RTP or RTCP packet; `None` when it is neither (wrong version, too short).
///
/// RTP and RTCP are told apart as RFC 5761 §4 describes for rtcp-mux: a second byte of
/// 192–223 (payload type 64–95 with the marker bit) is RTCP.
pub fn classify(data: &[u8]) -> Option<Kind> {
    let first = *data.first()?;
    if first >> 6 != 2 {
        return None;
    }
    let second = *data.get(1)?;
    let word = |at: usize| -> Option<u32> {
        let b = data.get(at..at + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    if (192..=223).contains(&second) {
        if data.len() < RTCP_MIN {
            return None;
        }
        Some(Kind::Rtcp(word(4)?))
    } else {
        if data.len() < RTP_MIN {
            return None;
        }
        Some(Kind::Rtp(word(8)?))
    }
}

/// Splits a demultiplexing datagram into its mux identifier and the packet after it.
pub fn split_mux(data: &[u8]) -> Option<(u32, &[u8])> {
    let prefix = data.get(..MUX_PREFIX_LEN)?;
    let id = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
    Some((id, &data[MUX_PREFIX_LEN..]))
}

/// An H.460.19 keep-alive (H.460.19 §11.3 / §11.4): on RTP an RTP header with the
/// keep-alive payload type and no payload; on RTCP an empty receiver report. `mux_id`, when
/// given, is put in front as on every datagram to a demultiplexing port.
pub fn h460_19_keepalive(
    mux_id: Option<u32>,
    rtcp: bool,
    payload_type: u8,
    ssrc: u32,
    seq: u16,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(MUX_PREFIX_LEN + RTP_MIN);
    if let Some(m) = mux_id {
        out.extend_from_slice(&m.to_be_bytes());
    }
    if rtcp {
        // V=2, RC=0, PT=201 (RR), length 1 (two 32-bit words minus one), SSRC.
        out.extend_from_slice(&[0x80, 201, 0x00, 0x01]);
    } else {
        out.extend_from_slice(&[0x80, payload_type & 0x7f]);
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&[0; 4]);
    }
    out.extend_from_slice(&ssrc.to_be_bytes());
    out
}

/// True when `packet` (prefix removed) is an H.460.19 keep-alive for `payload_type`: an RTP
/// packet of that payload type without payload, or an empty receiver report.
pub fn is_h460_19_keepalive(packet: &[u8], payload_type: u8) -> bool {
    match packet {
        [0x80, 201, 0x00, 0x01, _, _, _, _] => true,
        [first, pt, ..] if first >> 6 == 2 && packet.len() == RTP_MIN => {
            pt & 0x7f == payload_type & 0x7f && !(192..=223).contains(pt)
        }
        _ => false,
    }
}

/// The keep-alive datagram of a stream.
pub fn keepalive(mux_id: u32) -> [u8; KEEPALIVE_LEN] {
    mux_id.to_be_bytes()
}
