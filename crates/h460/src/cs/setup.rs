//! `Setup-UUIE`: the H.225.0 part of a Q.931 Setup, the message that starts a call (and,
//! with H.460.18, the first message on the connection exp-c opens toward exp-e).

use super::common::{
    add_bool, add_octet_list, get_bool, get_guid, get_octet_list, put_guid, ConferenceIdentifier,
    DisplayName, H245Security, PresentationIndicator,
};
use crate::h225::{
    add_list, get_identifier, get_list, null_choice, put_identifier, put_list, AliasAddress,
    CallIdentifier, EndpointType, FeatureDescriptor, ProtocolIdentifier, QseriesOptions,
    ServiceControlSession, SupportedProtocols, TransportAddress,
};
use crate::per::{Additions, Error, Per, RawValue, Reader, Writer};
use crate::tokens::{ClearToken, CryptoH323Token};

null_choice! {
    /// `conferenceGoal` of [`SetupUuie`].
    ConferenceGoal { root: [
        /// `create`: a new conference (an ordinary point-to-point call).
        Create,
        /// `join`.
        Join,
        /// `invite`.
        Invite,
    ], ext: [
        /// `capability-negotiation`.
        CapabilityNegotiation,
        /// `callIndependentSupplementaryService`.
        CallIndependentSupplementaryService,
    ] }
}

null_choice! {
    /// `CallType`.
    CallType { root: [
        /// `pointToPoint`.
        PointToPoint,
        /// `oneToN`.
        OneToN,
        /// `nToOne`.
        NToOne,
        /// `nToN`.
        NToN,
    ], ext: [] }
}

/// `Setup-UUIE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupUuie {
    /// `protocolIdentifier`.
    pub protocol_identifier: ProtocolIdentifier,
    /// `h245Address`.
    pub h245_address: Option<TransportAddress>,
    /// `sourceAddress`.
    pub source_address: Option<Vec<AliasAddress>>,
    /// `sourceInfo`.
    pub source_info: EndpointType,
    /// `destinationAddress`.
    pub destination_address: Option<Vec<AliasAddress>>,
    /// `destCallSignalAddress`.
    pub dest_call_signal_address: Option<TransportAddress>,
    /// `destExtraCallInfo`.
    pub dest_extra_call_info: Option<Vec<AliasAddress>>,
    /// `destExtraCRV SEQUENCE OF CallReferenceValue` (INTEGER (0..65535)).
    pub dest_extra_crv: Option<Vec<u16>>,
    /// `activeMC`.
    pub active_mc: bool,
    /// `conferenceID`.
    pub conference_id: ConferenceIdentifier,
    /// `conferenceGoal`.
    pub conference_goal: ConferenceGoal,
    /// `callServices`.
    pub call_services: Option<QseriesOptions>,
    /// `callType`.
    pub call_type: CallType,
    /// `sourceCallSignalAddress`.
    pub source_call_signal_address: Option<TransportAddress>,
    /// `remoteExtensionAddress`.
    pub remote_extension_address: Option<AliasAddress>,
    /// `callIdentifier` (mandatory addition; all zero when an H.225.0 v1 peer omits it).
    pub call_identifier: CallIdentifier,
    /// `h245SecurityCapability`.
    pub h245_security_capability: Option<Vec<H245Security>>,
    /// `tokens`.
    pub tokens: Option<Vec<ClearToken>>,
    /// `cryptoTokens`.
    pub crypto_tokens: Option<Vec<CryptoH323Token>>,
    /// `fastStart`: encoded H.245 OpenLogicalChannel proposals.
    pub fast_start: Option<Vec<Vec<u8>>>,
    /// `mediaWaitForConnect` (mandatory addition).
    pub media_wait_for_connect: bool,
    /// `canOverlapSend` (mandatory addition).
    pub can_overlap_send: bool,
    /// `endpointIdentifier`.
    pub endpoint_identifier: Option<String>,
    /// `multipleCalls` (mandatory addition).
    pub multiple_calls: bool,
    /// `maintainConnection` (mandatory addition).
    pub maintain_connection: bool,
    /// `connectionParameters` (kept as encoded).
    pub connection_parameters: Option<RawValue>,
    /// `language SEQUENCE OF IA5String (SIZE (1..32))`.
    pub language: Option<Vec<String>>,
    /// `presentationIndicator`.
    pub presentation_indicator: Option<PresentationIndicator>,
    /// `screeningIndicator` (kept as encoded).
    pub screening_indicator: Option<RawValue>,
    /// `serviceControl`.
    pub service_control: Option<Vec<ServiceControlSession>>,
    /// `symmetricOperationRequired NULL OPTIONAL`.
    pub symmetric_operation_required: bool,
    /// `capacity` (kept as encoded).
    pub capacity: Option<RawValue>,
    /// `circuitInfo` (kept as encoded).
    pub circuit_info: Option<RawValue>,
    /// `desiredProtocols`.
    pub desired_protocols: Option<Vec<SupportedProtocols>>,
    /// `neededFeatures`.
    pub needed_features: Option<Vec<FeatureDescriptor>>,
    /// `desiredFeatures`.
    pub desired_features: Option<Vec<FeatureDescriptor>>,
    /// `supportedFeatures`: H.460.18/H.460.19 support is announced here.
    pub supported_features: Option<Vec<FeatureDescriptor>>,
    /// `parallelH245Control`.
    pub parallel_h245_control: Option<Vec<Vec<u8>>>,
    /// `additionalSourceAddresses` (kept as encoded).
    pub additional_source_addresses: Option<RawValue>,
    /// `hopCount INTEGER (1..31)`.
    pub hop_count: Option<u8>,
    /// `displayName`.
    pub display_name: Option<Vec<DisplayName>>,
}

impl SetupUuie {
    /// A point-to-point call setup (`create`, `pointToPoint`) from a terminal, H.225.0 v7,
    /// nothing optional.
    pub fn new(conference_id: ConferenceIdentifier, call_identifier: CallIdentifier) -> Self {
        SetupUuie {
            protocol_identifier: ProtocolIdentifier::default(),
            h245_address: None,
            source_address: None,
            source_info: EndpointType::terminal(),
            destination_address: None,
            dest_call_signal_address: None,
            dest_extra_call_info: None,
            dest_extra_crv: None,
            active_mc: false,
            conference_id,
            conference_goal: ConferenceGoal::Create,
            call_services: None,
            call_type: CallType::PointToPoint,
            source_call_signal_address: None,
            remote_extension_address: None,
            call_identifier,
            h245_security_capability: None,
            tokens: None,
            crypto_tokens: None,
            fast_start: None,
            media_wait_for_connect: false,
            can_overlap_send: false,
            endpoint_identifier: None,
            multiple_calls: false,
            maintain_connection: false,
            connection_parameters: None,
            language: None,
            presentation_indicator: None,
            screening_indicator: None,
            service_control: None,
            symmetric_operation_required: false,
            capacity: None,
            circuit_info: None,
            desired_protocols: None,
            needed_features: None,
            desired_features: None,
            supported_features: None,
            parallel_h245_control: None,
            additional_source_addresses: None,
            hop_count: None,
            display_name: None,
        }
    }
}

impl Per for SetupUuie {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.put(self.source_call_signal_address.as_ref());
        x.put(self.remote_extension_address.as_ref());
        x.put(Some(&self.call_identifier));
        add_list(
            &mut x,
            self.h245_security_capability.as_ref(),
            "h245SecurityCapability",
        );
        add_list(&mut x, self.tokens.as_ref(), "tokens");
        add_list(&mut x, self.crypto_tokens.as_ref(), "cryptoTokens");
        add_octet_list(&mut x, self.fast_start.as_ref(), "fastStart");
        add_bool(&mut x, self.media_wait_for_connect);
        add_bool(&mut x, self.can_overlap_send);
        x.add(self.endpoint_identifier.as_ref(), |w, e| {
            put_identifier(w, e)
        });
        add_bool(&mut x, self.multiple_calls);
        add_bool(&mut x, self.maintain_connection);
        x.raw(self.connection_parameters.as_ref());
        x.add(self.language.as_ref(), |w, l| {
            w.seq_of(l, 0, None, "language", |w, s| {
                w.ia5(s, 1, Some(32), "language")
            })
        });
        x.put(self.presentation_indicator.as_ref());
        x.raw(self.screening_indicator.as_ref());
        add_list(&mut x, self.service_control.as_ref(), "serviceControl");
        x.flag(self.symmetric_operation_required);
        x.raw(self.capacity.as_ref());
        x.raw(self.circuit_info.as_ref());
        add_list(&mut x, self.desired_protocols.as_ref(), "desiredProtocols");
        add_list(&mut x, self.needed_features.as_ref(), "neededFeatures");
        add_list(&mut x, self.desired_features.as_ref(), "desiredFeatures");
        add_list(
            &mut x,
            self.supported_features.as_ref(),
            "supportedFeatures",
        );
        add_octet_list(
            &mut x,
            self.parallel_h245_control.as_ref(),
            "parallelH245Control",
        );
        x.raw(self.additional_source_addresses.as_ref());
        x.add(self.hop_count.as_ref(), |w, h| {
            w.constrained(u64::from(*h), 1, 31, "hopCount")
        });
        add_list(&mut x, self.display_name.as_ref(), "displayName");

        w.preamble(
            Some(x.present()),
            &[
                self.h245_address.is_some(),
                self.source_address.is_some(),
                self.destination_address.is_some(),
                self.dest_call_signal_address.is_some(),
                self.dest_extra_call_info.is_some(),
                self.dest_extra_crv.is_some(),
                self.call_services.is_some(),
            ],
        );
        self.protocol_identifier.encode_to(w);
        w.put_opt(&self.h245_address);
        if let Some(a) = &self.source_address {
            put_list(w, a, "sourceAddress");
        }
        self.source_info.encode_to(w);
        if let Some(a) = &self.destination_address {
            put_list(w, a, "destinationAddress");
        }
        w.put_opt(&self.dest_call_signal_address);
        if let Some(a) = &self.dest_extra_call_info {
            put_list(w, a, "destExtraCallInfo");
        }
        if let Some(c) = &self.dest_extra_crv {
            w.seq_of(c, 0, None, "destExtraCRV", |w, v| {
                w.constrained(u64::from(*v), 0, 65535, "destExtraCRV")
            });
        }
        w.boolean(self.active_mc);
        put_guid(w, &self.conference_id, "conferenceID");
        self.conference_goal.encode_to(w);
        w.put_opt(&self.call_services);
        self.call_type.encode_to(w);
        x.write(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 7)?;
        let p: [bool; 7] = std::array::from_fn(|_| o.present());
        let protocol_identifier = r.get()?;
        let h245_address = r.get_opt(p[0])?;
        let source_address = r.opt(p[1], |r| get_list(r, "sourceAddress"))?;
        let source_info = r.get()?;
        let destination_address = r.opt(p[2], |r| get_list(r, "destinationAddress"))?;
        let dest_call_signal_address = r.get_opt(p[3])?;
        let dest_extra_call_info = r.opt(p[4], |r| get_list(r, "destExtraCallInfo"))?;
        let dest_extra_crv = r.opt(p[5], |r| {
            r.seq_of(0, None, "destExtraCRV", |r| {
                Ok(r.constrained(0, 65535, "destExtraCRV")? as u16)
            })
        })?;
        let active_mc = r.boolean()?;
        let conference_id = get_guid(r, "conferenceID")?;
        let conference_goal = r.get()?;
        let call_services = r.get_opt(p[6])?;
        let call_type = r.get()?;
        let mut x = r.additions(ext)?;
        Ok(SetupUuie {
            protocol_identifier,
            h245_address,
            source_address,
            source_info,
            destination_address,
            dest_call_signal_address,
            dest_extra_call_info,
            dest_extra_crv,
            active_mc,
            conference_id,
            conference_goal,
            call_services,
            call_type,
            source_call_signal_address: x.get()?,
            remote_extension_address: x.get()?,
            call_identifier: x.get()?.unwrap_or_default(),
            h245_security_capability: x.next(|r| get_list(r, "h245SecurityCapability"))?,
            tokens: x.next(|r| get_list(r, "tokens"))?,
            crypto_tokens: x.next(|r| get_list(r, "cryptoTokens"))?,
            fast_start: x.next(|r| get_octet_list(r, "fastStart"))?,
            media_wait_for_connect: get_bool(&mut x)?,
            can_overlap_send: get_bool(&mut x)?,
            endpoint_identifier: x.next(get_identifier)?,
            multiple_calls: get_bool(&mut x)?,
            maintain_connection: get_bool(&mut x)?,
            connection_parameters: x.raw(),
            language: x
                .next(|r| r.seq_of(0, None, "language", |r| r.ia5(1, Some(32), "language")))?,
            presentation_indicator: x.get()?,
            screening_indicator: x.raw(),
            service_control: x.next(|r| get_list(r, "serviceControl"))?,
            symmetric_operation_required: x.flag(),
            capacity: x.raw(),
            circuit_info: x.raw(),
            desired_protocols: x.next(|r| get_list(r, "desiredProtocols"))?,
            needed_features: x.next(|r| get_list(r, "neededFeatures"))?,
            desired_features: x.next(|r| get_list(r, "desiredFeatures"))?,
            supported_features: x.next(|r| get_list(r, "supportedFeatures"))?,
            parallel_h245_control: x.next(|r| get_octet_list(r, "parallelH245Control"))?,
            additional_source_addresses: x.raw(),
            hop_count: x.next(|r| Ok(r.constrained(1, 31, "hopCount")? as u8))?,
            display_name: x.next(|r| get_list(r, "displayName"))?,
        })
    }
}
