//! Q.931 messages as H.225.0 uses them on the call-signalling channel: the octet-oriented
//! header and information elements (IEs) around the PER-coded H323-UserInformation, which
//! this module carries as opaque bytes in the User-user IE. One message is one TPKT payload
//! (see [`crate::tpkt`]).
//!
//! Layout (Q.931 (05/1998) §4.1; the clause numbers below are of that edition, the one
//! H.225.0 refers to):
//!
//! ```text
//!  octet 1      protocol discriminator, 0x08 = Q.931 user-network call control (§4.2)
//!  octet 2      0000 LLLL: length of the call reference value (§4.3)
//!  octets 3-4   F vvvvvvv vvvvvvvv: call reference flag and 15-bit value (§4.3)
//!  next octet   0 ttttttt: message type (§4.4, Table 4-2)
//!  the rest     information elements (§4.5):
//!                 1 xxx yyyy           single-octet IE, type 1 or 2 (§4.5.1)
//!                 0 iiiiiii, len, ...  variable-length IE, one length octet (§4.5.1)
//!                 0x7E, len16, ...     User-user IE: H.225.0 (§7, its User-user IE)
//!                                      widens its length to two octets (big-endian)
//!                                      and its contents are a protocol
//!                                      discriminator (0x05, X.208/X.209 coded user
//!                                      information, Q.931 §4.5.30) and then the
//!                                      H323-UserInformation
//! ```
//!
//! Decisions:
//! - **Call reference length.** H.225.0 (§7) fixes the call reference value at two octets.
//!   Length 0 is Q.931's dummy call reference (§4.3), used outside any call; it is accepted
//!   and represented as `call_ref: None`. A one-octet call reference exists only on ISDN
//!   basic access and lengths above 2 do not occur in H.225.0: both are refused
//!   ([`Q931Error::BadCallRefLength`]). The global call reference (§4.3) is the two-octet
//!   value 0, an ordinary [`CallRef`].
//! - **Typed and raw IEs.** The IEs H.225.0 uses get typed variants of [`Ie`]. The decoder
//!   produces a typed variant only when re-encoding it gives back the very same octets;
//!   contents it cannot represent exactly (reserved bits set, an octet group it does not model,
//!   non-IA5 text) and every other IE stay [`Ie::Other`], raw, so any message that decodes
//!   re-encodes octet for octet. Q.931 §5.8.7 treats a malformed optional IE as absent
//!   rather than failing the message, and so does this module: only IEs that run past the end
//!   of the message fail it.
//! - **Codesets.** Shift IEs (§4.5.3, §4.5.4) switch the codeset of the IEs after them. IEs
//!   outside codeset 0 are always kept raw, and only codeset 0's 0x7E gets the two-octet
//!   length. H.225.0 itself does not shift.
//! - **Message types** not listed in [`MessageType`] are kept as [`MessageType::Other`];
//!   the decoder does not interpret the escape to national message types (0x00).

use thiserror::Error;

/// Protocol discriminator of Q.931 user-network call control messages (Q.931 §4.2).
pub const PROTOCOL_DISCRIMINATOR: u8 = 0x08;
/// User-user protocol discriminator: X.208/X.209 coded user information (Q.931 §4.5.30),
/// the one H.225.0 uses for the H323-UserInformation.
pub const UU_PROTOCOL_X208: u8 = 0x05;
/// Largest value of a call reference (15 bits, Q.931 §4.3).
pub const CALL_REF_MAX: u16 = 0x7FFF;
/// Largest contents of a variable-length IE (one length octet).
pub const IE_MAX_LEN: usize = 0xFF;
/// Largest contents of the User-user IE (two length octets, H.225.0 §7), its protocol
/// discriminator included.
pub const USER_USER_MAX_LEN: usize = 0xFFFF;

/// Information element identifiers of codeset 0 (Q.931 §4.5, Table 4-3; Facility from Q.932).
pub mod ie_id {
    /// Bearer capability (Q.931 §4.5.5).
    pub const BEARER_CAPABILITY: u8 = 0x04;
    /// Cause (Q.931 §4.5.12, coded as in Q.850 §2).
    pub const CAUSE: u8 = 0x08;
    /// Facility (Q.932): supplementary-service APDUs.
    pub const FACILITY: u8 = 0x1C;
    /// Progress indicator (Q.931 §4.5.23).
    pub const PROGRESS_INDICATOR: u8 = 0x1E;
    /// Notification indicator (Q.931 §4.5.22).
    pub const NOTIFICATION_INDICATOR: u8 = 0x27;
    /// Display (Q.931 §4.5.16).
    pub const DISPLAY: u8 = 0x28;
    /// Keypad facility (Q.931 §4.5.18).
    pub const KEYPAD: u8 = 0x2C;
    /// Signal (Q.931 §4.5.28).
    pub const SIGNAL: u8 = 0x34;
    /// Calling party number (Q.931 §4.5.10).
    pub const CALLING_PARTY_NUMBER: u8 = 0x6C;
    /// Called party number (Q.931 §4.5.8).
    pub const CALLED_PARTY_NUMBER: u8 = 0x70;
    /// User-user (Q.931 §4.5.30, with H.225.0's two-octet length).
    pub const USER_USER: u8 = 0x7E;
    /// Sending complete, a single-octet IE (Q.931 §4.5.27).
    pub const SENDING_COMPLETE: u8 = 0xA1;
}

/// Cause locations (Q.850 §2.2, octet 3 bits 4-1).
pub mod location {
    /// User.
    pub const USER: u8 = 0;
    /// Private network serving the local user.
    pub const PRIVATE_LOCAL: u8 = 1;
    /// Public network serving the local user.
    pub const PUBLIC_LOCAL: u8 = 2;
    /// Transit network.
    pub const TRANSIT: u8 = 3;
    /// Public network serving the remote user.
    pub const PUBLIC_REMOTE: u8 = 4;
    /// Private network serving the remote user.
    pub const PRIVATE_REMOTE: u8 = 5;
    /// International network.
    pub const INTERNATIONAL: u8 = 7;
    /// Network beyond the interworking point.
    pub const BEYOND_INTERWORKING: u8 = 10;
}

/// Cause values H.323 calls end with (Q.850 Table 1).
pub mod cause_value {
    /// Unallocated (unassigned) number.
    pub const UNALLOCATED_NUMBER: u8 = 1;
    /// No route to destination.
    pub const NO_ROUTE_TO_DESTINATION: u8 = 3;
    /// Normal call clearing.
    pub const NORMAL_CALL_CLEARING: u8 = 16;
    /// User busy.
    pub const USER_BUSY: u8 = 17;
    /// No user responding.
    pub const NO_USER_RESPONDING: u8 = 18;
    /// No answer from user (user alerted).
    pub const NO_ANSWER: u8 = 19;
    /// Call rejected.
    pub const CALL_REJECTED: u8 = 21;
    /// Destination out of order.
    pub const DESTINATION_OUT_OF_ORDER: u8 = 27;
    /// Normal, unspecified.
    pub const NORMAL_UNSPECIFIED: u8 = 31;
    /// No circuit/channel available.
    pub const NO_CIRCUIT_AVAILABLE: u8 = 34;
    /// Network out of order.
    pub const NETWORK_OUT_OF_ORDER: u8 = 38;
    /// Temporary failure.
    pub const TEMPORARY_FAILURE: u8 = 41;
    /// Resource unavailable, unspecified.
    pub const RESOURCE_UNAVAILABLE: u8 = 47;
    /// Bearer capability not implemented.
    pub const BEARER_NOT_IMPLEMENTED: u8 = 65;
    /// Invalid message, unspecified.
    pub const INVALID_MESSAGE: u8 = 95;
    /// Protocol error, unspecified.
    pub const PROTOCOL_ERROR: u8 = 111;
    /// Interworking, unspecified.
    pub const INTERWORKING: u8 = 127;
}

/// Why a Q.931 message could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Q931Error {
    /// The message ends inside its header (discriminator, call reference, message type).
    #[error("Q.931 message of {len} octets ends inside its header")]
    TruncatedHeader {
        /// Octets received.
        len: usize,
    },
    /// The first octet is not the Q.931 protocol discriminator 0x08.
    #[error("protocol discriminator {0:#04x}, expected 0x08 (Q.931)")]
    BadProtocolDiscriminator(u8),
    /// The call reference length octet is not 0 or 2 (its spare bits included).
    #[error("call reference length octet {0:#04x}; H.225.0 uses 2 (or 0, the dummy)")]
    BadCallRefLength(u8),
    /// An information element runs past the end of the message.
    #[error("information element {id:#04x} at offset {offset} runs past the end of the message")]
    TruncatedIe {
        /// The IE identifier.
        id: u8,
        /// Offset of its identifier octet in the message.
        offset: usize,
    },
    /// Encoding: a call reference value above 15 bits.
    #[error("call reference value {0:#x} does not fit in 15 bits")]
    CallRefRange(u16),
    /// Encoding: a variable-length IE over 255 octets, or a User-user IE over 65535.
    #[error("information element {id:#04x}: {len} octets do not fit its length field")]
    IeTooLong {
        /// The IE identifier.
        id: u8,
        /// Its contents length.
        len: usize,
    },
    /// Encoding: a field of a typed IE out of its range.
    #[error("information element {id:#04x}: {field} = {value} is out of range")]
    FieldRange {
        /// The IE identifier.
        id: u8,
        /// The field.
        field: &'static str,
        /// Its value.
        value: u8,
    },
    /// Encoding: text of a Display, Keypad or party number IE that is not IA5 (7-bit).
    #[error("information element {0:#04x} holds characters outside IA5")]
    NotIa5(u8),
    /// Encoding: [`Ie::Single`] without bit 8 set, or [`Ie::Other`] with it.
    #[error("{0:#04x} is not a valid identifier for this kind of information element")]
    BadIeId(u8),
    /// Encoding: a typed IE placed where a shift has selected a codeset other than 0.
    #[error("typed information element {0:#04x} placed in a codeset other than 0")]
    TypedIeInShiftedCodeset(u8),
}

/// The Q.931 message types H.225.0 uses (Q.931 §4.4, Table 4-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// Alerting (0x01).
    Alerting,
    /// Call Proceeding (0x02).
    CallProceeding,
    /// Progress (0x03).
    Progress,
    /// Setup (0x05).
    Setup,
    /// Connect (0x07).
    Connect,
    /// Setup Acknowledge (0x0D).
    SetupAck,
    /// Release Complete (0x5A).
    ReleaseComplete,
    /// Facility (0x62).
    Facility,
    /// Notify (0x6E).
    Notify,
    /// Status Enquiry (0x75).
    StatusEnquiry,
    /// Information (0x7B).
    Information,
    /// Status (0x7D).
    Status,
    /// Any other message type octet.
    Other(u8),
}

impl MessageType {
    /// Every named message type.
    pub const ALL: [MessageType; 12] = [
        MessageType::Alerting,
        MessageType::CallProceeding,
        MessageType::Progress,
        MessageType::Setup,
        MessageType::Connect,
        MessageType::SetupAck,
        MessageType::ReleaseComplete,
        MessageType::Facility,
        MessageType::Notify,
        MessageType::StatusEnquiry,
        MessageType::Information,
        MessageType::Status,
    ];

    /// The message type octet.
    pub fn code(self) -> u8 {
        match self {
            MessageType::Alerting => 0x01,
            MessageType::CallProceeding => 0x02,
            MessageType::Progress => 0x03,
            MessageType::Setup => 0x05,
            MessageType::Connect => 0x07,
            MessageType::SetupAck => 0x0D,
            MessageType::ReleaseComplete => 0x5A,
            MessageType::Facility => 0x62,
            MessageType::Notify => 0x6E,
            MessageType::StatusEnquiry => 0x75,
            MessageType::Information => 0x7B,
            MessageType::Status => 0x7D,
            MessageType::Other(c) => c,
        }
    }

    /// The message type of an octet (a named one whenever there is one).
    pub fn from_code(code: u8) -> MessageType {
        MessageType::ALL
            .into_iter()
            .find(|t| t.code() == code)
            .unwrap_or(MessageType::Other(code))
    }
}

/// A two-octet call reference (Q.931 §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallRef {
    /// The call reference value, 0..=0x7FFF; 0 is the global call reference.
    pub value: u16,
    /// The call reference flag: `false` (0) on messages sent by the side that allocated the
    /// value, `true` (1) on messages sent by the other side.
    pub from_destination: bool,
}

impl CallRef {
    /// A call reference.
    pub fn new(value: u16, from_destination: bool) -> Self {
        CallRef {
            value,
            from_destination,
        }
    }

    /// The same call reference as the other side sends it (flag inverted).
    pub fn reply(self) -> Self {
        CallRef {
            value: self.value,
            from_destination: !self.from_destination,
        }
    }

    /// Whether this is the global call reference (value 0).
    pub fn is_global(self) -> bool {
        self.value == 0
    }
}

/// The Cause IE (Q.931 §4.5.12, coded as Q.850 §2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// Coding standard (octet 3 bits 7-6): 0 = ITU-T.
    pub coding_standard: u8,
    /// Location (octet 3 bits 4-1), see [`location`].
    pub location: u8,
    /// Recommendation (octet 3a), present only when octet 3 has no extension bit.
    pub recommendation: Option<u8>,
    /// Cause value (octet 4 bits 7-1), see [`cause_value`].
    pub value: u8,
    /// Diagnostics (octets 5 on).
    pub diagnostics: Vec<u8>,
}

impl Cause {
    /// An ITU-T coded cause with no recommendation or diagnostics.
    pub fn new(location: u8, value: u8) -> Self {
        Cause {
            coding_standard: 0,
            location,
            recommendation: None,
            value,
            diagnostics: Vec::new(),
        }
    }

    fn parse(c: &[u8]) -> Option<Cause> {
        let (&o3, rest) = c.split_first()?;
        if o3 & 0x10 != 0 {
            return None; // spare bit
        }
        let (recommendation, rest) = if o3 & 0x80 == 0 {
            let (&o3a, rest) = rest.split_first()?;
            if o3a & 0x80 == 0 {
                return None;
            }
            (Some(o3a & 0x7F), rest)
        } else {
            (None, rest)
        };
        let (&o4, diagnostics) = rest.split_first()?;
        if o4 & 0x80 == 0 {
            return None;
        }
        Some(Cause {
            coding_standard: (o3 >> 5) & 0x03,
            location: o3 & 0x0F,
            recommendation,
            value: o4 & 0x7F,
            diagnostics: diagnostics.to_vec(),
        })
    }

    fn write(&self, out: &mut Vec<u8>) -> Result<(), Q931Error> {
        let id = ie_id::CAUSE;
        let cs = range(id, "coding standard", self.coding_standard, 3)?;
        let loc = range(id, "location", self.location, 15)?;
        let ext = if self.recommendation.is_some() {
            0
        } else {
            0x80
        };
        out.push(ext | cs << 5 | loc);
        if let Some(r) = self.recommendation {
            out.push(0x80 | range(id, "recommendation", r, 0x7F)?);
        }
        out.push(0x80 | range(id, "value", self.value, 0x7F)?);
        out.extend_from_slice(&self.diagnostics);
        Ok(())
    }
}

/// The Progress indicator IE (Q.931 §4.5.23).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Coding standard (octet 3 bits 7-6): 0 = ITU-T.
    pub coding_standard: u8,
    /// Location (octet 3 bits 4-1), as for [`Cause`].
    pub location: u8,
    /// Progress description (octet 4 bits 7-1): 1 = call is not end-to-end ISDN, 2 =
    /// destination is non-ISDN, 3 = origination is non-ISDN, 8 = in-band information
    /// available.
    pub description: u8,
}

impl Progress {
    fn parse(c: &[u8]) -> Option<Progress> {
        match *c {
            [o3, o4] if o3 & 0x90 == 0x80 && o4 & 0x80 != 0 => Some(Progress {
                coding_standard: (o3 >> 5) & 0x03,
                location: o3 & 0x0F,
                description: o4 & 0x7F,
            }),
            _ => None,
        }
    }

    fn write(&self, out: &mut Vec<u8>) -> Result<(), Q931Error> {
        let id = ie_id::PROGRESS_INDICATOR;
        let cs = range(id, "coding standard", self.coding_standard, 3)?;
        let loc = range(id, "location", self.location, 15)?;
        out.push(0x80 | cs << 5 | loc);
        out.push(0x80 | range(id, "description", self.description, 0x7F)?);
        Ok(())
    }
}

/// Octet 3a of a Calling party number (Q.931 §4.5.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presentation {
    /// Presentation indicator (bits 7-6): 0 allowed, 1 restricted, 2 not available.
    pub indicator: u8,
    /// Screening indicator (bits 2-1): 0 user-provided not screened, 1 user-provided
    /// verified and passed, 2 user-provided verified and failed, 3 network provided.
    pub screening: u8,
}

/// A Called or Calling party number IE (Q.931 §4.5.8, §4.5.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyNumber {
    /// Type of number (octet 3 bits 7-5): 0 unknown, 1 international, 2 national, 4 subscriber.
    pub number_type: u8,
    /// Numbering plan (octet 3 bits 4-1): 0 unknown, 1 ISDN/telephony (E.164), 9 private.
    pub plan: u8,
    /// Octet 3a, Calling party number only.
    pub presentation: Option<Presentation>,
    /// The number digits (IA5 characters).
    pub digits: String,
}

impl PartyNumber {
    /// A number of unknown type and plan without octet 3a.
    pub fn new(digits: impl Into<String>) -> Self {
        PartyNumber {
            number_type: 0,
            plan: 0,
            presentation: None,
            digits: digits.into(),
        }
    }

    fn parse(c: &[u8], calling: bool) -> Option<PartyNumber> {
        let (&o3, rest) = c.split_first()?;
        let (presentation, digits) = if o3 & 0x80 == 0 {
            let (&o3a, digits) = rest.split_first()?;
            if !calling || o3a & 0x9C != 0x80 {
                return None; // called numbers have no octet 3a; spare bits must be 0
            }
            let p = Presentation {
                indicator: (o3a >> 5) & 0x03,
                screening: o3a & 0x03,
            };
            (Some(p), digits)
        } else {
            (None, rest)
        };
        Some(PartyNumber {
            number_type: (o3 >> 4) & 0x07,
            plan: o3 & 0x0F,
            presentation,
            digits: ia5(digits)?,
        })
    }

    fn write(&self, id: u8, out: &mut Vec<u8>) -> Result<(), Q931Error> {
        let ton = range(id, "type of number", self.number_type, 7)?;
        let plan = range(id, "numbering plan", self.plan, 15)?;
        match self.presentation {
            None => out.push(0x80 | ton << 4 | plan),
            Some(p) => {
                if id != ie_id::CALLING_PARTY_NUMBER {
                    return Err(Q931Error::FieldRange {
                        id,
                        field: "presentation (calling party number only)",
                        value: p.indicator,
                    });
                }
                out.push(ton << 4 | plan);
                let ind = range(id, "presentation indicator", p.indicator, 3)?;
                let scr = range(id, "screening indicator", p.screening, 3)?;
                out.push(0x80 | ind << 5 | scr);
            }
        }
        write_ia5(id, &self.digits, out)
    }
}

/// An information element (Q.931 §4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ie {
    /// A single-octet IE (bit 8 set), the whole octet: Shift (0x9_), Congestion level
    /// (0xB_), Repeat indicator (0xD_), More data (0xA0), Sending complete (0xA1).
    Single(u8),
    /// Bearer capability contents (Q.931 §4.5.5), octet 3 on.
    BearerCapability(Vec<u8>),
    /// Cause.
    Cause(Cause),
    /// Facility contents (Q.932): the supplementary-service APDUs.
    Facility(Vec<u8>),
    /// Progress indicator.
    Progress(Progress),
    /// Notification indicator (Q.931 §4.5.22): the notification description (7 bits).
    Notification(u8),
    /// Display (Q.931 §4.5.16): IA5 text.
    Display(String),
    /// Keypad facility (Q.931 §4.5.18): IA5 characters.
    Keypad(String),
    /// Signal (Q.931 §4.5.28): the signal value.
    Signal(u8),
    /// Calling party number.
    CallingNumber(PartyNumber),
    /// Called party number.
    CalledNumber(PartyNumber),
    /// User-user (Q.931 §4.5.30, H.225.0 §7): the protocol discriminator (normally
    /// [`UU_PROTOCOL_X208`]) and the user information (the PER-coded H323-UserInformation).
    UserUser {
        /// User-user protocol discriminator.
        protocol: u8,
        /// The user information.
        data: Vec<u8>,
    },
    /// Any other variable-length IE, or one whose contents the typed variants do not
    /// represent exactly: identifier and raw contents.
    Other {
        /// The IE identifier (bit 8 clear).
        id: u8,
        /// The contents.
        data: Vec<u8>,
    },
}

/// Bearer capability contents for H.323 calls: ITU-T coding, unrestricted digital
/// information (octet 3 = 0x88), circuit mode at 64 kbit/s (octet 4 = 0x90), layer 1
/// protocol H.221 and H.242 (octet 5 = 0xA5) (Q.931 §4.5.5).
pub const BEARER_H323: [u8; 3] = [0x88, 0x90, 0xA5];

impl Ie {
    /// The IE identifier (the whole octet for a single-octet IE).
    pub fn id(&self) -> u8 {
        match self {
            Ie::Single(b) => *b,
            Ie::BearerCapability(_) => ie_id::BEARER_CAPABILITY,
            Ie::Cause(_) => ie_id::CAUSE,
            Ie::Facility(_) => ie_id::FACILITY,
            Ie::Progress(_) => ie_id::PROGRESS_INDICATOR,
            Ie::Notification(_) => ie_id::NOTIFICATION_INDICATOR,
            Ie::Display(_) => ie_id::DISPLAY,
            Ie::Keypad(_) => ie_id::KEYPAD,
            Ie::Signal(_) => ie_id::SIGNAL,
            Ie::CallingNumber(_) => ie_id::CALLING_PARTY_NUMBER,
            Ie::CalledNumber(_) => ie_id::CALLED_PARTY_NUMBER,
            Ie::UserUser { .. } => ie_id::USER_USER,
            Ie::Other { id, .. } => *id,
        }
    }

    fn is_typed(&self) -> bool {
        !matches!(self, Ie::Single(_) | Ie::Other { .. })
    }

    /// The typed IE for codeset-0 contents `c` of IE `id`, or [`Ie::Other`].
    fn parse(id: u8, c: &[u8]) -> Ie {
        let typed = match id {
            ie_id::BEARER_CAPABILITY => Some(Ie::BearerCapability(c.to_vec())),
            ie_id::CAUSE => Cause::parse(c).map(Ie::Cause),
            ie_id::FACILITY => Some(Ie::Facility(c.to_vec())),
            ie_id::PROGRESS_INDICATOR => Progress::parse(c).map(Ie::Progress),
            ie_id::NOTIFICATION_INDICATOR => match *c {
                [o3] if o3 & 0x80 != 0 => Some(Ie::Notification(o3 & 0x7F)),
                _ => None,
            },
            ie_id::DISPLAY => ia5(c).map(Ie::Display),
            ie_id::KEYPAD => ia5(c).map(Ie::Keypad),
            ie_id::SIGNAL => match *c {
                [s] => Some(Ie::Signal(s)),
                _ => None,
            },
            ie_id::CALLING_PARTY_NUMBER => PartyNumber::parse(c, true).map(Ie::CallingNumber),
            ie_id::CALLED_PARTY_NUMBER => PartyNumber::parse(c, false).map(Ie::CalledNumber),
            ie_id::USER_USER => c.split_first().map(|(&protocol, data)| Ie::UserUser {
                protocol,
                data: data.to_vec(),
            }),
            _ => None,
        };
        typed.unwrap_or_else(|| Ie::Other {
            id,
            data: c.to_vec(),
        })
    }

    /// Writes the contents (after the length) of a variable-length IE.
    fn write_contents(&self, out: &mut Vec<u8>) -> Result<(), Q931Error> {
        match self {
            Ie::Single(b) => return Err(Q931Error::BadIeId(*b)),
            Ie::BearerCapability(d) | Ie::Facility(d) | Ie::Other { data: d, .. } => {
                out.extend_from_slice(d)
            }
            Ie::Cause(c) => c.write(out)?,
            Ie::Progress(p) => p.write(out)?,
            Ie::Notification(n) => {
                let id = ie_id::NOTIFICATION_INDICATOR;
                out.push(0x80 | range(id, "description", *n, 0x7F)?);
            }
            Ie::Display(s) => write_ia5(ie_id::DISPLAY, s, out)?,
            Ie::Keypad(s) => write_ia5(ie_id::KEYPAD, s, out)?,
            Ie::Signal(s) => out.push(*s),
            Ie::CallingNumber(n) => n.write(ie_id::CALLING_PARTY_NUMBER, out)?,
            Ie::CalledNumber(n) => n.write(ie_id::CALLED_PARTY_NUMBER, out)?,
            Ie::UserUser { protocol, data } => {
                out.push(*protocol);
                out.extend_from_slice(data);
            }
        }
        Ok(())
    }
}

fn range(id: u8, field: &'static str, value: u8, max: u8) -> Result<u8, Q931Error> {
    if value > max {
        return Err(Q931Error::FieldRange { id, field, value });
    }
    Ok(value)
}

fn ia5(c: &[u8]) -> Option<String> {
    if c.is_ascii() {
        // ASCII is valid UTF-8.
        String::from_utf8(c.to_vec()).ok()
    } else {
        None
    }
}

fn write_ia5(id: u8, s: &str, out: &mut Vec<u8>) -> Result<(), Q931Error> {
    if !s.is_ascii() {
        return Err(Q931Error::NotIa5(id));
    }
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Tracks the active codeset through Shift IEs (Q.931 §4.5.3 locking, §4.5.4 non-locking).
#[derive(Default)]
struct Codesets {
    locked: u8,
    next: Option<u8>,
}

impl Codesets {
    /// The codeset of the IE that comes next; call once per IE, in order.
    fn take(&mut self) -> u8 {
        self.next.take().unwrap_or(self.locked)
    }

    /// Applies a single-octet IE, which may be a shift.
    fn single(&mut self, b: u8) {
        if b & 0xF0 == 0x90 {
            if b & 0x08 == 0 {
                self.locked = b & 0x07;
            } else {
                self.next = Some(b & 0x07);
            }
        }
    }
}

/// A Q.931 message of the H.225.0 call-signalling channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The call reference; `None` is the dummy call reference (length 0).
    pub call_ref: Option<CallRef>,
    /// The message type.
    pub kind: MessageType,
    /// The information elements, in order.
    pub ies: Vec<Ie>,
}

impl Message {
    /// A message without IEs.
    pub fn new(kind: MessageType, call_ref: CallRef) -> Self {
        Message {
            call_ref: Some(call_ref),
            kind,
            ies: Vec::new(),
        }
    }

    /// Adds an IE at the end.
    pub fn with_ie(mut self, ie: Ie) -> Self {
        self.ies.push(ie);
        self
    }

    /// Replaces any User-user IE by one carrying `data` (an encoded H323-UserInformation)
    /// with the X.208/X.209 protocol discriminator, at the end (the highest identifier of
    /// codeset 0, so the IEs stay in ascending order, Q.931 §4.5.1).
    pub fn with_user_user(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.ies.retain(|ie| ie.id() != ie_id::USER_USER);
        self.ies.push(Ie::UserUser {
            protocol: UU_PROTOCOL_X208,
            data: data.into(),
        });
        self
    }

    /// The user information of the first User-user IE with the X.208/X.209 protocol
    /// discriminator: the H323-UserInformation, still PER-encoded.
    pub fn user_user(&self) -> Option<&[u8]> {
        self.ies.iter().find_map(|ie| match ie {
            Ie::UserUser {
                protocol: UU_PROTOCOL_X208,
                data,
            } => Some(data.as_slice()),
            _ => None,
        })
    }

    /// The first Cause IE.
    pub fn cause(&self) -> Option<&Cause> {
        self.ies.iter().find_map(|ie| match ie {
            Ie::Cause(c) => Some(c),
            _ => None,
        })
    }

    /// The first Display IE.
    pub fn display(&self) -> Option<&str> {
        self.ies.iter().find_map(|ie| match ie {
            Ie::Display(s) => Some(s.as_str()),
            _ => None,
        })
    }

    /// The first Called party number IE.
    pub fn called_number(&self) -> Option<&PartyNumber> {
        self.ies.iter().find_map(|ie| match ie {
            Ie::CalledNumber(n) => Some(n),
            _ => None,
        })
    }

    /// The first Calling party number IE.
    pub fn calling_number(&self) -> Option<&PartyNumber> {
        self.ies.iter().find_map(|ie| match ie {
            Ie::CallingNumber(n) => Some(n),
            _ => None,
        })
    }

    /// Decodes a message (one TPKT payload).
    pub fn decode(bytes: &[u8]) -> Result<Message, Q931Error> {
        let truncated = Q931Error::TruncatedHeader { len: bytes.len() };
        let (&pd, rest) = bytes.split_first().ok_or(truncated.clone())?;
        if pd != PROTOCOL_DISCRIMINATOR {
            return Err(Q931Error::BadProtocolDiscriminator(pd));
        }
        let (&crl, rest) = rest.split_first().ok_or(truncated.clone())?;
        let (call_ref, rest) = match crl {
            0 => (None, rest),
            2 => match *rest {
                [hi, lo, ..] => {
                    let v = u16::from_be_bytes([hi, lo]);
                    let cr = CallRef::new(v & CALL_REF_MAX, v & 0x8000 != 0);
                    (Some(cr), &rest[2..])
                }
                _ => return Err(truncated),
            },
            other => return Err(Q931Error::BadCallRefLength(other)),
        };
        let (&mt, _) = rest.split_first().ok_or(truncated)?;
        let mut offset = bytes.len() - rest.len() + 1;
        let mut ies = Vec::new();
        let mut codesets = Codesets::default();
        while let Some(&id) = bytes.get(offset) {
            let codeset = codesets.take();
            if id & 0x80 != 0 {
                codesets.single(id);
                ies.push(Ie::Single(id));
                offset += 1;
                continue;
            }
            let err = Q931Error::TruncatedIe { id, offset };
            let (len, header) = if id == ie_id::USER_USER && codeset == 0 {
                match bytes.get(offset + 1..offset + 3) {
                    Some(&[hi, lo]) => (usize::from(u16::from_be_bytes([hi, lo])), 3),
                    _ => return Err(err),
                }
            } else {
                match bytes.get(offset + 1) {
                    Some(&l) => (usize::from(l), 2),
                    None => return Err(err),
                }
            };
            let start = offset + header;
            let contents = bytes.get(start..start + len).ok_or(err)?;
            ies.push(if codeset == 0 {
                Ie::parse(id, contents)
            } else {
                Ie::Other {
                    id,
                    data: contents.to_vec(),
                }
            });
            offset = start + len;
        }
        Ok(Message {
            call_ref,
            kind: MessageType::from_code(mt),
            ies,
        })
    }

    /// Encodes the message (to be sent as one TPKT payload).
    pub fn encode(&self) -> Result<Vec<u8>, Q931Error> {
        let mut out = Vec::with_capacity(64);
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Appends the encoded message to `out`; on an error `out` may hold part of it.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), Q931Error> {
        out.push(PROTOCOL_DISCRIMINATOR);
        match self.call_ref {
            None => out.push(0),
            Some(cr) => {
                if cr.value > CALL_REF_MAX {
                    return Err(Q931Error::CallRefRange(cr.value));
                }
                let flag = if cr.from_destination { 0x8000 } else { 0 };
                out.push(2);
                out.extend_from_slice(&(flag | cr.value).to_be_bytes());
            }
        }
        out.push(self.kind.code());
        let mut codesets = Codesets::default();
        for ie in &self.ies {
            let codeset = codesets.take();
            if let Ie::Single(b) = ie {
                if b & 0x80 == 0 {
                    return Err(Q931Error::BadIeId(*b));
                }
                codesets.single(*b);
                out.push(*b);
                continue;
            }
            let id = ie.id();
            if id & 0x80 != 0 {
                return Err(Q931Error::BadIeId(id));
            }
            if codeset != 0 && ie.is_typed() {
                return Err(Q931Error::TypedIeInShiftedCodeset(id));
            }
            let wide = id == ie_id::USER_USER && codeset == 0;
            out.push(id);
            let len_at = out.len();
            out.extend_from_slice(if wide { &[0, 0] } else { &[0] });
            ie.write_contents(out)?;
            let len = out.len() - len_at - if wide { 2 } else { 1 };
            let max = if wide { USER_USER_MAX_LEN } else { IE_MAX_LEN };
            if len > max {
                return Err(Q931Error::IeTooLong { id, len });
            }
            if wide {
                out[len_at..len_at + 2].copy_from_slice(&(len as u16).to_be_bytes());
            } else {
                out[len_at] = len as u8;
            }
        }
        Ok(())
    }
}
