//! Sample RAS messages of every type exp sends, each with its optional components present
//! ("full") and absent ("minimal"), shared by the round-trip, bad-input and tshark tests.
#![allow(dead_code)] // each test binary uses a part

use exp_h460::features::{h460_18_feature, h460_19_feature, IncomingCallIndication};
use exp_h460::h225::*;
use exp_h460::per::{BitString, Oid, RawValue, UnknownAlternative};
use exp_h460::ras::*;
use exp_h460::tokens::*;

pub const ZONE_ALIAS: &str = "traversal-zone-a";
pub const GK_ID: &str = "exp-e";
pub const EP_ID: &str = "ep-0001";
/// The call-signalling address sent in the incoming-call indication (exp-e's 2777).
pub const CS_ADDR: [u8; 4] = [192, 0, 2, 10];
pub const CALL_GUID: [u8; 16] = [
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xf0, 0x01,
];

pub fn ip(a: [u8; 4], port: u16) -> TransportAddress {
    TransportAddress::Ip { ip: a, port }
}

fn vendor() -> VendorIdentifier {
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

fn non_standard() -> NonStandardParameter {
    NonStandardParameter {
        identifier: NonStandardIdentifier::H221(H221NonStandard {
            t35_country_code: 181,
            t35_extension: 0,
            manufacturer_code: 1,
        }),
        data: vec![1, 2, 3],
    }
}

fn aliases() -> Vec<AliasAddress> {
    vec![
        AliasAddress::H323Id(ZONE_ALIAS.into()),
        AliasAddress::DialledDigits("1234#*,9".into()),
        AliasAddress::UrlId("h323:zone-a@example.net".into()),
        AliasAddress::EmailId("ops@example.net".into()),
        AliasAddress::TransportId(ip([198, 51, 100, 7], 1720)),
    ]
}

/// H.235.1 token as exp-c sends it (hash zero: the tests compare structure, not HMACs).
pub fn crypto() -> Vec<CryptoH323Token> {
    vec![CryptoH323Token::h235_1(
        GK_ID,
        ZONE_ALIAS,
        1_800_000_000,
        0x1234_5678,
    )]
}

fn clear_tokens() -> Vec<ClearToken> {
    vec![ClearToken {
        token_oid: Oid::new(&[0, 0, 8, 235, 0, 2, 5]),
        time_stamp: Some(1_800_000_000),
        random: Some(-5),
        general_id: Some(GK_ID.into()),
        challenge: Some(vec![7; 8]),
        senders_id: Some(ZONE_ALIAS.into()),
        ..Default::default()
    }]
}

fn features_client() -> FeatureSet {
    FeatureSet {
        replacement_feature_set: false,
        needed_features: None,
        desired_features: Some(vec![h460_19_feature(true, false)]),
        supported_features: Some(vec![h460_18_feature(), h460_19_feature(true, false)]),
    }
}

fn features_server() -> FeatureSet {
    FeatureSet {
        replacement_feature_set: false,
        needed_features: None,
        desired_features: None,
        supported_features: Some(vec![h460_18_feature(), h460_19_feature(false, true)]),
    }
}

fn generic() -> Vec<GenericData> {
    vec![GenericData {
        id: GenericIdentifier::Standard(20000),
        parameters: Some(vec![
            EnumeratedParameter::standard(1, Some(Content::Number32(4_000_000_000))),
            EnumeratedParameter::standard(2, Some(Content::Text("hello".into()))),
            EnumeratedParameter::standard(3, Some(Content::Unicode("zoné".into()))),
            EnumeratedParameter::standard(4, Some(Content::Bool(true))),
            EnumeratedParameter::standard(5, Some(Content::Number8(8))),
            EnumeratedParameter::standard(6, Some(Content::Number16(1600))),
            EnumeratedParameter::standard(
                7,
                Some(Content::Id(GenericIdentifier::Oid(Oid::new(&[
                    1, 3, 6, 1, 4, 1, 99999,
                ])))),
            ),
            EnumeratedParameter::standard(
                8,
                Some(Content::Alias(AliasAddress::H323Id("x".into()))),
            ),
            EnumeratedParameter::standard(9, Some(Content::Transport(ip([10, 1, 2, 3], 9)))),
            EnumeratedParameter::standard(
                10,
                Some(Content::Compound(vec![EnumeratedParameter::standard(
                    1,
                    Some(Content::Raw(vec![0xde, 0xad])),
                )])),
            ),
            EnumeratedParameter::standard(
                11,
                Some(Content::Nested(vec![GenericData::standard(3)])),
            ),
            EnumeratedParameter {
                id: GenericIdentifier::NonStandard([9; 16]),
                content: None,
            },
        ]),
    }]
}

fn alt_gk() -> AlternateGK {
    AlternateGK {
        ras_address: ip([203, 0, 113, 5], 1719),
        gatekeeper_identifier: Some("exp-e-2".into()),
        need_to_register: true,
        priority: 1,
    }
}

pub fn grq_full() -> GatekeeperRequest {
    GatekeeperRequest {
        request_seq_num: 1,
        protocol_identifier: ProtocolIdentifier::h225(4),
        non_standard_data: Some(non_standard()),
        ras_address: ip([10, 0, 0, 1], 1719),
        endpoint_type: EndpointType {
            vendor: Some(vendor()),
            terminal: Some(TerminalInfo::default()),
            set: Some([0, 0, 0, 1]),
            ..Default::default()
        },
        gatekeeper_identifier: Some(GK_ID.into()),
        call_services: Some(QseriesOptions {
            q932_full: true,
            three_party_service: true,
            ..Default::default()
        }),
        endpoint_alias: Some(aliases()),
        alternate_endpoints: None,
        tokens: Some(clear_tokens()),
        crypto_tokens: Some(crypto()),
        authentication_capability: Some(vec![AuthenticationMechanism::PwdHash]),
        algorithm_oids: Some(vec![Oid::new(exp_h460::h235::OID_U)]),
        integrity: None,
        integrity_check_value: None,
        supports_alt_gk: true,
        feature_set: Some(features_client()),
        generic_data: Some(generic()),
        supports_assigned_gk: true,
        assigned_gatekeeper: Some(alt_gk()),
    }
}

pub fn grq_minimal() -> GatekeeperRequest {
    GatekeeperRequest {
        request_seq_num: 1,
        ras_address: ip([10, 0, 0, 1], 1719),
        endpoint_type: EndpointType::terminal(),
        ..Default::default()
    }
}

pub fn gcf_full() -> GatekeeperConfirm {
    GatekeeperConfirm {
        request_seq_num: 1,
        protocol_identifier: ProtocolIdentifier::default(),
        non_standard_data: Some(non_standard()),
        gatekeeper_identifier: Some(GK_ID.into()),
        ras_address: ip([192, 0, 2, 10], 6001),
        alternate_gatekeeper: Some(vec![alt_gk()]),
        authentication_mode: Some(AuthenticationMechanism::PwdHash),
        tokens: None,
        crypto_tokens: Some(crypto()),
        algorithm_oid: Some(Oid::new(exp_h460::h235::OID_U)),
        integrity: None,
        integrity_check_value: None,
        feature_set: Some(features_server()),
        generic_data: None,
        assigned_gatekeeper: None,
        rehoming_model: None,
    }
}

pub fn gcf_minimal() -> GatekeeperConfirm {
    GatekeeperConfirm {
        request_seq_num: 2,
        ras_address: ip([192, 0, 2, 10], 6001),
        ..Default::default()
    }
}

pub fn grj(reason: GatekeeperRejectReason) -> GatekeeperReject {
    GatekeeperReject {
        gatekeeper_identifier: Some(GK_ID.into()),
        alt_gk_info: Some(AltGKInfo {
            alternate_gatekeeper: vec![alt_gk()],
            alt_gk_is_permanent: false,
        }),
        ..GatekeeperReject::new(3, reason)
    }
}

pub fn rrq_full() -> RegistrationRequest {
    RegistrationRequest {
        request_seq_num: 10,
        protocol_identifier: ProtocolIdentifier::h225(4),
        non_standard_data: None,
        discovery_complete: true,
        call_signal_address: vec![ip([10, 0, 0, 1], 1720)],
        ras_address: vec![ip([10, 0, 0, 1], 1719)],
        terminal_type: EndpointType {
            gateway: Some(GatewayInfo {
                protocol: Some(vec![SupportedProtocols::Caps(
                    CapsKind::H323,
                    Caps {
                        non_standard_data: None,
                        data_rates_supported: Some(vec![DataRate {
                            non_standard_data: None,
                            channel_rate: 38400,
                            channel_multiplier: Some(2),
                        }]),
                        supported_prefixes: vec![SupportedPrefix {
                            non_standard_data: None,
                            prefix: AliasAddress::DialledDigits("9".into()),
                        }],
                    },
                )]),
                non_standard_data: None,
            }),
            mcu: Some(McuInfo::default()),
            mc: true,
            ..Default::default()
        },
        terminal_alias: Some(vec![AliasAddress::H323Id(ZONE_ALIAS.into())]),
        gatekeeper_identifier: Some(GK_ID.into()),
        endpoint_vendor: vendor(),
        time_to_live: Some(60),
        tokens: Some(clear_tokens()),
        crypto_tokens: Some(crypto()),
        keep_alive: false,
        endpoint_identifier: None,
        will_supply_uuies: true,
        maintain_connection: false,
        additive_registration: true,
        supports_alt_gk: true,
        multiple_calls: Some(false),
        alternate_transport_addresses: Some(RawValue(vec![0x00])),
        feature_set: Some(features_client()),
        generic_data: Some(vec![h460_18_feature()]),
        restart: true,
        supports_acf_sequences: true,
        supports_assigned_gk: true,
        assigned_gatekeeper: Some(alt_gk()),
        language: Some(vec!["en".into(), "fr-CA".into()]),
        ..Default::default()
    }
}

/// The lightweight RRQ of the H.460.18 keep-alive: `keepAlive`, identifiers, no aliases.
pub fn rrq_keep_alive() -> RegistrationRequest {
    RegistrationRequest {
        request_seq_num: 11,
        discovery_complete: false,
        call_signal_address: vec![ip([10, 0, 0, 1], 1720)],
        ras_address: vec![ip([10, 0, 0, 1], 1719)],
        terminal_type: EndpointType::terminal(),
        gatekeeper_identifier: Some(GK_ID.into()),
        endpoint_vendor: vendor(),
        time_to_live: Some(60),
        crypto_tokens: Some(crypto()),
        keep_alive: true,
        endpoint_identifier: Some(EP_ID.into()),
        ..Default::default()
    }
}

pub fn rrq_minimal() -> RegistrationRequest {
    RegistrationRequest {
        request_seq_num: 12,
        ..Default::default()
    }
}

pub fn rcf_full() -> RegistrationConfirm {
    RegistrationConfirm {
        request_seq_num: 10,
        protocol_identifier: ProtocolIdentifier::default(),
        non_standard_data: Some(non_standard()),
        call_signal_address: vec![ip(CS_ADDR, 2777)],
        terminal_alias: Some(vec![AliasAddress::H323Id(ZONE_ALIAS.into())]),
        gatekeeper_identifier: Some(GK_ID.into()),
        endpoint_identifier: EP_ID.into(),
        alternate_gatekeeper: Some(vec![alt_gk()]),
        time_to_live: Some(60),
        crypto_tokens: Some(crypto()),
        will_respond_to_irr: false,
        maintain_connection: true,
        service_control: Some(vec![ServiceControlSession {
            session_id: 0,
            contents: Some(ServiceControlDescriptor::CallCredit(
                CallCreditServiceControl {
                    amount_string: Some("10 EUR".into()),
                    billing_mode: Some(BillingMode::Debit),
                    call_duration_limit: Some(3600),
                    enforce_call_duration_limit: Some(true),
                    call_starting_point: Some(CallStartingPoint::Connect),
                },
            )),
            reason: ServiceControlReason::Open,
        }]),
        supports_additive_registration: true,
        supported_prefixes: Some(vec![SupportedPrefix {
            non_standard_data: None,
            prefix: AliasAddress::DialledDigits("00".into()),
        }]),
        feature_server_alias: Some(AliasAddress::UrlId("h323:fs@example.net".into())),
        feature_set: Some(features_server()),
        generic_data: Some(vec![h460_18_feature()]),
        assigned_gatekeeper: None,
        ..Default::default()
    }
}

pub fn rcf_minimal() -> RegistrationConfirm {
    RegistrationConfirm {
        request_seq_num: 13,
        endpoint_identifier: EP_ID.into(),
        ..Default::default()
    }
}

pub fn rrj(reason: RegistrationRejectReason) -> RegistrationReject {
    RegistrationReject {
        gatekeeper_identifier: Some(GK_ID.into()),
        ..RegistrationReject::new(10, reason)
    }
}

pub fn rrj_reasons() -> Vec<RegistrationRejectReason> {
    vec![
        RegistrationRejectReason::SecurityDenial,
        RegistrationRejectReason::GenericDataReason,
        RegistrationRejectReason::SecurityError(SecurityErrors::IntegrityFailed),
        RegistrationRejectReason::SecurityError(SecurityErrors::WrongSyncTime),
        RegistrationRejectReason::SecurityError(SecurityErrors::Replay),
        RegistrationRejectReason::FullRegistrationRequired,
        RegistrationRejectReason::DuplicateAlias(vec![AliasAddress::H323Id("dup".into())]),
        RegistrationRejectReason::DiscoveryRequired,
        RegistrationRejectReason::NeededFeatureNotSupported,
        RegistrationRejectReason::RegisterWithAssignedGk,
    ]
}

pub fn urq_full() -> UnregistrationRequest {
    UnregistrationRequest {
        request_seq_num: 20,
        call_signal_address: vec![ip([10, 0, 0, 1], 1720)],
        endpoint_alias: Some(vec![AliasAddress::H323Id(ZONE_ALIAS.into())]),
        non_standard_data: Some(non_standard()),
        endpoint_identifier: Some(EP_ID.into()),
        gatekeeper_identifier: Some(GK_ID.into()),
        crypto_tokens: Some(crypto()),
        reason: Some(UnregRequestReason::SecurityError(SecurityErrors2::WrongOid)),
        generic_data: Some(vec![h460_18_feature()]),
        ..Default::default()
    }
}

pub fn urq_minimal() -> UnregistrationRequest {
    UnregistrationRequest {
        request_seq_num: 21,
        call_signal_address: vec![],
        ..Default::default()
    }
}

pub fn ucf_full() -> UnregistrationConfirm {
    UnregistrationConfirm {
        request_seq_num: 20,
        non_standard_data: Some(non_standard()),
        crypto_tokens: Some(crypto()),
        generic_data: Some(vec![h460_18_feature()]),
        ..Default::default()
    }
}

pub fn ucf_minimal() -> UnregistrationConfirm {
    UnregistrationConfirm {
        request_seq_num: 21,
        ..Default::default()
    }
}

pub fn urj() -> UnregistrationReject {
    UnregistrationReject {
        crypto_tokens: Some(crypto()),
        ..UnregistrationReject::new(22, UnregRejectReason::SecurityDenial)
    }
}

pub fn indication() -> IncomingCallIndication {
    IncomingCallIndication {
        call_signalling_address: ip(CS_ADDR, 2777),
        call_id: CallIdentifier { guid: CALL_GUID },
    }
}

pub fn sci_incoming_call() -> ServiceControlIndication {
    ServiceControlIndication {
        crypto_tokens: Some(crypto()),
        ..ServiceControlIndication::incoming_call(30, &indication())
    }
}

pub fn sci_full() -> ServiceControlIndication {
    ServiceControlIndication {
        request_seq_num: 31,
        non_standard_data: Some(non_standard()),
        service_control: vec![ServiceControlSession {
            session_id: 7,
            contents: Some(ServiceControlDescriptor::Url("http://example.net/x".into())),
            reason: ServiceControlReason::Refresh,
        }],
        endpoint_identifier: Some(EP_ID.into()),
        call_specific: Some(CallSpecific {
            call_identifier: CallIdentifier { guid: CALL_GUID },
            conference_id: [5; 16],
            answered_call: true,
        }),
        tokens: Some(clear_tokens()),
        crypto_tokens: Some(crypto()),
        integrity_check_value: Some(Icv {
            algorithm_oid: Oid::new(&[1, 2, 3]),
            icv: BitString {
                bytes: vec![0xf0],
                len: 4,
            },
        }),
        feature_set: Some(features_server()),
        generic_data: Some(vec![indication().to_generic_data()]),
    }
}

pub fn scr_full() -> ServiceControlResponse {
    ServiceControlResponse {
        request_seq_num: 30,
        result: Some(ServiceControlResult::Started),
        non_standard_data: Some(non_standard()),
        tokens: Some(clear_tokens()),
        crypto_tokens: Some(crypto()),
        integrity_check_value: None,
        feature_set: Some(features_client()),
        generic_data: Some(vec![h460_18_feature()]),
    }
}

pub fn scr_minimal() -> ServiceControlResponse {
    ServiceControlResponse {
        request_seq_num: 32,
        ..Default::default()
    }
}

/// An endpoint type with every kind of field, including unknown extension alternatives.
pub fn odd_values() -> GatekeeperRequest {
    GatekeeperRequest {
        request_seq_num: 65535,
        ras_address: TransportAddress::Ip6 {
            ip: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            port: 1719,
        },
        endpoint_type: EndpointType {
            supported_tunnelled_protocols: Some(vec![
                TunnelledProtocol {
                    id: TunnelledProtocolId::Object(Oid::new(&[0, 0, 8, 2250, 1])),
                    sub_identifier: Some("sub".into()),
                },
                TunnelledProtocol {
                    id: TunnelledProtocolId::Alternate {
                        protocol_type: "qsig".into(),
                        protocol_variant: None,
                    },
                    sub_identifier: None,
                },
            ]),
            gatekeeper: Some(GatekeeperInfo::default()),
            undefined_node: true,
            ..Default::default()
        },
        endpoint_alias: Some(vec![
            AliasAddress::Other(UnknownAlternative {
                index: 3,
                encoding: vec![0x00, 0x01, 0x02],
            }),
            AliasAddress::TransportId(TransportAddress::IpSourceRoute {
                ip: [1, 2, 3, 4],
                port: 5,
                route: vec![[6, 7, 8, 9]],
                routing: Routing::Loose,
            }),
            AliasAddress::TransportId(TransportAddress::Ipx {
                node: [1; 6],
                netnum: [2; 4],
                port: [3; 2],
            }),
            AliasAddress::TransportId(TransportAddress::NetBios([4; 16])),
            AliasAddress::TransportId(TransportAddress::Nsap(vec![5; 20])),
        ]),
        crypto_tokens: Some(vec![
            CryptoH323Token::EpPwdHash {
                alias: AliasAddress::H323Id("a".into()),
                time_stamp: 1,
                token: Hashed {
                    algorithm_oid: Oid::new(&[1, 2]),
                    params: Params {
                        ran_int: Some(-300),
                        iv8: Some([8; 8]),
                        iv16: Some([16; 16]),
                        iv: Some(vec![1]),
                        clear_salt: None,
                    },
                    hash: BitString::from_bytes(vec![0xaa; 16]),
                },
            },
            CryptoH323Token::GkPwdEncr(Encrypted {
                algorithm_oid: Oid::new(&[2, 999, 3]),
                params: Params::default(),
                encrypted_data: vec![1, 2, 3],
            }),
            CryptoH323Token::Nested(CryptoToken::Signed {
                token_oid: Oid::new(&[1, 1]),
                token: Signed {
                    to_be_signed: vec![0x42],
                    algorithm_oid: Oid::new(&[1, 1]),
                    params: Params::default(),
                    signature: BitString::from_bytes(vec![1, 2]),
                },
            }),
        ]),
        tokens: Some(vec![ClearToken {
            token_oid: Oid::new(&[0, 0]),
            password: Some("pw".into()),
            dhkey: Some(DhSet {
                halfkey: BitString::from_bytes(vec![1, 2, 3]),
                mod_size: BitString::default(),
                generator: BitString {
                    bytes: vec![0x80],
                    len: 1,
                },
            }),
            certificate: Some(TypedCertificate {
                kind: Oid::new(&[1, 2, 840]),
                certificate: vec![0x30, 0x00],
            }),
            non_standard: Some(H235NonStandard {
                identifier: Oid::new(&[1, 2]),
                data: vec![],
            }),
            ..Default::default()
        }]),
        authentication_capability: Some(vec![
            AuthenticationMechanism::DhExch,
            AuthenticationMechanism::Tls,
            AuthenticationMechanism::KeyExch(Oid::new(&[0, 0, 8, 235, 0, 3, 43])),
        ]),
        integrity: Some(RawValue(vec![0x01, 0x20])),
        ..Default::default()
    }
}

/// Every sample, named, as a RAS message.
pub fn all() -> Vec<(String, RasMessage)> {
    let mut v: Vec<(String, RasMessage)> = vec![
        ("grq_full".into(), grq_full().into()),
        ("grq_minimal".into(), grq_minimal().into()),
        ("grq_odd_values".into(), odd_values().into()),
        ("gcf_full".into(), gcf_full().into()),
        ("gcf_minimal".into(), gcf_minimal().into()),
        (
            "grj_security_error".into(),
            grj(GatekeeperRejectReason::SecurityError(
                SecurityErrors::WrongSyncTime,
            ))
            .into(),
        ),
        (
            "grj_minimal".into(),
            GatekeeperReject::new(4, GatekeeperRejectReason::ResourceUnavailable).into(),
        ),
        (
            "grj_generic_data_reason".into(),
            grj(GatekeeperRejectReason::GenericDataReason).into(),
        ),
        ("rrq_full".into(), rrq_full().into()),
        ("rrq_keep_alive".into(), rrq_keep_alive().into()),
        ("rrq_minimal".into(), rrq_minimal().into()),
        ("rcf_full".into(), rcf_full().into()),
        ("rcf_minimal".into(), rcf_minimal().into()),
        ("urq_full".into(), urq_full().into()),
        ("urq_minimal".into(), urq_minimal().into()),
        ("ucf_full".into(), ucf_full().into()),
        ("ucf_minimal".into(), ucf_minimal().into()),
        ("urj".into(), urj().into()),
        ("sci_incoming_call".into(), sci_incoming_call().into()),
        ("sci_full".into(), sci_full().into()),
        (
            "sci_minimal".into(),
            ServiceControlIndication {
                request_seq_num: 33,
                ..Default::default()
            }
            .into(),
        ),
        ("scr_full".into(), scr_full().into()),
        ("scr_minimal".into(), scr_minimal().into()),
    ];
    for (i, r) in rrj_reasons().into_iter().enumerate() {
        v.push((format!("rrj_{i}"), rrj(r).into()));
    }
    v.push((
        "rrj_minimal".into(),
        RegistrationReject::new(9, RegistrationRejectReason::UndefinedReason).into(),
    ));
    v
}
