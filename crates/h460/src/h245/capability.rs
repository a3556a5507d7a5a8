//! `TerminalCapabilitySet` and the
//! capability types exp looks at: the H.225.0 multiplex capability and the audio codecs of
//! the capability table.
//!
//! Root alternatives of `Capability`, `AudioCapability` and `MultiplexCapability` that are
//! not modelled (video, data, H.222/H.223/V.76, MPEG audio) cannot be skipped without decoding
//! their type, so they decode to [`Error::Unsupported`]; a whole message then falls back to
//! its raw encoding (see [`super::RawRoot`]). Extension alternatives are kept as
//! [`UnknownAlternative`].

use crate::per::{
    Additions, Choice, Error, Oid, Per, RawValue, Reader, UnknownAlternative, Writer,
};

use super::common::{
    get_generic_list, put_generic_list, unknown, GenericInformation, NonStandardParameter,
};

/// H.245 version 13's protocol identifier, `{itu-t(0) recommendation(0) h(8) 245 version(0)
/// 13}`.
pub fn protocol_identifier() -> Oid {
    Oid::new(&[0, 0, 8, 245, 0, 13])
}

/// `TerminalCapabilitySet`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerminalCapabilitySet {
    /// `sequenceNumber SequenceNumber` (0..255).
    pub sequence_number: u8,
    /// `protocolIdentifier`.
    pub protocol_identifier: Oid,
    /// `multiplexCapability`.
    pub multiplex_capability: Option<MultiplexCapability>,
    /// `capabilityTable SET SIZE (1..256) OF CapabilityTableEntry`.
    pub capability_table: Option<Vec<CapabilityTableEntry>>,
    /// `capabilityDescriptors SET SIZE (1..256) OF CapabilityDescriptor`.
    pub capability_descriptors: Option<Vec<CapabilityDescriptor>>,
    /// `genericInformation` (extension addition).
    pub generic_information: Option<Vec<GenericInformation>>,
}

impl TerminalCapabilitySet {
    /// A capability set with only the mandatory components and protocol version 13.
    pub fn new(sequence_number: u8) -> Self {
        TerminalCapabilitySet {
            sequence_number,
            protocol_identifier: protocol_identifier(),
            multiplex_capability: None,
            capability_table: None,
            capability_descriptors: None,
            generic_information: None,
        }
    }
}

impl Per for TerminalCapabilitySet {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.add(self.generic_information.as_ref(), |w, v| {
            put_generic_list(w, v)
        });
        w.preamble(
            Some(x.present()),
            &[
                self.multiplex_capability.is_some(),
                self.capability_table.is_some(),
                self.capability_descriptors.is_some(),
            ],
        );
        w.constrained(u64::from(self.sequence_number), 0, 255, "sequenceNumber");
        w.oid(&self.protocol_identifier);
        w.put_opt(&self.multiplex_capability);
        if let Some(t) = &self.capability_table {
            w.seq_of(t, 1, Some(256), "capabilityTable", |w, e| e.encode_to(w));
        }
        if let Some(d) = &self.capability_descriptors {
            w.seq_of(d, 1, Some(256), "capabilityDescriptors", |w, e| {
                e.encode_to(w)
            });
        }
        x.write(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut p) = r.preamble(true, 3)?;
        let (mc, ct, cd) = (p.present(), p.present(), p.present());
        let sequence_number = r.constrained(0, 255, "sequenceNumber")? as u8;
        let protocol_identifier = r.oid()?;
        let multiplex_capability = r.get_opt(mc)?;
        let capability_table = r.opt(ct, |r| {
            r.seq_of(
                1,
                Some(256),
                "capabilityTable",
                CapabilityTableEntry::decode_from,
            )
        })?;
        let capability_descriptors = r.opt(cd, |r| {
            r.seq_of(
                1,
                Some(256),
                "capabilityDescriptors",
                CapabilityDescriptor::decode_from,
            )
        })?;
        let mut x = r.additions(ext)?;
        Ok(TerminalCapabilitySet {
            sequence_number,
            protocol_identifier,
            multiplex_capability,
            capability_table,
            capability_descriptors,
            generic_information: x.next(get_generic_list)?,
        })
    }
}

/// `CapabilityTableEntry ::= SEQUENCE { capabilityTableEntryNumber INTEGER (1..65535),
/// capability Capability OPTIONAL }` (not extensible).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapabilityTableEntry {
    /// `capabilityTableEntryNumber`.
    pub capability_table_entry_number: u16,
    /// `capability`.
    pub capability: Option<Capability>,
}

impl Per for CapabilityTableEntry {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(None, &[self.capability.is_some()]);
        w.constrained(
            u64::from(self.capability_table_entry_number),
            1,
            65535,
            "capabilityTableEntryNumber",
        );
        w.put_opt(&self.capability);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (_, mut p) = r.preamble(false, 1)?;
        Ok(CapabilityTableEntry {
            capability_table_entry_number: r.constrained(1, 65535, "capabilityTableEntryNumber")?
                as u16,
            capability: r.get_opt(p.present())?,
        })
    }
}

/// `CapabilityDescriptor ::= SEQUENCE { capabilityDescriptorNumber INTEGER (0..255),
/// simultaneousCapabilities SET SIZE (1..256) OF AlternativeCapabilitySet OPTIONAL }`, with
/// `AlternativeCapabilitySet ::= SEQUENCE SIZE (1..256) OF CapabilityTableEntryNumber`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapabilityDescriptor {
    /// `capabilityDescriptorNumber`.
    pub capability_descriptor_number: u8,
    /// `simultaneousCapabilities`: each inner list is one `AlternativeCapabilitySet`.
    pub simultaneous_capabilities: Option<Vec<Vec<u16>>>,
}

impl Per for CapabilityDescriptor {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(None, &[self.simultaneous_capabilities.is_some()]);
        w.constrained(
            u64::from(self.capability_descriptor_number),
            0,
            255,
            "capabilityDescriptorNumber",
        );
        if let Some(s) = &self.simultaneous_capabilities {
            w.seq_of(s, 1, Some(256), "simultaneousCapabilities", |w, alt| {
                w.seq_of(alt, 1, Some(256), "alternativeCapabilitySet", |w, n| {
                    w.constrained(u64::from(*n), 1, 65535, "capabilityTableEntryNumber")
                })
            });
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (_, mut p) = r.preamble(false, 1)?;
        let capability_descriptor_number =
            r.constrained(0, 255, "capabilityDescriptorNumber")? as u8;
        let simultaneous_capabilities = r.opt(p.present(), |r| {
            r.seq_of(1, Some(256), "simultaneousCapabilities", |r| {
                r.seq_of(1, Some(256), "alternativeCapabilitySet", |r| {
                    Ok(r.constrained(1, 65535, "capabilityTableEntryNumber")? as u16)
                })
            })
        })?;
        Ok(CapabilityDescriptor {
            capability_descriptor_number,
            simultaneous_capabilities,
        })
    }
}

/// `Capability` (12 root alternatives, extensible). Audio capabilities are typed; the video,
/// data and H.233 root alternatives are [`Error::Unsupported`] on decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Capability {
    /// `nonStandard`.
    NonStandard(NonStandardParameter),
    /// `receiveAudioCapability`.
    ReceiveAudio(AudioCapability),
    /// `transmitAudioCapability`.
    TransmitAudio(AudioCapability),
    /// `receiveAndTransmitAudioCapability`.
    ReceiveAndTransmitAudio(AudioCapability),
    /// `h233EncryptionTransmitCapability BOOLEAN`.
    H233EncryptionTransmit(bool),
    /// An extension alternative (`receiveUserInputCapability`, `genericControlCapability`,
    /// ...), kept as its encoding.
    Other(UnknownAlternative),
}

impl Per for Capability {
    fn encode_to(&self, w: &mut Writer) {
        const N: u32 = 12;
        match self {
            Self::NonStandard(n) => {
                w.choice_root(0, N, true);
                n.encode_to(w);
            }
            Self::ReceiveAudio(a) => {
                w.choice_root(4, N, true);
                a.encode_to(w);
            }
            Self::TransmitAudio(a) => {
                w.choice_root(5, N, true);
                a.encode_to(w);
            }
            Self::ReceiveAndTransmitAudio(a) => {
                w.choice_root(6, N, true);
                a.encode_to(w);
            }
            Self::H233EncryptionTransmit(b) => {
                w.choice_root(10, N, true);
                w.boolean(*b);
            }
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(12, true)? {
            Choice::Root(0) => Self::NonStandard(r.get()?),
            Choice::Root(4) => Self::ReceiveAudio(r.get()?),
            Choice::Root(5) => Self::TransmitAudio(r.get()?),
            Choice::Root(6) => Self::ReceiveAndTransmitAudio(r.get()?),
            Choice::Root(10) => Self::H233EncryptionTransmit(r.boolean()?),
            Choice::Root(1..=3) => return Err(Error::Unsupported("VideoCapability")),
            Choice::Root(7..=9) => return Err(Error::Unsupported("DataApplicationCapability")),
            Choice::Root(_) => return Err(Error::Unsupported("h233EncryptionReceiveCapability")),
            Choice::Ext(i, d) => Self::Other(unknown(i, d)),
        })
    }
}

/// `AudioCapability` (14 root alternatives, extensible). The `INTEGER (1..256)` values are
/// the maximum number of frames (or milliseconds for G.711/G.722/G.728) per packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AudioCapability {
    /// `nonStandard`.
    NonStandard(NonStandardParameter),
    /// `g711Alaw64k`.
    G711Alaw64k(u16),
    /// `g711Alaw56k`.
    G711Alaw56k(u16),
    /// `g711Ulaw64k`.
    G711Ulaw64k(u16),
    /// `g711Ulaw56k`.
    G711Ulaw56k(u16),
    /// `g722-64k`.
    G722_64k(u16),
    /// `g722-56k`.
    G722_56k(u16),
    /// `g722-48k`.
    G722_48k(u16),
    /// `g7231 SEQUENCE { maxAl-sduAudioFrames INTEGER (1..256), silenceSuppression BOOLEAN }`.
    G7231 {
        /// `maxAl-sduAudioFrames`.
        max_al_sdu_audio_frames: u16,
        /// `silenceSuppression`.
        silence_suppression: bool,
    },
    /// `g728`.
    G728(u16),
    /// `g729`.
    G729(u16),
    /// `g729AnnexA`.
    G729AnnexA(u16),
    /// An extension alternative (`g729wAnnexB`, `genericAudioCapability`, ...), kept as its
    /// encoding.
    Other(UnknownAlternative),
}

impl AudioCapability {
    /// The root index and frame count of the `INTEGER (1..256)` alternatives.
    fn frames(&self) -> Option<(u32, u16)> {
        Some(match self {
            Self::G711Alaw64k(n) => (1, *n),
            Self::G711Alaw56k(n) => (2, *n),
            Self::G711Ulaw64k(n) => (3, *n),
            Self::G711Ulaw56k(n) => (4, *n),
            Self::G722_64k(n) => (5, *n),
            Self::G722_56k(n) => (6, *n),
            Self::G722_48k(n) => (7, *n),
            Self::G728(n) => (9, *n),
            Self::G729(n) => (10, *n),
            Self::G729AnnexA(n) => (11, *n),
            _ => return None,
        })
    }
}

impl Per for AudioCapability {
    fn encode_to(&self, w: &mut Writer) {
        const N: u32 = 14;
        if let Some((i, n)) = self.frames() {
            w.choice_root(i, N, true);
            w.constrained(u64::from(n), 1, 256, "audioFrames");
            return;
        }
        match self {
            Self::NonStandard(n) => {
                w.choice_root(0, N, true);
                n.encode_to(w);
            }
            Self::G7231 {
                max_al_sdu_audio_frames,
                silence_suppression,
            } => {
                w.choice_root(8, N, true);
                w.constrained(
                    u64::from(*max_al_sdu_audio_frames),
                    1,
                    256,
                    "maxAl-sduAudioFrames",
                );
                w.boolean(*silence_suppression);
            }
            Self::Other(u) => w.choice_unknown(u),
            _ => {}
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let i = match r.choice(14, true)? {
            Choice::Ext(i, d) => return Ok(Self::Other(unknown(i, d))),
            Choice::Root(i) => i,
        };
        let frames =
            |r: &mut Reader<'_>| Ok::<_, Error>(r.constrained(1, 256, "audioFrames")? as u16);
        Ok(match i {
            0 => Self::NonStandard(r.get()?),
            1 => Self::G711Alaw64k(frames(r)?),
            2 => Self::G711Alaw56k(frames(r)?),
            3 => Self::G711Ulaw64k(frames(r)?),
            4 => Self::G711Ulaw56k(frames(r)?),
            5 => Self::G722_64k(frames(r)?),
            6 => Self::G722_56k(frames(r)?),
            7 => Self::G722_48k(frames(r)?),
            8 => Self::G7231 {
                max_al_sdu_audio_frames: frames(r)?,
                silence_suppression: r.boolean()?,
            },
            9 => Self::G728(frames(r)?),
            10 => Self::G729(frames(r)?),
            11 => Self::G729AnnexA(frames(r)?),
            _ => return Err(Error::Unsupported("IS11172/IS13818 AudioCapability")),
        })
    }
}

/// `MultiplexCapability` (4 root alternatives, extensible): exp uses `h2250Capability`
/// (extension alternative 0). The H.222/H.223/V.76 root alternatives are
/// [`Error::Unsupported`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MultiplexCapability {
    /// `nonStandard`.
    NonStandard(NonStandardParameter),
    /// `h2250Capability`.
    H2250(H2250Capability),
    /// Another extension alternative (`genericMultiplexCapability`).
    Other(UnknownAlternative),
}

impl Per for MultiplexCapability {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::NonStandard(n) => {
                w.choice_root(0, 4, true);
                n.encode_to(w);
            }
            Self::H2250(c) => w.choice_ext(0, |w| c.encode_to(w)),
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(4, true)? {
            Choice::Root(0) => Self::NonStandard(r.get()?),
            Choice::Root(_) => return Err(Error::Unsupported("H.222/H.223/V.76 capability")),
            Choice::Ext(0, d) => Self::H2250(r.sub(d).get()?),
            Choice::Ext(i, d) => Self::Other(unknown(i, d)),
        })
    }
}

/// `H2250Capability`: the H.225.0 multiplex capability.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct H2250Capability {
    /// `maximumAudioDelayJitter INTEGER (0..1023)` (ms).
    pub maximum_audio_delay_jitter: u16,
    /// `receiveMultipointCapability`.
    pub receive_multipoint_capability: MultipointCapability,
    /// `transmitMultipointCapability`.
    pub transmit_multipoint_capability: MultipointCapability,
    /// `receiveAndTransmitMultipointCapability`.
    pub receive_and_transmit_multipoint_capability: MultipointCapability,
    /// `mcCapability.centralizedConferenceMC`.
    pub centralized_conference_mc: bool,
    /// `mcCapability.decentralizedConferenceMC`.
    pub decentralized_conference_mc: bool,
    /// `rtcpVideoControlCapability`.
    pub rtcp_video_control_capability: bool,
    /// `mediaPacketizationCapability`.
    pub media_packetization_capability: MediaPacketizationCapability,
    /// `transportCapability` (addition), kept as its encoding.
    pub transport_capability: Option<RawValue>,
    /// `redundancyEncodingCapability` (addition), kept as its encoding.
    pub redundancy_encoding_capability: Option<RawValue>,
    /// `logicalChannelSwitchingCapability` (mandatory addition; false when absent).
    pub logical_channel_switching_capability: bool,
    /// `t120DynamicPortCapability` (mandatory addition; false when absent).
    pub t120_dynamic_port_capability: bool,
}

impl Per for H2250Capability {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.raw(self.transport_capability.as_ref());
        x.raw(self.redundancy_encoding_capability.as_ref());
        x.always(|w| w.boolean(self.logical_channel_switching_capability));
        x.always(|w| w.boolean(self.t120_dynamic_port_capability));
        w.preamble(Some(x.present()), &[]);
        w.constrained(
            u64::from(self.maximum_audio_delay_jitter),
            0,
            1023,
            "maximumAudioDelayJitter",
        );
        self.receive_multipoint_capability.encode_to(w);
        self.transmit_multipoint_capability.encode_to(w);
        self.receive_and_transmit_multipoint_capability.encode_to(w);
        // mcCapability SEQUENCE { centralizedConferenceMC, decentralizedConferenceMC, ... }
        w.preamble(Some(false), &[]);
        w.boolean(self.centralized_conference_mc);
        w.boolean(self.decentralized_conference_mc);
        w.boolean(self.rtcp_video_control_capability);
        self.media_packetization_capability.encode_to(w);
        x.write(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let maximum_audio_delay_jitter = r.constrained(0, 1023, "maximumAudioDelayJitter")? as u16;
        let receive_multipoint_capability = r.get()?;
        let transmit_multipoint_capability = r.get()?;
        let receive_and_transmit_multipoint_capability = r.get()?;
        let (mc_ext, _) = r.preamble(true, 0)?;
        let centralized_conference_mc = r.boolean()?;
        let decentralized_conference_mc = r.boolean()?;
        r.additions(mc_ext)?;
        let rtcp_video_control_capability = r.boolean()?;
        let media_packetization_capability = r.get()?;
        let mut x = r.additions(ext)?;
        Ok(H2250Capability {
            maximum_audio_delay_jitter,
            receive_multipoint_capability,
            transmit_multipoint_capability,
            receive_and_transmit_multipoint_capability,
            centralized_conference_mc,
            decentralized_conference_mc,
            rtcp_video_control_capability,
            media_packetization_capability,
            transport_capability: x.raw(),
            redundancy_encoding_capability: x.raw(),
            logical_channel_switching_capability: x.next(|r| r.boolean())?.unwrap_or(false),
            t120_dynamic_port_capability: x.next(|r| r.boolean())?.unwrap_or(false),
        })
    }
}

/// `MultipointCapability ::= SEQUENCE { multicastCapability BOOLEAN, multiUniCastConference
/// BOOLEAN, mediaDistributionCapability SEQUENCE OF MediaDistributionCapability, ... }`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MultipointCapability {
    /// `multicastCapability`.
    pub multicast_capability: bool,
    /// `multiUniCastConference`.
    pub multi_uni_cast_conference: bool,
    /// `mediaDistributionCapability`.
    pub media_distribution_capability: Vec<MediaDistributionCapability>,
}

impl Per for MultipointCapability {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[]);
        w.boolean(self.multicast_capability);
        w.boolean(self.multi_uni_cast_conference);
        w.seq_of(
            &self.media_distribution_capability,
            0,
            None,
            "mediaDistributionCapability",
            |w, m| m.encode_to(w),
        );
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let v = MultipointCapability {
            multicast_capability: r.boolean()?,
            multi_uni_cast_conference: r.boolean()?,
            media_distribution_capability: r.seq_of(
                0,
                None,
                "mediaDistributionCapability",
                MediaDistributionCapability::decode_from,
            )?,
        };
        r.additions(ext)?;
        Ok(v)
    }
}

/// `MediaDistributionCapability`: the six BOOLEANs; `centralizedData` /
/// `distributedData` (lists of DataApplicationCapability) are not modelled: they are never
/// written, and an encoding that has them is [`Error::Unsupported`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MediaDistributionCapability {
    /// `centralizedControl`.
    pub centralized_control: bool,
    /// `distributedControl`.
    pub distributed_control: bool,
    /// `centralizedAudio`.
    pub centralized_audio: bool,
    /// `distributedAudio`.
    pub distributed_audio: bool,
    /// `centralizedVideo`.
    pub centralized_video: bool,
    /// `distributedVideo`.
    pub distributed_video: bool,
}

impl Per for MediaDistributionCapability {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[false, false]);
        for b in [
            self.centralized_control,
            self.distributed_control,
            self.centralized_audio,
            self.distributed_audio,
            self.centralized_video,
            self.distributed_video,
        ] {
            w.boolean(b);
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut p) = r.preamble(true, 2)?;
        if p.present() || p.present() {
            return Err(Error::Unsupported("MediaDistributionCapability data"));
        }
        let v = MediaDistributionCapability {
            centralized_control: r.boolean()?,
            distributed_control: r.boolean()?,
            centralized_audio: r.boolean()?,
            distributed_audio: r.boolean()?,
            centralized_video: r.boolean()?,
            distributed_video: r.boolean()?,
        };
        r.additions(ext)?;
        Ok(v)
    }
}

/// `MediaPacketizationCapability ::= SEQUENCE { h261aVideoPacketization BOOLEAN, ...,
/// rtpPayloadType SEQUENCE SIZE (1..256) OF RTPPayloadType OPTIONAL }`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MediaPacketizationCapability {
    /// `h261aVideoPacketization`.
    pub h261a_video_packetization: bool,
    /// `rtpPayloadType` (addition).
    pub rtp_payload_type: Option<Vec<RtpPayloadType>>,
}

impl Per for MediaPacketizationCapability {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.add(self.rtp_payload_type.as_ref(), |w, v| {
            w.seq_of(v, 1, Some(256), "rtpPayloadType", |w, p| p.encode_to(w))
        });
        w.preamble(Some(x.present()), &[]);
        w.boolean(self.h261a_video_packetization);
        x.write(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let h261a_video_packetization = r.boolean()?;
        let mut x = r.additions(ext)?;
        Ok(MediaPacketizationCapability {
            h261a_video_packetization,
            rtp_payload_type: x
                .next(|r| r.seq_of(1, Some(256), "rtpPayloadType", RtpPayloadType::decode_from))?,
        })
    }
}

/// `RTPPayloadType ::= SEQUENCE { payloadDescriptor CHOICE {...}, payloadType INTEGER
/// (0..127) OPTIONAL, ... }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtpPayloadType {
    /// `payloadDescriptor`.
    pub payload_descriptor: PayloadDescriptor,
    /// `payloadType`.
    pub payload_type: Option<u8>,
}

/// `payloadDescriptor CHOICE { nonStandardIdentifier NonStandardParameter, rfc-number
/// INTEGER (1..32768, ...), oid OBJECT IDENTIFIER, ... }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayloadDescriptor {
    /// `nonStandardIdentifier`.
    NonStandard(NonStandardParameter),
    /// `rfc-number`.
    RfcNumber(u64),
    /// `oid`.
    Oid(Oid),
    /// A later alternative.
    Other(UnknownAlternative),
}

impl Per for RtpPayloadType {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[self.payload_type.is_some()]);
        match &self.payload_descriptor {
            PayloadDescriptor::NonStandard(n) => {
                w.choice_root(0, 3, true);
                n.encode_to(w);
            }
            PayloadDescriptor::RfcNumber(n) => {
                w.choice_root(1, 3, true);
                w.constrained_ext(*n, 1, 32768, "rfc-number");
            }
            PayloadDescriptor::Oid(o) => {
                w.choice_root(2, 3, true);
                w.oid(o);
            }
            PayloadDescriptor::Other(u) => w.choice_unknown(u),
        }
        if let Some(t) = self.payload_type {
            w.constrained(u64::from(t), 0, 127, "payloadType");
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut p) = r.preamble(true, 1)?;
        let payload_descriptor = match r.choice(3, true)? {
            Choice::Root(0) => PayloadDescriptor::NonStandard(r.get()?),
            Choice::Root(1) => {
                PayloadDescriptor::RfcNumber(r.constrained_ext(1, 32768, "rfc-number")?)
            }
            Choice::Root(_) => PayloadDescriptor::Oid(r.oid()?),
            Choice::Ext(i, d) => PayloadDescriptor::Other(unknown(i, d)),
        };
        let payload_type = r.opt(p.present(), |r| {
            Ok(r.constrained(0, 127, "payloadType")? as u8)
        })?;
        r.additions(ext)?;
        Ok(RtpPayloadType {
            payload_descriptor,
            payload_type,
        })
    }
}
