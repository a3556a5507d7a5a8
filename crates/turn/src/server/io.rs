//! The types that cross the boundary between the sans-IO core and the runtime that owns the
//! sockets: who a client is (its 5-tuple), which relay socket a packet belongs to, what the
//! runtime must do with a packet (a verdict), what it must send (a transmit) and what happened
//! (an event). Kept apart from the state machine so the runtime's side of the contract reads in
//! one place.

use std::net::{IpAddr, SocketAddr};
use std::ops::Range;

/// Transport between the client and the server (RFC 8656 §3.1). Every transport gets a UDP
/// relay; only the framing toward the client differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP (RFC 8656 §3.1, ChannelData padded to 4 bytes, §12.5).
    Tcp,
    /// TLS over TCP (same framing as TCP).
    Tls,
}

impl Transport {
    /// Whether the transport is a byte stream, where ChannelData toward the client must be
    /// padded to a multiple of 4 bytes (RFC 8656 §12.5).
    pub fn is_stream(self) -> bool {
        !matches!(self, Transport::Udp)
    }
}

/// The 5-tuple of a client (RFC 8656 §2: client address and port, server address and port,
/// transport). For TCP and TLS the runtime may add a connection id so that two successive
/// connections from the same address are told apart; over UDP it is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey {
    /// Transport protocol.
    pub transport: Transport,
    /// The client's address as the server sees it (the source of its packets).
    pub remote: SocketAddr,
    /// The server's address the client talks to.
    pub local: SocketAddr,
    /// Connection id chosen by the runtime for TCP/TLS; 0 for UDP.
    pub conn: u32,
}

impl ClientKey {
    /// A UDP client.
    pub fn udp(remote: SocketAddr, local: SocketAddr) -> ClientKey {
        ClientKey {
            transport: Transport::Udp,
            remote,
            local,
            conn: 0,
        }
    }

    /// A TCP client on connection `conn`.
    pub fn tcp(remote: SocketAddr, local: SocketAddr, conn: u32) -> ClientKey {
        ClientKey {
            transport: Transport::Tcp,
            remote,
            local,
            conn,
        }
    }

    /// A TLS client on connection `conn`.
    pub fn tls(remote: SocketAddr, local: SocketAddr, conn: u32) -> ClientKey {
        ClientKey {
            transport: Transport::Tls,
            remote,
            local,
            conn,
        }
    }
}

/// A relay socket, named by the runtime when it binds it ([`RelayBinder::bind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelayId(pub u32);

/// The runtime could not bind a relay socket on the address asked (port taken, address gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindError;

/// Relay sockets, implemented by the runtime. The core owns the port pool and asks for a
/// socket on an exact address; the runtime opens or closes it.
pub trait RelayBinder {
    /// Binds a UDP socket on exactly `addr`. On failure the core tries another free port of its
    /// pool, a bounded number of times (RFC 8656 §7.2 leaves the port choice to the server).
    fn bind(&mut self, addr: SocketAddr) -> Result<RelayId, BindError>;
    /// Closes a relay socket the core no longer uses.
    fn close(&mut self, relay: RelayId);
}

/// Why a packet was not relayed or answered. Each reason has a counter in
/// [`crate::server::Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Not a STUN message nor ChannelData, or one that does not decode.
    Malformed,
    /// A STUN response, or an indication other than Send, from a client (RFC 8489 §6.3.2,
    /// §6.3.3: nothing to answer).
    UnexpectedMessage,
    /// FINGERPRINT present and wrong (RFC 8489 §7).
    BadFingerprint,
    /// No allocation on this 5-tuple or relay (RFC 8656 §5: discard).
    NoAllocation,
    /// No permission for the peer (RFC 8656 §9: discard silently).
    NoPermission,
    /// ChannelData on a channel that is not bound (RFC 8656 §12.6).
    NoChannel,
    /// The peer address is of the other family than the relay (RFC 8656 §11.2).
    WrongFamily,
    /// Requests from this IP are paused after too many authentication failures.
    RateLimited,
    /// The payload does not fit a ChannelData or Data indication (64 KiB).
    TooLarge,
    /// A request waiting for a delegated credential was pushed out of the full queue.
    QueueFull,
    /// A request waiting for a delegated credential waited too long.
    CredentialTimeout,
}

impl DropReason {
    /// Every reason, in counter order.
    pub const ALL: [DropReason; 11] = [
        DropReason::Malformed,
        DropReason::UnexpectedMessage,
        DropReason::BadFingerprint,
        DropReason::NoAllocation,
        DropReason::NoPermission,
        DropReason::NoChannel,
        DropReason::WrongFamily,
        DropReason::RateLimited,
        DropReason::TooLarge,
        DropReason::QueueFull,
        DropReason::CredentialTimeout,
    ];

    /// Position in [`DropReason::ALL`] and in the counter array.
    pub fn index(self) -> usize {
        self as usize
    }

    /// A short name for logs and metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Malformed => "malformed",
            DropReason::UnexpectedMessage => "unexpected_message",
            DropReason::BadFingerprint => "bad_fingerprint",
            DropReason::NoAllocation => "no_allocation",
            DropReason::NoPermission => "no_permission",
            DropReason::NoChannel => "no_channel",
            DropReason::WrongFamily => "wrong_family",
            DropReason::RateLimited => "rate_limited",
            DropReason::TooLarge => "too_large",
            DropReason::QueueFull => "queue_full",
            DropReason::CredentialTimeout => "credential_timeout",
        }
    }
}

/// What the runtime does with a packet a client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientVerdict {
    /// Send `pkt[payload]` from relay socket `relay` to `peer` (ChannelData or Send
    /// indication, RFC 8656 §11.2, §12.6). No copy is made by the core.
    Relay {
        /// Relay socket to send from.
        relay: RelayId,
        /// Destination.
        peer: SocketAddr,
        /// Range of the received packet holding the application data.
        payload: Range<usize>,
    },
    /// The packet was a request; its response is queued ([`crate::server::Server::poll_transmit`]).
    Replied,
    /// The request waits for a delegated credential check ([`crate::server::Event::NeedCredential`]).
    Queued,
    /// Nothing to send; the packet is counted under this reason.
    Dropped(DropReason),
}

/// What the runtime does with a datagram a peer sent to a relay socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerVerdict {
    /// Send the payload to `client` as ChannelData (RFC 8656 §12.7): the runtime writes the
    /// 4-byte header (`channel`, payload length) before the payload and, when `pad`, zero bytes
    /// after it up to a multiple of 4 (TCP/TLS clients, RFC 8656 §12.5).
    Channel {
        /// The client of the allocation.
        client: ClientKey,
        /// Channel number bound to the peer.
        channel: u16,
        /// Pad to 4 bytes (stream transport).
        pad: bool,
    },
    /// Send the payload to `client` in a Data indication (RFC 8656 §11.3), built by
    /// [`crate::server::Server::data_indication`].
    Indication {
        /// The client of the allocation.
        client: ClientKey,
    },
    /// Do not forward; counted under this reason.
    Dropped(DropReason),
}

/// A STUN message for a client (a response, RFC 8489 §6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it: the 5-tuple the request came on.
    pub client: ClientKey,
    /// The encoded message.
    pub bytes: Vec<u8>,
}

/// Why an allocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeleteReason {
    /// Refresh with LIFETIME 0 (RFC 8656 §8.2).
    Refreshed,
    /// Its lifetime ran out (RFC 8656 §6).
    Expired,
    /// The TCP/TLS connection of the client closed (its 5-tuple is gone, RFC 8656 §3.2).
    ClientClosed,
}

/// Something the runtime may want to log, count or act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new allocation and its relay socket.
    AllocationCreated {
        /// Client 5-tuple.
        client: ClientKey,
        /// Relay socket.
        relay: RelayId,
        /// Relayed transport address as told to the client.
        relayed: SocketAddr,
        /// Username that authenticated.
        username: String,
    },
    /// An allocation ended; its relay socket has been closed through the binder.
    AllocationDeleted {
        /// Client 5-tuple.
        client: ClientKey,
        /// Relay socket (already closed).
        relay: RelayId,
        /// Why.
        reason: DeleteReason,
    },
    /// The credential source answered `Pending` for this username: the runtime checks it
    /// elsewhere and calls [`crate::server::Server::credential_ready`]. Emitted once per
    /// username while its check is outstanding.
    NeedCredential {
        /// Username to check.
        username: String,
    },
    /// Requests from this IP are dropped for a while after too many failed authentications.
    SourceBlocked {
        /// Source address.
        ip: IpAddr,
    },
}
