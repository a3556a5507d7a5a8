//! H.225.0 call signalling: the `H323-UserInformation` that travels, PER-encoded, in the
//! User-user IE of every Q.931 message on the call-signalling channel (H.225.0 §7). exp
//! reads it to follow calls (the callIdentifier binds an H.460.18 connection to a call),
//! relays it between zones, and carries tunnelled H.245 (`h245Control`) and fastStart in it.
//!
//! Each type follows its definition in the H323-MESSAGES module of H.225.0 (12/2009,
//! version 7) component by component, in the style of [`crate::ras`]: components after the
//! extension marker are extension additions (X.691 §19.7, encoded as open types), and the
//! extension bitmap we send has one bit for every addition of version 7. Mandatory additions
//! (`callIdentifier`, `h245Tunnelling`, `multipleCalls`, `maintainConnection`,
//! `mediaWaitForConnect`, `canOverlapSend`) are plain values, always sent; an older peer
//! that does not know them is read as if it had sent `false` or an all-zero callIdentifier.
//! Additions exp has no use for are kept as [`RawValue`] so that a relayed message keeps
//! them; unknown alternatives of a CHOICE as [`UnknownAlternative`].
//!
//! The UUIEs live in small modules by the messages they belong to; this module holds the
//! envelope (`H323-UserInformation`, `H323-UU-PDU`, the message body CHOICE) and the glue
//! with [`crate::q931`].

mod answer;
mod common;
mod facility;
mod release;
mod setup;
mod status;

pub use answer::{AlertingUuie, CallProceedingUuie, ConnectUuie, ProgressUuie};
pub use common::{
    CallLinkage, ConferenceIdentifier, DisplayName, H245Security, PresentationIndicator,
    ScreeningIndicator, SecurityCapabilities, SecurityServiceMode,
};
pub use facility::{FacilityReason, FacilityUuie};
pub use release::{ReleaseCompleteReason, ReleaseCompleteUuie};
pub use setup::{CallType, ConferenceGoal, SetupUuie};
pub use status::{
    CallStatusUuie, InformationUuie, NotifyUuie, SetupAcknowledgeUuie, StatusInquiryUuie,
    StatusUuie,
};

use common::{add_bool, add_octet_list, get_bool, get_octet_list};

use crate::h225::{
    add_list, get_list, CallIdentifier, GenericData, NonStandardParameter, TransportAddress,
};
use crate::per::{
    self, Additions, Choice, Error, Per, RawValue, Reader, UnknownAlternative, Writer,
};
use crate::q931::{self, CallRef, MessageType};

/// `H323-UserInformation`: the contents of the User-user IE after its protocol
/// discriminator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct H323UserInformation {
    /// `h323-uu-pdu`.
    pub h323_uu_pdu: H323UuPdu,
    /// `user-data`.
    pub user_data: Option<UserData>,
}

/// `user-data` of [`H323UserInformation`]: user information for an ISDN peer behind a
/// gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserData {
    /// `protocol-discriminator INTEGER (0..255)`.
    pub protocol_discriminator: u8,
    /// `user-information OCTET STRING (SIZE (1..131))`.
    pub user_information: Vec<u8>,
}

impl Per for UserData {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[]);
        w.constrained(
            u64::from(self.protocol_discriminator),
            0,
            255,
            "protocol-discriminator",
        );
        w.octet_string(&self.user_information, 1, Some(131), "user-information");
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let v = UserData {
            protocol_discriminator: r.constrained(0, 255, "protocol-discriminator")? as u8,
            user_information: r.octet_string(1, Some(131), "user-information")?,
        };
        r.additions(ext)?;
        Ok(v)
    }
}

impl H323UserInformation {
    /// The user information carrying `body`, no tunnelling, nothing optional.
    pub fn new(body: MessageBody) -> Self {
        H323UserInformation {
            h323_uu_pdu: H323UuPdu::new(body),
            user_data: None,
        }
    }

    /// The complete encoding (X.691 §11.1), constraint violations adjusted (see
    /// [`per::encode_checked`]).
    pub fn encode(&self) -> Vec<u8> {
        per::encode(self)
    }

    /// Like [`H323UserInformation::encode`], but refuses a value that breaks a constraint.
    pub fn encode_checked(&self) -> Result<Vec<u8>, Error> {
        per::encode_checked(self)
    }

    /// Decodes the contents of a User-user IE (trailing octets are ignored).
    pub fn decode(data: &[u8]) -> Result<Self, Error> {
        per::decode(data)
    }

    /// The message body.
    pub fn body(&self) -> &MessageBody {
        &self.h323_uu_pdu.h323_message_body
    }

    /// The callIdentifier of the body; `None` for `empty` and unknown bodies and for an
    /// all-zero identifier (what an H.225.0 version 1 peer's missing one reads as).
    pub fn call_identifier(&self) -> Option<&CallIdentifier> {
        let id = match self.body() {
            MessageBody::Setup(m) => &m.call_identifier,
            MessageBody::CallProceeding(m) => &m.call_identifier,
            MessageBody::Connect(m) => &m.call_identifier,
            MessageBody::Alerting(m) => &m.call_identifier,
            MessageBody::Information(m) => &m.call_identifier,
            MessageBody::ReleaseComplete(m) => &m.call_identifier,
            MessageBody::Facility(m) => &m.call_identifier,
            MessageBody::Progress(m) => &m.call_identifier,
            MessageBody::Status(m)
            | MessageBody::StatusInquiry(m)
            | MessageBody::SetupAcknowledge(m) => &m.call_identifier,
            MessageBody::Notify(m) => &m.call_identifier,
            MessageBody::Empty | MessageBody::Other(_) => return None,
        };
        (id.guid != [0; 16]).then_some(id)
    }

    /// The tunnelled H.245 messages (`h245Control`), each one encoded
    /// MultimediaSystemControlMessage; empty when there are none.
    pub fn h245_control(&self) -> &[Vec<u8>] {
        self.h323_uu_pdu.h245_control.as_deref().unwrap_or_default()
    }

    /// Replaces the tunnelled H.245 messages; an empty list removes `h245Control`.
    pub fn set_h245_control(&mut self, messages: Vec<Vec<u8>>) {
        self.h323_uu_pdu.h245_control = (!messages.is_empty()).then_some(messages);
    }

    /// The body's `fastStart` (encoded OpenLogicalChannel proposals or answers), where the
    /// body has one and it is present.
    pub fn fast_start(&self) -> Option<&[Vec<u8>]> {
        match self.body() {
            MessageBody::Setup(m) => m.fast_start.as_deref(),
            MessageBody::CallProceeding(m) => m.fast_start.as_deref(),
            MessageBody::Connect(m) => m.fast_start.as_deref(),
            MessageBody::Alerting(m) => m.fast_start.as_deref(),
            MessageBody::Information(m) => m.fast_start.as_deref(),
            MessageBody::Facility(m) => m.fast_start.as_deref(),
            MessageBody::Progress(m) => m.fast_start.as_deref(),
            _ => None,
        }
    }

    /// The body's `h245Address`, where the body has one and it is present.
    pub fn h245_address(&self) -> Option<&TransportAddress> {
        match self.body() {
            MessageBody::Setup(m) => m.h245_address.as_ref(),
            MessageBody::CallProceeding(m) => m.h245_address.as_ref(),
            MessageBody::Connect(m) => m.h245_address.as_ref(),
            MessageBody::Alerting(m) => m.h245_address.as_ref(),
            MessageBody::Facility(m) => m.h245_address.as_ref(),
            MessageBody::Progress(m) => m.h245_address.as_ref(),
            _ => None,
        }
    }
}

impl Per for H323UserInformation {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[self.user_data.is_some()]);
        self.h323_uu_pdu.encode_to(w);
        w.put_opt(&self.user_data);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 1)?;
        let h323_uu_pdu = r.get()?;
        let user_data = r.get_opt(o.present())?;
        r.additions(ext)?;
        Ok(H323UserInformation {
            h323_uu_pdu,
            user_data,
        })
    }
}

/// `H323-UU-PDU`: the message body and what any message may carry besides it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct H323UuPdu {
    /// `h323-message-body`.
    pub h323_message_body: MessageBody,
    /// `nonStandardData`.
    pub non_standard_data: Option<NonStandardParameter>,
    /// `h4501SupplementaryService`: H.450.1 APDUs, each encoded.
    pub h4501_supplementary_service: Option<Vec<Vec<u8>>>,
    /// `h245Tunnelling` (mandatory addition): H.245 tunnelling enabled.
    pub h245_tunnelling: bool,
    /// `h245Control`: tunnelled H.245 messages, each an encoded
    /// MultimediaSystemControlMessage.
    pub h245_control: Option<Vec<Vec<u8>>>,
    /// `nonStandardControl`.
    pub non_standard_control: Option<Vec<NonStandardParameter>>,
    /// `callLinkage`.
    pub call_linkage: Option<CallLinkage>,
    /// `tunnelledSignallingMessage` (kept as encoded).
    pub tunnelled_signalling_message: Option<RawValue>,
    /// `provisionalRespToH245Tunnelling NULL OPTIONAL`.
    pub provisional_resp_to_h245_tunnelling: bool,
    /// `stimulusControl` (kept as encoded).
    pub stimulus_control: Option<RawValue>,
    /// `genericData`.
    pub generic_data: Option<Vec<GenericData>>,
}

impl H323UuPdu {
    /// The PDU carrying `body`, no tunnelling, nothing optional.
    pub fn new(body: MessageBody) -> Self {
        H323UuPdu {
            h323_message_body: body,
            non_standard_data: None,
            h4501_supplementary_service: None,
            h245_tunnelling: false,
            h245_control: None,
            non_standard_control: None,
            call_linkage: None,
            tunnelled_signalling_message: None,
            provisional_resp_to_h245_tunnelling: false,
            stimulus_control: None,
            generic_data: None,
        }
    }
}

impl Per for H323UuPdu {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        add_octet_list(
            &mut x,
            self.h4501_supplementary_service.as_ref(),
            "h4501SupplementaryService",
        );
        add_bool(&mut x, self.h245_tunnelling);
        add_octet_list(&mut x, self.h245_control.as_ref(), "h245Control");
        add_list(
            &mut x,
            self.non_standard_control.as_ref(),
            "nonStandardControl",
        );
        x.put(self.call_linkage.as_ref());
        x.raw(self.tunnelled_signalling_message.as_ref());
        x.flag(self.provisional_resp_to_h245_tunnelling);
        x.raw(self.stimulus_control.as_ref());
        add_list(&mut x, self.generic_data.as_ref(), "genericData");
        w.preamble(Some(x.present()), &[self.non_standard_data.is_some()]);
        self.h323_message_body.encode_to(w);
        w.put_opt(&self.non_standard_data);
        x.write(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 1)?;
        let h323_message_body = r.nested(|r| r.get())?;
        let non_standard_data = r.get_opt(o.present())?;
        let mut x = r.additions(ext)?;
        Ok(H323UuPdu {
            h323_message_body,
            non_standard_data,
            h4501_supplementary_service: x
                .next(|r| get_octet_list(r, "h4501SupplementaryService"))?,
            h245_tunnelling: get_bool(&mut x)?,
            h245_control: x.next(|r| get_octet_list(r, "h245Control"))?,
            non_standard_control: x.next(|r| get_list(r, "nonStandardControl"))?,
            call_linkage: x.get()?,
            tunnelled_signalling_message: x.raw(),
            provisional_resp_to_h245_tunnelling: x.flag(),
            stimulus_control: x.raw(),
            generic_data: x.next(|r| get_list(r, "genericData"))?,
        })
    }
}

/// `h323-message-body`: which message this is, and its UUIE.
// One per message; Setup is the large one and the first of every call.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageBody {
    /// `setup`.
    Setup(SetupUuie),
    /// `callProceeding`.
    CallProceeding(CallProceedingUuie),
    /// `connect`.
    Connect(ConnectUuie),
    /// `alerting`.
    Alerting(AlertingUuie),
    /// `information`.
    Information(InformationUuie),
    /// `releaseComplete`.
    ReleaseComplete(ReleaseCompleteUuie),
    /// `facility`.
    Facility(FacilityUuie),
    /// `progress` (extension alternative 0).
    Progress(ProgressUuie),
    /// `empty NULL` (extension alternative 1): a Facility message without a Facility-UUIE.
    Empty,
    /// `status` (extension alternative 2).
    Status(StatusUuie),
    /// `statusInquiry` (extension alternative 3).
    StatusInquiry(StatusInquiryUuie),
    /// `setupAcknowledge` (extension alternative 4).
    SetupAcknowledge(SetupAcknowledgeUuie),
    /// `notify` (extension alternative 5).
    Notify(NotifyUuie),
    /// A later alternative.
    Other(UnknownAlternative),
}

/// Number of root alternatives of `h323-message-body`.
const BODY_ROOT: u32 = 7;

impl MessageBody {
    /// The ASN.1 name of the alternative.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Setup(_) => "setup",
            Self::CallProceeding(_) => "callProceeding",
            Self::Connect(_) => "connect",
            Self::Alerting(_) => "alerting",
            Self::Information(_) => "information",
            Self::ReleaseComplete(_) => "releaseComplete",
            Self::Facility(_) => "facility",
            Self::Progress(_) => "progress",
            Self::Empty => "empty",
            Self::Status(_) => "status",
            Self::StatusInquiry(_) => "statusInquiry",
            Self::SetupAcknowledge(_) => "setupAcknowledge",
            Self::Notify(_) => "notify",
            Self::Other(_) => "unknown",
        }
    }

    /// The Q.931 message type that carries this body (H.225.0 §7.3, §7.4); `empty` goes
    /// in a Facility. `None` for an unknown alternative.
    pub fn message_type(&self) -> Option<MessageType> {
        Some(match self {
            Self::Setup(_) => MessageType::Setup,
            Self::CallProceeding(_) => MessageType::CallProceeding,
            Self::Connect(_) => MessageType::Connect,
            Self::Alerting(_) => MessageType::Alerting,
            Self::Information(_) => MessageType::Information,
            Self::ReleaseComplete(_) => MessageType::ReleaseComplete,
            Self::Facility(_) | Self::Empty => MessageType::Facility,
            Self::Progress(_) => MessageType::Progress,
            Self::Status(_) => MessageType::Status,
            Self::StatusInquiry(_) => MessageType::StatusEnquiry,
            Self::SetupAcknowledge(_) => MessageType::SetupAck,
            Self::Notify(_) => MessageType::Notify,
            Self::Other(_) => return None,
        })
    }
}

impl Per for MessageBody {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::Setup(m) => {
                w.choice_root(0, BODY_ROOT, true);
                m.encode_to(w);
            }
            Self::CallProceeding(m) => {
                w.choice_root(1, BODY_ROOT, true);
                m.encode_to(w);
            }
            Self::Connect(m) => {
                w.choice_root(2, BODY_ROOT, true);
                m.encode_to(w);
            }
            Self::Alerting(m) => {
                w.choice_root(3, BODY_ROOT, true);
                m.encode_to(w);
            }
            Self::Information(m) => {
                w.choice_root(4, BODY_ROOT, true);
                m.encode_to(w);
            }
            Self::ReleaseComplete(m) => {
                w.choice_root(5, BODY_ROOT, true);
                m.encode_to(w);
            }
            Self::Facility(m) => {
                w.choice_root(6, BODY_ROOT, true);
                m.encode_to(w);
            }
            Self::Progress(m) => w.choice_ext(0, |w| m.encode_to(w)),
            Self::Empty => w.choice_ext(1, |_| {}),
            Self::Status(m) => w.choice_ext(2, |w| m.encode_to(w)),
            Self::StatusInquiry(m) => w.choice_ext(3, |w| m.encode_to(w)),
            Self::SetupAcknowledge(m) => w.choice_ext(4, |w| m.encode_to(w)),
            Self::Notify(m) => w.choice_ext(5, |w| m.encode_to(w)),
            Self::Other(u) => w.choice_unknown(u),
        }
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(BODY_ROOT, true)? {
            Choice::Root(0) => Self::Setup(r.get()?),
            Choice::Root(1) => Self::CallProceeding(r.get()?),
            Choice::Root(2) => Self::Connect(r.get()?),
            Choice::Root(3) => Self::Alerting(r.get()?),
            Choice::Root(4) => Self::Information(r.get()?),
            Choice::Root(5) => Self::ReleaseComplete(r.get()?),
            Choice::Root(6) => Self::Facility(r.get()?),
            // A 3-bit index of 7 alternatives: 7 is not a valid encoding.
            Choice::Root(_) => return Err(Error::Invalid("h323-message-body")),
            Choice::Ext(0, d) => Self::Progress(r.sub(d).get()?),
            Choice::Ext(1, _) => Self::Empty,
            Choice::Ext(2, d) => Self::Status(r.sub(d).get()?),
            Choice::Ext(3, d) => Self::StatusInquiry(r.sub(d).get()?),
            Choice::Ext(4, d) => Self::SetupAcknowledge(r.sub(d).get()?),
            Choice::Ext(5, d) => Self::Notify(r.sub(d).get()?),
            Choice::Ext(index, d) => Self::Other(UnknownAlternative {
                index,
                encoding: d.to_vec(),
            }),
        })
    }
}

macro_rules! body_from {
    ($($t:ty => $v:ident),* $(,)?) => {
        $(impl From<$t> for MessageBody {
            fn from(m: $t) -> Self {
                MessageBody::$v(m)
            }
        })*
    };
}

body_from! {
    SetupUuie => Setup,
    CallProceedingUuie => CallProceeding,
    ConnectUuie => Connect,
    AlertingUuie => Alerting,
    InformationUuie => Information,
    ReleaseCompleteUuie => ReleaseComplete,
    FacilityUuie => Facility,
    ProgressUuie => Progress,
    NotifyUuie => Notify,
}

/// Whether `body` may travel in a Q.931 message of type `kind` (H.225.0 §7.3, §7.4: each
/// message type has its UUIE; a Facility may carry `empty`). Unknown message types and
/// unknown body alternatives have no rule, and match.
pub fn body_matches(kind: MessageType, body: &MessageBody) -> bool {
    match (kind, body.message_type()) {
        (MessageType::Other(_), _) | (_, None) => true,
        (k, Some(t)) => k == t,
    }
}

/// The Q.931 message of type `kind` whose User-user IE carries `info`.
pub fn message(kind: MessageType, call_ref: CallRef, info: &H323UserInformation) -> q931::Message {
    q931::Message::new(kind, call_ref).with_user_user(info.encode())
}

/// The H323-UserInformation of a Q.931 message: [`Error::MissingUserUser`] when the message
/// has no User-user IE with the X.208/X.209 protocol discriminator.
pub fn user_information(msg: &q931::Message) -> Result<H323UserInformation, Error> {
    let data = msg.user_user().ok_or(Error::MissingUserUser)?;
    H323UserInformation::decode(data)
}
