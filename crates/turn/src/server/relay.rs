//! The two hot paths: client → peer (ChannelData, RFC 8656 §12.6, and Send indications,
//! §11.2) and peer → client (§11.3, §12.7). Each is one hash lookup of the allocation and one
//! or two in its own small tables (channel, permission), with no heap allocation and no copy:
//! the verdict tells the runtime which bytes of its own buffer to send where. Send indications are parsed here by a
//! zero-copy walk over the attributes rather than by the general decoder, which copies.
//! Building a Data indication (the slow path toward the client) also lives here.

use std::net::SocketAddr;
use std::ops::Range;
use std::time::Instant;

use crate::attribute::{pad4, types, Attribute};
use crate::channel::{is_valid_channel, CHANNEL_HEADER_LEN};
use crate::error::StunError;
use crate::message::{
    check_header, message_type, Class, Method, TransactionId, HEADER_LEN, MAGIC_COOKIE,
};

use super::credentials::CredentialSource;
use super::dispatch::is_known;
use super::engine::Server;
use super::io::{ClientKey, ClientVerdict, DropReason, PeerVerdict, RelayBinder, RelayId};

/// Largest ChannelData payload (16-bit length, RFC 8656 §12.4).
const MAX_CHANNEL_PAYLOAD: usize = u16::MAX as usize;
/// Attribute bytes of a Data indication besides the data: XOR-PEER-ADDRESS (IPv6: 4 + 20)
/// and DATA's header (4), plus at most 3 bytes of padding.
const DATA_INDICATION_OVERHEAD: usize = 4 + 20 + 4 + 3;

impl<C: CredentialSource> Server<C> {
    /// A packet from a client: ChannelData, a STUN request or a Send indication. `pkt` is
    /// one UDP datagram, or one frame cut from a TCP/TLS stream with
    /// [`crate::channel::frame_len`].
    pub fn client_packet(
        &mut self,
        now: Instant,
        client: &ClientKey,
        pkt: &[u8],
        relays: &mut dyn RelayBinder,
    ) -> ClientVerdict {
        let Some(&first) = pkt.first() else {
            return self.drop_client(DropReason::Malformed);
        };
        match first >> 6 {
            0b01 => self.channel_data_from_client(now, client, pkt),
            0b00 => {
                let send = message_type(Method::SEND, Class::Indication).to_be_bytes();
                if pkt.get(..2) == Some(&send[..]) {
                    self.send_indication(now, client, pkt)
                } else {
                    self.stun_from_client(now, client, pkt, relays)
                }
            }
            _ => self.drop_client(DropReason::Malformed),
        }
    }

    #[inline]
    fn drop_client(&mut self, reason: DropReason) -> ClientVerdict {
        self.count_drop(reason);
        ClientVerdict::Dropped(reason)
    }

    /// ChannelData from the client (RFC 8656 §12.6): relay the data to the channel's peer if
    /// the channel is bound; else discard. (The binding was policy-checked and installed a
    /// permission when made; §12.6 asks for no permission check here.)
    fn channel_data_from_client(
        &mut self,
        now: Instant,
        client: &ClientKey,
        pkt: &[u8],
    ) -> ClientVerdict {
        let Some(&[c0, c1, l0, l1]) = pkt
            .get(..CHANNEL_HEADER_LEN)
            .and_then(|h| <&[u8; 4]>::try_from(h).ok())
        else {
            return self.drop_client(DropReason::Malformed);
        };
        let number = u16::from_be_bytes([c0, c1]);
        let len = usize::from(u16::from_be_bytes([l0, l1]));
        let end = CHANNEL_HEADER_LEN + len;
        if !is_valid_channel(number) || end > pkt.len() {
            // RFC 8656 §12.5: shorter than announced → discard; extra bytes are padding.
            return self.drop_client(DropReason::Malformed);
        }
        let Some(slot) = self.table.slot_of_client(client) else {
            return self.drop_client(DropReason::NoAllocation);
        };
        let verdict = match self.table.get_mut(slot) {
            Some(a) if a.expires > now => match a.channel_peer(number, now) {
                Some(peer) => {
                    a.traffic.count_to_peer(len);
                    Ok((a.relay, peer))
                }
                None => Err(DropReason::NoChannel),
            },
            _ => Err(DropReason::NoAllocation),
        };
        match verdict {
            Ok((relay, peer)) => {
                self.counters.traffic.count_to_peer(len);
                ClientVerdict::Relay {
                    relay,
                    peer,
                    payload: CHANNEL_HEADER_LEN..end,
                }
            }
            Err(reason) => self.drop_client(reason),
        }
    }

    /// Send indication (RFC 8656 §11.2): relay DATA to XOR-PEER-ADDRESS if a permission is in
    /// force; anything wrong is discarded silently (indications get no answer).
    fn send_indication(&mut self, now: Instant, client: &ClientKey, pkt: &[u8]) -> ClientVerdict {
        let Some((peer, data)) = parse_send(pkt) else {
            return self.drop_client(DropReason::Malformed);
        };
        let Some(slot) = self.table.slot_of_client(client) else {
            return self.drop_client(DropReason::NoAllocation);
        };
        let len = data.len();
        let verdict = match self.table.get_mut(slot) {
            Some(a) if a.expires > now => {
                if a.relayed.is_ipv6() != peer.is_ipv6() {
                    Err(DropReason::WrongFamily)
                } else if a.permitted(peer.ip(), now) {
                    a.traffic.count_to_peer(len);
                    Ok(a.relay)
                } else {
                    Err(DropReason::NoPermission)
                }
            }
            _ => Err(DropReason::NoAllocation),
        };
        match verdict {
            Ok(relay) => {
                self.counters.traffic.count_to_peer(len);
                ClientVerdict::Relay {
                    relay,
                    peer,
                    payload: data,
                }
            }
            Err(reason) => self.drop_client(reason),
        }
    }

    /// A datagram of `payload_len` bytes from `peer` arrived on relay socket `relay`
    /// (RFC 8656 §11.3, §12.7): ChannelData if a channel is bound to the peer, else a Data
    /// indication if a permission is in force, else discard.
    pub fn peer_packet(
        &mut self,
        now: Instant,
        relay: RelayId,
        peer: SocketAddr,
        payload_len: usize,
    ) -> PeerVerdict {
        let Some(slot) = self.table.slot_of_relay(relay) else {
            return self.drop_peer(DropReason::NoAllocation);
        };
        let verdict = match self.table.get_mut(slot) {
            Some(a) if a.expires > now => {
                if !a.permitted(peer.ip(), now) {
                    Err(DropReason::NoPermission)
                } else if let Some(channel) = a.peer_channel(&peer, now) {
                    if payload_len > MAX_CHANNEL_PAYLOAD {
                        Err(DropReason::TooLarge)
                    } else {
                        a.traffic.count_to_client(payload_len);
                        Ok(PeerVerdict::Channel {
                            client: a.client,
                            channel,
                            pad: a.client.transport.is_stream(),
                        })
                    }
                } else if payload_len.saturating_add(DATA_INDICATION_OVERHEAD)
                    > usize::from(u16::MAX)
                {
                    Err(DropReason::TooLarge)
                } else {
                    a.traffic.count_to_client(payload_len);
                    Ok(PeerVerdict::Indication { client: a.client })
                }
            }
            _ => Err(DropReason::NoAllocation),
        };
        match verdict {
            Ok(v) => {
                self.counters.traffic.count_to_client(payload_len);
                v
            }
            Err(reason) => self.drop_peer(reason),
        }
    }

    #[inline]
    fn drop_peer(&mut self, reason: DropReason) -> PeerVerdict {
        self.count_drop(reason);
        PeerVerdict::Dropped(reason)
    }

    /// Appends a Data indication (RFC 8656 §11.3) carrying `payload` from `peer` to `out`,
    /// with a fresh transaction id. No allocation if `out` has room.
    pub fn data_indication(
        &mut self,
        peer: SocketAddr,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), StunError> {
        let addr_len = if peer.is_ipv6() { 20 } else { 8 };
        let attrs_len = 4 + addr_len + 4 + pad4(payload.len());
        let len = u16::try_from(attrs_len).map_err(|_| StunError::MessageTooLong)?;
        let data_len = u16::try_from(payload.len()).map_err(|_| StunError::MessageTooLong)?;
        let mut id = [0u8; 12];
        self.rng.fill(&mut id);
        let txid = TransactionId(id);
        out.reserve(HEADER_LEN + attrs_len);
        out.extend_from_slice(&message_type(Method::DATA, Class::Indication).to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        out.extend_from_slice(&id);
        out.extend_from_slice(&types::XOR_PEER_ADDRESS.to_be_bytes());
        out.extend_from_slice(&(addr_len as u16).to_be_bytes());
        Attribute::XorPeerAddress(peer).encode_value(&txid, out)?;
        out.extend_from_slice(&types::DATA.to_be_bytes());
        out.extend_from_slice(&data_len.to_be_bytes());
        out.extend_from_slice(payload);
        out.resize(out.len() + (pad4(payload.len()) - payload.len()), 0);
        Ok(())
    }
}

/// Finds XOR-PEER-ADDRESS and the range of DATA's value in a Send indication without copying
/// (RFC 8656 §11.2; RFC 8489 §14: only the first occurrence of an attribute counts). `None`
/// if the message is malformed, lacks either attribute, or has an unknown
/// comprehension-required attribute (RFC 8489 §6.3.2: such indications are discarded).
fn parse_send(pkt: &[u8]) -> Option<(SocketAddr, Range<usize>)> {
    let len = usize::from(check_header(pkt).ok()?);
    if pkt.len() != HEADER_LEN + len {
        return None;
    }
    let txid = TransactionId(pkt.get(8..HEADER_LEN)?.try_into().ok()?);
    let mut peer = None;
    let mut data = None;
    let mut off = HEADER_LEN;
    while off < pkt.len() {
        let h = pkt.get(off..off + 4)?;
        let typ = u16::from_be_bytes([h.first().copied()?, h.get(1).copied()?]);
        let vlen = usize::from(u16::from_be_bytes([h.get(2).copied()?, h.get(3).copied()?]));
        let start = off + 4;
        let end = start + vlen;
        let next = start + pad4(vlen);
        if next > pkt.len() {
            return None;
        }
        match typ {
            types::XOR_PEER_ADDRESS if peer.is_none() => {
                match Attribute::decode(typ, pkt.get(start..end)?, &txid) {
                    Ok(Attribute::XorPeerAddress(a)) => peer = Some(a),
                    _ => return None,
                }
            }
            types::DATA if data.is_none() => data = Some(start..end),
            // RFC 8489 §14.7: FINGERPRINT is last; nothing after it counts.
            types::FINGERPRINT => break,
            t if !is_known(t) => return None,
            _ => {}
        }
        off = next;
    }
    Some((peer?, data?))
}
