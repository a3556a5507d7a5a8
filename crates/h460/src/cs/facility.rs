//! `Facility-UUIE` and its `FacilityReason`. H.460.18 sends a Facility with reason
//! `undefinedReason` and the call's callIdentifier as the first message on a connection the
//! called endpoint opened, to bind that connection to the call.

use super::common::{
    add_bool, add_octet_list, get_bool, get_guid, get_octet_list, put_guid, ConferenceIdentifier,
    H245Security,
};
use crate::h225::{
    add_list, get_list, null_choice, put_list, AliasAddress, CallIdentifier, EndpointType,
    FeatureSet, ProtocolIdentifier, ServiceControlSession, TransportAddress,
};
use crate::per::{Additions, Error, Per, RawValue, Reader, Writer};
use crate::tokens::{ClearToken, CryptoH323Token};

null_choice! {
    /// `FacilityReason`.
    FacilityReason { root: [
        /// `routeCallToGatekeeper`.
        RouteCallToGatekeeper,
        /// `callForwarded`.
        CallForwarded,
        /// `routeCallToMC`.
        RouteCallToMc,
        /// `undefinedReason`: what H.460.18 sends.
        UndefinedReason,
    ], ext: [
        /// `conferenceListChoice`.
        ConferenceListChoice,
        /// `startH245`.
        StartH245,
        /// `noH245`.
        NoH245,
        /// `newTokens`.
        NewTokens,
        /// `featureSetUpdate`.
        FeatureSetUpdate,
        /// `forwardedElements`.
        ForwardedElements,
        /// `transportedInformation`.
        TransportedInformation,
    ] }
}

/// `Facility-UUIE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FacilityUuie {
    /// `protocolIdentifier`.
    pub protocol_identifier: ProtocolIdentifier,
    /// `alternativeAddress`.
    pub alternative_address: Option<TransportAddress>,
    /// `alternativeAliasAddress`.
    pub alternative_alias_address: Option<Vec<AliasAddress>>,
    /// `conferenceID`.
    pub conference_id: Option<ConferenceIdentifier>,
    /// `reason`.
    pub reason: FacilityReason,
    /// `callIdentifier` (mandatory addition).
    pub call_identifier: CallIdentifier,
    /// `destExtraCallInfo`.
    pub dest_extra_call_info: Option<Vec<AliasAddress>>,
    /// `remoteExtensionAddress`.
    pub remote_extension_address: Option<AliasAddress>,
    /// `tokens`.
    pub tokens: Option<Vec<ClearToken>>,
    /// `cryptoTokens`.
    pub crypto_tokens: Option<Vec<CryptoH323Token>>,
    /// `conferences` (kept as encoded).
    pub conferences: Option<RawValue>,
    /// `h245Address`.
    pub h245_address: Option<TransportAddress>,
    /// `fastStart`.
    pub fast_start: Option<Vec<Vec<u8>>>,
    /// `multipleCalls` (mandatory addition).
    pub multiple_calls: bool,
    /// `maintainConnection` (mandatory addition).
    pub maintain_connection: bool,
    /// `fastConnectRefused NULL OPTIONAL`.
    pub fast_connect_refused: bool,
    /// `serviceControl`.
    pub service_control: Option<Vec<ServiceControlSession>>,
    /// `circuitInfo` (kept as encoded).
    pub circuit_info: Option<RawValue>,
    /// `featureSet`.
    pub feature_set: Option<FeatureSet>,
    /// `destinationInfo`.
    pub destination_info: Option<EndpointType>,
    /// `h245SecurityMode`.
    pub h245_security_mode: Option<H245Security>,
}

impl FacilityUuie {
    /// A Facility for the call `call_identifier` with `reason`, H.225.0 v7, nothing
    /// optional. `FacilityUuie::new(id, FacilityReason::UndefinedReason)` is H.460.18's.
    pub fn new(call_identifier: CallIdentifier, reason: FacilityReason) -> Self {
        FacilityUuie {
            protocol_identifier: ProtocolIdentifier::default(),
            alternative_address: None,
            alternative_alias_address: None,
            conference_id: None,
            reason,
            call_identifier,
            dest_extra_call_info: None,
            remote_extension_address: None,
            tokens: None,
            crypto_tokens: None,
            conferences: None,
            h245_address: None,
            fast_start: None,
            multiple_calls: false,
            maintain_connection: false,
            fast_connect_refused: false,
            service_control: None,
            circuit_info: None,
            feature_set: None,
            destination_info: None,
            h245_security_mode: None,
        }
    }
}

impl Per for FacilityUuie {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.put(Some(&self.call_identifier));
        add_list(
            &mut x,
            self.dest_extra_call_info.as_ref(),
            "destExtraCallInfo",
        );
        x.put(self.remote_extension_address.as_ref());
        add_list(&mut x, self.tokens.as_ref(), "tokens");
        add_list(&mut x, self.crypto_tokens.as_ref(), "cryptoTokens");
        x.raw(self.conferences.as_ref());
        x.put(self.h245_address.as_ref());
        add_octet_list(&mut x, self.fast_start.as_ref(), "fastStart");
        add_bool(&mut x, self.multiple_calls);
        add_bool(&mut x, self.maintain_connection);
        x.flag(self.fast_connect_refused);
        add_list(&mut x, self.service_control.as_ref(), "serviceControl");
        x.raw(self.circuit_info.as_ref());
        x.put(self.feature_set.as_ref());
        x.put(self.destination_info.as_ref());
        x.put(self.h245_security_mode.as_ref());
        w.preamble(
            Some(x.present()),
            &[
                self.alternative_address.is_some(),
                self.alternative_alias_address.is_some(),
                self.conference_id.is_some(),
            ],
        );
        self.protocol_identifier.encode_to(w);
        w.put_opt(&self.alternative_address);
        if let Some(a) = &self.alternative_alias_address {
            put_list(w, a, "alternativeAliasAddress");
        }
        if let Some(c) = &self.conference_id {
            put_guid(w, c, "conferenceID");
        }
        self.reason.encode_to(w);
        x.write(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 3)?;
        let (pa, pal, pc) = (o.present(), o.present(), o.present());
        let protocol_identifier = r.get()?;
        let alternative_address = r.get_opt(pa)?;
        let alternative_alias_address = r.opt(pal, |r| get_list(r, "alternativeAliasAddress"))?;
        let conference_id = r.opt(pc, |r| get_guid(r, "conferenceID"))?;
        let reason = r.get()?;
        let mut x = r.additions(ext)?;
        Ok(FacilityUuie {
            protocol_identifier,
            alternative_address,
            alternative_alias_address,
            conference_id,
            reason,
            call_identifier: x.get()?.unwrap_or_default(),
            dest_extra_call_info: x.next(|r| get_list(r, "destExtraCallInfo"))?,
            remote_extension_address: x.get()?,
            tokens: x.next(|r| get_list(r, "tokens"))?,
            crypto_tokens: x.next(|r| get_list(r, "cryptoTokens"))?,
            conferences: x.raw(),
            h245_address: x.get()?,
            fast_start: x.next(|r| get_octet_list(r, "fastStart"))?,
            multiple_calls: get_bool(&mut x)?,
            maintain_connection: get_bool(&mut x)?,
            fast_connect_refused: x.flag(),
            service_control: x.next(|r| get_list(r, "serviceControl"))?,
            circuit_info: x.raw(),
            feature_set: x.get()?,
            destination_info: x.get()?,
            h245_security_mode: x.get()?,
        })
    }
}
