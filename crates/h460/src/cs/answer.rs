//! The UUIEs of the messages that answer a Setup: `CallProceeding-UUIE`, `Alerting-UUIE`,
//! `Connect-UUIE` and `Progress-UUIE`. They share most of their components (the answering
//! endpoint's type, its H.245 address, fastStart, the callIdentifier) but not their order.

use super::common::{
    add_bool, add_octet_list, get_bool, get_guid, get_octet_list, put_guid, put_octet_list,
    ConferenceIdentifier, DisplayName, H245Security, PresentationIndicator,
};
use crate::h225::{
    add_list, get_list, AliasAddress, CallIdentifier, EndpointType, FeatureSet, ProtocolIdentifier,
    ServiceControlSession, TransportAddress,
};
use crate::per::{Additions, Error, Per, RawValue, Reader, Writer};
use crate::tokens::{ClearToken, CryptoH323Token};

/// `CallProceeding-UUIE`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CallProceedingUuie {
    /// `protocolIdentifier`.
    pub protocol_identifier: ProtocolIdentifier,
    /// `destinationInfo`.
    pub destination_info: EndpointType,
    /// `h245Address`.
    pub h245_address: Option<TransportAddress>,
    /// `callIdentifier` (mandatory addition).
    pub call_identifier: CallIdentifier,
    /// `h245SecurityMode`.
    pub h245_security_mode: Option<H245Security>,
    /// `tokens`.
    pub tokens: Option<Vec<ClearToken>>,
    /// `cryptoTokens`.
    pub crypto_tokens: Option<Vec<CryptoH323Token>>,
    /// `fastStart`.
    pub fast_start: Option<Vec<Vec<u8>>>,
    /// `multipleCalls` (mandatory addition).
    pub multiple_calls: bool,
    /// `maintainConnection` (mandatory addition).
    pub maintain_connection: bool,
    /// `fastConnectRefused NULL OPTIONAL`.
    pub fast_connect_refused: bool,
    /// `featureSet`.
    pub feature_set: Option<FeatureSet>,
}

impl CallProceedingUuie {
    /// A Call Proceeding from a terminal for the call `call_identifier`, H.225.0 v7.
    pub fn new(call_identifier: CallIdentifier) -> Self {
        CallProceedingUuie {
            destination_info: EndpointType::terminal(),
            call_identifier,
            ..Default::default()
        }
    }
}

impl Per for CallProceedingUuie {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.put(Some(&self.call_identifier));
        x.put(self.h245_security_mode.as_ref());
        add_list(&mut x, self.tokens.as_ref(), "tokens");
        add_list(&mut x, self.crypto_tokens.as_ref(), "cryptoTokens");
        add_octet_list(&mut x, self.fast_start.as_ref(), "fastStart");
        add_bool(&mut x, self.multiple_calls);
        add_bool(&mut x, self.maintain_connection);
        x.flag(self.fast_connect_refused);
        x.put(self.feature_set.as_ref());
        w.preamble(Some(x.present()), &[self.h245_address.is_some()]);
        self.protocol_identifier.encode_to(w);
        self.destination_info.encode_to(w);
        w.put_opt(&self.h245_address);
        x.write(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 1)?;
        let protocol_identifier = r.get()?;
        let destination_info = r.get()?;
        let h245_address = r.get_opt(o.present())?;
        let mut x = r.additions(ext)?;
        Ok(CallProceedingUuie {
            protocol_identifier,
            destination_info,
            h245_address,
            call_identifier: x.get()?.unwrap_or_default(),
            h245_security_mode: x.get()?,
            tokens: x.next(|r| get_list(r, "tokens"))?,
            crypto_tokens: x.next(|r| get_list(r, "cryptoTokens"))?,
            fast_start: x.next(|r| get_octet_list(r, "fastStart"))?,
            multiple_calls: get_bool(&mut x)?,
            maintain_connection: get_bool(&mut x)?,
            fast_connect_refused: x.flag(),
            feature_set: x.get()?,
        })
    }
}

/// `Alerting-UUIE`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AlertingUuie {
    /// `protocolIdentifier`.
    pub protocol_identifier: ProtocolIdentifier,
    /// `destinationInfo`.
    pub destination_info: EndpointType,
    /// `h245Address`.
    pub h245_address: Option<TransportAddress>,
    /// `callIdentifier` (mandatory addition).
    pub call_identifier: CallIdentifier,
    /// `h245SecurityMode`.
    pub h245_security_mode: Option<H245Security>,
    /// `tokens`.
    pub tokens: Option<Vec<ClearToken>>,
    /// `cryptoTokens`.
    pub crypto_tokens: Option<Vec<CryptoH323Token>>,
    /// `fastStart`.
    pub fast_start: Option<Vec<Vec<u8>>>,
    /// `multipleCalls` (mandatory addition).
    pub multiple_calls: bool,
    /// `maintainConnection` (mandatory addition).
    pub maintain_connection: bool,
    /// `alertingAddress`.
    pub alerting_address: Option<Vec<AliasAddress>>,
    /// `presentationIndicator`.
    pub presentation_indicator: Option<PresentationIndicator>,
    /// `screeningIndicator` (kept as encoded).
    pub screening_indicator: Option<RawValue>,
    /// `fastConnectRefused NULL OPTIONAL`.
    pub fast_connect_refused: bool,
    /// `serviceControl`.
    pub service_control: Option<Vec<ServiceControlSession>>,
    /// `capacity` (kept as encoded).
    pub capacity: Option<RawValue>,
    /// `featureSet`.
    pub feature_set: Option<FeatureSet>,
    /// `displayName`.
    pub display_name: Option<Vec<DisplayName>>,
}

impl AlertingUuie {
    /// An Alerting from a terminal for the call `call_identifier`, H.225.0 v7.
    pub fn new(call_identifier: CallIdentifier) -> Self {
        AlertingUuie {
            destination_info: EndpointType::terminal(),
            call_identifier,
            ..Default::default()
        }
    }
}

impl Per for AlertingUuie {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.put(Some(&self.call_identifier));
        x.put(self.h245_security_mode.as_ref());
        add_list(&mut x, self.tokens.as_ref(), "tokens");
        add_list(&mut x, self.crypto_tokens.as_ref(), "cryptoTokens");
        add_octet_list(&mut x, self.fast_start.as_ref(), "fastStart");
        add_bool(&mut x, self.multiple_calls);
        add_bool(&mut x, self.maintain_connection);
        add_list(&mut x, self.alerting_address.as_ref(), "alertingAddress");
        x.put(self.presentation_indicator.as_ref());
        x.raw(self.screening_indicator.as_ref());
        x.flag(self.fast_connect_refused);
        add_list(&mut x, self.service_control.as_ref(), "serviceControl");
        x.raw(self.capacity.as_ref());
        x.put(self.feature_set.as_ref());
        add_list(&mut x, self.display_name.as_ref(), "displayName");
        w.preamble(Some(x.present()), &[self.h245_address.is_some()]);
        self.protocol_identifier.encode_to(w);
        self.destination_info.encode_to(w);
        w.put_opt(&self.h245_address);
        x.write(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 1)?;
        let protocol_identifier = r.get()?;
        let destination_info = r.get()?;
        let h245_address = r.get_opt(o.present())?;
        let mut x = r.additions(ext)?;
        Ok(AlertingUuie {
            protocol_identifier,
            destination_info,
            h245_address,
            call_identifier: x.get()?.unwrap_or_default(),
            h245_security_mode: x.get()?,
            tokens: x.next(|r| get_list(r, "tokens"))?,
            crypto_tokens: x.next(|r| get_list(r, "cryptoTokens"))?,
            fast_start: x.next(|r| get_octet_list(r, "fastStart"))?,
            multiple_calls: get_bool(&mut x)?,
            maintain_connection: get_bool(&mut x)?,
            alerting_address: x.next(|r| get_list(r, "alertingAddress"))?,
            presentation_indicator: x.get()?,
            screening_indicator: x.raw(),
            fast_connect_refused: x.flag(),
            service_control: x.next(|r| get_list(r, "serviceControl"))?,
            capacity: x.raw(),
            feature_set: x.get()?,
            display_name: x.next(|r| get_list(r, "displayName"))?,
        })
    }
}

/// `Connect-UUIE`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ConnectUuie {
    /// `protocolIdentifier`.
    pub protocol_identifier: ProtocolIdentifier,
    /// `h245Address`.
    pub h245_address: Option<TransportAddress>,
    /// `destinationInfo`.
    pub destination_info: EndpointType,
    /// `conferenceID`.
    pub conference_id: ConferenceIdentifier,
    /// `callIdentifier` (mandatory addition).
    pub call_identifier: CallIdentifier,
    /// `h245SecurityMode`.
    pub h245_security_mode: Option<H245Security>,
    /// `tokens`.
    pub tokens: Option<Vec<ClearToken>>,
    /// `cryptoTokens`.
    pub crypto_tokens: Option<Vec<CryptoH323Token>>,
    /// `fastStart`.
    pub fast_start: Option<Vec<Vec<u8>>>,
    /// `multipleCalls` (mandatory addition).
    pub multiple_calls: bool,
    /// `maintainConnection` (mandatory addition).
    pub maintain_connection: bool,
    /// `language SEQUENCE OF IA5String (SIZE (1..32))`.
    pub language: Option<Vec<String>>,
    /// `connectedAddress`.
    pub connected_address: Option<Vec<AliasAddress>>,
    /// `presentationIndicator`.
    pub presentation_indicator: Option<PresentationIndicator>,
    /// `screeningIndicator` (kept as encoded).
    pub screening_indicator: Option<RawValue>,
    /// `fastConnectRefused NULL OPTIONAL`.
    pub fast_connect_refused: bool,
    /// `serviceControl`.
    pub service_control: Option<Vec<ServiceControlSession>>,
    /// `capacity` (kept as encoded).
    pub capacity: Option<RawValue>,
    /// `featureSet`.
    pub feature_set: Option<FeatureSet>,
    /// `displayName`.
    pub display_name: Option<Vec<DisplayName>>,
}

impl ConnectUuie {
    /// A Connect from a terminal for the call `call_identifier` of conference
    /// `conference_id` (the Setup's), H.225.0 v7.
    pub fn new(conference_id: ConferenceIdentifier, call_identifier: CallIdentifier) -> Self {
        ConnectUuie {
            destination_info: EndpointType::terminal(),
            conference_id,
            call_identifier,
            ..Default::default()
        }
    }
}

impl Per for ConnectUuie {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.put(Some(&self.call_identifier));
        x.put(self.h245_security_mode.as_ref());
        add_list(&mut x, self.tokens.as_ref(), "tokens");
        add_list(&mut x, self.crypto_tokens.as_ref(), "cryptoTokens");
        add_octet_list(&mut x, self.fast_start.as_ref(), "fastStart");
        add_bool(&mut x, self.multiple_calls);
        add_bool(&mut x, self.maintain_connection);
        x.add(self.language.as_ref(), |w, l| {
            w.seq_of(l, 0, None, "language", |w, s| {
                w.ia5(s, 1, Some(32), "language")
            })
        });
        add_list(&mut x, self.connected_address.as_ref(), "connectedAddress");
        x.put(self.presentation_indicator.as_ref());
        x.raw(self.screening_indicator.as_ref());
        x.flag(self.fast_connect_refused);
        add_list(&mut x, self.service_control.as_ref(), "serviceControl");
        x.raw(self.capacity.as_ref());
        x.put(self.feature_set.as_ref());
        add_list(&mut x, self.display_name.as_ref(), "displayName");
        w.preamble(Some(x.present()), &[self.h245_address.is_some()]);
        self.protocol_identifier.encode_to(w);
        w.put_opt(&self.h245_address);
        self.destination_info.encode_to(w);
        put_guid(w, &self.conference_id, "conferenceID");
        x.write(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 1)?;
        let protocol_identifier = r.get()?;
        let h245_address = r.get_opt(o.present())?;
        let destination_info = r.get()?;
        let conference_id = get_guid(r, "conferenceID")?;
        let mut x = r.additions(ext)?;
        Ok(ConnectUuie {
            protocol_identifier,
            h245_address,
            destination_info,
            conference_id,
            call_identifier: x.get()?.unwrap_or_default(),
            h245_security_mode: x.get()?,
            tokens: x.next(|r| get_list(r, "tokens"))?,
            crypto_tokens: x.next(|r| get_list(r, "cryptoTokens"))?,
            fast_start: x.next(|r| get_octet_list(r, "fastStart"))?,
            multiple_calls: get_bool(&mut x)?,
            maintain_connection: get_bool(&mut x)?,
            language: x
                .next(|r| r.seq_of(0, None, "language", |r| r.ia5(1, Some(32), "language")))?,
            connected_address: x.next(|r| get_list(r, "connectedAddress"))?,
            presentation_indicator: x.get()?,
            screening_indicator: x.raw(),
            fast_connect_refused: x.flag(),
            service_control: x.next(|r| get_list(r, "serviceControl"))?,
            capacity: x.raw(),
            feature_set: x.get()?,
            display_name: x.next(|r| get_list(r, "displayName"))?,
        })
    }
}

/// `Progress-UUIE` (an extension alternative of the message body; its callIdentifier is a
/// root component).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProgressUuie {
    /// `protocolIdentifier`.
    pub protocol_identifier: ProtocolIdentifier,
    /// `destinationInfo`.
    pub destination_info: EndpointType,
    /// `h245Address`.
    pub h245_address: Option<TransportAddress>,
    /// `callIdentifier`.
    pub call_identifier: CallIdentifier,
    /// `h245SecurityMode`.
    pub h245_security_mode: Option<H245Security>,
    /// `tokens`.
    pub tokens: Option<Vec<ClearToken>>,
    /// `cryptoTokens`.
    pub crypto_tokens: Option<Vec<CryptoH323Token>>,
    /// `fastStart`.
    pub fast_start: Option<Vec<Vec<u8>>>,
    /// `multipleCalls` (mandatory addition).
    pub multiple_calls: bool,
    /// `maintainConnection` (mandatory addition).
    pub maintain_connection: bool,
    /// `fastConnectRefused NULL OPTIONAL`.
    pub fast_connect_refused: bool,
}

impl ProgressUuie {
    /// A Progress from a terminal for the call `call_identifier`, H.225.0 v7.
    pub fn new(call_identifier: CallIdentifier) -> Self {
        ProgressUuie {
            destination_info: EndpointType::terminal(),
            call_identifier,
            ..Default::default()
        }
    }
}

impl Per for ProgressUuie {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        add_bool(&mut x, self.multiple_calls);
        add_bool(&mut x, self.maintain_connection);
        x.flag(self.fast_connect_refused);
        w.preamble(
            Some(x.present()),
            &[
                self.h245_address.is_some(),
                self.h245_security_mode.is_some(),
                self.tokens.is_some(),
                self.crypto_tokens.is_some(),
                self.fast_start.is_some(),
            ],
        );
        self.protocol_identifier.encode_to(w);
        self.destination_info.encode_to(w);
        w.put_opt(&self.h245_address);
        self.call_identifier.encode_to(w);
        w.put_opt(&self.h245_security_mode);
        if let Some(t) = &self.tokens {
            crate::h225::put_list(w, t, "tokens");
        }
        if let Some(t) = &self.crypto_tokens {
            crate::h225::put_list(w, t, "cryptoTokens");
        }
        if let Some(f) = &self.fast_start {
            put_octet_list(w, f, "fastStart");
        }
        x.write(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 5)?;
        let p: [bool; 5] = std::array::from_fn(|_| o.present());
        let protocol_identifier = r.get()?;
        let destination_info = r.get()?;
        let h245_address = r.get_opt(p[0])?;
        let call_identifier = r.get()?;
        let h245_security_mode = r.get_opt(p[1])?;
        let tokens = r.opt(p[2], |r| get_list(r, "tokens"))?;
        let crypto_tokens = r.opt(p[3], |r| get_list(r, "cryptoTokens"))?;
        let fast_start = r.opt(p[4], |r| get_octet_list(r, "fastStart"))?;
        let mut x = r.additions(ext)?;
        Ok(ProgressUuie {
            protocol_identifier,
            destination_info,
            h245_address,
            call_identifier,
            h245_security_mode,
            tokens,
            crypto_tokens,
            fast_start,
            multiple_calls: get_bool(&mut x)?,
            maintain_connection: get_bool(&mut x)?,
            fast_connect_refused: x.flag(),
        })
    }
}
