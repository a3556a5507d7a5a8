//! Logical channel signalling: `OpenLogicalChannel` and its Ack/Reject,
//! `CloseLogicalChannel`, `RequestChannelClose`, with the H.225.0 logical channel parameters
//! that carry the RTP/RTCP addresses exp rewrites when it anchors media.
//!
//! Root alternatives of `DataType` and of the multiplex parameter CHOICEs that are not
//! modelled (video, data, encryption; H.222/H.223/V.76) decode to [`Error::Unsupported`]; the
//! whole message then falls back to its raw encoding (see [`super::RawRoot`]).

use crate::h225::null_choice;
use crate::per::{Additions, Choice, Error, Per, RawValue, Reader, UnknownAlternative, Writer};

use super::capability::{AudioCapability, RtpPayloadType};
use super::common::{
    get_generic_list, get_lcn, put_generic_list, put_lcn, unknown, GenericInformation,
    NonStandardParameter, TerminalLabel, TransportAddress,
};
use super::traversal::TraversalParameters;

/// `DataType` (6 root alternatives, extensible): audio is typed; `videoData`, `data` and
/// `encryptionData` are [`Error::Unsupported`] on decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataType {
    /// `nonStandard`.
    NonStandard(NonStandardParameter),
    /// `nullData`.
    NullData,
    /// `audioData`.
    AudioData(AudioCapability),
    /// An extension alternative (`h235Media`, `redundancyEncoding`, ...), kept as its
    /// encoding.
    Other(UnknownAlternative),
}

impl Per for DataType {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::NonStandard(n) => {
                w.choice_root(0, 6, true);
                n.encode_to(w);
            }
            Self::NullData => w.choice_root(1, 6, true),
            Self::AudioData(a) => {
                w.choice_root(3, 6, true);
                a.encode_to(w);
            }
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(6, true)? {
            Choice::Root(0) => Self::NonStandard(r.get()?),
            Choice::Root(1) => Self::NullData,
            Choice::Root(3) => Self::AudioData(r.get()?),
            Choice::Root(2) => return Err(Error::Unsupported("videoData")),
            Choice::Root(_) => return Err(Error::Unsupported("data/encryptionData")),
            Choice::Ext(i, d) => Self::Other(unknown(i, d)),
        })
    }
}

/// `mediaPacketization CHOICE { h261aVideoPacketization NULL, ..., rtpPayloadType }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaPacketization {
    /// `h261aVideoPacketization`.
    H261aVideoPacketization,
    /// `rtpPayloadType`.
    RtpPayloadType(RtpPayloadType),
    /// A later alternative.
    Other(UnknownAlternative),
}

impl Per for MediaPacketization {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::H261aVideoPacketization => w.choice_root(0, 1, true),
            Self::RtpPayloadType(p) => w.choice_ext(0, |w| p.encode_to(w)),
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(1, true)? {
            Choice::Root(_) => Self::H261aVideoPacketization,
            Choice::Ext(0, d) => Self::RtpPayloadType(r.sub(d).get()?),
            Choice::Ext(i, d) => Self::Other(unknown(i, d)),
        })
    }
}

/// `H2250LogicalChannelParameters`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct H2250LogicalChannelParameters {
    /// `nonStandard SEQUENCE OF NonStandardParameter`.
    pub non_standard: Option<Vec<NonStandardParameter>>,
    /// `sessionID INTEGER (0..255)` (1 audio, 2 video, 3 data; 0 for the master to assign).
    pub session_id: u8,
    /// `associatedSessionID INTEGER (1..255)`.
    pub associated_session_id: Option<u8>,
    /// `mediaChannel` (where to send RTP).
    pub media_channel: Option<TransportAddress>,
    /// `mediaGuaranteedDelivery`.
    pub media_guaranteed_delivery: Option<bool>,
    /// `mediaControlChannel` (where to send RTCP).
    pub media_control_channel: Option<TransportAddress>,
    /// `mediaControlGuaranteedDelivery`.
    pub media_control_guaranteed_delivery: Option<bool>,
    /// `silenceSuppression`.
    pub silence_suppression: Option<bool>,
    /// `destination`.
    pub destination: Option<TerminalLabel>,
    /// `dynamicRTPPayloadType INTEGER (96..127)`.
    pub dynamic_rtp_payload_type: Option<u8>,
    /// `mediaPacketization`.
    pub media_packetization: Option<MediaPacketization>,
    /// `transportCapability` (addition), kept as its encoding.
    pub transport_capability: Option<RawValue>,
    /// `redundancyEncoding` (addition), kept as its encoding.
    pub redundancy_encoding: Option<RawValue>,
    /// `source` (addition).
    pub source: Option<TerminalLabel>,
    /// `nominalAudioLevel INTEGER (0..63)` (addition).
    pub nominal_audio_level: Option<u8>,
}

fn put_non_standard(w: &mut Writer, v: &[NonStandardParameter]) {
    w.seq_of(v, 0, None, "nonStandard", |w, n| n.encode_to(w));
}

fn get_non_standard(r: &mut Reader<'_>) -> Result<Vec<NonStandardParameter>, Error> {
    r.seq_of(0, None, "nonStandard", NonStandardParameter::decode_from)
}

fn put_u8_opt(w: &mut Writer, v: Option<u8>, lb: u64, ub: u64, what: &'static str) {
    if let Some(v) = v {
        w.constrained(u64::from(v), lb, ub, what);
    }
}

fn get_u8_opt(
    r: &mut Reader<'_>,
    present: bool,
    lb: u64,
    ub: u64,
    what: &'static str,
) -> Result<Option<u8>, Error> {
    r.opt(present, |r| Ok(r.constrained(lb, ub, what)? as u8))
}

impl Per for H2250LogicalChannelParameters {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.raw(self.transport_capability.as_ref());
        x.raw(self.redundancy_encoding.as_ref());
        x.put(self.source.as_ref());
        x.add(self.nominal_audio_level.as_ref(), |w, v| {
            w.constrained(u64::from(*v), 0, 63, "nominalAudioLevel")
        });
        w.preamble(
            Some(x.present()),
            &[
                self.non_standard.is_some(),
                self.associated_session_id.is_some(),
                self.media_channel.is_some(),
                self.media_guaranteed_delivery.is_some(),
                self.media_control_channel.is_some(),
                self.media_control_guaranteed_delivery.is_some(),
                self.silence_suppression.is_some(),
                self.destination.is_some(),
                self.dynamic_rtp_payload_type.is_some(),
                self.media_packetization.is_some(),
            ],
        );
        if let Some(n) = &self.non_standard {
            put_non_standard(w, n);
        }
        w.constrained(u64::from(self.session_id), 0, 255, "sessionID");
        put_u8_opt(w, self.associated_session_id, 1, 255, "associatedSessionID");
        w.put_opt(&self.media_channel);
        if let Some(b) = self.media_guaranteed_delivery {
            w.boolean(b);
        }
        w.put_opt(&self.media_control_channel);
        if let Some(b) = self.media_control_guaranteed_delivery {
            w.boolean(b);
        }
        if let Some(b) = self.silence_suppression {
            w.boolean(b);
        }
        w.put_opt(&self.destination);
        put_u8_opt(
            w,
            self.dynamic_rtp_payload_type,
            96,
            127,
            "dynamicRTPPayloadType",
        );
        w.put_opt(&self.media_packetization);
        x.write(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut p) = r.preamble(true, 10)?;
        let non_standard = r.opt(p.present(), get_non_standard)?;
        let session_id = r.constrained(0, 255, "sessionID")? as u8;
        let associated_session_id = get_u8_opt(r, p.present(), 1, 255, "associatedSessionID")?;
        let media_channel = r.get_opt(p.present())?;
        let media_guaranteed_delivery = r.opt(p.present(), |r| r.boolean())?;
        let media_control_channel = r.get_opt(p.present())?;
        let media_control_guaranteed_delivery = r.opt(p.present(), |r| r.boolean())?;
        let silence_suppression = r.opt(p.present(), |r| r.boolean())?;
        let destination = r.get_opt(p.present())?;
        let dynamic_rtp_payload_type =
            get_u8_opt(r, p.present(), 96, 127, "dynamicRTPPayloadType")?;
        let media_packetization = r.get_opt(p.present())?;
        let mut x = r.additions(ext)?;
        Ok(H2250LogicalChannelParameters {
            non_standard,
            session_id,
            associated_session_id,
            media_channel,
            media_guaranteed_delivery,
            media_control_channel,
            media_control_guaranteed_delivery,
            silence_suppression,
            destination,
            dynamic_rtp_payload_type,
            media_packetization,
            transport_capability: x.raw(),
            redundancy_encoding: x.raw(),
            source: x.get()?,
            nominal_audio_level: x
                .next(|r| Ok(r.constrained(0, 63, "nominalAudioLevel")? as u8))?,
        })
    }
}

/// `multiplexParameters` of `forwardLogicalChannelParameters`: 3 root alternatives (H.222,
/// H.223, V.76: [`Error::Unsupported`]), then `h2250LogicalChannelParameters` and `none`.
// Not boxed, as in `ras`: values are short-lived and matched on directly.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForwardMultiplexParameters {
    /// `h2250LogicalChannelParameters`.
    H2250(H2250LogicalChannelParameters),
    /// `none` (separate stack).
    None,
    /// A later alternative.
    Other(UnknownAlternative),
}

impl Per for ForwardMultiplexParameters {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::H2250(p) => w.choice_ext(0, |w| p.encode_to(w)),
            Self::None => w.choice_ext(1, |_| {}),
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(3, true)? {
            Choice::Root(_) => return Err(Error::Unsupported("H.222/H.223/V.76 parameters")),
            Choice::Ext(0, d) => Self::H2250(r.sub(d).get()?),
            Choice::Ext(1, _) => Self::None,
            Choice::Ext(i, d) => Self::Other(unknown(i, d)),
        })
    }
}

/// `multiplexParameters` of `reverseLogicalChannelParameters` (OLC: 2 root alternatives,
/// H.223 and V.76; OLCAck: 1, H.222; all [`Error::Unsupported`]), then
/// `h2250LogicalChannelParameters`.
// Not boxed, as in `ras`: values are short-lived and matched on directly.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReverseMultiplexParameters {
    /// `h2250LogicalChannelParameters`.
    H2250(H2250LogicalChannelParameters),
    /// A later alternative.
    Other(UnknownAlternative),
}

impl ReverseMultiplexParameters {
    fn encode_with(&self, w: &mut Writer) {
        match self {
            Self::H2250(p) => w.choice_ext(0, |w| p.encode_to(w)),
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_with(r: &mut Reader<'_>, root_count: u32) -> Result<Self, Error> {
        Ok(match r.choice(root_count, true)? {
            Choice::Root(_) => return Err(Error::Unsupported("H.222/H.223/V.76 parameters")),
            Choice::Ext(0, d) => Self::H2250(r.sub(d).get()?),
            Choice::Ext(i, d) => Self::Other(unknown(i, d)),
        })
    }
}

/// `forwardLogicalChannelParameters` of `OpenLogicalChannel`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardLogicalChannelParameters {
    /// `portNumber INTEGER (0..65535)`.
    pub port_number: Option<u16>,
    /// `dataType`.
    pub data_type: DataType,
    /// `multiplexParameters`.
    pub multiplex_parameters: ForwardMultiplexParameters,
    /// `forwardLogicalChannelDependency` (addition).
    pub forward_logical_channel_dependency: Option<u16>,
    /// `replacementFor` (addition).
    pub replacement_for: Option<u16>,
}

impl Per for ForwardLogicalChannelParameters {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.add(self.forward_logical_channel_dependency.as_ref(), |w, v| {
            put_lcn(w, *v)
        });
        x.add(self.replacement_for.as_ref(), |w, v| put_lcn(w, *v));
        w.preamble(Some(x.present()), &[self.port_number.is_some()]);
        if let Some(p) = self.port_number {
            w.constrained(u64::from(p), 0, 65535, "portNumber");
        }
        self.data_type.encode_to(w);
        self.multiplex_parameters.encode_to(w);
        x.write(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut p) = r.preamble(true, 1)?;
        let port_number = r.opt(p.present(), |r| {
            Ok(r.constrained(0, 65535, "portNumber")? as u16)
        })?;
        let data_type = r.get()?;
        let multiplex_parameters = r.get()?;
        let mut x = r.additions(ext)?;
        Ok(ForwardLogicalChannelParameters {
            port_number,
            data_type,
            multiplex_parameters,
            forward_logical_channel_dependency: x.next(get_lcn)?,
            replacement_for: x.next(get_lcn)?,
        })
    }
}

/// `reverseLogicalChannelParameters` of `OpenLogicalChannel`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReverseLogicalChannelParameters {
    /// `dataType`.
    pub data_type: DataType,
    /// `multiplexParameters`.
    pub multiplex_parameters: Option<ReverseMultiplexParameters>,
    /// `reverseLogicalChannelDependency` (addition).
    pub reverse_logical_channel_dependency: Option<u16>,
    /// `replacementFor` (addition).
    pub replacement_for: Option<u16>,
}

impl Per for ReverseLogicalChannelParameters {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.add(self.reverse_logical_channel_dependency.as_ref(), |w, v| {
            put_lcn(w, *v)
        });
        x.add(self.replacement_for.as_ref(), |w, v| put_lcn(w, *v));
        w.preamble(Some(x.present()), &[self.multiplex_parameters.is_some()]);
        self.data_type.encode_to(w);
        if let Some(m) = &self.multiplex_parameters {
            m.encode_with(w);
        }
        x.write(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut p) = r.preamble(true, 1)?;
        let data_type = r.get()?;
        let multiplex_parameters = r.opt(p.present(), |r| {
            ReverseMultiplexParameters::decode_with(r, 2)
        })?;
        let mut x = r.additions(ext)?;
        Ok(ReverseLogicalChannelParameters {
            data_type,
            multiplex_parameters,
            reverse_logical_channel_dependency: x.next(get_lcn)?,
            replacement_for: x.next(get_lcn)?,
        })
    }
}

/// `OpenLogicalChannel`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenLogicalChannel {
    /// `forwardLogicalChannelNumber`.
    pub forward_logical_channel_number: u16,
    /// `forwardLogicalChannelParameters`.
    pub forward_logical_channel_parameters: ForwardLogicalChannelParameters,
    /// `reverseLogicalChannelParameters`.
    pub reverse_logical_channel_parameters: Option<ReverseLogicalChannelParameters>,
    /// `separateStack` (addition, NetworkAccessParameters), kept as its encoding.
    pub separate_stack: Option<RawValue>,
    /// `encryptionSync` (addition), kept as its encoding.
    pub encryption_sync: Option<RawValue>,
    /// `genericInformation` (addition): H.460.19 puts its traversal parameters here.
    pub generic_information: Option<Vec<GenericInformation>>,
}

impl OpenLogicalChannel {
    /// An audio channel `lcn` of `codec` in RTP session `session_id`, with the RTCP address
    /// `rtcp` (the `mediaControlChannel`), as a caller opens one.
    pub fn audio(lcn: u16, codec: AudioCapability, session_id: u8, rtcp: TransportAddress) -> Self {
        OpenLogicalChannel {
            forward_logical_channel_number: lcn,
            forward_logical_channel_parameters: ForwardLogicalChannelParameters {
                port_number: None,
                data_type: DataType::AudioData(codec),
                multiplex_parameters: ForwardMultiplexParameters::H2250(
                    H2250LogicalChannelParameters {
                        session_id,
                        media_control_channel: Some(rtcp),
                        ..Default::default()
                    },
                ),
                forward_logical_channel_dependency: None,
                replacement_for: None,
            },
            reverse_logical_channel_parameters: None,
            separate_stack: None,
            encryption_sync: None,
            generic_information: None,
        }
    }

    /// The forward `h2250LogicalChannelParameters`, if the channel uses them.
    pub fn h2250(&self) -> Option<&H2250LogicalChannelParameters> {
        match &self.forward_logical_channel_parameters.multiplex_parameters {
            ForwardMultiplexParameters::H2250(p) => Some(p),
            _ => None,
        }
    }

    /// The forward `h2250LogicalChannelParameters`, mutably.
    pub fn h2250_mut(&mut self) -> Option<&mut H2250LogicalChannelParameters> {
        match &mut self.forward_logical_channel_parameters.multiplex_parameters {
            ForwardMultiplexParameters::H2250(p) => Some(p),
            _ => None,
        }
    }

    /// The forward channel's `mediaChannel` (RTP), if any.
    pub fn media_channel(&self) -> Option<&TransportAddress> {
        self.h2250()?.media_channel.as_ref()
    }

    /// The forward channel's `mediaControlChannel` (RTCP), if any.
    pub fn media_control_channel(&self) -> Option<&TransportAddress> {
        self.h2250()?.media_control_channel.as_ref()
    }

    /// Sets the forward `mediaChannel`; false (nothing changed) when the channel does not
    /// use H.225.0 parameters.
    pub fn set_media_channel(&mut self, a: Option<TransportAddress>) -> bool {
        self.h2250_mut().map(|p| p.media_channel = a).is_some()
    }

    /// Sets the forward `mediaControlChannel`; false when the channel does not use H.225.0
    /// parameters.
    pub fn set_media_control_channel(&mut self, a: Option<TransportAddress>) -> bool {
        self.h2250_mut()
            .map(|p| p.media_control_channel = a)
            .is_some()
    }

    /// The H.460.19 traversal parameters in `genericInformation` (see
    /// [`TraversalParameters::from_generic_information`]).
    pub fn traversal_parameters(&self) -> Option<Result<TraversalParameters, Error>> {
        TraversalParameters::from_generic_information(
            self.generic_information.as_deref().unwrap_or_default(),
        )
    }

    /// Puts `tp` in `genericInformation`, replacing an H.460.19 entry already there.
    pub fn set_traversal_parameters(&mut self, tp: &TraversalParameters) {
        tp.store_in(&mut self.generic_information);
    }
}

impl Per for OpenLogicalChannel {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.raw(self.separate_stack.as_ref());
        x.raw(self.encryption_sync.as_ref());
        x.add(self.generic_information.as_ref(), |w, v| {
            put_generic_list(w, v)
        });
        w.preamble(
            Some(x.present()),
            &[self.reverse_logical_channel_parameters.is_some()],
        );
        put_lcn(w, self.forward_logical_channel_number);
        self.forward_logical_channel_parameters.encode_to(w);
        w.put_opt(&self.reverse_logical_channel_parameters);
        x.write(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut p) = r.preamble(true, 1)?;
        let forward_logical_channel_number = get_lcn(r)?;
        let forward_logical_channel_parameters = r.get()?;
        let reverse_logical_channel_parameters = r.get_opt(p.present())?;
        let mut x = r.additions(ext)?;
        Ok(OpenLogicalChannel {
            forward_logical_channel_number,
            forward_logical_channel_parameters,
            reverse_logical_channel_parameters,
            separate_stack: x.raw(),
            encryption_sync: x.raw(),
            generic_information: x.next(get_generic_list)?,
        })
    }
}

/// `H2250LogicalChannelAckParameters`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct H2250LogicalChannelAckParameters {
    /// `nonStandard`.
    pub non_standard: Option<Vec<NonStandardParameter>>,
    /// `sessionID INTEGER (1..255)`.
    pub session_id: Option<u8>,
    /// `mediaChannel` (where the acknowledging side receives RTP).
    pub media_channel: Option<TransportAddress>,
    /// `mediaControlChannel` (where it receives RTCP).
    pub media_control_channel: Option<TransportAddress>,
    /// `dynamicRTPPayloadType INTEGER (96..127)`.
    pub dynamic_rtp_payload_type: Option<u8>,
    /// `flowControlToZero` (mandatory addition; false when absent).
    pub flow_control_to_zero: bool,
    /// `portNumber INTEGER (0..65535)` (addition).
    pub port_number: Option<u16>,
    /// `multiplePayloadStream` (addition), kept as its encoding.
    pub multiple_payload_stream: Option<RawValue>,
}

impl Per for H2250LogicalChannelAckParameters {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.always(|w| w.boolean(self.flow_control_to_zero));
        x.add(self.port_number.as_ref(), |w, v| {
            w.constrained(u64::from(*v), 0, 65535, "portNumber")
        });
        x.raw(self.multiple_payload_stream.as_ref());
        w.preamble(
            Some(x.present()),
            &[
                self.non_standard.is_some(),
                self.session_id.is_some(),
                self.media_channel.is_some(),
                self.media_control_channel.is_some(),
                self.dynamic_rtp_payload_type.is_some(),
            ],
        );
        if let Some(n) = &self.non_standard {
            put_non_standard(w, n);
        }
        put_u8_opt(w, self.session_id, 1, 255, "sessionID");
        w.put_opt(&self.media_channel);
        w.put_opt(&self.media_control_channel);
        put_u8_opt(
            w,
            self.dynamic_rtp_payload_type,
            96,
            127,
            "dynamicRTPPayloadType",
        );
        x.write(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut p) = r.preamble(true, 5)?;
        let non_standard = r.opt(p.present(), get_non_standard)?;
        let session_id = get_u8_opt(r, p.present(), 1, 255, "sessionID")?;
        let media_channel = r.get_opt(p.present())?;
        let media_control_channel = r.get_opt(p.present())?;
        let dynamic_rtp_payload_type =
            get_u8_opt(r, p.present(), 96, 127, "dynamicRTPPayloadType")?;
        let mut x = r.additions(ext)?;
        Ok(H2250LogicalChannelAckParameters {
            non_standard,
            session_id,
            media_channel,
            media_control_channel,
            dynamic_rtp_payload_type,
            flow_control_to_zero: x.next(|r| r.boolean())?.unwrap_or(false),
            port_number: x.next(|r| Ok(r.constrained(0, 65535, "portNumber")? as u16))?,
            multiple_payload_stream: x.raw(),
        })
    }
}

/// `forwardMultiplexAckParameters CHOICE { h2250LogicalChannelAckParameters, ... }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForwardMultiplexAckParameters {
    /// `h2250LogicalChannelAckParameters`.
    H2250(H2250LogicalChannelAckParameters),
    /// A later alternative.
    Other(UnknownAlternative),
}

impl Per for ForwardMultiplexAckParameters {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::H2250(p) => {
                w.choice_root(0, 1, true);
                p.encode_to(w);
            }
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(1, true)? {
            Choice::Root(_) => Self::H2250(r.get()?),
            Choice::Ext(i, d) => Self::Other(unknown(i, d)),
        })
    }
}

/// `reverseLogicalChannelParameters` of `OpenLogicalChannelAck`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AckReverseLogicalChannelParameters {
    /// `reverseLogicalChannelNumber`.
    pub reverse_logical_channel_number: u16,
    /// `portNumber`.
    pub port_number: Option<u16>,
    /// `multiplexParameters`.
    pub multiplex_parameters: Option<ReverseMultiplexParameters>,
    /// `replacementFor` (addition).
    pub replacement_for: Option<u16>,
}

impl Per for AckReverseLogicalChannelParameters {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.add(self.replacement_for.as_ref(), |w, v| put_lcn(w, *v));
        w.preamble(
            Some(x.present()),
            &[
                self.port_number.is_some(),
                self.multiplex_parameters.is_some(),
            ],
        );
        put_lcn(w, self.reverse_logical_channel_number);
        if let Some(p) = self.port_number {
            w.constrained(u64::from(p), 0, 65535, "portNumber");
        }
        if let Some(m) = &self.multiplex_parameters {
            m.encode_with(w);
        }
        x.write(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut p) = r.preamble(true, 2)?;
        let (has_port, has_mux) = (p.present(), p.present());
        let reverse_logical_channel_number = get_lcn(r)?;
        let port_number = r.opt(has_port, |r| {
            Ok(r.constrained(0, 65535, "portNumber")? as u16)
        })?;
        let multiplex_parameters =
            r.opt(has_mux, |r| ReverseMultiplexParameters::decode_with(r, 1))?;
        let mut x = r.additions(ext)?;
        Ok(AckReverseLogicalChannelParameters {
            reverse_logical_channel_number,
            port_number,
            multiplex_parameters,
            replacement_for: x.next(get_lcn)?,
        })
    }
}

/// `OpenLogicalChannelAck`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenLogicalChannelAck {
    /// `forwardLogicalChannelNumber`.
    pub forward_logical_channel_number: u16,
    /// `reverseLogicalChannelParameters`.
    pub reverse_logical_channel_parameters: Option<AckReverseLogicalChannelParameters>,
    /// `separateStack` (addition), kept as its encoding.
    pub separate_stack: Option<RawValue>,
    /// `forwardMultiplexAckParameters` (addition).
    pub forward_multiplex_ack_parameters: Option<ForwardMultiplexAckParameters>,
    /// `encryptionSync` (addition), kept as its encoding.
    pub encryption_sync: Option<RawValue>,
    /// `genericInformation` (addition): H.460.19 traversal parameters.
    pub generic_information: Option<Vec<GenericInformation>>,
    /// `dtlsSecurityCapability` (addition, H.245 v16), kept as its encoding.
    pub dtls_security_capability: Option<RawValue>,
}

impl OpenLogicalChannelAck {
    /// An ack of channel `lcn` giving the RTP and RTCP addresses to send to.
    pub fn new(lcn: u16, rtp: TransportAddress, rtcp: TransportAddress) -> Self {
        OpenLogicalChannelAck {
            forward_logical_channel_number: lcn,
            reverse_logical_channel_parameters: None,
            separate_stack: None,
            forward_multiplex_ack_parameters: Some(ForwardMultiplexAckParameters::H2250(
                H2250LogicalChannelAckParameters {
                    media_channel: Some(rtp),
                    media_control_channel: Some(rtcp),
                    ..Default::default()
                },
            )),
            encryption_sync: None,
            generic_information: None,
            dtls_security_capability: None,
        }
    }

    /// The `h2250LogicalChannelAckParameters`, if present.
    pub fn h2250(&self) -> Option<&H2250LogicalChannelAckParameters> {
        match &self.forward_multiplex_ack_parameters {
            Some(ForwardMultiplexAckParameters::H2250(p)) => Some(p),
            _ => None,
        }
    }

    /// The `h2250LogicalChannelAckParameters`, mutably, created (empty) when
    /// `forwardMultiplexAckParameters` is absent; `None` for another alternative.
    pub fn h2250_mut(&mut self) -> Option<&mut H2250LogicalChannelAckParameters> {
        let p = self
            .forward_multiplex_ack_parameters
            .get_or_insert_with(|| ForwardMultiplexAckParameters::H2250(Default::default()));
        match p {
            ForwardMultiplexAckParameters::H2250(p) => Some(p),
            ForwardMultiplexAckParameters::Other(_) => None,
        }
    }

    /// The acknowledged `mediaChannel` (RTP), if any.
    pub fn media_channel(&self) -> Option<&TransportAddress> {
        self.h2250()?.media_channel.as_ref()
    }

    /// The acknowledged `mediaControlChannel` (RTCP), if any.
    pub fn media_control_channel(&self) -> Option<&TransportAddress> {
        self.h2250()?.media_control_channel.as_ref()
    }

    /// Sets `mediaChannel`; false when `forwardMultiplexAckParameters` is an unknown
    /// alternative.
    pub fn set_media_channel(&mut self, a: Option<TransportAddress>) -> bool {
        self.h2250_mut().map(|p| p.media_channel = a).is_some()
    }

    /// Sets `mediaControlChannel`; false when `forwardMultiplexAckParameters` is an unknown
    /// alternative.
    pub fn set_media_control_channel(&mut self, a: Option<TransportAddress>) -> bool {
        self.h2250_mut()
            .map(|p| p.media_control_channel = a)
            .is_some()
    }

    /// The H.460.19 traversal parameters in `genericInformation`.
    pub fn traversal_parameters(&self) -> Option<Result<TraversalParameters, Error>> {
        TraversalParameters::from_generic_information(
            self.generic_information.as_deref().unwrap_or_default(),
        )
    }

    /// Puts `tp` in `genericInformation`, replacing an H.460.19 entry already there.
    pub fn set_traversal_parameters(&mut self, tp: &TraversalParameters) {
        tp.store_in(&mut self.generic_information);
    }
}

impl Per for OpenLogicalChannelAck {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.raw(self.separate_stack.as_ref());
        x.put(self.forward_multiplex_ack_parameters.as_ref());
        x.raw(self.encryption_sync.as_ref());
        x.add(self.generic_information.as_ref(), |w, v| {
            put_generic_list(w, v)
        });
        x.raw(self.dtls_security_capability.as_ref());
        w.preamble(
            Some(x.present()),
            &[self.reverse_logical_channel_parameters.is_some()],
        );
        put_lcn(w, self.forward_logical_channel_number);
        w.put_opt(&self.reverse_logical_channel_parameters);
        x.write(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut p) = r.preamble(true, 1)?;
        let forward_logical_channel_number = get_lcn(r)?;
        let reverse_logical_channel_parameters = r.get_opt(p.present())?;
        let mut x = r.additions(ext)?;
        Ok(OpenLogicalChannelAck {
            forward_logical_channel_number,
            reverse_logical_channel_parameters,
            separate_stack: x.raw(),
            forward_multiplex_ack_parameters: x.get()?,
            encryption_sync: x.raw(),
            generic_information: x.next(get_generic_list)?,
            dtls_security_capability: x.raw(),
        })
    }
}

null_choice! {
    /// `cause` of `OpenLogicalChannelReject`.
    OlcRejectCause { root: [
        /// `unspecified`.
        Unspecified,
        /// `unsuitableReverseParameters`.
        UnsuitableReverseParameters,
        /// `dataTypeNotSupported`.
        DataTypeNotSupported,
        /// `dataTypeNotAvailable`.
        DataTypeNotAvailable,
        /// `unknownDataType`.
        UnknownDataType,
        /// `dataTypeALCombinationNotSupported`.
        DataTypeALCombinationNotSupported,
    ], ext: [
        /// `multicastChannelNotAllowed`.
        MulticastChannelNotAllowed,
        /// `insufficientBandwidth`.
        InsufficientBandwidth,
        /// `separateStackEstablishmentFailed`.
        SeparateStackEstablishmentFailed,
        /// `invalidSessionID`.
        InvalidSessionID,
        /// `masterSlaveConflict`.
        MasterSlaveConflict,
        /// `waitForCommunicationMode`.
        WaitForCommunicationMode,
        /// `invalidDependentChannel`.
        InvalidDependentChannel,
        /// `replacementForRejected`.
        ReplacementForRejected,
        /// `securityDenied`.
        SecurityDenied,
        /// `qoSControlNotSupported`.
        QoSControlNotSupported,
    ] }
}

/// `OpenLogicalChannelReject`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenLogicalChannelReject {
    /// `forwardLogicalChannelNumber`.
    pub forward_logical_channel_number: u16,
    /// `cause`.
    pub cause: OlcRejectCause,
    /// `genericInformation` (addition).
    pub generic_information: Option<Vec<GenericInformation>>,
}

impl Per for OpenLogicalChannelReject {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.add(self.generic_information.as_ref(), |w, v| {
            put_generic_list(w, v)
        });
        w.preamble(Some(x.present()), &[]);
        put_lcn(w, self.forward_logical_channel_number);
        self.cause.encode_to(w);
        x.write(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let forward_logical_channel_number = get_lcn(r)?;
        let cause = r.get()?;
        let mut x = r.additions(ext)?;
        Ok(OpenLogicalChannelReject {
            forward_logical_channel_number,
            cause,
            generic_information: x.next(get_generic_list)?,
        })
    }
}

/// `source` of `CloseLogicalChannel`: `CHOICE { user NULL, lcse NULL }` (not extensible).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClcSource {
    /// `user`.
    User,
    /// `lcse` (the logical channel signalling entity).
    Lcse,
}

/// `reason` of `CloseLogicalChannel` and `RequestChannelClose`: `CHOICE { unknown, [normal
/// (RCC only)], reopen, reservationFailure, ..., networkErrorCode INTEGER (0..255) }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// `unknown`.
    Unknown,
    /// `normal` (RequestChannelClose only; written as `unknown` in a CloseLogicalChannel).
    Normal,
    /// `reopen`.
    Reopen,
    /// `reservationFailure`.
    ReservationFailure,
    /// `networkErrorCode`.
    NetworkErrorCode(u8),
}

impl CloseReason {
    /// Writes the reason; `rcc` selects RequestChannelClose's CHOICE (with `normal`).
    fn encode_with(&self, w: &mut Writer, rcc: bool) {
        let root: u32 = if rcc { 4 } else { 3 };
        let shift = u32::from(rcc);
        match self {
            Self::Unknown => w.choice_root(0, root, true),
            Self::Normal if rcc => w.choice_root(1, root, true),
            Self::Normal => {
                w.violation(Error::Invalid("CloseLogicalChannel reason normal"));
                w.choice_root(0, root, true)
            }
            Self::Reopen => w.choice_root(1 + shift, root, true),
            Self::ReservationFailure => w.choice_root(2 + shift, root, true),
            Self::NetworkErrorCode(c) => w.choice_ext(0, |w| {
                w.constrained(u64::from(*c), 0, 255, "networkErrorCode")
            }),
        }
    }

    fn decode_with(r: &mut Reader<'_>, rcc: bool) -> Result<Self, Error> {
        let root: u32 = if rcc { 4 } else { 3 };
        Ok(match r.choice(root, true)? {
            Choice::Root(0) => Self::Unknown,
            Choice::Root(1) if rcc => Self::Normal,
            Choice::Root(i) if i == root - 2 => Self::Reopen,
            Choice::Root(_) => Self::ReservationFailure,
            Choice::Ext(0, d) => {
                Self::NetworkErrorCode(r.sub(d).constrained(0, 255, "networkErrorCode")? as u8)
            }
            // A later reason: treated as unknown (the message stays valid).
            Choice::Ext(..) => Self::Unknown,
        })
    }
}

/// `CloseLogicalChannel`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseLogicalChannel {
    /// `forwardLogicalChannelNumber`.
    pub forward_logical_channel_number: u16,
    /// `source`.
    pub source: ClcSource,
    /// `reason` (mandatory addition since H.245 v3; `None` only from older peers).
    pub reason: Option<CloseReason>,
}

impl Per for CloseLogicalChannel {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.add(self.reason.as_ref(), |w, v| v.encode_with(w, false));
        w.preamble(Some(x.present()), &[]);
        put_lcn(w, self.forward_logical_channel_number);
        w.choice_root(u32::from(self.source == ClcSource::Lcse), 2, false);
        x.write(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let forward_logical_channel_number = get_lcn(r)?;
        let source = match r.choice(2, false)? {
            Choice::Root(0) => ClcSource::User,
            _ => ClcSource::Lcse,
        };
        let mut x = r.additions(ext)?;
        Ok(CloseLogicalChannel {
            forward_logical_channel_number,
            source,
            reason: x.next(|r| CloseReason::decode_with(r, false))?,
        })
    }
}

/// A SEQUENCE of one `LogicalChannelNumber` and an extension marker:
/// `CloseLogicalChannelAck`, `RequestChannelCloseAck`.
macro_rules! lcn_only {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name {
            /// `forwardLogicalChannelNumber`.
            pub forward_logical_channel_number: u16,
        }

        impl Per for $name {
            fn encode_to(&self, w: &mut Writer) {
                w.preamble(Some(false), &[]);
                put_lcn(w, self.forward_logical_channel_number);
            }
            fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
                let (ext, _) = r.preamble(true, 0)?;
                let forward_logical_channel_number = get_lcn(r)?;
                r.additions(ext)?;
                Ok($name {
                    forward_logical_channel_number,
                })
            }
        }
    };
}

lcn_only! {
    /// `CloseLogicalChannelAck`.
    CloseLogicalChannelAck
}

lcn_only! {
    /// `RequestChannelCloseAck`.
    RequestChannelCloseAck
}

/// `RequestChannelClose`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestChannelClose {
    /// `forwardLogicalChannelNumber`.
    pub forward_logical_channel_number: u16,
    /// `qosCapability` (addition), kept as its encoding.
    pub qos_capability: Option<RawValue>,
    /// `reason` (mandatory addition since H.245 v3; `None` only from older peers).
    pub reason: Option<CloseReason>,
}

impl Per for RequestChannelClose {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.raw(self.qos_capability.as_ref());
        x.add(self.reason.as_ref(), |w, v| v.encode_with(w, true));
        w.preamble(Some(x.present()), &[]);
        put_lcn(w, self.forward_logical_channel_number);
        x.write(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let forward_logical_channel_number = get_lcn(r)?;
        let mut x = r.additions(ext)?;
        Ok(RequestChannelClose {
            forward_logical_channel_number,
            qos_capability: x.raw(),
            reason: x.next(|r| CloseReason::decode_with(r, true))?,
        })
    }
}
