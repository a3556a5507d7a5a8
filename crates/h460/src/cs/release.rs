//! `ReleaseComplete-UUIE` and its `ReleaseCompleteReason`: why a call ended.

use super::common::{get_guid, put_guid, ConferenceIdentifier, DisplayName, PresentationIndicator};
use crate::h225::{
    add_list, get_list, AliasAddress, CallIdentifier, EndpointType, FeatureSet,
    NonStandardParameter, ProtocolIdentifier, SecurityErrors, ServiceControlSession,
};
use crate::per::{Additions, Choice, Error, Per, RawValue, Reader, UnknownAlternative, Writer};
use crate::tokens::{ClearToken, CryptoH323Token};

/// `ReleaseCompleteReason`: root alternatives first, then the extension ones (indexes 0..=12
/// after the `...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReleaseCompleteReason {
    /// `noBandwidth`.
    NoBandwidth,
    /// `gatekeeperResources`.
    GatekeeperResources,
    /// `unreachableDestination`.
    UnreachableDestination,
    /// `destinationRejection`.
    DestinationRejection,
    /// `invalidRevision`.
    InvalidRevision,
    /// `noPermission`.
    NoPermission,
    /// `unreachableGatekeeper`.
    UnreachableGatekeeper,
    /// `gatewayResources`.
    GatewayResources,
    /// `badFormatAddress`.
    BadFormatAddress,
    /// `adaptiveBusy`.
    AdaptiveBusy,
    /// `inConf`: the called party is busy.
    InConf,
    /// `undefinedReason`.
    UndefinedReason,
    /// `facilityCallDeflection`.
    FacilityCallDeflection,
    /// `securityDenied`.
    SecurityDenied,
    /// `calledPartyNotRegistered`.
    CalledPartyNotRegistered,
    /// `callerNotRegistered`.
    CallerNotRegistered,
    /// `newConnectionNeeded`.
    NewConnectionNeeded,
    /// `nonStandardReason`.
    NonStandardReason(NonStandardParameter),
    /// `replaceWithConferenceInvite`.
    ReplaceWithConferenceInvite(ConferenceIdentifier),
    /// `genericDataReason`.
    GenericDataReason,
    /// `neededFeatureNotSupported`.
    NeededFeatureNotSupported,
    /// `tunnelledSignallingRejected`.
    TunnelledSignallingRejected,
    /// `invalidCID`.
    InvalidCid,
    /// `securityError`.
    SecurityError(SecurityErrors),
    /// `hopCountExceeded`.
    HopCountExceeded,
    /// A later alternative.
    Other(UnknownAlternative),
}

/// The NULL root alternatives of [`ReleaseCompleteReason`], by index.
const ROOT: [ReleaseCompleteReason; 12] = [
    ReleaseCompleteReason::NoBandwidth,
    ReleaseCompleteReason::GatekeeperResources,
    ReleaseCompleteReason::UnreachableDestination,
    ReleaseCompleteReason::DestinationRejection,
    ReleaseCompleteReason::InvalidRevision,
    ReleaseCompleteReason::NoPermission,
    ReleaseCompleteReason::UnreachableGatekeeper,
    ReleaseCompleteReason::GatewayResources,
    ReleaseCompleteReason::BadFormatAddress,
    ReleaseCompleteReason::AdaptiveBusy,
    ReleaseCompleteReason::InConf,
    ReleaseCompleteReason::UndefinedReason,
];

/// The NULL extension alternatives of [`ReleaseCompleteReason`] with their indexes.
const EXT_NULL: [(u32, ReleaseCompleteReason); 10] = [
    (0, ReleaseCompleteReason::FacilityCallDeflection),
    (1, ReleaseCompleteReason::SecurityDenied),
    (2, ReleaseCompleteReason::CalledPartyNotRegistered),
    (3, ReleaseCompleteReason::CallerNotRegistered),
    (4, ReleaseCompleteReason::NewConnectionNeeded),
    (7, ReleaseCompleteReason::GenericDataReason),
    (8, ReleaseCompleteReason::NeededFeatureNotSupported),
    (9, ReleaseCompleteReason::TunnelledSignallingRejected),
    (10, ReleaseCompleteReason::InvalidCid),
    (12, ReleaseCompleteReason::HopCountExceeded),
];

impl Per for ReleaseCompleteReason {
    fn encode_to(&self, w: &mut Writer) {
        if let Some(i) = ROOT.iter().position(|v| v == self) {
            w.choice_root(i as u32, ROOT.len() as u32, true);
            return;
        }
        if let Some((i, _)) = EXT_NULL.iter().find(|(_, v)| v == self) {
            w.choice_ext(*i, |_| {});
            return;
        }
        match self {
            Self::NonStandardReason(n) => w.choice_ext(5, |w| n.encode_to(w)),
            Self::ReplaceWithConferenceInvite(c) => {
                w.choice_ext(6, |w| put_guid(w, c, "replaceWithConferenceInvite"))
            }
            Self::SecurityError(e) => w.choice_ext(11, |w| e.encode_to(w)),
            Self::Other(u) => w.choice_unknown(u),
            // Every NULL alternative is in ROOT or EXT_NULL.
            _ => w.choice_root(11, ROOT.len() as u32, true),
        }
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        match r.choice(ROOT.len() as u32, true)? {
            Choice::Root(i) => ROOT
                .get(i as usize)
                .cloned()
                .ok_or(Error::Invalid("ReleaseCompleteReason")),
            Choice::Ext(5, d) => Ok(Self::NonStandardReason(r.sub(d).get()?)),
            Choice::Ext(6, d) => Ok(Self::ReplaceWithConferenceInvite(get_guid(
                &mut r.sub(d),
                "replaceWithConferenceInvite",
            )?)),
            Choice::Ext(11, d) => Ok(Self::SecurityError(r.sub(d).get()?)),
            Choice::Ext(index, d) => Ok(EXT_NULL
                .iter()
                .find(|(i, _)| *i == index)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| {
                    Self::Other(UnknownAlternative {
                        index,
                        encoding: d.to_vec(),
                    })
                })),
        }
    }
}

/// `ReleaseComplete-UUIE`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ReleaseCompleteUuie {
    /// `protocolIdentifier`.
    pub protocol_identifier: ProtocolIdentifier,
    /// `reason`.
    pub reason: Option<ReleaseCompleteReason>,
    /// `callIdentifier` (mandatory addition).
    pub call_identifier: CallIdentifier,
    /// `tokens`.
    pub tokens: Option<Vec<ClearToken>>,
    /// `cryptoTokens`.
    pub crypto_tokens: Option<Vec<CryptoH323Token>>,
    /// `busyAddress`.
    pub busy_address: Option<Vec<AliasAddress>>,
    /// `presentationIndicator`.
    pub presentation_indicator: Option<PresentationIndicator>,
    /// `screeningIndicator` (kept as encoded).
    pub screening_indicator: Option<RawValue>,
    /// `capacity` (kept as encoded).
    pub capacity: Option<RawValue>,
    /// `serviceControl`.
    pub service_control: Option<Vec<ServiceControlSession>>,
    /// `featureSet`.
    pub feature_set: Option<FeatureSet>,
    /// `destinationInfo`.
    pub destination_info: Option<EndpointType>,
    /// `displayName`.
    pub display_name: Option<Vec<DisplayName>>,
}

impl ReleaseCompleteUuie {
    /// A Release Complete for the call `call_identifier` with `reason`, H.225.0 v7.
    pub fn new(call_identifier: CallIdentifier, reason: Option<ReleaseCompleteReason>) -> Self {
        ReleaseCompleteUuie {
            reason,
            call_identifier,
            ..Default::default()
        }
    }
}

impl Per for ReleaseCompleteUuie {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.put(Some(&self.call_identifier));
        add_list(&mut x, self.tokens.as_ref(), "tokens");
        add_list(&mut x, self.crypto_tokens.as_ref(), "cryptoTokens");
        add_list(&mut x, self.busy_address.as_ref(), "busyAddress");
        x.put(self.presentation_indicator.as_ref());
        x.raw(self.screening_indicator.as_ref());
        x.raw(self.capacity.as_ref());
        add_list(&mut x, self.service_control.as_ref(), "serviceControl");
        x.put(self.feature_set.as_ref());
        x.put(self.destination_info.as_ref());
        add_list(&mut x, self.display_name.as_ref(), "displayName");
        w.preamble(Some(x.present()), &[self.reason.is_some()]);
        self.protocol_identifier.encode_to(w);
        w.put_opt(&self.reason);
        x.write(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 1)?;
        let protocol_identifier = r.get()?;
        let reason = r.get_opt(o.present())?;
        let mut x = r.additions(ext)?;
        Ok(ReleaseCompleteUuie {
            protocol_identifier,
            reason,
            call_identifier: x.get()?.unwrap_or_default(),
            tokens: x.next(|r| get_list(r, "tokens"))?,
            crypto_tokens: x.next(|r| get_list(r, "cryptoTokens"))?,
            busy_address: x.next(|r| get_list(r, "busyAddress"))?,
            presentation_indicator: x.get()?,
            screening_indicator: x.raw(),
            capacity: x.raw(),
            service_control: x.next(|r| get_list(r, "serviceControl"))?,
            feature_set: x.get()?,
            destination_info: x.get()?,
            display_name: x.next(|r| get_list(r, "displayName"))?,
        })
    }
}
