//! H.245 control messages (module MULTIMEDIA-SYSTEM-CONTROL, aligned PER) for the H.323 calls
//! exp relays, and the H.460.19 media traversal parameters they carry.
//!
//! exp sits in the H.245 path of every traversal call (tunnelled in H.225.0 or on its own
//! TCP connection): it runs master/slave determination and capability exchange as an
//! endpoint would, and it rewrites the RTP/RTCP addresses of `OpenLogicalChannel` /
//! `OpenLogicalChannelAck` and their H.460.19 `genericInformation` when it anchors media.
//! So the messages of those procedures are typed; everything else is relayed as it came.
//!
//! The types follow H.245 (version 13 as exp sends it, protocol identifier
//! `0.0.8.245.0.13`; components added up to version 17 are kept where they are extension
//! additions). Clause numbers in comments are those of X.691.
//!
//! # What is not typed, and how it survives
//! - Extension alternatives of any CHOICE: [`UnknownAlternative`], re-encoded unchanged.
//! - Extension additions exp has no use for: [`RawValue`](crate::per::RawValue).
//! - Root alternatives of the four message CHOICEs that are not typed (`multiplexEntrySend`,
//!   `requestMode`, `miscellaneousCommand`, `h223SkewIndication`, ...): a root alternative's
//!   value is not wrapped in an open type, so it cannot be skipped without decoding its
//!   type. But it is the last thing in the PDU, so the rest of the PDU is kept as bits
//!   ([`RawRoot`]) and re-encoded unchanged. The same happens to a typed alternative whose
//!   value holds a root alternative this crate does not model (a video capability in a
//!   `TerminalCapabilitySet`, a video `OpenLogicalChannel`): the typed decoder reports
//!   [`Error::Unsupported`], and [`MultimediaSystemControlMessage::decode`] keeps the message
//!   as a [`RawRoot`] instead, so it is still relayed. The typed decoders of the nested types
//!   return `Unsupported` for such alternatives.
//! - [`MultimediaSystemControlMessage::decode`] takes one complete PDU (one TPKT payload, or
//!   one `h245Control` octet string).

mod capability;
mod channel;
mod common;
mod traversal;

pub use capability::{
    protocol_identifier, AudioCapability, Capability, CapabilityDescriptor, CapabilityTableEntry,
    H2250Capability, MediaDistributionCapability, MediaPacketizationCapability,
    MultiplexCapability, MultipointCapability, PayloadDescriptor, RtpPayloadType,
    TerminalCapabilitySet,
};
pub use channel::{
    AckReverseLogicalChannelParameters, ClcSource, CloseLogicalChannel, CloseLogicalChannelAck,
    CloseReason, DataType, ForwardLogicalChannelParameters, ForwardMultiplexAckParameters,
    ForwardMultiplexParameters, H2250LogicalChannelAckParameters, H2250LogicalChannelParameters,
    MediaPacketization, OlcRejectCause, OpenLogicalChannel, OpenLogicalChannelAck,
    OpenLogicalChannelReject, RequestChannelClose, RequestChannelCloseAck,
    ReverseLogicalChannelParameters, ReverseMultiplexParameters,
};
pub use common::{
    CapabilityIdentifier, GenericInformation, GenericMessage, GenericParameter, MulticastAddress,
    NonStandardIdentifier, NonStandardParameter, ParameterIdentifier, ParameterValue, Routing,
    TerminalLabel, TransportAddress, UnicastAddress,
};
pub use traversal::{TraversalParameters, TRAVERSAL_OID, TRAVERSAL_PARAMETER};

use crate::h225::null_choice;
use crate::per::{
    Additions, BitString, Choice, Error, Per, RawValue, Reader, UnknownAlternative, Writer,
};
use common::{get_generic_list, get_lcn, put_generic_list, put_lcn, unknown};

/// A root alternative of `RequestMessage`, `ResponseMessage`, `CommandMessage` or
/// `IndicationMessage` kept undecoded: its index and every bit of the PDU after the index
/// (the value and the final padding), so re-encoding gives the original octets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawRoot {
    /// Index among the root alternatives.
    pub index: u32,
    /// The rest of the PDU.
    pub tail: BitString,
}

/// The bits of `data` from bit `pos` on.
fn tail(data: &[u8], pos: usize) -> BitString {
    let len = (data.len() * 8).saturating_sub(pos);
    let mut bytes = vec![0u8; len.div_ceil(8)];
    for i in 0..len {
        let j = pos + i;
        let set = data.get(j / 8).is_some_and(|b| b & (0x80 >> (j % 8)) != 0);
        if set {
            bytes[i / 8] |= 0x80 >> (i % 8);
        }
    }
    BitString { bytes, len }
}

fn put_tail(w: &mut Writer, t: &BitString) {
    for i in 0..t.len {
        let b = t
            .bytes
            .get(i / 8)
            .is_some_and(|b| b & (0x80 >> (i % 8)) != 0);
        w.bit(b);
    }
}

/// `MultimediaSystemControlMessage ::= CHOICE { request, response, command, indication, ...
/// }`: one H.245 PDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MultimediaSystemControlMessage {
    /// `request`.
    Request(RequestMessage),
    /// `response`.
    Response(ResponseMessage),
    /// `command`.
    Command(CommandMessage),
    /// `indication`.
    Indication(IndicationMessage),
    /// A later alternative.
    Other(UnknownAlternative),
}

/// Root alternative counts of the four message CHOICEs.
const ROOTS: [u32; 4] = [11, 19, 7, 14];

const REQUEST_NAMES: [&str; 16] = [
    "nonStandard",
    "masterSlaveDetermination",
    "terminalCapabilitySet",
    "openLogicalChannel",
    "closeLogicalChannel",
    "requestChannelClose",
    "multiplexEntrySend",
    "requestMultiplexEntry",
    "requestMode",
    "roundTripDelayRequest",
    "maintenanceLoopRequest",
    "communicationModeRequest",
    "conferenceRequest",
    "multilinkRequest",
    "logicalChannelRateRequest",
    "genericRequest",
];

const RESPONSE_NAMES: [&str; 25] = [
    "nonStandard",
    "masterSlaveDeterminationAck",
    "masterSlaveDeterminationReject",
    "terminalCapabilitySetAck",
    "terminalCapabilitySetReject",
    "openLogicalChannelAck",
    "openLogicalChannelReject",
    "closeLogicalChannelAck",
    "requestChannelCloseAck",
    "requestChannelCloseReject",
    "multiplexEntrySendAck",
    "multiplexEntrySendReject",
    "requestMultiplexEntryAck",
    "requestMultiplexEntryReject",
    "requestModeAck",
    "requestModeReject",
    "roundTripDelayResponse",
    "maintenanceLoopAck",
    "maintenanceLoopReject",
    "communicationModeResponse",
    "conferenceResponse",
    "multilinkResponse",
    "logicalChannelRateAcknowledge",
    "logicalChannelRateReject",
    "genericResponse",
];

const COMMAND_NAMES: [&str; 13] = [
    "nonStandard",
    "maintenanceLoopOffCommand",
    "sendTerminalCapabilitySet",
    "encryptionCommand",
    "flowControlCommand",
    "endSessionCommand",
    "miscellaneousCommand",
    "communicationModeCommand",
    "conferenceCommand",
    "h223MultiplexReconfiguration",
    "newATMVCCommand",
    "mobileMultilinkReconfigurationCommand",
    "genericCommand",
];

const INDICATION_NAMES: [&str; 24] = [
    "nonStandard",
    "functionNotUnderstood",
    "masterSlaveDeterminationRelease",
    "terminalCapabilitySetRelease",
    "openLogicalChannelConfirm",
    "requestChannelCloseRelease",
    "multiplexEntrySendRelease",
    "requestMultiplexEntryRelease",
    "requestModeRelease",
    "miscellaneousIndication",
    "jitterIndication",
    "h223SkewIndication",
    "newATMVCIndication",
    "userInput",
    "h2250MaximumSkewIndication",
    "mcLocationIndication",
    "conferenceIndication",
    "vendorIdentification",
    "functionNotSupported",
    "multilinkIndication",
    "logicalChannelRateRelease",
    "flowControlIndication",
    "mobileMultilinkReconfigurationIndication",
    "genericIndication",
];

/// The name of root alternative `index` (or extension alternative `index` when `ext`).
fn alt_name(names: &'static [&'static str], roots: u32, index: u32, ext: bool) -> &'static str {
    let i = if ext { roots + index } else { index } as usize;
    names.get(i).copied().unwrap_or("unknown")
}

impl MultimediaSystemControlMessage {
    /// The complete encoding (X.691 §11.1).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode_to(&mut w);
        w.into_complete().0
    }

    /// Like [`encode`](Self::encode), but refuses a value that breaks a constraint.
    pub fn encode_checked(&self) -> Result<Vec<u8>, Error> {
        let mut w = Writer::new();
        self.encode_to(&mut w);
        match w.violation_seen() {
            Some(e) => Err(e.clone()),
            None => Ok(w.into_complete().0),
        }
    }

    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::Request(m) => {
                w.choice_root(0, 4, true);
                m.encode_to(w);
            }
            Self::Response(m) => {
                w.choice_root(1, 4, true);
                m.encode_to(w);
            }
            Self::Command(m) => {
                w.choice_root(2, 4, true);
                m.encode_to(w);
            }
            Self::Indication(m) => {
                w.choice_root(3, 4, true);
                m.encode_to(w);
            }
            Self::Other(u) => w.choice_unknown(u),
        }
    }

    /// Decodes one complete PDU. Untyped root alternatives, and typed ones holding values
    /// this crate does not model, come back as [`RawRoot`].
    pub fn decode(data: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(data);
        let kind = match r.choice(4, true)? {
            Choice::Root(k) => k,
            Choice::Ext(i, d) => return Ok(Self::Other(unknown(i, d))),
        };
        let roots = ROOTS.get(kind as usize).copied().unwrap_or(1);
        let index = match r.choice(roots, true)? {
            Choice::Root(i) => i,
            Choice::Ext(i, d) => {
                let u = unknown(i, d);
                return Ok(match kind {
                    0 => Self::Request(RequestMessage::Other(u)),
                    1 => Self::Response(ResponseMessage::Other(u)),
                    2 => Self::Command(CommandMessage::Other(u)),
                    _ => Self::Indication(IndicationMessage::Other(u)),
                });
            }
        };
        let pos = r.position();
        let typed = match kind {
            0 => RequestMessage::decode_root(index, &mut r).map(|m| m.map(Self::Request)),
            1 => ResponseMessage::decode_root(index, &mut r).map(|m| m.map(Self::Response)),
            2 => CommandMessage::decode_root(index, &mut r).map(|m| m.map(Self::Command)),
            _ => IndicationMessage::decode_root(index, &mut r).map(|m| m.map(Self::Indication)),
        };
        match typed {
            Ok(Some(m)) => Ok(m),
            Ok(None) | Err(Error::Unsupported(_)) => {
                let raw = RawRoot {
                    index,
                    tail: tail(data, pos),
                };
                Ok(match kind {
                    0 => Self::Request(RequestMessage::Raw(raw)),
                    1 => Self::Response(ResponseMessage::Raw(raw)),
                    2 => Self::Command(CommandMessage::Raw(raw)),
                    _ => Self::Indication(IndicationMessage::Raw(raw)),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// The ASN.1 name of the message (`openLogicalChannel`, `userInput`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Request(m) => m.name(),
            Self::Response(m) => m.name(),
            Self::Command(m) => m.name(),
            Self::Indication(m) => m.name(),
            Self::Other(_) => "unknown",
        }
    }
}

/// Defines one of the four message CHOICEs: typed root alternatives (index, variant, type),
/// plus `Raw` and `Other`.
macro_rules! message_choice {
    ($(#[$doc:meta])* $name:ident, $roots:expr, $names:expr, {
        $($(#[$vd:meta])* $idx:literal => $var:ident($ty:ty)),* $(,)?
    }) => {
        $(#[$doc])*
        // Not boxed, as in `ras`: messages are short-lived and matched on directly.
        #[allow(clippy::large_enum_variant)]
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vd])* $var($ty),)*
            /// Another root alternative, or a typed one holding a value this crate does not
            /// model, kept as the rest of the PDU.
            Raw(RawRoot),
            /// An extension alternative, kept as its encoding.
            Other(UnknownAlternative),
        }

        impl $name {
            fn encode_to(&self, w: &mut Writer) {
                match self {
                    $(Self::$var(m) => {
                        w.choice_root($idx, $roots, true);
                        m.encode_to(w);
                    })*
                    Self::Raw(raw) => {
                        w.choice_root(raw.index, $roots, true);
                        put_tail(w, &raw.tail);
                    }
                    Self::Other(u) => w.choice_unknown(u),
                }
            }

            /// The typed value of root alternative `index`, `None` when it is not typed.
            fn decode_root(index: u32, r: &mut Reader<'_>) -> Result<Option<Self>, Error> {
                Ok(match index {
                    $($idx => Some(Self::$var(r.get()?)),)*
                    _ => None,
                })
            }

            /// The ASN.1 name of the alternative.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Self::$var(_) => alt_name(&$names, $roots, $idx, false),)*
                    Self::Raw(raw) => alt_name(&$names, $roots, raw.index, false),
                    Self::Other(u) => alt_name(&$names, $roots, u.index, true),
                }
            }
        }
    };
}

message_choice! {
    /// `RequestMessage`.
    RequestMessage, 11, REQUEST_NAMES, {
        /// `masterSlaveDetermination`.
        1 => MasterSlaveDetermination(MasterSlaveDetermination),
        /// `terminalCapabilitySet`.
        2 => TerminalCapabilitySet(TerminalCapabilitySet),
        /// `openLogicalChannel`.
        3 => OpenLogicalChannel(OpenLogicalChannel),
        /// `closeLogicalChannel`.
        4 => CloseLogicalChannel(CloseLogicalChannel),
        /// `requestChannelClose`.
        5 => RequestChannelClose(RequestChannelClose),
        /// `roundTripDelayRequest`.
        9 => RoundTripDelayRequest(RoundTripDelayRequest),
    }
}

message_choice! {
    /// `ResponseMessage`.
    ResponseMessage, 19, RESPONSE_NAMES, {
        /// `masterSlaveDeterminationAck`.
        1 => MasterSlaveDeterminationAck(MasterSlaveDeterminationAck),
        /// `masterSlaveDeterminationReject`.
        2 => MasterSlaveDeterminationReject(MasterSlaveDeterminationReject),
        /// `terminalCapabilitySetAck`.
        3 => TerminalCapabilitySetAck(TerminalCapabilitySetAck),
        /// `terminalCapabilitySetReject`.
        4 => TerminalCapabilitySetReject(TerminalCapabilitySetReject),
        /// `openLogicalChannelAck`.
        5 => OpenLogicalChannelAck(OpenLogicalChannelAck),
        /// `openLogicalChannelReject`.
        6 => OpenLogicalChannelReject(OpenLogicalChannelReject),
        /// `closeLogicalChannelAck`.
        7 => CloseLogicalChannelAck(CloseLogicalChannelAck),
        /// `requestChannelCloseAck`.
        8 => RequestChannelCloseAck(RequestChannelCloseAck),
        /// `roundTripDelayResponse`.
        16 => RoundTripDelayResponse(RoundTripDelayResponse),
    }
}

message_choice! {
    /// `CommandMessage`.
    CommandMessage, 7, COMMAND_NAMES, {
        /// `endSessionCommand`.
        5 => EndSessionCommand(EndSessionCommand),
    }
}

message_choice! {
    /// `IndicationMessage`.
    IndicationMessage, 14, INDICATION_NAMES, {
        /// `userInput`.
        13 => UserInput(UserInputIndication),
    }
}

macro_rules! from_message {
    ($outer:ident, $inner:ident, $var:ident, $ty:ty) => {
        impl From<$ty> for MultimediaSystemControlMessage {
            fn from(m: $ty) -> Self {
                MultimediaSystemControlMessage::$outer($inner::$var(m))
            }
        }
    };
}

from_message!(
    Request,
    RequestMessage,
    MasterSlaveDetermination,
    MasterSlaveDetermination
);
from_message!(
    Request,
    RequestMessage,
    TerminalCapabilitySet,
    TerminalCapabilitySet
);
from_message!(
    Request,
    RequestMessage,
    OpenLogicalChannel,
    OpenLogicalChannel
);
from_message!(
    Request,
    RequestMessage,
    CloseLogicalChannel,
    CloseLogicalChannel
);
from_message!(
    Request,
    RequestMessage,
    RequestChannelClose,
    RequestChannelClose
);
from_message!(
    Request,
    RequestMessage,
    RoundTripDelayRequest,
    RoundTripDelayRequest
);
from_message!(
    Response,
    ResponseMessage,
    MasterSlaveDeterminationAck,
    MasterSlaveDeterminationAck
);
from_message!(
    Response,
    ResponseMessage,
    MasterSlaveDeterminationReject,
    MasterSlaveDeterminationReject
);
from_message!(
    Response,
    ResponseMessage,
    TerminalCapabilitySetAck,
    TerminalCapabilitySetAck
);
from_message!(
    Response,
    ResponseMessage,
    TerminalCapabilitySetReject,
    TerminalCapabilitySetReject
);
from_message!(
    Response,
    ResponseMessage,
    OpenLogicalChannelAck,
    OpenLogicalChannelAck
);
from_message!(
    Response,
    ResponseMessage,
    OpenLogicalChannelReject,
    OpenLogicalChannelReject
);
from_message!(
    Response,
    ResponseMessage,
    CloseLogicalChannelAck,
    CloseLogicalChannelAck
);
from_message!(
    Response,
    ResponseMessage,
    RequestChannelCloseAck,
    RequestChannelCloseAck
);
from_message!(
    Response,
    ResponseMessage,
    RoundTripDelayResponse,
    RoundTripDelayResponse
);
from_message!(
    Command,
    CommandMessage,
    EndSessionCommand,
    EndSessionCommand
);
from_message!(
    Indication,
    IndicationMessage,
    UserInput,
    UserInputIndication
);

/// `MasterSlaveDetermination ::= SEQUENCE { terminalType INTEGER (0..255),
/// statusDeterminationNumber INTEGER (0..16777215), ... }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MasterSlaveDetermination {
    /// `terminalType` (H.323 Table 1: 50 terminal, 60 gateway, 120+ gatekeeper/MC...).
    pub terminal_type: u8,
    /// `statusDeterminationNumber` (24-bit random number).
    pub status_determination_number: u32,
}

impl Per for MasterSlaveDetermination {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[]);
        w.constrained(u64::from(self.terminal_type), 0, 255, "terminalType");
        w.constrained(
            u64::from(self.status_determination_number),
            0,
            16_777_215,
            "statusDeterminationNumber",
        );
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let v = MasterSlaveDetermination {
            terminal_type: r.constrained(0, 255, "terminalType")? as u8,
            status_determination_number: r.constrained(
                0,
                16_777_215,
                "statusDeterminationNumber",
            )? as u32,
        };
        r.additions(ext)?;
        Ok(v)
    }
}

/// `decision` of `MasterSlaveDeterminationAck`: `CHOICE { master NULL, slave NULL }` (not
/// extensible). It tells the receiver what *it* is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// `master`.
    Master,
    /// `slave`.
    Slave,
}

/// `MasterSlaveDeterminationAck ::= SEQUENCE { decision, ... }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MasterSlaveDeterminationAck {
    /// `decision`.
    pub decision: Decision,
}

impl Per for MasterSlaveDeterminationAck {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[]);
        w.choice_root(u32::from(self.decision == Decision::Slave), 2, false);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let decision = match r.choice(2, false)? {
            Choice::Root(0) => Decision::Master,
            _ => Decision::Slave,
        };
        r.additions(ext)?;
        Ok(MasterSlaveDeterminationAck { decision })
    }
}

null_choice! {
    /// `cause` of `MasterSlaveDeterminationReject`.
    MsdRejectCause { root: [
        /// `identicalNumbers`.
        IdenticalNumbers,
    ], ext: [] }
}

/// `MasterSlaveDeterminationReject ::= SEQUENCE { cause, ... }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterSlaveDeterminationReject {
    /// `cause`.
    pub cause: MsdRejectCause,
}

impl Per for MasterSlaveDeterminationReject {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[]);
        self.cause.encode_to(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let cause = r.get()?;
        r.additions(ext)?;
        Ok(MasterSlaveDeterminationReject { cause })
    }
}

/// `TerminalCapabilitySetAck ::= SEQUENCE { sequenceNumber, ..., genericInformation
/// OPTIONAL }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerminalCapabilitySetAck {
    /// `sequenceNumber`.
    pub sequence_number: u8,
    /// `genericInformation` (addition).
    pub generic_information: Option<Vec<GenericInformation>>,
}

impl Per for TerminalCapabilitySetAck {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.add(self.generic_information.as_ref(), |w, v| {
            put_generic_list(w, v)
        });
        w.preamble(Some(x.present()), &[]);
        w.constrained(u64::from(self.sequence_number), 0, 255, "sequenceNumber");
        x.write(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let sequence_number = r.constrained(0, 255, "sequenceNumber")? as u8;
        let mut x = r.additions(ext)?;
        Ok(TerminalCapabilitySetAck {
            sequence_number,
            generic_information: x.next(get_generic_list)?,
        })
    }
}

/// `cause` of `TerminalCapabilitySetReject`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcsRejectCause {
    /// `unspecified`.
    Unspecified,
    /// `undefinedTableEntryUsed`.
    UndefinedTableEntryUsed,
    /// `descriptorCapacityExceeded`.
    DescriptorCapacityExceeded,
    /// `tableEntryCapacityExceeded CHOICE { highestEntryNumberProcessed, noneProcessed }`:
    /// the highest entry processed, `None` for `noneProcessed`.
    TableEntryCapacityExceeded(Option<u16>),
    /// A later alternative.
    Other(UnknownAlternative),
}

impl Per for TcsRejectCause {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::Unspecified => w.choice_root(0, 4, true),
            Self::UndefinedTableEntryUsed => w.choice_root(1, 4, true),
            Self::DescriptorCapacityExceeded => w.choice_root(2, 4, true),
            Self::TableEntryCapacityExceeded(n) => {
                w.choice_root(3, 4, true);
                match n {
                    Some(n) => {
                        w.choice_root(0, 2, false);
                        w.constrained(u64::from(*n), 1, 65535, "highestEntryNumberProcessed");
                    }
                    None => w.choice_root(1, 2, false),
                }
            }
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(4, true)? {
            Choice::Root(0) => Self::Unspecified,
            Choice::Root(1) => Self::UndefinedTableEntryUsed,
            Choice::Root(2) => Self::DescriptorCapacityExceeded,
            Choice::Root(_) => Self::TableEntryCapacityExceeded(match r.choice(2, false)? {
                Choice::Root(0) => {
                    Some(r.constrained(1, 65535, "highestEntryNumberProcessed")? as u16)
                }
                _ => None,
            }),
            Choice::Ext(i, d) => Self::Other(unknown(i, d)),
        })
    }
}

/// `TerminalCapabilitySetReject ::= SEQUENCE { sequenceNumber, cause, ...,
/// genericInformation OPTIONAL }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerminalCapabilitySetReject {
    /// `sequenceNumber`.
    pub sequence_number: u8,
    /// `cause`.
    pub cause: TcsRejectCause,
    /// `genericInformation` (addition).
    pub generic_information: Option<Vec<GenericInformation>>,
}

impl Per for TerminalCapabilitySetReject {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.add(self.generic_information.as_ref(), |w, v| {
            put_generic_list(w, v)
        });
        w.preamble(Some(x.present()), &[]);
        w.constrained(u64::from(self.sequence_number), 0, 255, "sequenceNumber");
        self.cause.encode_to(w);
        x.write(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let sequence_number = r.constrained(0, 255, "sequenceNumber")? as u8;
        let cause = r.get()?;
        let mut x = r.additions(ext)?;
        Ok(TerminalCapabilitySetReject {
            sequence_number,
            cause,
            generic_information: x.next(get_generic_list)?,
        })
    }
}

/// A SEQUENCE of one `SequenceNumber` and an extension marker: the round trip delay
/// messages.
macro_rules! seq_number_only {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name {
            /// `sequenceNumber`.
            pub sequence_number: u8,
        }

        impl Per for $name {
            fn encode_to(&self, w: &mut Writer) {
                w.preamble(Some(false), &[]);
                w.constrained(u64::from(self.sequence_number), 0, 255, "sequenceNumber");
            }
            fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
                let (ext, _) = r.preamble(true, 0)?;
                let sequence_number = r.constrained(0, 255, "sequenceNumber")? as u8;
                r.additions(ext)?;
                Ok($name { sequence_number })
            }
        }
    };
}

seq_number_only! {
    /// `RoundTripDelayRequest ::= SEQUENCE { sequenceNumber, ... }`.
    RoundTripDelayRequest
}

seq_number_only! {
    /// `RoundTripDelayResponse ::= SEQUENCE { sequenceNumber, ... }`.
    RoundTripDelayResponse
}

null_choice! {
    /// `gstnOptions` of `EndSessionCommand`.
    GstnOptions { root: [
        /// `telephonyMode`.
        TelephonyMode,
        /// `v8bis`.
        V8bis,
        /// `v34DSVD`.
        V34Dsvd,
        /// `v34DuplexFAX`.
        V34DuplexFax,
        /// `v34H324`.
        V34H324,
    ], ext: [] }
}

null_choice! {
    /// `isdnOptions` of `EndSessionCommand`.
    IsdnOptions { root: [
        /// `telephonyMode`.
        TelephonyMode,
        /// `v140`.
        V140,
        /// `terminalOnHold`.
        TerminalOnHold,
    ], ext: [] }
}

/// `EndSessionCommand ::= CHOICE { nonStandard, disconnect NULL, gstnOptions, ...,
/// isdnOptions, genericInformation SEQUENCE OF GenericInformation }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndSessionCommand {
    /// `nonStandard`.
    NonStandard(NonStandardParameter),
    /// `disconnect`: the end of the H.245 session.
    Disconnect,
    /// `gstnOptions`.
    GstnOptions(GstnOptions),
    /// `isdnOptions`.
    IsdnOptions(IsdnOptions),
    /// `genericInformation`.
    GenericInformation(Vec<GenericInformation>),
    /// A later alternative.
    Other(UnknownAlternative),
}

impl Per for EndSessionCommand {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::NonStandard(n) => {
                w.choice_root(0, 3, true);
                n.encode_to(w);
            }
            Self::Disconnect => w.choice_root(1, 3, true),
            Self::GstnOptions(g) => {
                w.choice_root(2, 3, true);
                g.encode_to(w);
            }
            Self::IsdnOptions(i) => w.choice_ext(0, |w| i.encode_to(w)),
            Self::GenericInformation(g) => w.choice_ext(1, |w| put_generic_list(w, g)),
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(3, true)? {
            Choice::Root(0) => Self::NonStandard(r.get()?),
            Choice::Root(1) => Self::Disconnect,
            Choice::Root(_) => Self::GstnOptions(r.get()?),
            Choice::Ext(0, d) => Self::IsdnOptions(r.sub(d).get()?),
            Choice::Ext(1, d) => Self::GenericInformation(get_generic_list(&mut r.sub(d))?),
            Choice::Ext(i, d) => Self::Other(unknown(i, d)),
        })
    }
}

/// The characters `signalType` may take: `IA5String (SIZE (1) ^ FROM
/// ("0123456789#*ABCD!"))`. With 17 characters the aligned variant uses 8 bits per
/// character (X.691 §30.5.2), and since the largest, 'D', fits in 8 bits the character's own
/// code is sent, not its index (§30.5.4).
pub const SIGNAL_TYPES: &[u8] = b"!#*0123456789ABCD";

/// `rtp` of `signal`: `SEQUENCE { timestamp INTEGER (0..4294967295) OPTIONAL,
/// expirationTime INTEGER (0..4294967295) OPTIONAL, logicalChannelNumber, ... }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalRtp {
    /// `timestamp`.
    pub timestamp: Option<u32>,
    /// `expirationTime`.
    pub expiration_time: Option<u32>,
    /// `logicalChannelNumber`.
    pub logical_channel_number: u16,
}

impl Per for SignalRtp {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(
            Some(false),
            &[self.timestamp.is_some(), self.expiration_time.is_some()],
        );
        for v in [self.timestamp, self.expiration_time].into_iter().flatten() {
            w.constrained(u64::from(v), 0, 0xffff_ffff, "timestamp");
        }
        put_lcn(w, self.logical_channel_number);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut p) = r.preamble(true, 2)?;
        let (has_ts, has_exp) = (p.present(), p.present());
        let u32_of = |r: &mut Reader<'_>| Ok(r.constrained(0, 0xffff_ffff, "timestamp")? as u32);
        let v = SignalRtp {
            timestamp: r.opt(has_ts, u32_of)?,
            expiration_time: r.opt(has_exp, u32_of)?,
            logical_channel_number: get_lcn(r)?,
        };
        r.additions(ext)?;
        Ok(v)
    }
}

/// `signal` of `UserInputIndication` (a DTMF digit with its duration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signal {
    /// `signalType`: one of [`SIGNAL_TYPES`].
    pub signal_type: u8,
    /// `duration INTEGER (1..65535)` (ms).
    pub duration: Option<u16>,
    /// `rtp`.
    pub rtp: Option<SignalRtp>,
    /// `rtpPayloadIndication NULL OPTIONAL` (addition).
    pub rtp_payload_indication: bool,
    /// `paramS` (addition), kept as its encoding.
    pub params: Option<RawValue>,
    /// `encryptedSignalType` (addition), kept as its encoding.
    pub encrypted_signal_type: Option<RawValue>,
    /// `algorithmOID` (addition), kept as its encoding.
    pub algorithm_oid: Option<RawValue>,
}

impl Signal {
    /// The digit `c` lasting `duration` ms.
    pub fn digit(c: u8, duration: Option<u16>) -> Self {
        Signal {
            signal_type: c,
            duration,
            rtp: None,
            rtp_payload_indication: false,
            params: None,
            encrypted_signal_type: None,
            algorithm_oid: None,
        }
    }
}

impl Per for Signal {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.flag(self.rtp_payload_indication);
        x.raw(self.params.as_ref());
        x.raw(self.encrypted_signal_type.as_ref());
        x.raw(self.algorithm_oid.as_ref());
        w.preamble(
            Some(x.present()),
            &[self.duration.is_some(), self.rtp.is_some()],
        );
        let c = if SIGNAL_TYPES.contains(&self.signal_type) {
            self.signal_type
        } else {
            w.violation(Error::Invalid("signalType"));
            b'0'
        };
        w.bits(u64::from(c), 8);
        if let Some(d) = self.duration {
            w.constrained(u64::from(d), 1, 65535, "duration");
        }
        w.put_opt(&self.rtp);
        x.write(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut p) = r.preamble(true, 2)?;
        let (has_duration, has_rtp) = (p.present(), p.present());
        let signal_type = r.bits(8)? as u8;
        if !SIGNAL_TYPES.contains(&signal_type) {
            return Err(Error::Invalid("signalType"));
        }
        let duration = r.opt(has_duration, |r| {
            Ok(r.constrained(1, 65535, "duration")? as u16)
        })?;
        let rtp = r.get_opt(has_rtp)?;
        let mut x = r.additions(ext)?;
        Ok(Signal {
            signal_type,
            duration,
            rtp,
            rtp_payload_indication: x.flag(),
            params: x.raw(),
            encrypted_signal_type: x.raw(),
            algorithm_oid: x.raw(),
        })
    }
}

/// `UserInputIndication` (2 root alternatives, extensible): `alphanumeric` and `signal`
/// are typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserInputIndication {
    /// `nonStandard`.
    NonStandard(NonStandardParameter),
    /// `alphanumeric GeneralString`: the octets (X.691 §30.6: a length and the octets, as
    /// for an OCTET STRING).
    Alphanumeric(Vec<u8>),
    /// `signal` (extension alternative 1).
    Signal(Signal),
    /// Another extension alternative (`userInputSupportIndication`, `signalUpdate`, ...).
    Other(UnknownAlternative),
}

impl Per for UserInputIndication {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::NonStandard(n) => {
                w.choice_root(0, 2, true);
                n.encode_to(w);
            }
            Self::Alphanumeric(s) => {
                w.choice_root(1, 2, true);
                w.octet_string(s, 0, None, "alphanumeric");
            }
            Self::Signal(s) => w.choice_ext(1, |w| s.encode_to(w)),
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(2, true)? {
            Choice::Root(0) => Self::NonStandard(r.get()?),
            Choice::Root(_) => Self::Alphanumeric(r.octet_string(0, None, "alphanumeric")?),
            Choice::Ext(1, d) => Self::Signal(r.sub(d).get()?),
            Choice::Ext(i, d) => Self::Other(unknown(i, d)),
        })
    }
}
