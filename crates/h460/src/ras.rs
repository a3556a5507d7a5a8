//! H.225.0 RAS messages (registration, admission and status over UDP) for the H.460.18 zone
//! procedures: gatekeeper discovery (GRQ/GCF/GRJ), registration and its lightweight
//! keep-alive refresh (RRQ/RCF/RRJ), unregistration (URQ/UCF/URJ), and the service control
//! messages (SCI/SCR) that carry the H.460.18 incoming-call indication.
//!
//! [`RasMessage`] is the `RasMessage` CHOICE of H.225.0 (12/2009); each message struct
//! follows its SEQUENCE component by component, including the place of the extension marker
//! (components after it are extension additions, encoded as open types). Decoding one of
//! the other RAS messages (ARQ, LRQ, IRR, ...) gives [`Error::UnsupportedMessage`] with its
//! name, so a caller can answer with `unknownMessageResponse` if it wants.
//!
//! Mandatory extension additions (`keepAlive`, `willSupplyUUIEs`, `maintainConnection`,
//! `supportsAssignedGK`, `willRespondToIRR`) are plain `bool`s: always sent, and read as
//! `false` from an older peer that does not know them. `NULL OPTIONAL` additions
//! (`supportsAltGK`, `additiveRegistration`, `restart`...) are `bool`s too. Additions exp has
//! no use for are kept as [`RawValue`] so that a relayed message keeps them.

use crate::h225::{
    add_list, get_identifier, get_list, get_seq_num, get_u32_from_1, null_choice, put_identifier,
    put_list, put_seq_num, put_u32_from_1, AliasAddress, AltGKInfo, AlternateGK, CallIdentifier,
    EndpointType, FeatureSet, GenericData, Icv, NonStandardParameter, ProtocolIdentifier,
    QseriesOptions, SecurityErrors, SecurityErrors2, ServiceControlSession, SupportedPrefix,
    TransportAddress, VendorIdentifier,
};
use crate::per::{
    self, Additions, Choice, Error, Oid, Per, RawValue, Reader, UnknownAlternative, Writer,
};
use crate::tokens::{AuthenticationMechanism, ClearToken, CryptoH323Token};

/// Names of the root alternatives of `RasMessage`, by index.
const ROOT_NAMES: [&str; 25] = [
    "gatekeeperRequest",
    "gatekeeperConfirm",
    "gatekeeperReject",
    "registrationRequest",
    "registrationConfirm",
    "registrationReject",
    "unregistrationRequest",
    "unregistrationConfirm",
    "unregistrationReject",
    "admissionRequest",
    "admissionConfirm",
    "admissionReject",
    "bandwidthRequest",
    "bandwidthConfirm",
    "bandwidthReject",
    "disengageRequest",
    "disengageConfirm",
    "disengageReject",
    "locationRequest",
    "locationConfirm",
    "locationReject",
    "infoRequest",
    "infoRequestResponse",
    "nonStandardMessage",
    "unknownMessageResponse",
];

/// Names of the extension alternatives of `RasMessage`, by index.
const EXT_NAMES: [&str; 8] = [
    "requestInProgress",
    "resourcesAvailableIndicate",
    "resourcesAvailableConfirm",
    "infoRequestAck",
    "infoRequestNak",
    "serviceControlIndication",
    "serviceControlResponse",
    "admissionConfirmSequence",
];

/// A RAS message.
// One value per datagram: boxing the large messages would only make building and matching
// them clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RasMessage {
    /// GRQ.
    GatekeeperRequest(GatekeeperRequest),
    /// GCF.
    GatekeeperConfirm(GatekeeperConfirm),
    /// GRJ.
    GatekeeperReject(GatekeeperReject),
    /// RRQ.
    RegistrationRequest(RegistrationRequest),
    /// RCF.
    RegistrationConfirm(RegistrationConfirm),
    /// RRJ.
    RegistrationReject(RegistrationReject),
    /// URQ.
    UnregistrationRequest(UnregistrationRequest),
    /// UCF.
    UnregistrationConfirm(UnregistrationConfirm),
    /// URJ.
    UnregistrationReject(UnregistrationReject),
    /// SCI.
    ServiceControlIndication(ServiceControlIndication),
    /// SCR.
    ServiceControlResponse(ServiceControlResponse),
}

impl RasMessage {
    /// The aligned PER encoding (the UDP payload). Values outside their constraints are
    /// adjusted; see [`RasMessage::encode_checked`].
    pub fn encode(&self) -> Vec<u8> {
        per::encode(self)
    }

    /// The encoding, or the first value that breaks its ASN.1 constraint.
    pub fn encode_checked(&self) -> Result<Vec<u8>, Error> {
        per::encode_checked(self)
    }

    /// The encoding and the octet offsets of every `HASHED.hash` field in it, in encoding
    /// order: where [`crate::h235::seal`] writes the HMAC of a token made by
    /// [`CryptoH323Token::h235_1`].
    pub fn encode_for_sealing(&self) -> (Vec<u8>, Vec<usize>) {
        let mut w = Writer::new();
        self.encode_to(&mut w);
        w.into_complete()
    }

    /// Decodes a UDP payload.
    pub fn decode(data: &[u8]) -> Result<Self, Error> {
        per::decode(data)
    }

    /// The `requestSeqNum` of the message.
    pub fn request_seq_num(&self) -> u16 {
        match self {
            Self::GatekeeperRequest(m) => m.request_seq_num,
            Self::GatekeeperConfirm(m) => m.request_seq_num,
            Self::GatekeeperReject(m) => m.request_seq_num,
            Self::RegistrationRequest(m) => m.request_seq_num,
            Self::RegistrationConfirm(m) => m.request_seq_num,
            Self::RegistrationReject(m) => m.request_seq_num,
            Self::UnregistrationRequest(m) => m.request_seq_num,
            Self::UnregistrationConfirm(m) => m.request_seq_num,
            Self::UnregistrationReject(m) => m.request_seq_num,
            Self::ServiceControlIndication(m) => m.request_seq_num,
            Self::ServiceControlResponse(m) => m.request_seq_num,
        }
    }

    /// The message's ASN.1 alternative name (`registrationRequest`...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::GatekeeperRequest(_) => ROOT_NAMES[0],
            Self::GatekeeperConfirm(_) => ROOT_NAMES[1],
            Self::GatekeeperReject(_) => ROOT_NAMES[2],
            Self::RegistrationRequest(_) => ROOT_NAMES[3],
            Self::RegistrationConfirm(_) => ROOT_NAMES[4],
            Self::RegistrationReject(_) => ROOT_NAMES[5],
            Self::UnregistrationRequest(_) => ROOT_NAMES[6],
            Self::UnregistrationConfirm(_) => ROOT_NAMES[7],
            Self::UnregistrationReject(_) => ROOT_NAMES[8],
            Self::ServiceControlIndication(_) => EXT_NAMES[5],
            Self::ServiceControlResponse(_) => EXT_NAMES[6],
        }
    }

    /// The `cryptoTokens` of the message, if it has any.
    pub fn crypto_tokens(&self) -> &[CryptoH323Token] {
        let t = match self {
            Self::GatekeeperRequest(m) => &m.crypto_tokens,
            Self::GatekeeperConfirm(m) => &m.crypto_tokens,
            Self::GatekeeperReject(m) => &m.crypto_tokens,
            Self::RegistrationRequest(m) => &m.crypto_tokens,
            Self::RegistrationConfirm(m) => &m.crypto_tokens,
            Self::RegistrationReject(m) => &m.crypto_tokens,
            Self::UnregistrationRequest(m) => &m.crypto_tokens,
            Self::UnregistrationConfirm(m) => &m.crypto_tokens,
            Self::UnregistrationReject(m) => &m.crypto_tokens,
            Self::ServiceControlIndication(m) => &m.crypto_tokens,
            Self::ServiceControlResponse(m) => &m.crypto_tokens,
        };
        t.as_deref().unwrap_or_default()
    }
}

impl Per for RasMessage {
    fn encode_to(&self, w: &mut Writer) {
        let root = |w: &mut Writer, i| w.choice_root(i, 25, true);
        match self {
            Self::GatekeeperRequest(m) => {
                root(w, 0);
                m.encode_to(w)
            }
            Self::GatekeeperConfirm(m) => {
                root(w, 1);
                m.encode_to(w)
            }
            Self::GatekeeperReject(m) => {
                root(w, 2);
                m.encode_to(w)
            }
            Self::RegistrationRequest(m) => {
                root(w, 3);
                m.encode_to(w)
            }
            Self::RegistrationConfirm(m) => {
                root(w, 4);
                m.encode_to(w)
            }
            Self::RegistrationReject(m) => {
                root(w, 5);
                m.encode_to(w)
            }
            Self::UnregistrationRequest(m) => {
                root(w, 6);
                m.encode_to(w)
            }
            Self::UnregistrationConfirm(m) => {
                root(w, 7);
                m.encode_to(w)
            }
            Self::UnregistrationReject(m) => {
                root(w, 8);
                m.encode_to(w)
            }
            Self::ServiceControlIndication(m) => w.choice_ext(5, |w| m.encode_to(w)),
            Self::ServiceControlResponse(m) => w.choice_ext(6, |w| m.encode_to(w)),
        }
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(25, true)? {
            Choice::Root(0) => Self::GatekeeperRequest(r.get()?),
            Choice::Root(1) => Self::GatekeeperConfirm(r.get()?),
            Choice::Root(2) => Self::GatekeeperReject(r.get()?),
            Choice::Root(3) => Self::RegistrationRequest(r.get()?),
            Choice::Root(4) => Self::RegistrationConfirm(r.get()?),
            Choice::Root(5) => Self::RegistrationReject(r.get()?),
            Choice::Root(6) => Self::UnregistrationRequest(r.get()?),
            Choice::Root(7) => Self::UnregistrationConfirm(r.get()?),
            Choice::Root(8) => Self::UnregistrationReject(r.get()?),
            Choice::Root(i) => {
                return Err(Error::UnsupportedMessage(
                    ROOT_NAMES.get(i as usize).copied().unwrap_or("?"),
                ))
            }
            Choice::Ext(5, d) => Self::ServiceControlIndication(r.sub(d).get()?),
            Choice::Ext(6, d) => Self::ServiceControlResponse(r.sub(d).get()?),
            Choice::Ext(i, _) => {
                return Err(Error::UnsupportedMessage(
                    EXT_NAMES
                        .get(i as usize)
                        .copied()
                        .unwrap_or("a later extension"),
                ))
            }
        })
    }
}

macro_rules! into_ras {
    ($($t:ident),*) => {$(
        impl From<$t> for RasMessage {
            fn from(m: $t) -> Self {
                RasMessage::$t(m)
            }
        }
    )*};
}

into_ras!(
    GatekeeperRequest,
    GatekeeperConfirm,
    GatekeeperReject,
    RegistrationRequest,
    RegistrationConfirm,
    RegistrationReject,
    UnregistrationRequest,
    UnregistrationConfirm,
    UnregistrationReject,
    ServiceControlIndication,
    ServiceControlResponse
);

/// An unconstrained `SEQUENCE OF OBJECT IDENTIFIER` addition.
fn add_oids(x: &mut Additions, v: Option<&Vec<Oid>>) {
    x.add(v, |w, v| w.seq_of(v, 0, None, "oids", |w, o| w.oid(o)));
}

/// GRQ: an endpoint looks for a gatekeeper (H.225.0 §7.8 GatekeeperRequest).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct GatekeeperRequest {
    /// `requestSeqNum` (1..65535).
    pub request_seq_num: u16,
    /// `protocolIdentifier`.
    pub protocol_identifier: ProtocolIdentifier,
    /// `nonStandardData`.
    pub non_standard_data: Option<NonStandardParameter>,
    /// `rasAddress`.
    pub ras_address: TransportAddress,
    /// `endpointType`.
    pub endpoint_type: EndpointType,
    /// `gatekeeperIdentifier`.
    pub gatekeeper_identifier: Option<String>,
    /// `callServices`.
    pub call_services: Option<QseriesOptions>,
    /// `endpointAlias`.
    pub endpoint_alias: Option<Vec<AliasAddress>>,
    /// `alternateEndpoints` (kept as encoded).
    pub alternate_endpoints: Option<RawValue>,
    /// `tokens`.
    pub tokens: Option<Vec<ClearToken>>,
    /// `cryptoTokens`.
    pub crypto_tokens: Option<Vec<CryptoH323Token>>,
    /// `authenticationCapability`.
    pub authentication_capability: Option<Vec<AuthenticationMechanism>>,
    /// `algorithmOIDs`.
    pub algorithm_oids: Option<Vec<Oid>>,
    /// `integrity` (kept as encoded).
    pub integrity: Option<RawValue>,
    /// `integrityCheckValue`.
    pub integrity_check_value: Option<Icv>,
    /// `supportsAltGK NULL OPTIONAL`.
    pub supports_alt_gk: bool,
    /// `featureSet`.
    pub feature_set: Option<FeatureSet>,
    /// `genericData`.
    pub generic_data: Option<Vec<GenericData>>,
    /// `supportsAssignedGK` (mandatory addition).
    pub supports_assigned_gk: bool,
    /// `assignedGatekeeper`.
    pub assigned_gatekeeper: Option<AlternateGK>,
}

impl Per for GatekeeperRequest {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.raw(self.alternate_endpoints.as_ref());
        add_list(&mut x, self.tokens.as_ref(), "tokens");
        add_list(&mut x, self.crypto_tokens.as_ref(), "cryptoTokens");
        add_list(
            &mut x,
            self.authentication_capability.as_ref(),
            "authenticationCapability",
        );
        add_oids(&mut x, self.algorithm_oids.as_ref());
        x.raw(self.integrity.as_ref());
        x.put(self.integrity_check_value.as_ref());
        x.flag(self.supports_alt_gk);
        x.put(self.feature_set.as_ref());
        add_list(&mut x, self.generic_data.as_ref(), "genericData");
        x.always(|w| w.boolean(self.supports_assigned_gk));
        x.put(self.assigned_gatekeeper.as_ref());
        w.preamble(
            Some(x.present()),
            &[
                self.non_standard_data.is_some(),
                self.gatekeeper_identifier.is_some(),
                self.call_services.is_some(),
                self.endpoint_alias.is_some(),
            ],
        );
        put_seq_num(w, self.request_seq_num);
        self.protocol_identifier.encode_to(w);
        w.put_opt(&self.non_standard_data);
        self.ras_address.encode_to(w);
        self.endpoint_type.encode_to(w);
        if let Some(g) = &self.gatekeeper_identifier {
            put_identifier(w, g);
        }
        w.put_opt(&self.call_services);
        if let Some(a) = &self.endpoint_alias {
            put_list(w, a, "endpointAlias");
        }
        x.write(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 4)?;
        let request_seq_num = get_seq_num(r)?;
        let protocol_identifier = r.get()?;
        let non_standard_data = r.get_opt(o.present())?;
        let ras_address = r.get()?;
        let endpoint_type = r.get()?;
        let gatekeeper_identifier = r.opt(o.present(), get_identifier)?;
        let call_services = r.get_opt(o.present())?;
        let endpoint_alias = r.opt(o.present(), |r| get_list(r, "endpointAlias"))?;
        let mut x = r.additions(ext)?;
        Ok(GatekeeperRequest {
            request_seq_num,
            protocol_identifier,
            non_standard_data,
            ras_address,
            endpoint_type,
            gatekeeper_identifier,
            call_services,
            endpoint_alias,
            alternate_endpoints: x.raw(),
            tokens: x.next(|r| get_list(r, "tokens"))?,
            crypto_tokens: x.next(|r| get_list(r, "cryptoTokens"))?,
            authentication_capability: x.next(|r| get_list(r, "authenticationCapability"))?,
            algorithm_oids: x.next(|r| r.seq_of(0, None, "algorithmOIDs", |r| r.oid()))?,
            integrity: x.raw(),
            integrity_check_value: x.get()?,
            supports_alt_gk: x.flag(),
            feature_set: x.get()?,
            generic_data: x.next(|r| get_list(r, "genericData"))?,
            supports_assigned_gk: x.next(|r| r.boolean())?.unwrap_or(false),
            assigned_gatekeeper: x.get()?,
        })
    }
}

/// GCF: a gatekeeper accepts a GRQ.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct GatekeeperConfirm {
    /// `requestSeqNum`.
    pub request_seq_num: u16,
    /// `protocolIdentifier`.
    pub protocol_identifier: ProtocolIdentifier,
    /// `nonStandardData`.
    pub non_standard_data: Option<NonStandardParameter>,
    /// `gatekeeperIdentifier`.
    pub gatekeeper_identifier: Option<String>,
    /// `rasAddress`.
    pub ras_address: TransportAddress,
    /// `alternateGatekeeper`.
    pub alternate_gatekeeper: Option<Vec<AlternateGK>>,
    /// `authenticationMode`.
    pub authentication_mode: Option<AuthenticationMechanism>,
    /// `tokens`.
    pub tokens: Option<Vec<ClearToken>>,
    /// `cryptoTokens`.
    pub crypto_tokens: Option<Vec<CryptoH323Token>>,
    /// `algorithmOID`.
    pub algorithm_oid: Option<Oid>,
    /// `integrity` (kept as encoded).
    pub integrity: Option<RawValue>,
    /// `integrityCheckValue`.
    pub integrity_check_value: Option<Icv>,
    /// `featureSet`.
    pub feature_set: Option<FeatureSet>,
    /// `genericData`.
    pub generic_data: Option<Vec<GenericData>>,
    /// `assignedGatekeeper`.
    pub assigned_gatekeeper: Option<AlternateGK>,
    /// `rehomingModel` (kept as encoded).
    pub rehoming_model: Option<RawValue>,
}

impl Per for GatekeeperConfirm {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        add_list(
            &mut x,
            self.alternate_gatekeeper.as_ref(),
            "alternateGatekeeper",
        );
        x.put(self.authentication_mode.as_ref());
        add_list(&mut x, self.tokens.as_ref(), "tokens");
        add_list(&mut x, self.crypto_tokens.as_ref(), "cryptoTokens");
        x.put(self.algorithm_oid.as_ref());
        x.raw(self.integrity.as_ref());
        x.put(self.integrity_check_value.as_ref());
        x.put(self.feature_set.as_ref());
        add_list(&mut x, self.generic_data.as_ref(), "genericData");
        x.put(self.assigned_gatekeeper.as_ref());
        x.raw(self.rehoming_model.as_ref());
        w.preamble(
            Some(x.present()),
            &[
                self.non_standard_data.is_some(),
                self.gatekeeper_identifier.is_some(),
            ],
        );
        put_seq_num(w, self.request_seq_num);
        self.protocol_identifier.encode_to(w);
        w.put_opt(&self.non_standard_data);
        if let Some(g) = &self.gatekeeper_identifier {
            put_identifier(w, g);
        }
        self.ras_address.encode_to(w);
        x.write(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 2)?;
        let request_seq_num = get_seq_num(r)?;
        let protocol_identifier = r.get()?;
        let non_standard_data = r.get_opt(o.present())?;
        let gatekeeper_identifier = r.opt(o.present(), get_identifier)?;
        let ras_address = r.get()?;
        let mut x = r.additions(ext)?;
        Ok(GatekeeperConfirm {
            request_seq_num,
            protocol_identifier,
            non_standard_data,
            gatekeeper_identifier,
            ras_address,
            alternate_gatekeeper: x.next(|r| get_list(r, "alternateGatekeeper"))?,
            authentication_mode: x.get()?,
            tokens: x.next(|r| get_list(r, "tokens"))?,
            crypto_tokens: x.next(|r| get_list(r, "cryptoTokens"))?,
            algorithm_oid: x.get()?,
            integrity: x.raw(),
            integrity_check_value: x.get()?,
            feature_set: x.get()?,
            generic_data: x.next(|r| get_list(r, "genericData"))?,
            assigned_gatekeeper: x.get()?,
            rehoming_model: x.raw(),
        })
    }
}

/// GRJ: a gatekeeper refuses a GRQ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatekeeperReject {
    /// `requestSeqNum`.
    pub request_seq_num: u16,
    /// `protocolIdentifier`.
    pub protocol_identifier: ProtocolIdentifier,
    /// `nonStandardData`.
    pub non_standard_data: Option<NonStandardParameter>,
    /// `gatekeeperIdentifier`.
    pub gatekeeper_identifier: Option<String>,
    /// `rejectReason`.
    pub reject_reason: GatekeeperRejectReason,
    /// `altGKInfo`.
    pub alt_gk_info: Option<AltGKInfo>,
    /// `tokens`.
    pub tokens: Option<Vec<ClearToken>>,
    /// `cryptoTokens`.
    pub crypto_tokens: Option<Vec<CryptoH323Token>>,
    /// `integrityCheckValue`.
    pub integrity_check_value: Option<Icv>,
    /// `featureSet`.
    pub feature_set: Option<FeatureSet>,
    /// `genericData`.
    pub generic_data: Option<Vec<GenericData>>,
}

impl GatekeeperReject {
    /// A GRJ for `request_seq_num` with `reason` and nothing else.
    pub fn new(request_seq_num: u16, reject_reason: GatekeeperRejectReason) -> Self {
        GatekeeperReject {
            request_seq_num,
            protocol_identifier: ProtocolIdentifier::default(),
            non_standard_data: None,
            gatekeeper_identifier: None,
            reject_reason,
            alt_gk_info: None,
            tokens: None,
            crypto_tokens: None,
            integrity_check_value: None,
            feature_set: None,
            generic_data: None,
        }
    }
}

impl Per for GatekeeperReject {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.put(self.alt_gk_info.as_ref());
        add_list(&mut x, self.tokens.as_ref(), "tokens");
        add_list(&mut x, self.crypto_tokens.as_ref(), "cryptoTokens");
        x.put(self.integrity_check_value.as_ref());
        x.put(self.feature_set.as_ref());
        add_list(&mut x, self.generic_data.as_ref(), "genericData");
        w.preamble(
            Some(x.present()),
            &[
                self.non_standard_data.is_some(),
                self.gatekeeper_identifier.is_some(),
            ],
        );
        put_seq_num(w, self.request_seq_num);
        self.protocol_identifier.encode_to(w);
        w.put_opt(&self.non_standard_data);
        if let Some(g) = &self.gatekeeper_identifier {
            put_identifier(w, g);
        }
        self.reject_reason.encode_to(w);
        x.write(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 2)?;
        let request_seq_num = get_seq_num(r)?;
        let protocol_identifier = r.get()?;
        let non_standard_data = r.get_opt(o.present())?;
        let gatekeeper_identifier = r.opt(o.present(), get_identifier)?;
        let reject_reason = r.get()?;
        let mut x = r.additions(ext)?;
        Ok(GatekeeperReject {
            request_seq_num,
            protocol_identifier,
            non_standard_data,
            gatekeeper_identifier,
            reject_reason,
            alt_gk_info: x.get()?,
            tokens: x.next(|r| get_list(r, "tokens"))?,
            crypto_tokens: x.next(|r| get_list(r, "cryptoTokens"))?,
            integrity_check_value: x.get()?,
            feature_set: x.get()?,
            generic_data: x.next(|r| get_list(r, "genericData"))?,
        })
    }
}

/// `GatekeeperRejectReason`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GatekeeperRejectReason {
    /// `resourceUnavailable`.
    ResourceUnavailable,
    /// `terminalExcluded`.
    TerminalExcluded,
    /// `invalidRevision`.
    InvalidRevision,
    /// `undefinedReason`.
    UndefinedReason,
    /// `securityDenial`.
    SecurityDenial,
    /// `genericDataReason`.
    GenericDataReason,
    /// `neededFeatureNotSupported`.
    NeededFeatureNotSupported,
    /// `securityError`.
    SecurityError(SecurityErrors),
    /// A later alternative.
    Other(UnknownAlternative),
}

impl Per for GatekeeperRejectReason {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::ResourceUnavailable => w.choice_root(0, 4, true),
            Self::TerminalExcluded => w.choice_root(1, 4, true),
            Self::InvalidRevision => w.choice_root(2, 4, true),
            Self::UndefinedReason => w.choice_root(3, 4, true),
            Self::SecurityDenial => w.choice_ext(0, |_| {}),
            Self::GenericDataReason => w.choice_ext(1, |_| {}),
            Self::NeededFeatureNotSupported => w.choice_ext(2, |_| {}),
            Self::SecurityError(e) => w.choice_ext(3, |w| e.encode_to(w)),
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(4, true)? {
            Choice::Root(0) => Self::ResourceUnavailable,
            Choice::Root(1) => Self::TerminalExcluded,
            Choice::Root(2) => Self::InvalidRevision,
            Choice::Root(_) => Self::UndefinedReason,
            Choice::Ext(0, _) => Self::SecurityDenial,
            Choice::Ext(1, _) => Self::GenericDataReason,
            Choice::Ext(2, _) => Self::NeededFeatureNotSupported,
            Choice::Ext(3, d) => Self::SecurityError(r.sub(d).get()?),
            Choice::Ext(index, d) => Self::Other(UnknownAlternative {
                index,
                encoding: d.to_vec(),
            }),
        })
    }
}

/// RRQ: an endpoint registers, or (with `keep_alive`) refreshes its registration
/// (the lightweight RRQ that H.460.18 keeps the pinhole open with).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RegistrationRequest {
    /// `requestSeqNum`.
    pub request_seq_num: u16,
    /// `protocolIdentifier`.
    pub protocol_identifier: ProtocolIdentifier,
    /// `nonStandardData`.
    pub non_standard_data: Option<NonStandardParameter>,
    /// `discoveryComplete`.
    pub discovery_complete: bool,
    /// `callSignalAddress`.
    pub call_signal_address: Vec<TransportAddress>,
    /// `rasAddress`.
    pub ras_address: Vec<TransportAddress>,
    /// `terminalType`.
    pub terminal_type: EndpointType,
    /// `terminalAlias`.
    pub terminal_alias: Option<Vec<AliasAddress>>,
    /// `gatekeeperIdentifier`.
    pub gatekeeper_identifier: Option<String>,
    /// `endpointVendor`.
    pub endpoint_vendor: VendorIdentifier,
    /// `alternateEndpoints` (kept as encoded).
    pub alternate_endpoints: Option<RawValue>,
    /// `timeToLive` (seconds).
    pub time_to_live: Option<u32>,
    /// `tokens`.
    pub tokens: Option<Vec<ClearToken>>,
    /// `cryptoTokens`.
    pub crypto_tokens: Option<Vec<CryptoH323Token>>,
    /// `integrityCheckValue`.
    pub integrity_check_value: Option<Icv>,
    /// `keepAlive` (mandatory addition): a lightweight refresh.
    pub keep_alive: bool,
    /// `endpointIdentifier`.
    pub endpoint_identifier: Option<String>,
    /// `willSupplyUUIEs` (mandatory addition).
    pub will_supply_uuies: bool,
    /// `maintainConnection` (mandatory addition).
    pub maintain_connection: bool,
    /// `alternateTransportAddresses` (kept as encoded).
    pub alternate_transport_addresses: Option<RawValue>,
    /// `additiveRegistration NULL OPTIONAL`.
    pub additive_registration: bool,
    /// `terminalAliasPattern` (kept as encoded).
    pub terminal_alias_pattern: Option<RawValue>,
    /// `supportsAltGK NULL OPTIONAL`.
    pub supports_alt_gk: bool,
    /// `usageReportingCapability` (kept as encoded).
    pub usage_reporting_capability: Option<RawValue>,
    /// `multipleCalls`.
    pub multiple_calls: Option<bool>,
    /// `supportedH248Packages` (kept as encoded).
    pub supported_h248_packages: Option<RawValue>,
    /// `callCreditCapability` (kept as encoded).
    pub call_credit_capability: Option<RawValue>,
    /// `capacityReportingCapability` (kept as encoded).
    pub capacity_reporting_capability: Option<RawValue>,
    /// `capacity` (kept as encoded).
    pub capacity: Option<RawValue>,
    /// `featureSet`: H.460.18/H.460.19 support is announced here.
    pub feature_set: Option<FeatureSet>,
    /// `genericData`.
    pub generic_data: Option<Vec<GenericData>>,
    /// `restart NULL OPTIONAL`.
    pub restart: bool,
    /// `supportsACFSequences NULL OPTIONAL`.
    pub supports_acf_sequences: bool,
    /// `supportsAssignedGK` (mandatory addition).
    pub supports_assigned_gk: bool,
    /// `assignedGatekeeper`.
    pub assigned_gatekeeper: Option<AlternateGK>,
    /// `transportQOS` (kept as encoded).
    pub transport_qos: Option<RawValue>,
    /// `language SEQUENCE OF IA5String (SIZE (1..32))`.
    pub language: Option<Vec<String>>,
}

impl Per for RegistrationRequest {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.raw(self.alternate_endpoints.as_ref());
        x.add(self.time_to_live.as_ref(), |w, t| {
            put_u32_from_1(w, *t, "timeToLive")
        });
        add_list(&mut x, self.tokens.as_ref(), "tokens");
        add_list(&mut x, self.crypto_tokens.as_ref(), "cryptoTokens");
        x.put(self.integrity_check_value.as_ref());
        x.always(|w| w.boolean(self.keep_alive));
        x.add(self.endpoint_identifier.as_ref(), |w, e| {
            put_identifier(w, e)
        });
        x.always(|w| w.boolean(self.will_supply_uuies));
        x.always(|w| w.boolean(self.maintain_connection));
        x.raw(self.alternate_transport_addresses.as_ref());
        x.flag(self.additive_registration);
        x.raw(self.terminal_alias_pattern.as_ref());
        x.flag(self.supports_alt_gk);
        x.raw(self.usage_reporting_capability.as_ref());
        x.add(self.multiple_calls.as_ref(), |w, b| w.boolean(*b));
        x.raw(self.supported_h248_packages.as_ref());
        x.raw(self.call_credit_capability.as_ref());
        x.raw(self.capacity_reporting_capability.as_ref());
        x.raw(self.capacity.as_ref());
        x.put(self.feature_set.as_ref());
        add_list(&mut x, self.generic_data.as_ref(), "genericData");
        x.flag(self.restart);
        x.flag(self.supports_acf_sequences);
        x.always(|w| w.boolean(self.supports_assigned_gk));
        x.put(self.assigned_gatekeeper.as_ref());
        x.raw(self.transport_qos.as_ref());
        x.add(self.language.as_ref(), |w, l| {
            w.seq_of(l, 0, None, "language", |w, s| {
                w.ia5(s, 1, Some(32), "language")
            })
        });
        w.preamble(
            Some(x.present()),
            &[
                self.non_standard_data.is_some(),
                self.terminal_alias.is_some(),
                self.gatekeeper_identifier.is_some(),
            ],
        );
        put_seq_num(w, self.request_seq_num);
        self.protocol_identifier.encode_to(w);
        w.put_opt(&self.non_standard_data);
        w.boolean(self.discovery_complete);
        put_list(w, &self.call_signal_address, "callSignalAddress");
        put_list(w, &self.ras_address, "rasAddress");
        self.terminal_type.encode_to(w);
        if let Some(a) = &self.terminal_alias {
            put_list(w, a, "terminalAlias");
        }
        if let Some(g) = &self.gatekeeper_identifier {
            put_identifier(w, g);
        }
        self.endpoint_vendor.encode_to(w);
        x.write(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 3)?;
        let (p_nsd, p_alias, p_gk) = (o.present(), o.present(), o.present());
        let request_seq_num = get_seq_num(r)?;
        let protocol_identifier = r.get()?;
        let non_standard_data = r.get_opt(p_nsd)?;
        let discovery_complete = r.boolean()?;
        let call_signal_address = get_list(r, "callSignalAddress")?;
        let ras_address = get_list(r, "rasAddress")?;
        let terminal_type = r.get()?;
        let terminal_alias = r.opt(p_alias, |r| get_list(r, "terminalAlias"))?;
        let gatekeeper_identifier = r.opt(p_gk, get_identifier)?;
        let endpoint_vendor = r.get()?;
        let mut x = r.additions(ext)?;
        Ok(RegistrationRequest {
            request_seq_num,
            protocol_identifier,
            non_standard_data,
            discovery_complete,
            call_signal_address,
            ras_address,
            terminal_type,
            terminal_alias,
            gatekeeper_identifier,
            endpoint_vendor,
            alternate_endpoints: x.raw(),
            time_to_live: x.next(|r| get_u32_from_1(r, "timeToLive"))?,
            tokens: x.next(|r| get_list(r, "tokens"))?,
            crypto_tokens: x.next(|r| get_list(r, "cryptoTokens"))?,
            integrity_check_value: x.get()?,
            keep_alive: x.next(|r| r.boolean())?.unwrap_or(false),
            endpoint_identifier: x.next(get_identifier)?,
            will_supply_uuies: x.next(|r| r.boolean())?.unwrap_or(false),
            maintain_connection: x.next(|r| r.boolean())?.unwrap_or(false),
            alternate_transport_addresses: x.raw(),
            additive_registration: x.flag(),
            terminal_alias_pattern: x.raw(),
            supports_alt_gk: x.flag(),
            usage_reporting_capability: x.raw(),
            multiple_calls: x.next(|r| r.boolean())?,
            supported_h248_packages: x.raw(),
            call_credit_capability: x.raw(),
            capacity_reporting_capability: x.raw(),
            capacity: x.raw(),
            feature_set: x.get()?,
            generic_data: x.next(|r| get_list(r, "genericData"))?,
            restart: x.flag(),
            supports_acf_sequences: x.flag(),
            supports_assigned_gk: x.next(|r| r.boolean())?.unwrap_or(false),
            assigned_gatekeeper: x.get()?,
            transport_qos: x.raw(),
            language: x
                .next(|r| r.seq_of(0, None, "language", |r| r.ia5(1, Some(32), "language")))?,
        })
    }
}

/// RCF: a gatekeeper accepts a registration; `time_to_live` is the H.460.18 keep-alive time.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RegistrationConfirm {
    /// `requestSeqNum`.
    pub request_seq_num: u16,
    /// `protocolIdentifier`.
    pub protocol_identifier: ProtocolIdentifier,
    /// `nonStandardData`.
    pub non_standard_data: Option<NonStandardParameter>,
    /// `callSignalAddress`.
    pub call_signal_address: Vec<TransportAddress>,
    /// `terminalAlias`.
    pub terminal_alias: Option<Vec<AliasAddress>>,
    /// `gatekeeperIdentifier`.
    pub gatekeeper_identifier: Option<String>,
    /// `endpointIdentifier`.
    pub endpoint_identifier: String,
    /// `alternateGatekeeper`.
    pub alternate_gatekeeper: Option<Vec<AlternateGK>>,
    /// `timeToLive` (seconds).
    pub time_to_live: Option<u32>,
    /// `tokens`.
    pub tokens: Option<Vec<ClearToken>>,
    /// `cryptoTokens`.
    pub crypto_tokens: Option<Vec<CryptoH323Token>>,
    /// `integrityCheckValue`.
    pub integrity_check_value: Option<Icv>,
    /// `willRespondToIRR` (mandatory addition).
    pub will_respond_to_irr: bool,
    /// `preGrantedARQ` (kept as encoded).
    pub pre_granted_arq: Option<RawValue>,
    /// `maintainConnection` (mandatory addition).
    pub maintain_connection: bool,
    /// `serviceControl`.
    pub service_control: Option<Vec<ServiceControlSession>>,
    /// `supportsAdditiveRegistration NULL OPTIONAL`.
    pub supports_additive_registration: bool,
    /// `terminalAliasPattern` (kept as encoded).
    pub terminal_alias_pattern: Option<RawValue>,
    /// `supportedPrefixes`.
    pub supported_prefixes: Option<Vec<SupportedPrefix>>,
    /// `usageSpec` (kept as encoded).
    pub usage_spec: Option<RawValue>,
    /// `featureServerAlias`.
    pub feature_server_alias: Option<AliasAddress>,
    /// `capacityReportingSpec` (kept as encoded).
    pub capacity_reporting_spec: Option<RawValue>,
    /// `featureSet`.
    pub feature_set: Option<FeatureSet>,
    /// `genericData`.
    pub generic_data: Option<Vec<GenericData>>,
    /// `assignedGatekeeper`.
    pub assigned_gatekeeper: Option<AlternateGK>,
    /// `rehomingModel` (kept as encoded).
    pub rehoming_model: Option<RawValue>,
    /// `transportQOS` (kept as encoded).
    pub transport_qos: Option<RawValue>,
}

impl Per for RegistrationConfirm {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        add_list(
            &mut x,
            self.alternate_gatekeeper.as_ref(),
            "alternateGatekeeper",
        );
        x.add(self.time_to_live.as_ref(), |w, t| {
            put_u32_from_1(w, *t, "timeToLive")
        });
        add_list(&mut x, self.tokens.as_ref(), "tokens");
        add_list(&mut x, self.crypto_tokens.as_ref(), "cryptoTokens");
        x.put(self.integrity_check_value.as_ref());
        x.always(|w| w.boolean(self.will_respond_to_irr));
        x.raw(self.pre_granted_arq.as_ref());
        x.always(|w| w.boolean(self.maintain_connection));
        add_list(&mut x, self.service_control.as_ref(), "serviceControl");
        x.flag(self.supports_additive_registration);
        x.raw(self.terminal_alias_pattern.as_ref());
        add_list(
            &mut x,
            self.supported_prefixes.as_ref(),
            "supportedPrefixes",
        );
        x.raw(self.usage_spec.as_ref());
        x.put(self.feature_server_alias.as_ref());
        x.raw(self.capacity_reporting_spec.as_ref());
        x.put(self.feature_set.as_ref());
        add_list(&mut x, self.generic_data.as_ref(), "genericData");
        x.put(self.assigned_gatekeeper.as_ref());
        x.raw(self.rehoming_model.as_ref());
        x.raw(self.transport_qos.as_ref());
        w.preamble(
            Some(x.present()),
            &[
                self.non_standard_data.is_some(),
                self.terminal_alias.is_some(),
                self.gatekeeper_identifier.is_some(),
            ],
        );
        put_seq_num(w, self.request_seq_num);
        self.protocol_identifier.encode_to(w);
        w.put_opt(&self.non_standard_data);
        put_list(w, &self.call_signal_address, "callSignalAddress");
        if let Some(a) = &self.terminal_alias {
            put_list(w, a, "terminalAlias");
        }
        if let Some(g) = &self.gatekeeper_identifier {
            put_identifier(w, g);
        }
        put_identifier(w, &self.endpoint_identifier);
        x.write(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 3)?;
        let (p_nsd, p_alias, p_gk) = (o.present(), o.present(), o.present());
        let request_seq_num = get_seq_num(r)?;
        let protocol_identifier = r.get()?;
        let non_standard_data = r.get_opt(p_nsd)?;
        let call_signal_address = get_list(r, "callSignalAddress")?;
        let terminal_alias = r.opt(p_alias, |r| get_list(r, "terminalAlias"))?;
        let gatekeeper_identifier = r.opt(p_gk, get_identifier)?;
        let endpoint_identifier = get_identifier(r)?;
        let mut x = r.additions(ext)?;
        Ok(RegistrationConfirm {
            request_seq_num,
            protocol_identifier,
            non_standard_data,
            call_signal_address,
            terminal_alias,
            gatekeeper_identifier,
            endpoint_identifier,
            alternate_gatekeeper: x.next(|r| get_list(r, "alternateGatekeeper"))?,
            time_to_live: x.next(|r| get_u32_from_1(r, "timeToLive"))?,
            tokens: x.next(|r| get_list(r, "tokens"))?,
            crypto_tokens: x.next(|r| get_list(r, "cryptoTokens"))?,
            integrity_check_value: x.get()?,
            will_respond_to_irr: x.next(|r| r.boolean())?.unwrap_or(false),
            pre_granted_arq: x.raw(),
            maintain_connection: x.next(|r| r.boolean())?.unwrap_or(false),
            service_control: x.next(|r| get_list(r, "serviceControl"))?,
            supports_additive_registration: x.flag(),
            terminal_alias_pattern: x.raw(),
            supported_prefixes: x.next(|r| get_list(r, "supportedPrefixes"))?,
            usage_spec: x.raw(),
            feature_server_alias: x.get()?,
            capacity_reporting_spec: x.raw(),
            feature_set: x.get()?,
            generic_data: x.next(|r| get_list(r, "genericData"))?,
            assigned_gatekeeper: x.get()?,
            rehoming_model: x.raw(),
            transport_qos: x.raw(),
        })
    }
}

/// RRJ: a gatekeeper refuses a registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationReject {
    /// `requestSeqNum`.
    pub request_seq_num: u16,
    /// `protocolIdentifier`.
    pub protocol_identifier: ProtocolIdentifier,
    /// `nonStandardData`.
    pub non_standard_data: Option<NonStandardParameter>,
    /// `rejectReason`.
    pub reject_reason: RegistrationRejectReason,
    /// `gatekeeperIdentifier`.
    pub gatekeeper_identifier: Option<String>,
    /// `altGKInfo`.
    pub alt_gk_info: Option<AltGKInfo>,
    /// `tokens`.
    pub tokens: Option<Vec<ClearToken>>,
    /// `cryptoTokens`.
    pub crypto_tokens: Option<Vec<CryptoH323Token>>,
    /// `integrityCheckValue`.
    pub integrity_check_value: Option<Icv>,
    /// `featureSet`.
    pub feature_set: Option<FeatureSet>,
    /// `genericData`.
    pub generic_data: Option<Vec<GenericData>>,
    /// `assignedGatekeeper`.
    pub assigned_gatekeeper: Option<AlternateGK>,
}

impl RegistrationReject {
    /// An RRJ for `request_seq_num` with `reason` and nothing else.
    pub fn new(request_seq_num: u16, reject_reason: RegistrationRejectReason) -> Self {
        RegistrationReject {
            request_seq_num,
            protocol_identifier: ProtocolIdentifier::default(),
            non_standard_data: None,
            reject_reason,
            gatekeeper_identifier: None,
            alt_gk_info: None,
            tokens: None,
            crypto_tokens: None,
            integrity_check_value: None,
            feature_set: None,
            generic_data: None,
            assigned_gatekeeper: None,
        }
    }
}

impl Per for RegistrationReject {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.put(self.alt_gk_info.as_ref());
        add_list(&mut x, self.tokens.as_ref(), "tokens");
        add_list(&mut x, self.crypto_tokens.as_ref(), "cryptoTokens");
        x.put(self.integrity_check_value.as_ref());
        x.put(self.feature_set.as_ref());
        add_list(&mut x, self.generic_data.as_ref(), "genericData");
        x.put(self.assigned_gatekeeper.as_ref());
        w.preamble(
            Some(x.present()),
            &[
                self.non_standard_data.is_some(),
                self.gatekeeper_identifier.is_some(),
            ],
        );
        put_seq_num(w, self.request_seq_num);
        self.protocol_identifier.encode_to(w);
        w.put_opt(&self.non_standard_data);
        self.reject_reason.encode_to(w);
        if let Some(g) = &self.gatekeeper_identifier {
            put_identifier(w, g);
        }
        x.write(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 2)?;
        let (p_nsd, p_gk) = (o.present(), o.present());
        let request_seq_num = get_seq_num(r)?;
        let protocol_identifier = r.get()?;
        let non_standard_data = r.get_opt(p_nsd)?;
        let reject_reason = r.get()?;
        let gatekeeper_identifier = r.opt(p_gk, get_identifier)?;
        let mut x = r.additions(ext)?;
        Ok(RegistrationReject {
            request_seq_num,
            protocol_identifier,
            non_standard_data,
            reject_reason,
            gatekeeper_identifier,
            alt_gk_info: x.get()?,
            tokens: x.next(|r| get_list(r, "tokens"))?,
            crypto_tokens: x.next(|r| get_list(r, "cryptoTokens"))?,
            integrity_check_value: x.get()?,
            feature_set: x.get()?,
            generic_data: x.next(|r| get_list(r, "genericData"))?,
            assigned_gatekeeper: x.get()?,
        })
    }
}

/// `RegistrationRejectReason`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistrationRejectReason {
    /// `discoveryRequired`.
    DiscoveryRequired,
    /// `invalidRevision`.
    InvalidRevision,
    /// `invalidCallSignalAddress`.
    InvalidCallSignalAddress,
    /// `invalidRASAddress`.
    InvalidRasAddress,
    /// `duplicateAlias`: the aliases registered to another endpoint.
    DuplicateAlias(Vec<AliasAddress>),
    /// `invalidTerminalType`.
    InvalidTerminalType,
    /// `undefinedReason`.
    UndefinedReason,
    /// `transportNotSupported`.
    TransportNotSupported,
    /// `transportQOSNotSupported`.
    TransportQosNotSupported,
    /// `resourceUnavailable`.
    ResourceUnavailable,
    /// `invalidAlias`.
    InvalidAlias,
    /// `securityDenial`.
    SecurityDenial,
    /// `fullRegistrationRequired`: a keep-alive RRQ for a registration that has lapsed.
    FullRegistrationRequired,
    /// `additiveRegistrationNotSupported`.
    AdditiveRegistrationNotSupported,
    /// `genericDataReason`.
    GenericDataReason,
    /// `neededFeatureNotSupported`.
    NeededFeatureNotSupported,
    /// `securityError`.
    SecurityError(SecurityErrors),
    /// `registerWithAssignedGK`.
    RegisterWithAssignedGk,
    /// `invalidTerminalAliases` or a later alternative.
    Other(UnknownAlternative),
}

impl Per for RegistrationRejectReason {
    fn encode_to(&self, w: &mut Writer) {
        let root = |w: &mut Writer, i| w.choice_root(i, 8, true);
        match self {
            Self::DiscoveryRequired => root(w, 0),
            Self::InvalidRevision => root(w, 1),
            Self::InvalidCallSignalAddress => root(w, 2),
            Self::InvalidRasAddress => root(w, 3),
            Self::DuplicateAlias(a) => {
                root(w, 4);
                put_list(w, a, "duplicateAlias");
            }
            Self::InvalidTerminalType => root(w, 5),
            Self::UndefinedReason => root(w, 6),
            Self::TransportNotSupported => root(w, 7),
            Self::TransportQosNotSupported => w.choice_ext(0, |_| {}),
            Self::ResourceUnavailable => w.choice_ext(1, |_| {}),
            Self::InvalidAlias => w.choice_ext(2, |_| {}),
            Self::SecurityDenial => w.choice_ext(3, |_| {}),
            Self::FullRegistrationRequired => w.choice_ext(4, |_| {}),
            Self::AdditiveRegistrationNotSupported => w.choice_ext(5, |_| {}),
            Self::GenericDataReason => w.choice_ext(7, |_| {}),
            Self::NeededFeatureNotSupported => w.choice_ext(8, |_| {}),
            Self::SecurityError(e) => w.choice_ext(9, |w| e.encode_to(w)),
            Self::RegisterWithAssignedGk => w.choice_ext(10, |_| {}),
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(8, true)? {
            Choice::Root(0) => Self::DiscoveryRequired,
            Choice::Root(1) => Self::InvalidRevision,
            Choice::Root(2) => Self::InvalidCallSignalAddress,
            Choice::Root(3) => Self::InvalidRasAddress,
            Choice::Root(4) => Self::DuplicateAlias(get_list(r, "duplicateAlias")?),
            Choice::Root(5) => Self::InvalidTerminalType,
            Choice::Root(6) => Self::UndefinedReason,
            Choice::Root(_) => Self::TransportNotSupported,
            Choice::Ext(0, _) => Self::TransportQosNotSupported,
            Choice::Ext(1, _) => Self::ResourceUnavailable,
            Choice::Ext(2, _) => Self::InvalidAlias,
            Choice::Ext(3, _) => Self::SecurityDenial,
            Choice::Ext(4, _) => Self::FullRegistrationRequired,
            Choice::Ext(5, _) => Self::AdditiveRegistrationNotSupported,
            Choice::Ext(7, _) => Self::GenericDataReason,
            Choice::Ext(8, _) => Self::NeededFeatureNotSupported,
            Choice::Ext(9, d) => Self::SecurityError(r.sub(d).get()?),
            Choice::Ext(10, _) => Self::RegisterWithAssignedGk,
            Choice::Ext(index, d) => Self::Other(UnknownAlternative {
                index,
                encoding: d.to_vec(),
            }),
        })
    }
}

/// URQ: an endpoint (or the gatekeeper) ends a registration.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UnregistrationRequest {
    /// `requestSeqNum`.
    pub request_seq_num: u16,
    /// `callSignalAddress`.
    pub call_signal_address: Vec<TransportAddress>,
    /// `endpointAlias`.
    pub endpoint_alias: Option<Vec<AliasAddress>>,
    /// `nonStandardData`.
    pub non_standard_data: Option<NonStandardParameter>,
    /// `endpointIdentifier`.
    pub endpoint_identifier: Option<String>,
    /// `alternateEndpoints` (kept as encoded).
    pub alternate_endpoints: Option<RawValue>,
    /// `gatekeeperIdentifier`.
    pub gatekeeper_identifier: Option<String>,
    /// `tokens`.
    pub tokens: Option<Vec<ClearToken>>,
    /// `cryptoTokens`.
    pub crypto_tokens: Option<Vec<CryptoH323Token>>,
    /// `integrityCheckValue`.
    pub integrity_check_value: Option<Icv>,
    /// `reason`.
    pub reason: Option<UnregRequestReason>,
    /// `endpointAliasPattern` (kept as encoded).
    pub endpoint_alias_pattern: Option<RawValue>,
    /// `supportedPrefixes`.
    pub supported_prefixes: Option<Vec<SupportedPrefix>>,
    /// `alternateGatekeeper`.
    pub alternate_gatekeeper: Option<Vec<AlternateGK>>,
    /// `genericData`.
    pub generic_data: Option<Vec<GenericData>>,
    /// `assignedGatekeeper`.
    pub assigned_gatekeeper: Option<AlternateGK>,
}

impl Per for UnregistrationRequest {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.raw(self.alternate_endpoints.as_ref());
        x.add(self.gatekeeper_identifier.as_ref(), |w, g| {
            put_identifier(w, g)
        });
        add_list(&mut x, self.tokens.as_ref(), "tokens");
        add_list(&mut x, self.crypto_tokens.as_ref(), "cryptoTokens");
        x.put(self.integrity_check_value.as_ref());
        x.put(self.reason.as_ref());
        x.raw(self.endpoint_alias_pattern.as_ref());
        add_list(
            &mut x,
            self.supported_prefixes.as_ref(),
            "supportedPrefixes",
        );
        add_list(
            &mut x,
            self.alternate_gatekeeper.as_ref(),
            "alternateGatekeeper",
        );
        add_list(&mut x, self.generic_data.as_ref(), "genericData");
        x.put(self.assigned_gatekeeper.as_ref());
        w.preamble(
            Some(x.present()),
            &[
                self.endpoint_alias.is_some(),
                self.non_standard_data.is_some(),
                self.endpoint_identifier.is_some(),
            ],
        );
        put_seq_num(w, self.request_seq_num);
        put_list(w, &self.call_signal_address, "callSignalAddress");
        if let Some(a) = &self.endpoint_alias {
            put_list(w, a, "endpointAlias");
        }
        w.put_opt(&self.non_standard_data);
        if let Some(e) = &self.endpoint_identifier {
            put_identifier(w, e);
        }
        x.write(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 3)?;
        let (p_alias, p_nsd, p_eid) = (o.present(), o.present(), o.present());
        let request_seq_num = get_seq_num(r)?;
        let call_signal_address = get_list(r, "callSignalAddress")?;
        let endpoint_alias = r.opt(p_alias, |r| get_list(r, "endpointAlias"))?;
        let non_standard_data = r.get_opt(p_nsd)?;
        let endpoint_identifier = r.opt(p_eid, get_identifier)?;
        let mut x = r.additions(ext)?;
        Ok(UnregistrationRequest {
            request_seq_num,
            call_signal_address,
            endpoint_alias,
            non_standard_data,
            endpoint_identifier,
            alternate_endpoints: x.raw(),
            gatekeeper_identifier: x.next(get_identifier)?,
            tokens: x.next(|r| get_list(r, "tokens"))?,
            crypto_tokens: x.next(|r| get_list(r, "cryptoTokens"))?,
            integrity_check_value: x.get()?,
            reason: x.get()?,
            endpoint_alias_pattern: x.raw(),
            supported_prefixes: x.next(|r| get_list(r, "supportedPrefixes"))?,
            alternate_gatekeeper: x.next(|r| get_list(r, "alternateGatekeeper"))?,
            generic_data: x.next(|r| get_list(r, "genericData"))?,
            assigned_gatekeeper: x.get()?,
        })
    }
}

/// `UnregRequestReason`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnregRequestReason {
    /// `reregistrationRequired`.
    ReregistrationRequired,
    /// `ttlExpired`.
    TtlExpired,
    /// `securityDenial`.
    SecurityDenial,
    /// `undefinedReason`.
    UndefinedReason,
    /// `maintenance`.
    Maintenance,
    /// `securityError`.
    SecurityError(SecurityErrors2),
    /// `registerWithAssignedGK`.
    RegisterWithAssignedGk,
    /// A later alternative.
    Other(UnknownAlternative),
}

impl Per for UnregRequestReason {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::ReregistrationRequired => w.choice_root(0, 4, true),
            Self::TtlExpired => w.choice_root(1, 4, true),
            Self::SecurityDenial => w.choice_root(2, 4, true),
            Self::UndefinedReason => w.choice_root(3, 4, true),
            Self::Maintenance => w.choice_ext(0, |_| {}),
            Self::SecurityError(e) => w.choice_ext(1, |w| e.encode_to(w)),
            Self::RegisterWithAssignedGk => w.choice_ext(2, |_| {}),
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(4, true)? {
            Choice::Root(0) => Self::ReregistrationRequired,
            Choice::Root(1) => Self::TtlExpired,
            Choice::Root(2) => Self::SecurityDenial,
            Choice::Root(_) => Self::UndefinedReason,
            Choice::Ext(0, _) => Self::Maintenance,
            Choice::Ext(1, d) => Self::SecurityError(r.sub(d).get()?),
            Choice::Ext(2, _) => Self::RegisterWithAssignedGk,
            Choice::Ext(index, d) => Self::Other(UnknownAlternative {
                index,
                encoding: d.to_vec(),
            }),
        })
    }
}

/// UCF: an unregistration is confirmed.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UnregistrationConfirm {
    /// `requestSeqNum`.
    pub request_seq_num: u16,
    /// `nonStandardData`.
    pub non_standard_data: Option<NonStandardParameter>,
    /// `tokens`.
    pub tokens: Option<Vec<ClearToken>>,
    /// `cryptoTokens`.
    pub crypto_tokens: Option<Vec<CryptoH323Token>>,
    /// `integrityCheckValue`.
    pub integrity_check_value: Option<Icv>,
    /// `genericData`.
    pub generic_data: Option<Vec<GenericData>>,
    /// `assignedGatekeeper`.
    pub assigned_gatekeeper: Option<AlternateGK>,
}

impl Per for UnregistrationConfirm {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        add_list(&mut x, self.tokens.as_ref(), "tokens");
        add_list(&mut x, self.crypto_tokens.as_ref(), "cryptoTokens");
        x.put(self.integrity_check_value.as_ref());
        add_list(&mut x, self.generic_data.as_ref(), "genericData");
        x.put(self.assigned_gatekeeper.as_ref());
        w.preamble(Some(x.present()), &[self.non_standard_data.is_some()]);
        put_seq_num(w, self.request_seq_num);
        w.put_opt(&self.non_standard_data);
        x.write(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 1)?;
        let request_seq_num = get_seq_num(r)?;
        let non_standard_data = r.get_opt(o.present())?;
        let mut x = r.additions(ext)?;
        Ok(UnregistrationConfirm {
            request_seq_num,
            non_standard_data,
            tokens: x.next(|r| get_list(r, "tokens"))?,
            crypto_tokens: x.next(|r| get_list(r, "cryptoTokens"))?,
            integrity_check_value: x.get()?,
            generic_data: x.next(|r| get_list(r, "genericData"))?,
            assigned_gatekeeper: x.get()?,
        })
    }
}

/// URJ: an unregistration is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnregistrationReject {
    /// `requestSeqNum`.
    pub request_seq_num: u16,
    /// `rejectReason`.
    pub reject_reason: UnregRejectReason,
    /// `nonStandardData`.
    pub non_standard_data: Option<NonStandardParameter>,
    /// `altGKInfo`.
    pub alt_gk_info: Option<AltGKInfo>,
    /// `tokens`.
    pub tokens: Option<Vec<ClearToken>>,
    /// `cryptoTokens`.
    pub crypto_tokens: Option<Vec<CryptoH323Token>>,
    /// `integrityCheckValue`.
    pub integrity_check_value: Option<Icv>,
    /// `genericData`.
    pub generic_data: Option<Vec<GenericData>>,
}

impl UnregistrationReject {
    /// A URJ for `request_seq_num` with `reason` and nothing else.
    pub fn new(request_seq_num: u16, reject_reason: UnregRejectReason) -> Self {
        UnregistrationReject {
            request_seq_num,
            reject_reason,
            non_standard_data: None,
            alt_gk_info: None,
            tokens: None,
            crypto_tokens: None,
            integrity_check_value: None,
            generic_data: None,
        }
    }
}

impl Per for UnregistrationReject {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.put(self.alt_gk_info.as_ref());
        add_list(&mut x, self.tokens.as_ref(), "tokens");
        add_list(&mut x, self.crypto_tokens.as_ref(), "cryptoTokens");
        x.put(self.integrity_check_value.as_ref());
        add_list(&mut x, self.generic_data.as_ref(), "genericData");
        w.preamble(Some(x.present()), &[self.non_standard_data.is_some()]);
        put_seq_num(w, self.request_seq_num);
        self.reject_reason.encode_to(w);
        w.put_opt(&self.non_standard_data);
        x.write(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 1)?;
        let request_seq_num = get_seq_num(r)?;
        let reject_reason = r.get()?;
        let non_standard_data = r.get_opt(o.present())?;
        let mut x = r.additions(ext)?;
        Ok(UnregistrationReject {
            request_seq_num,
            reject_reason,
            non_standard_data,
            alt_gk_info: x.get()?,
            tokens: x.next(|r| get_list(r, "tokens"))?,
            crypto_tokens: x.next(|r| get_list(r, "cryptoTokens"))?,
            integrity_check_value: x.get()?,
            generic_data: x.next(|r| get_list(r, "genericData"))?,
        })
    }
}

/// `UnregRejectReason`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnregRejectReason {
    /// `notCurrentlyRegistered`.
    NotCurrentlyRegistered,
    /// `callInProgress`.
    CallInProgress,
    /// `undefinedReason`.
    UndefinedReason,
    /// `permissionDenied`.
    PermissionDenied,
    /// `securityDenial`.
    SecurityDenial,
    /// `securityError`.
    SecurityError(SecurityErrors2),
    /// A later alternative.
    Other(UnknownAlternative),
}

impl Per for UnregRejectReason {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::NotCurrentlyRegistered => w.choice_root(0, 3, true),
            Self::CallInProgress => w.choice_root(1, 3, true),
            Self::UndefinedReason => w.choice_root(2, 3, true),
            Self::PermissionDenied => w.choice_ext(0, |_| {}),
            Self::SecurityDenial => w.choice_ext(1, |_| {}),
            Self::SecurityError(e) => w.choice_ext(2, |w| e.encode_to(w)),
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(3, true)? {
            Choice::Root(0) => Self::NotCurrentlyRegistered,
            Choice::Root(1) => Self::CallInProgress,
            Choice::Root(_) => Self::UndefinedReason,
            Choice::Ext(0, _) => Self::PermissionDenied,
            Choice::Ext(1, _) => Self::SecurityDenial,
            Choice::Ext(2, d) => Self::SecurityError(r.sub(d).get()?),
            Choice::Ext(index, d) => Self::Other(UnknownAlternative {
                index,
                encoding: d.to_vec(),
            }),
        })
    }
}

/// SCI: a gatekeeper tells an endpoint about a service; H.460.18 sends the incoming-call
/// indication in its `genericData` (see [`crate::features::IncomingCallIndication`]).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ServiceControlIndication {
    /// `requestSeqNum`.
    pub request_seq_num: u16,
    /// `nonStandardData`.
    pub non_standard_data: Option<NonStandardParameter>,
    /// `serviceControl` (empty for H.460.18).
    pub service_control: Vec<ServiceControlSession>,
    /// `endpointIdentifier`.
    pub endpoint_identifier: Option<String>,
    /// `callSpecific`.
    pub call_specific: Option<CallSpecific>,
    /// `tokens`.
    pub tokens: Option<Vec<ClearToken>>,
    /// `cryptoTokens`.
    pub crypto_tokens: Option<Vec<CryptoH323Token>>,
    /// `integrityCheckValue`.
    pub integrity_check_value: Option<Icv>,
    /// `featureSet`.
    pub feature_set: Option<FeatureSet>,
    /// `genericData`.
    pub generic_data: Option<Vec<GenericData>>,
}

/// `callSpecific` of [`ServiceControlIndication`].
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CallSpecific {
    /// `callIdentifier`.
    pub call_identifier: CallIdentifier,
    /// `conferenceID`.
    pub conference_id: [u8; 16],
    /// `answeredCall`.
    pub answered_call: bool,
}

impl Per for CallSpecific {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[]);
        self.call_identifier.encode_to(w);
        w.octet_string(&self.conference_id, 16, Some(16), "conferenceID");
        w.boolean(self.answered_call);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let v = CallSpecific {
            call_identifier: r.get()?,
            conference_id: r.octet_array("conferenceID")?,
            answered_call: r.boolean()?,
        };
        r.additions(ext)?;
        Ok(v)
    }
}

impl Per for ServiceControlIndication {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(
            Some(false),
            &[
                self.non_standard_data.is_some(),
                self.endpoint_identifier.is_some(),
                self.call_specific.is_some(),
                self.tokens.is_some(),
                self.crypto_tokens.is_some(),
                self.integrity_check_value.is_some(),
                self.feature_set.is_some(),
                self.generic_data.is_some(),
            ],
        );
        put_seq_num(w, self.request_seq_num);
        w.put_opt(&self.non_standard_data);
        put_list(w, &self.service_control, "serviceControl");
        if let Some(e) = &self.endpoint_identifier {
            put_identifier(w, e);
        }
        w.put_opt(&self.call_specific);
        if let Some(t) = &self.tokens {
            put_list(w, t, "tokens");
        }
        if let Some(t) = &self.crypto_tokens {
            put_list(w, t, "cryptoTokens");
        }
        w.put_opt(&self.integrity_check_value);
        w.put_opt(&self.feature_set);
        if let Some(g) = &self.generic_data {
            put_list(w, g, "genericData");
        }
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 8)?;
        let p: Vec<bool> = (0..8).map(|_| o.present()).collect();
        let request_seq_num = get_seq_num(r)?;
        let v = ServiceControlIndication {
            request_seq_num,
            non_standard_data: r.get_opt(p[0])?,
            service_control: get_list(r, "serviceControl")?,
            endpoint_identifier: r.opt(p[1], get_identifier)?,
            call_specific: r.get_opt(p[2])?,
            tokens: r.opt(p[3], |r| get_list(r, "tokens"))?,
            crypto_tokens: r.opt(p[4], |r| get_list(r, "cryptoTokens"))?,
            integrity_check_value: r.get_opt(p[5])?,
            feature_set: r.get_opt(p[6])?,
            generic_data: r.opt(p[7], |r| get_list(r, "genericData"))?,
        };
        r.additions(ext)?;
        Ok(v)
    }
}

null_choice! {
    /// `result` of [`ServiceControlResponse`].
    ServiceControlResult { root: [
        /// `started`.
        Started,
        /// `failed`.
        Failed,
        /// `stopped`.
        Stopped,
        /// `notAvailable`.
        NotAvailable,
        /// `neededFeatureNotSupported`.
        NeededFeatureNotSupported,
    ], ext: [] }
}

/// SCR: the endpoint's answer to an SCI.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ServiceControlResponse {
    /// `requestSeqNum` (that of the SCI).
    pub request_seq_num: u16,
    /// `result`.
    pub result: Option<ServiceControlResult>,
    /// `nonStandardData`.
    pub non_standard_data: Option<NonStandardParameter>,
    /// `tokens`.
    pub tokens: Option<Vec<ClearToken>>,
    /// `cryptoTokens`.
    pub crypto_tokens: Option<Vec<CryptoH323Token>>,
    /// `integrityCheckValue`.
    pub integrity_check_value: Option<Icv>,
    /// `featureSet`.
    pub feature_set: Option<FeatureSet>,
    /// `genericData`.
    pub generic_data: Option<Vec<GenericData>>,
}

impl Per for ServiceControlResponse {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(
            Some(false),
            &[
                self.result.is_some(),
                self.non_standard_data.is_some(),
                self.tokens.is_some(),
                self.crypto_tokens.is_some(),
                self.integrity_check_value.is_some(),
                self.feature_set.is_some(),
                self.generic_data.is_some(),
            ],
        );
        put_seq_num(w, self.request_seq_num);
        w.put_opt(&self.result);
        w.put_opt(&self.non_standard_data);
        if let Some(t) = &self.tokens {
            put_list(w, t, "tokens");
        }
        if let Some(t) = &self.crypto_tokens {
            put_list(w, t, "cryptoTokens");
        }
        w.put_opt(&self.integrity_check_value);
        w.put_opt(&self.feature_set);
        if let Some(g) = &self.generic_data {
            put_list(w, g, "genericData");
        }
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 7)?;
        let p: Vec<bool> = (0..7).map(|_| o.present()).collect();
        let request_seq_num = get_seq_num(r)?;
        let v = ServiceControlResponse {
            request_seq_num,
            result: r.get_opt(p[0])?,
            non_standard_data: r.get_opt(p[1])?,
            tokens: r.opt(p[2], |r| get_list(r, "tokens"))?,
            crypto_tokens: r.opt(p[3], |r| get_list(r, "cryptoTokens"))?,
            integrity_check_value: r.get_opt(p[4])?,
            feature_set: r.get_opt(p[5])?,
            generic_data: r.opt(p[6], |r| get_list(r, "genericData"))?,
        };
        r.additions(ext)?;
        Ok(v)
    }
}
