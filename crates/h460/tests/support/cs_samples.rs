//! Sample H323-UserInformation values of every message body type, with rich contents
//! (tunnelled H.245, fastStart, tokens, feature sets, aliases), shared by the codec tests
//! and the tshark tests. Everything in them is valid enough for Wireshark to decode: the
//! tunnelled H.245 and fastStart entries are genuine H.245 encodings, derived below.
#![allow(dead_code)] // each test binary uses a part

use exp_h460::cs::*;
use exp_h460::features::{h460_18_feature, h460_19_feature};
use exp_h460::h225::*;
use exp_h460::per::{Oid, RawValue, UnknownAlternative};
use exp_h460::q931::MessageType;
use exp_h460::tokens::*;

pub const CALL_GUID: [u8; 16] = [
    0x5a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01,
];
pub const CONF_GUID: [u8; 16] = [
    0xc0, 0x4f, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
];
pub const CALLER: &str = "alice-zone-a";
pub const CALLEE: &str = "bob-zone-b";

/// H.245 `MultimediaSystemControlMessage` `request: masterSlaveDetermination {
/// terminalType 60, statusDeterminationNumber 12345 }`, aligned PER (X.691):
///
/// ```text
/// MultimediaSystemControlMessage CHOICE {request, response, command, indication, ...}
///                        0 (extension bit) 00 (request: index 0 of 4, 2 bits)
/// RequestMessage         0 (extension bit) 0001 (masterSlaveDetermination: index 1 of the
///                        11 root alternatives, 4 bits)
/// MasterSlaveDetermination SEQUENCE {terminalType, statusDeterminationNumber, ...}
///                        0 (extension bit, no optional components)
///                        = 0000 0001 | 0 (pad 0000000)                     -> 01 00
/// terminalType           INTEGER (0..255): range 256, one aligned octet     -> 3c
/// statusDeterminationNumber INTEGER (0..16777215): range > 64K (§11.5.7.4): the octet
///                        count 1..3 in 2 bits, 2 - 1 = 01, then 12345 = 0x3039 in two
///                        aligned octets                                    -> 40 | 30 39
/// ```
pub const H245_MSD: [u8; 6] = [0x01, 0x00, 0x3c, 0x40, 0x30, 0x39];

/// H.245 `OpenLogicalChannel` for fastStart, the smallest Wireshark accepts as one:
/// channel 1, `nullData`, multiplexParameters `none`:
///
/// ```text
/// OpenLogicalChannel     0 (extension bit) 0 (reverseLogicalChannelParameters absent)
///                        (pad)                                             -> 00
/// forwardLogicalChannelNumber INTEGER (1..65535): two aligned octets, 1 - 1 -> 00 00
/// forwardLogicalChannelParameters
///                        0 (extension bit) 0 (portNumber absent)
///   dataType             0 (extension bit) 001 (nullData: index 1 of 6)
///   multiplexParameters  1 (extension alternative) 0 000001 (index 1: none)
///                        = 0000 0110 | 0000 01 (pad 00)                    -> 06 04
///                        open type: length 1, the NULL's one octet         -> 01 00
/// ```
pub const H245_OLC: [u8; 7] = [0x00, 0x00, 0x00, 0x06, 0x04, 0x01, 0x00];

pub fn call_id() -> CallIdentifier {
    CallIdentifier { guid: CALL_GUID }
}

pub fn ip(a: [u8; 4], port: u16) -> TransportAddress {
    TransportAddress::Ip { ip: a, port }
}

pub fn vendor() -> VendorIdentifier {
    VendorIdentifier {
        vendor: H221NonStandard {
            t35_country_code: 181,
            t35_extension: 0,
            manufacturer_code: 0x4578,
        },
        product_id: Some(b"exp-c".to_vec()),
        version_id: Some(b"0.1.0".to_vec()),
        enterprise_number: None,
    }
}

pub fn endpoint() -> EndpointType {
    EndpointType {
        vendor: Some(vendor()),
        ..EndpointType::terminal()
    }
}

pub fn non_standard() -> NonStandardParameter {
    NonStandardParameter {
        identifier: NonStandardIdentifier::H221(H221NonStandard {
            t35_country_code: 181,
            t35_extension: 0,
            manufacturer_code: 1,
        }),
        data: vec![1, 2, 3],
    }
}

pub fn caller_aliases() -> Vec<AliasAddress> {
    vec![
        AliasAddress::H323Id(CALLER.into()),
        AliasAddress::DialledDigits("4930123".into()),
        AliasAddress::UrlId("h323:alice@zone-a.example.net".into()),
    ]
}

pub fn callee_aliases() -> Vec<AliasAddress> {
    vec![
        AliasAddress::H323Id(CALLEE.into()),
        AliasAddress::EmailId("bob@zone-b.example.net".into()),
        AliasAddress::TransportId(ip([198, 51, 100, 7], 1720)),
    ]
}

pub fn clear_tokens() -> Vec<ClearToken> {
    vec![ClearToken {
        token_oid: Oid::new(&[0, 0, 8, 235, 0, 2, 5]),
        time_stamp: Some(1_800_000_000),
        random: Some(77),
        general_id: Some("exp-e".into()),
        senders_id: Some(CALLER.into()),
        ..Default::default()
    }]
}

pub fn crypto() -> Vec<CryptoH323Token> {
    vec![CryptoH323Token::h235_1(
        "exp-e",
        CALLER,
        1_800_000_000,
        0x1234_5678,
    )]
}

pub fn features() -> FeatureSet {
    FeatureSet {
        replacement_feature_set: false,
        needed_features: None,
        desired_features: Some(vec![h460_19_feature(true, false)]),
        supported_features: Some(vec![h460_18_feature(), h460_19_feature(true, false)]),
    }
}

/// A tunnelling PDU carrying `body`, with two H.245 messages tunnelled.
fn tunnelled(body: MessageBody, h245: usize) -> H323UserInformation {
    let mut info = H323UserInformation::new(body);
    info.h323_uu_pdu.h245_tunnelling = true;
    info.set_h245_control(vec![H245_MSD.to_vec(); h245]);
    info
}

/// A Setup as exp-c relays it: aliases, addresses, fastStart, tokens, H.460 features,
/// tunnelled H.245. `wire_safe` leaves out what Wireshark would try to decode as
/// something else (H.450 APDUs, parallelH245Control).
pub fn setup(wire_safe: bool) -> H323UserInformation {
    let mut s = SetupUuie::new(CONF_GUID, call_id());
    s.h245_address = Some(ip([192, 0, 2, 20], 30000));
    s.source_address = Some(caller_aliases());
    s.source_info = endpoint();
    s.destination_address = Some(callee_aliases());
    s.dest_call_signal_address = Some(ip([192, 0, 2, 10], 1720));
    s.dest_extra_call_info = Some(vec![AliasAddress::DialledDigits("99".into())]);
    s.dest_extra_crv = Some(vec![0, 7, 65535]);
    s.call_services = Some(QseriesOptions {
        q932_full: true,
        conference_calling: true,
        ..Default::default()
    });
    s.source_call_signal_address = Some(ip([192, 0, 2, 30], 1720));
    s.remote_extension_address = Some(AliasAddress::H323Id("ext-1".into()));
    s.h245_security_capability = Some(vec![H245Security::NoSecurity]);
    s.tokens = Some(clear_tokens());
    s.crypto_tokens = Some(crypto());
    s.fast_start = Some(vec![H245_OLC.to_vec(), H245_OLC.to_vec()]);
    s.media_wait_for_connect = false;
    s.can_overlap_send = true;
    s.endpoint_identifier = Some("ep-0001".into());
    s.multiple_calls = true;
    s.maintain_connection = true;
    s.language = Some(vec!["de".into(), "en-GB".into()]);
    s.presentation_indicator = Some(PresentationIndicator::Allowed);
    s.service_control = Some(vec![ServiceControlSession {
        session_id: 3,
        contents: None,
        reason: ServiceControlReason::Open,
    }]);
    s.symmetric_operation_required = true;
    s.needed_features = Some(vec![h460_18_feature()]);
    s.desired_features = Some(vec![h460_19_feature(true, false)]);
    s.supported_features = Some(vec![h460_18_feature(), h460_19_feature(true, false)]);
    s.hop_count = Some(31);
    s.display_name = Some(vec![DisplayName {
        language: Some("en".into()),
        name: "Alice".into(),
    }]);
    if !wire_safe {
        s.parallel_h245_control = Some(vec![vec![0xde, 0xad]]);
        s.connection_parameters = Some(RawValue(vec![0x00, 0x00, 0x02, 0x00]));
    }
    let mut info = tunnelled(s.into(), 3);
    info.h323_uu_pdu.non_standard_data = Some(non_standard());
    info.h323_uu_pdu.call_linkage = Some(CallLinkage {
        global_call_id: Some(CONF_GUID),
        thread_id: None,
    });
    info.h323_uu_pdu.generic_data = Some(vec![GenericData::standard(18)]);
    if !wire_safe {
        info.h323_uu_pdu.h4501_supplementary_service = Some(vec![vec![1, 2, 3], vec![]]);
        info.h323_uu_pdu.provisional_resp_to_h245_tunnelling = true;
        info.user_data = Some(UserData {
            protocol_discriminator: 8,
            user_information: b"isdn".to_vec(),
        });
    }
    info
}

pub fn call_proceeding() -> H323UserInformation {
    let mut m = CallProceedingUuie::new(call_id());
    m.destination_info = EndpointType::gatekeeper();
    m.h245_address = Some(ip([192, 0, 2, 10], 30001));
    m.multiple_calls = true;
    m.maintain_connection = true;
    m.feature_set = Some(features());
    tunnelled(m.into(), 1)
}

pub fn alerting() -> H323UserInformation {
    let mut m = AlertingUuie::new(call_id());
    m.destination_info = endpoint();
    m.fast_start = Some(vec![H245_OLC.to_vec()]);
    m.alerting_address = Some(callee_aliases());
    m.presentation_indicator = Some(PresentationIndicator::Restricted);
    m.tokens = Some(clear_tokens());
    m.display_name = Some(vec![DisplayName {
        language: None,
        name: "Bob".into(),
    }]);
    tunnelled(m.into(), 2)
}

pub fn connect() -> H323UserInformation {
    let mut m = ConnectUuie::new(CONF_GUID, call_id());
    m.h245_address = Some(ip([192, 0, 2, 40], 30002));
    m.destination_info = endpoint();
    m.fast_start = Some(vec![H245_OLC.to_vec()]);
    m.connected_address = Some(callee_aliases());
    m.language = Some(vec!["fr".into()]);
    m.crypto_tokens = Some(crypto());
    m.feature_set = Some(features());
    m.h245_security_mode = Some(H245Security::Tls(SecurityCapabilities {
        non_standard: None,
        encryption: SecurityServiceMode::Default,
        authentication: SecurityServiceMode::None,
        integrity: SecurityServiceMode::NonStandard(non_standard()),
    }));
    tunnelled(m.into(), 3)
}

pub fn information() -> H323UserInformation {
    let mut m = InformationUuie::new(call_id());
    m.tokens = Some(clear_tokens());
    m.fast_connect_refused = true;
    tunnelled(m.into(), 1)
}

pub fn release_complete(reason: ReleaseCompleteReason) -> H323UserInformation {
    let mut m = ReleaseCompleteUuie::new(call_id(), Some(reason));
    m.busy_address = Some(callee_aliases());
    m.destination_info = Some(endpoint());
    m.feature_set = Some(features());
    H323UserInformation::new(m.into())
}

/// Every ReleaseCompleteReason alternative we model, and an unknown later one.
pub fn release_reasons() -> Vec<ReleaseCompleteReason> {
    use ReleaseCompleteReason::*;
    vec![
        NoBandwidth,
        GatekeeperResources,
        UnreachableDestination,
        DestinationRejection,
        InvalidRevision,
        NoPermission,
        UnreachableGatekeeper,
        GatewayResources,
        BadFormatAddress,
        AdaptiveBusy,
        InConf,
        UndefinedReason,
        FacilityCallDeflection,
        SecurityDenied,
        CalledPartyNotRegistered,
        CallerNotRegistered,
        NewConnectionNeeded,
        NonStandardReason(non_standard()),
        ReplaceWithConferenceInvite(CONF_GUID),
        GenericDataReason,
        NeededFeatureNotSupported,
        TunnelledSignallingRejected,
        InvalidCid,
        SecurityError(SecurityErrors::IntegrityFailed),
        HopCountExceeded,
        Other(UnknownAlternative {
            index: 40,
            encoding: vec![0x00],
        }),
    ]
}

/// The Facility of H.460.18 that binds a new connection to a call.
pub fn facility_h460_18() -> H323UserInformation {
    H323UserInformation::new(FacilityUuie::new(call_id(), FacilityReason::UndefinedReason).into())
}

pub fn facility_full() -> H323UserInformation {
    let mut m = FacilityUuie::new(call_id(), FacilityReason::StartH245);
    m.alternative_address = Some(ip([203, 0, 113, 1], 1720));
    m.alternative_alias_address = Some(callee_aliases());
    m.conference_id = Some(CONF_GUID);
    m.dest_extra_call_info = Some(caller_aliases());
    m.remote_extension_address = Some(AliasAddress::DialledDigits("12".into()));
    m.tokens = Some(clear_tokens());
    m.crypto_tokens = Some(crypto());
    m.h245_address = Some(ip([192, 0, 2, 10], 30003));
    m.fast_start = Some(vec![H245_OLC.to_vec()]);
    m.multiple_calls = true;
    m.maintain_connection = true;
    m.fast_connect_refused = true;
    m.feature_set = Some(features());
    m.destination_info = Some(EndpointType::gatekeeper());
    m.h245_security_mode = Some(H245Security::NoSecurity);
    tunnelled(m.into(), 2)
}

pub fn progress() -> H323UserInformation {
    let mut m = ProgressUuie::new(call_id());
    m.destination_info = endpoint();
    m.h245_address = Some(ip([192, 0, 2, 40], 30004));
    m.h245_security_mode = Some(H245Security::NoSecurity);
    m.tokens = Some(clear_tokens());
    m.crypto_tokens = Some(crypto());
    m.fast_start = Some(vec![H245_OLC.to_vec()]);
    m.maintain_connection = true;
    tunnelled(m.into(), 1)
}

pub fn status() -> H323UserInformation {
    let mut m = CallStatusUuie::new(call_id());
    m.tokens = Some(clear_tokens());
    H323UserInformation::new(MessageBody::Status(m))
}

pub fn status_inquiry() -> H323UserInformation {
    let mut m = CallStatusUuie::new(call_id());
    m.crypto_tokens = Some(crypto());
    H323UserInformation::new(MessageBody::StatusInquiry(m))
}

pub fn setup_ack() -> H323UserInformation {
    H323UserInformation::new(MessageBody::SetupAcknowledge(
        CallStatusUuie::new(call_id()),
    ))
}

pub fn notify() -> H323UserInformation {
    let mut m = NotifyUuie::new(call_id());
    m.connected_address = Some(callee_aliases());
    m.presentation_indicator = Some(PresentationIndicator::AddressNotAvailable);
    m.destination_info = Some(endpoint());
    m.display_name = Some(vec![DisplayName {
        language: None,
        name: "Bob B.".into(),
    }]);
    tunnelled(m.into(), 1)
}

/// One of every message body we send, with the Q.931 message type that carries it.
pub fn all() -> Vec<(&'static str, MessageType, H323UserInformation)> {
    vec![
        ("setup", MessageType::Setup, setup(true)),
        ("setup-all", MessageType::Setup, setup(false)),
        (
            "callProceeding",
            MessageType::CallProceeding,
            call_proceeding(),
        ),
        ("alerting", MessageType::Alerting, alerting()),
        ("connect", MessageType::Connect, connect()),
        ("information", MessageType::Information, information()),
        (
            "releaseComplete",
            MessageType::ReleaseComplete,
            release_complete(ReleaseCompleteReason::InConf),
        ),
        (
            "facility-h460.18",
            MessageType::Facility,
            facility_h460_18(),
        ),
        ("facility", MessageType::Facility, facility_full()),
        ("progress", MessageType::Progress, progress()),
        ("status", MessageType::Status, status()),
        (
            "statusInquiry",
            MessageType::StatusEnquiry,
            status_inquiry(),
        ),
        ("setupAcknowledge", MessageType::SetupAck, setup_ack()),
        ("notify", MessageType::Notify, notify()),
        (
            "empty",
            MessageType::Facility,
            H323UserInformation::new(MessageBody::Empty),
        ),
    ]
}
