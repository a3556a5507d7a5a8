//! H.245 messages with rich values, one or more per typed message type, shared by the codec
//! tests and the tshark tests.
#![allow(dead_code)] // each test binary uses a part

use std::net::{Ipv4Addr, SocketAddrV4};

use exp_h460::h245::*;
use exp_h460::per::{Oid, RawValue};

pub fn addr(a: [u8; 4], port: u16) -> TransportAddress {
    SocketAddrV4::new(Ipv4Addr::from(a), port).into()
}

pub fn traversal() -> TraversalParameters {
    TraversalParameters {
        multiplexed_media_channel: Some(addr([203, 0, 113, 5], 2776)),
        multiplexed_media_control_channel: Some(addr([203, 0, 113, 5], 2777)),
        multiplex_id: Some(0x0102_0304),
        keep_alive_channel: Some(addr([203, 0, 113, 5], 40000)),
        keep_alive_payload_type: Some(127),
        keep_alive_interval: Some(19),
    }
}

pub fn msd() -> MasterSlaveDetermination {
    MasterSlaveDetermination {
        terminal_type: 60,
        status_determination_number: 12345,
    }
}

pub fn h2250_capability() -> H2250Capability {
    H2250Capability {
        maximum_audio_delay_jitter: 250,
        media_packetization_capability: MediaPacketizationCapability {
            h261a_video_packetization: false,
            rtp_payload_type: Some(vec![RtpPayloadType {
                payload_descriptor: PayloadDescriptor::RfcNumber(2833),
                payload_type: Some(101),
            }]),
        },
        receive_multipoint_capability: MultipointCapability {
            multicast_capability: false,
            multi_uni_cast_conference: false,
            media_distribution_capability: vec![MediaDistributionCapability {
                centralized_control: true,
                centralized_audio: true,
                ..Default::default()
            }],
        },
        ..Default::default()
    }
}

pub fn tcs() -> TerminalCapabilitySet {
    let entry = |n: u16, c: Capability| CapabilityTableEntry {
        capability_table_entry_number: n,
        capability: Some(c),
    };
    TerminalCapabilitySet {
        sequence_number: 1,
        protocol_identifier: protocol_identifier(),
        multiplex_capability: Some(MultiplexCapability::H2250(h2250_capability())),
        capability_table: Some(vec![
            entry(
                1,
                Capability::ReceiveAudio(AudioCapability::G711Ulaw64k(20)),
            ),
            entry(
                2,
                Capability::ReceiveAudio(AudioCapability::G711Alaw64k(20)),
            ),
            entry(3, Capability::ReceiveAudio(AudioCapability::G729(2))),
            entry(
                4,
                Capability::TransmitAudio(AudioCapability::G7231 {
                    max_al_sdu_audio_frames: 1,
                    silence_suppression: true,
                }),
            ),
            entry(
                5,
                Capability::ReceiveAndTransmitAudio(AudioCapability::G722_64k(20)),
            ),
            CapabilityTableEntry {
                capability_table_entry_number: 6,
                capability: None,
            },
        ]),
        capability_descriptors: Some(vec![CapabilityDescriptor {
            capability_descriptor_number: 0,
            simultaneous_capabilities: Some(vec![vec![1, 2, 3], vec![4], vec![5]]),
        }]),
        generic_information: None,
    }
}

pub fn olc() -> OpenLogicalChannel {
    let mut o = OpenLogicalChannel::audio(
        1,
        AudioCapability::G711Ulaw64k(20),
        1,
        addr([192, 0, 2, 10], 49153),
    );
    if let Some(p) = o.h2250_mut() {
        p.silence_suppression = Some(false);
        p.media_guaranteed_delivery = Some(false);
        p.dynamic_rtp_payload_type = Some(101);
        p.destination = Some(TerminalLabel {
            mcu_number: 0,
            terminal_number: 1,
        });
        p.media_packetization = Some(MediaPacketization::RtpPayloadType(RtpPayloadType {
            payload_descriptor: PayloadDescriptor::Oid(Oid::new(&[0, 0, 8, 245, 1, 7])),
            payload_type: Some(0),
        }));
        p.source = Some(TerminalLabel {
            mcu_number: 0,
            terminal_number: 2,
        });
    }
    o.forward_logical_channel_parameters.replacement_for = Some(7);
    o.set_traversal_parameters(&traversal());
    o
}

pub fn olc_bidirectional() -> OpenLogicalChannel {
    let mut o =
        OpenLogicalChannel::audio(2, AudioCapability::G729(2), 1, addr([192, 0, 2, 10], 49155));
    o.forward_logical_channel_parameters.port_number = Some(5000);
    o.reverse_logical_channel_parameters = Some(ReverseLogicalChannelParameters {
        data_type: DataType::AudioData(AudioCapability::G729(2)),
        multiplex_parameters: Some(ReverseMultiplexParameters::H2250(
            H2250LogicalChannelParameters {
                session_id: 1,
                media_channel: Some(addr([192, 0, 2, 10], 49156)),
                nominal_audio_level: Some(20),
                ..Default::default()
            },
        )),
        reverse_logical_channel_dependency: None,
        replacement_for: Some(3),
    });
    o.encryption_sync = None;
    o
}

pub fn olc_ack() -> OpenLogicalChannelAck {
    let mut a = OpenLogicalChannelAck::new(
        1,
        addr([198, 51, 100, 7], 30000),
        addr([198, 51, 100, 7], 30001),
    );
    if let Some(p) = a.h2250_mut() {
        p.session_id = Some(1);
        p.dynamic_rtp_payload_type = Some(96);
        p.port_number = Some(3000);
    }
    a.reverse_logical_channel_parameters = Some(AckReverseLogicalChannelParameters {
        reverse_logical_channel_number: 9,
        port_number: None,
        multiplex_parameters: Some(ReverseMultiplexParameters::H2250(
            H2250LogicalChannelParameters {
                session_id: 1,
                media_control_channel: Some(addr([198, 51, 100, 7], 30003)),
                ..Default::default()
            },
        )),
        replacement_for: None,
    });
    a.set_traversal_parameters(&TraversalParameters {
        keep_alive_channel: Some(addr([203, 0, 113, 5], 40002)),
        keep_alive_payload_type: Some(127),
        keep_alive_interval: Some(19),
        ..Default::default()
    });
    a
}

/// Every message type typed here, as we send them.
pub fn all() -> Vec<(&'static str, MultimediaSystemControlMessage)> {
    vec![
        ("msd", msd().into()),
        ("tcs", tcs().into()),
        ("tcs-minimal", TerminalCapabilitySet::new(0).into()),
        ("olc", olc().into()),
        ("olc-bidirectional", olc_bidirectional().into()),
        (
            "clc",
            CloseLogicalChannel {
                forward_logical_channel_number: 1,
                source: ClcSource::Lcse,
                reason: Some(CloseReason::Reopen),
            }
            .into(),
        ),
        (
            "rcc",
            RequestChannelClose {
                forward_logical_channel_number: 2,
                qos_capability: None,
                reason: Some(CloseReason::Normal),
            }
            .into(),
        ),
        (
            "rtd-request",
            RoundTripDelayRequest { sequence_number: 7 }.into(),
        ),
        (
            "msd-ack",
            MasterSlaveDeterminationAck {
                decision: Decision::Slave,
            }
            .into(),
        ),
        (
            "msd-reject",
            MasterSlaveDeterminationReject {
                cause: MsdRejectCause::IdenticalNumbers,
            }
            .into(),
        ),
        (
            "tcs-ack",
            TerminalCapabilitySetAck {
                sequence_number: 1,
                generic_information: None,
            }
            .into(),
        ),
        (
            "tcs-reject",
            TerminalCapabilitySetReject {
                sequence_number: 1,
                cause: TcsRejectCause::TableEntryCapacityExceeded(Some(4)),
                generic_information: None,
            }
            .into(),
        ),
        ("olc-ack", olc_ack().into()),
        (
            "olc-reject",
            OpenLogicalChannelReject {
                forward_logical_channel_number: 3,
                cause: OlcRejectCause::DataTypeNotSupported,
                generic_information: None,
            }
            .into(),
        ),
        (
            "olc-reject-ext",
            OpenLogicalChannelReject {
                forward_logical_channel_number: 3,
                cause: OlcRejectCause::InvalidSessionID,
                generic_information: None,
            }
            .into(),
        ),
        (
            "clc-ack",
            CloseLogicalChannelAck {
                forward_logical_channel_number: 1,
            }
            .into(),
        ),
        (
            "rcc-ack",
            RequestChannelCloseAck {
                forward_logical_channel_number: 2,
            }
            .into(),
        ),
        (
            "rtd-response",
            RoundTripDelayResponse { sequence_number: 7 }.into(),
        ),
        ("end-session", EndSessionCommand::Disconnect.into()),
        (
            "user-input-alphanumeric",
            UserInputIndication::Alphanumeric(b"12#".to_vec()).into(),
        ),
        (
            "user-input-signal",
            UserInputIndication::Signal(Signal {
                rtp: Some(SignalRtp {
                    timestamp: Some(160),
                    expiration_time: None,
                    logical_channel_number: 1,
                }),
                ..Signal::digit(b'5', Some(250))
            })
            .into(),
        ),
    ]
}

/// Values only the codec tests use: every other typed alternative and addition.
pub fn extra() -> Vec<(&'static str, MultimediaSystemControlMessage)> {
    let mut tcs = tcs();
    tcs.generic_information = Some(vec![GenericMessage {
        message_identifier: CapabilityIdentifier::DomainBased("example.com".into()),
        sub_message_identifier: Some(3),
        message_content: Some(vec![
            GenericParameter::standard(0, ParameterValue::Logical),
            GenericParameter::standard(1, ParameterValue::BooleanArray(0xa5)),
            GenericParameter::standard(2, ParameterValue::UnsignedMin(300)),
            GenericParameter::standard(3, ParameterValue::UnsignedMax(65535)),
            GenericParameter::standard(4, ParameterValue::Unsigned32Min(70000)),
            GenericParameter::standard(5, ParameterValue::Unsigned32Max(u32::MAX)),
            GenericParameter {
                parameter_identifier: ParameterIdentifier::Uuid([7; 16]),
                parameter_value: ParameterValue::GenericParameter(vec![GenericParameter {
                    parameter_identifier: ParameterIdentifier::DomainBased("x".into()),
                    parameter_value: ParameterValue::OctetString(vec![1, 2, 3]),
                    supersedes: Some(vec![ParameterIdentifier::Standard(9)]),
                }]),
                supersedes: None,
            },
            GenericParameter {
                parameter_identifier: ParameterIdentifier::H221NonStandard(NonStandardParameter {
                    identifier: NonStandardIdentifier::H221 {
                        t35_country_code: 181,
                        t35_extension: 0,
                        manufacturer_code: 0x1234,
                    },
                    data: vec![0xde, 0xad],
                }),
                parameter_value: ParameterValue::Logical,
                supersedes: None,
            },
        ]),
    }]);
    if let Some(MultiplexCapability::H2250(c)) = &mut tcs.multiplex_capability {
        c.transport_capability = Some(RawValue(vec![0x00]));
        c.logical_channel_switching_capability = true;
        c.t120_dynamic_port_capability = true;
        c.centralized_conference_mc = true;
    }
    let ns = NonStandardParameter {
        identifier: NonStandardIdentifier::Object(Oid::new(&[1, 3, 6, 1, 4, 1, 99])),
        data: b"exp".to_vec(),
    };
    let mut olc = olc_bidirectional();
    olc.forward_logical_channel_parameters.data_type = DataType::NullData;
    olc.generic_information = Some(vec![GenericMessage {
        message_identifier: CapabilityIdentifier::Uuid([1; 16]),
        sub_message_identifier: None,
        message_content: None,
    }]);
    if let Some(p) = olc.h2250_mut() {
        p.non_standard = Some(vec![ns.clone()]);
        p.associated_session_id = Some(2);
        p.media_control_guaranteed_delivery = Some(true);
        p.media_channel = Some(TransportAddress::Unicast(UnicastAddress::Ip6Address {
            network: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            tsap_identifier: 4000,
        }));
        p.media_control_channel = Some(TransportAddress::Multicast(MulticastAddress::IpAddress {
            network: [239, 1, 2, 3],
            tsap_identifier: 4001,
        }));
        p.redundancy_encoding = Some(RawValue(vec![0x12, 0x34]));
    }
    let mut olc2 = olc_bidirectional();
    olc2.forward_logical_channel_parameters.data_type = DataType::NonStandard(ns.clone());
    olc2.forward_logical_channel_parameters.multiplex_parameters = ForwardMultiplexParameters::None;
    olc2.separate_stack = Some(RawValue(vec![0x40, 0x00]));
    olc2.forward_logical_channel_parameters
        .forward_logical_channel_dependency = Some(1);
    let mut ack = olc_ack();
    if let Some(p) = ack.h2250_mut() {
        p.non_standard = Some(vec![ns.clone()]);
        p.flow_control_to_zero = true;
        p.media_channel = Some(TransportAddress::Unicast(UnicastAddress::IpSourceRoute {
            routing: Routing::Loose,
            network: [10, 0, 0, 1],
            tsap_identifier: 1,
            route: vec![[10, 0, 0, 2], [10, 0, 0, 3]],
        }));
        p.media_control_channel = Some(TransportAddress::Unicast(UnicastAddress::Nsap(vec![
            1, 2, 3,
        ])));
    }
    ack.encryption_sync = Some(RawValue(vec![0x00, 0x01]));
    let unicast_others = vec![
        UnicastAddress::IpxAddress {
            node: [1, 2, 3, 4, 5, 6],
            netnum: [7, 8, 9, 10],
            tsap_identifier: [11, 12],
        },
        UnicastAddress::NetBios([0x41; 16]),
        UnicastAddress::NonStandard(ns.clone()),
    ];
    let mut out: Vec<(&'static str, MultimediaSystemControlMessage)> = vec![
        ("tcs-generic", tcs.into()),
        ("olc-null-data", olc.into()),
        ("olc-separate-stack", olc2.into()),
        ("olc-ack-rich", ack.into()),
        (
            "tcs-reject-none",
            TerminalCapabilitySetReject {
                sequence_number: 255,
                cause: TcsRejectCause::TableEntryCapacityExceeded(None),
                generic_information: Some(vec![traversal().to_generic_information()]),
            }
            .into(),
        ),
        (
            "end-session-generic",
            EndSessionCommand::GenericInformation(vec![traversal().to_generic_information()])
                .into(),
        ),
        (
            "end-session-isdn",
            EndSessionCommand::IsdnOptions(IsdnOptions::TerminalOnHold).into(),
        ),
        (
            "end-session-gstn",
            EndSessionCommand::GstnOptions(GstnOptions::V34H324).into(),
        ),
        (
            "end-session-ns",
            EndSessionCommand::NonStandard(ns.clone()).into(),
        ),
        (
            "user-input-ns",
            UserInputIndication::NonStandard(ns.clone()).into(),
        ),
        (
            "clc-network-error",
            CloseLogicalChannel {
                forward_logical_channel_number: 65535,
                source: ClcSource::User,
                reason: Some(CloseReason::NetworkErrorCode(42)),
            }
            .into(),
        ),
        (
            "clc-old-peer",
            CloseLogicalChannel {
                forward_logical_channel_number: 5,
                source: ClcSource::User,
                reason: None,
            }
            .into(),
        ),
        (
            "rcc-qos",
            RequestChannelClose {
                forward_logical_channel_number: 2,
                qos_capability: Some(RawValue(vec![0x00])),
                reason: Some(CloseReason::ReservationFailure),
            }
            .into(),
        ),
        (
            "msd-ack-master",
            MasterSlaveDeterminationAck {
                decision: Decision::Master,
            }
            .into(),
        ),
    ];
    for (i, u) in unicast_others.into_iter().enumerate() {
        let mut a = olc_ack();
        a.set_media_channel(Some(TransportAddress::Unicast(u)));
        let name: &'static str = ["olc-ack-ipx", "olc-ack-netbios", "olc-ack-ns"][i];
        out.push((name, a.into()));
    }
    out
}
