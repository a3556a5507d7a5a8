//! H.245 types that several messages share: non-standard parameters, the H.245 transport
//! address (a different layout from H.225.0's), terminal labels, and the generic message
//! framework (`GenericMessage` / `GenericParameter`) that H.460.19 rides on.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::per::{Choice, Error, Oid, Per, Reader, UnknownAlternative, Writer};

/// An [`UnknownAlternative`] for extension alternative `index` encoded as `d`.
pub(crate) fn unknown(index: u32, d: &[u8]) -> UnknownAlternative {
    UnknownAlternative {
        index,
        encoding: d.to_vec(),
    }
}

/// `LogicalChannelNumber ::= INTEGER (1..65535)`.
pub(crate) fn put_lcn(w: &mut Writer, v: u16) {
    w.constrained(u64::from(v), 1, 65535, "logicalChannelNumber");
}

/// Reads a `LogicalChannelNumber`.
pub(crate) fn get_lcn(r: &mut Reader<'_>) -> Result<u16, Error> {
    Ok(r.constrained(1, 65535, "logicalChannelNumber")? as u16)
}

/// `SEQUENCE OF GenericInformation` (unbounded).
pub(crate) fn put_generic_list(w: &mut Writer, v: &[GenericInformation]) {
    w.seq_of(v, 0, None, "genericInformation", |w, g| g.encode_to(w));
}

/// Reads a `SEQUENCE OF GenericInformation`.
pub(crate) fn get_generic_list(r: &mut Reader<'_>) -> Result<Vec<GenericInformation>, Error> {
    r.seq_of(0, None, "genericInformation", GenericMessage::decode_from)
}

/// `NonStandardParameter ::= SEQUENCE { nonStandardIdentifier, data OCTET STRING }`
/// (H.245: not extensible, unlike H.225.0's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NonStandardParameter {
    /// `nonStandardIdentifier`.
    pub identifier: NonStandardIdentifier,
    /// `data`.
    pub data: Vec<u8>,
}

impl Per for NonStandardParameter {
    fn encode_to(&self, w: &mut Writer) {
        self.identifier.encode_to(w);
        w.octet_string(&self.data, 0, None, "nonStandardData");
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(NonStandardParameter {
            identifier: r.get()?,
            data: r.octet_string(0, None, "nonStandardData")?,
        })
    }
}

/// `NonStandardIdentifier ::= CHOICE { object, h221NonStandard SEQUENCE {...} }` (H.245:
/// neither the CHOICE nor the SEQUENCE is extensible).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NonStandardIdentifier {
    /// `object`.
    Object(Oid),
    /// `h221NonStandard`.
    H221 {
        /// `t35CountryCode`.
        t35_country_code: u8,
        /// `t35Extension`.
        t35_extension: u8,
        /// `manufacturerCode`.
        manufacturer_code: u16,
    },
}

impl Per for NonStandardIdentifier {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::Object(o) => {
                w.choice_root(0, 2, false);
                w.oid(o);
            }
            Self::H221 {
                t35_country_code,
                t35_extension,
                manufacturer_code,
            } => {
                w.choice_root(1, 2, false);
                w.constrained(u64::from(*t35_country_code), 0, 255, "t35CountryCode");
                w.constrained(u64::from(*t35_extension), 0, 255, "t35Extension");
                w.constrained(u64::from(*manufacturer_code), 0, 65535, "manufacturerCode");
            }
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(2, false)? {
            Choice::Root(0) => Self::Object(r.oid()?),
            _ => Self::H221 {
                t35_country_code: r.constrained(0, 255, "t35CountryCode")? as u8,
                t35_extension: r.constrained(0, 255, "t35Extension")? as u8,
                manufacturer_code: r.constrained(0, 65535, "manufacturerCode")? as u16,
            },
        })
    }
}

/// H.245 `TransportAddress ::= CHOICE { unicastAddress, multicastAddress, ... }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransportAddress {
    /// `unicastAddress`.
    Unicast(UnicastAddress),
    /// `multicastAddress`.
    Multicast(MulticastAddress),
    /// A later alternative.
    Other(UnknownAlternative),
}

impl TransportAddress {
    /// The IPv4 socket address of a unicast `iPAddress`.
    pub fn ipv4(&self) -> Option<SocketAddrV4> {
        match self {
            Self::Unicast(UnicastAddress::IpAddress {
                network,
                tsap_identifier,
            }) => Some(SocketAddrV4::new(
                Ipv4Addr::from(*network),
                *tsap_identifier,
            )),
            _ => None,
        }
    }
}

impl From<SocketAddrV4> for TransportAddress {
    fn from(a: SocketAddrV4) -> Self {
        TransportAddress::Unicast(a.into())
    }
}

impl Per for TransportAddress {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::Unicast(u) => {
                w.choice_root(0, 2, true);
                u.encode_to(w);
            }
            Self::Multicast(m) => {
                w.choice_root(1, 2, true);
                m.encode_to(w);
            }
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(2, true)? {
            Choice::Root(0) => Self::Unicast(r.get()?),
            Choice::Root(_) => Self::Multicast(r.get()?),
            Choice::Ext(i, d) => Self::Other(unknown(i, d)),
        })
    }
}

/// `routing` of `iPSourceRouteAddress`: `CHOICE { strict NULL, loose NULL }` (not
/// extensible).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routing {
    /// `strict`.
    Strict,
    /// `loose`.
    Loose,
}

/// `UnicastAddress`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnicastAddress {
    /// `iPAddress SEQUENCE { network OCTET STRING (SIZE(4)), tsapIdentifier INTEGER
    /// (0..65535), ... }`.
    IpAddress {
        /// `network`.
        network: [u8; 4],
        /// `tsapIdentifier` (the port).
        tsap_identifier: u16,
    },
    /// `iPXAddress`.
    IpxAddress {
        /// `node`.
        node: [u8; 6],
        /// `netnum`.
        netnum: [u8; 4],
        /// `tsapIdentifier`.
        tsap_identifier: [u8; 2],
    },
    /// `iP6Address`.
    Ip6Address {
        /// `network`.
        network: [u8; 16],
        /// `tsapIdentifier`.
        tsap_identifier: u16,
    },
    /// `netBios`.
    NetBios([u8; 16]),
    /// `iPSourceRouteAddress`.
    IpSourceRoute {
        /// `routing`.
        routing: Routing,
        /// `network`.
        network: [u8; 4],
        /// `tsapIdentifier`.
        tsap_identifier: u16,
        /// `route`.
        route: Vec<[u8; 4]>,
    },
    /// `nsap` (extension, 1..20 octets).
    Nsap(Vec<u8>),
    /// `nonStandardAddress` (extension).
    NonStandard(NonStandardParameter),
    /// A later alternative.
    Other(UnknownAlternative),
}

impl From<SocketAddrV4> for UnicastAddress {
    fn from(a: SocketAddrV4) -> Self {
        UnicastAddress::IpAddress {
            network: a.ip().octets(),
            tsap_identifier: a.port(),
        }
    }
}

/// `network` and `tsapIdentifier` of an extensible IPv4/IPv6 address SEQUENCE.
fn put_ip<const N: usize>(w: &mut Writer, network: &[u8; N], port: u16) {
    w.preamble(Some(false), &[]);
    w.octet_string(network, N, Some(N), "network");
    w.constrained(u64::from(port), 0, 65535, "tsapIdentifier");
}

fn get_ip<const N: usize>(r: &mut Reader<'_>) -> Result<([u8; N], u16), Error> {
    let (ext, _) = r.preamble(true, 0)?;
    let network = r.octet_array::<N>("network")?;
    let port = r.constrained(0, 65535, "tsapIdentifier")? as u16;
    r.additions(ext)?;
    Ok((network, port))
}

impl Per for UnicastAddress {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::IpAddress {
                network,
                tsap_identifier,
            } => {
                w.choice_root(0, 5, true);
                put_ip(w, network, *tsap_identifier);
            }
            Self::IpxAddress {
                node,
                netnum,
                tsap_identifier,
            } => {
                w.choice_root(1, 5, true);
                w.preamble(Some(false), &[]);
                w.octet_string(node, 6, Some(6), "node");
                w.octet_string(netnum, 4, Some(4), "netnum");
                w.octet_string(tsap_identifier, 2, Some(2), "tsapIdentifier");
            }
            Self::Ip6Address {
                network,
                tsap_identifier,
            } => {
                w.choice_root(2, 5, true);
                put_ip(w, network, *tsap_identifier);
            }
            Self::NetBios(n) => {
                w.choice_root(3, 5, true);
                w.octet_string(n, 16, Some(16), "netBios");
            }
            Self::IpSourceRoute {
                routing,
                network,
                tsap_identifier,
                route,
            } => {
                w.choice_root(4, 5, true);
                w.preamble(Some(false), &[]);
                w.choice_root(u32::from(*routing == Routing::Loose), 2, false);
                w.octet_string(network, 4, Some(4), "network");
                w.constrained(u64::from(*tsap_identifier), 0, 65535, "tsapIdentifier");
                w.seq_of(route, 0, None, "route", |w, r| {
                    w.octet_string(r, 4, Some(4), "route")
                });
            }
            Self::Nsap(n) => w.choice_ext(0, |w| w.octet_string(n, 1, Some(20), "nsap")),
            Self::NonStandard(n) => w.choice_ext(1, |w| n.encode_to(w)),
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(5, true)? {
            Choice::Root(0) => {
                let (network, tsap_identifier) = get_ip::<4>(r)?;
                Self::IpAddress {
                    network,
                    tsap_identifier,
                }
            }
            Choice::Root(1) => {
                let (ext, _) = r.preamble(true, 0)?;
                let v = Self::IpxAddress {
                    node: r.octet_array("node")?,
                    netnum: r.octet_array("netnum")?,
                    tsap_identifier: r.octet_array("tsapIdentifier")?,
                };
                r.additions(ext)?;
                v
            }
            Choice::Root(2) => {
                let (network, tsap_identifier) = get_ip::<16>(r)?;
                Self::Ip6Address {
                    network,
                    tsap_identifier,
                }
            }
            Choice::Root(3) => Self::NetBios(r.octet_array("netBios")?),
            Choice::Root(_) => {
                let (ext, _) = r.preamble(true, 0)?;
                let routing = match r.choice(2, false)? {
                    Choice::Root(0) => Routing::Strict,
                    _ => Routing::Loose,
                };
                let v = Self::IpSourceRoute {
                    routing,
                    network: r.octet_array("network")?,
                    tsap_identifier: r.constrained(0, 65535, "tsapIdentifier")? as u16,
                    route: r.seq_of(0, None, "route", |r| r.octet_array("route"))?,
                };
                r.additions(ext)?;
                v
            }
            Choice::Ext(0, d) => Self::Nsap(r.sub(d).octet_string(1, Some(20), "nsap")?),
            Choice::Ext(1, d) => Self::NonStandard(r.sub(d).get()?),
            Choice::Ext(i, d) => Self::Other(unknown(i, d)),
        })
    }
}

/// `MulticastAddress`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MulticastAddress {
    /// `iPAddress`.
    IpAddress {
        /// `network`.
        network: [u8; 4],
        /// `tsapIdentifier`.
        tsap_identifier: u16,
    },
    /// `iP6Address`.
    Ip6Address {
        /// `network`.
        network: [u8; 16],
        /// `tsapIdentifier`.
        tsap_identifier: u16,
    },
    /// `nsap` (extension).
    Nsap(Vec<u8>),
    /// `nonStandardAddress` (extension).
    NonStandard(NonStandardParameter),
    /// A later alternative.
    Other(UnknownAlternative),
}

impl Per for MulticastAddress {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::IpAddress {
                network,
                tsap_identifier,
            } => {
                w.choice_root(0, 2, true);
                put_ip(w, network, *tsap_identifier);
            }
            Self::Ip6Address {
                network,
                tsap_identifier,
            } => {
                w.choice_root(1, 2, true);
                put_ip(w, network, *tsap_identifier);
            }
            Self::Nsap(n) => w.choice_ext(0, |w| w.octet_string(n, 1, Some(20), "nsap")),
            Self::NonStandard(n) => w.choice_ext(1, |w| n.encode_to(w)),
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(2, true)? {
            Choice::Root(0) => {
                let (network, tsap_identifier) = get_ip::<4>(r)?;
                Self::IpAddress {
                    network,
                    tsap_identifier,
                }
            }
            Choice::Root(_) => {
                let (network, tsap_identifier) = get_ip::<16>(r)?;
                Self::Ip6Address {
                    network,
                    tsap_identifier,
                }
            }
            Choice::Ext(0, d) => Self::Nsap(r.sub(d).octet_string(1, Some(20), "nsap")?),
            Choice::Ext(1, d) => Self::NonStandard(r.sub(d).get()?),
            Choice::Ext(i, d) => Self::Other(unknown(i, d)),
        })
    }
}

/// `TerminalLabel ::= SEQUENCE { mcuNumber INTEGER (0..192), terminalNumber INTEGER
/// (0..192), ... }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TerminalLabel {
    /// `mcuNumber`.
    pub mcu_number: u8,
    /// `terminalNumber`.
    pub terminal_number: u8,
}

impl Per for TerminalLabel {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[]);
        w.constrained(u64::from(self.mcu_number), 0, 192, "mcuNumber");
        w.constrained(u64::from(self.terminal_number), 0, 192, "terminalNumber");
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let v = TerminalLabel {
            mcu_number: r.constrained(0, 192, "mcuNumber")? as u8,
            terminal_number: r.constrained(0, 192, "terminalNumber")? as u8,
        };
        r.additions(ext)?;
        Ok(v)
    }
}

/// `CapabilityIdentifier ::= CHOICE { standard OBJECT IDENTIFIER, h221NonStandard, uuid
/// OCTET STRING (SIZE(16)), domainBased IA5String (SIZE(1..64)), ... }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CapabilityIdentifier {
    /// `standard`.
    Standard(Oid),
    /// `h221NonStandard`.
    H221NonStandard(NonStandardParameter),
    /// `uuid`.
    Uuid([u8; 16]),
    /// `domainBased`.
    DomainBased(String),
    /// A later alternative.
    Other(UnknownAlternative),
}

impl Per for CapabilityIdentifier {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::Standard(o) => {
                w.choice_root(0, 4, true);
                w.oid(o);
            }
            Self::H221NonStandard(n) => {
                w.choice_root(1, 4, true);
                n.encode_to(w);
            }
            Self::Uuid(u) => {
                w.choice_root(2, 4, true);
                w.octet_string(u, 16, Some(16), "uuid");
            }
            Self::DomainBased(s) => {
                w.choice_root(3, 4, true);
                w.ia5(s, 1, Some(64), "domainBased");
            }
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(4, true)? {
            Choice::Root(0) => Self::Standard(r.oid()?),
            Choice::Root(1) => Self::H221NonStandard(r.get()?),
            Choice::Root(2) => Self::Uuid(r.octet_array("uuid")?),
            Choice::Root(_) => Self::DomainBased(r.ia5(1, Some(64), "domainBased")?),
            Choice::Ext(i, d) => Self::Other(unknown(i, d)),
        })
    }
}

/// `ParameterIdentifier ::= CHOICE { standard INTEGER (0..127), h221NonStandard, uuid,
/// domainBased, ... }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParameterIdentifier {
    /// `standard`.
    Standard(u8),
    /// `h221NonStandard`.
    H221NonStandard(NonStandardParameter),
    /// `uuid`.
    Uuid([u8; 16]),
    /// `domainBased`.
    DomainBased(String),
    /// A later alternative.
    Other(UnknownAlternative),
}

impl Per for ParameterIdentifier {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::Standard(n) => {
                w.choice_root(0, 4, true);
                w.constrained(u64::from(*n), 0, 127, "standard");
            }
            Self::H221NonStandard(n) => {
                w.choice_root(1, 4, true);
                n.encode_to(w);
            }
            Self::Uuid(u) => {
                w.choice_root(2, 4, true);
                w.octet_string(u, 16, Some(16), "uuid");
            }
            Self::DomainBased(s) => {
                w.choice_root(3, 4, true);
                w.ia5(s, 1, Some(64), "domainBased");
            }
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(4, true)? {
            Choice::Root(0) => Self::Standard(r.constrained(0, 127, "standard")? as u8),
            Choice::Root(1) => Self::H221NonStandard(r.get()?),
            Choice::Root(2) => Self::Uuid(r.octet_array("uuid")?),
            Choice::Root(_) => Self::DomainBased(r.ia5(1, Some(64), "domainBased")?),
            Choice::Ext(i, d) => Self::Other(unknown(i, d)),
        })
    }
}

/// `ParameterValue`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParameterValue {
    /// `logical NULL`.
    Logical,
    /// `booleanArray INTEGER (0..255)`.
    BooleanArray(u8),
    /// `unsignedMin INTEGER (0..65535)`.
    UnsignedMin(u16),
    /// `unsignedMax INTEGER (0..65535)`.
    UnsignedMax(u16),
    /// `unsigned32Min INTEGER (0..4294967295)`.
    Unsigned32Min(u32),
    /// `unsigned32Max INTEGER (0..4294967295)`.
    Unsigned32Max(u32),
    /// `octetString OCTET STRING`.
    OctetString(Vec<u8>),
    /// `genericParameter SEQUENCE OF GenericParameter`.
    GenericParameter(Vec<GenericParameter>),
    /// A later alternative.
    Other(UnknownAlternative),
}

impl Per for ParameterValue {
    fn encode_to(&self, w: &mut Writer) {
        const N: u32 = 8;
        match self {
            Self::Logical => w.choice_root(0, N, true),
            Self::BooleanArray(v) => {
                w.choice_root(1, N, true);
                w.constrained(u64::from(*v), 0, 255, "booleanArray");
            }
            Self::UnsignedMin(v) => {
                w.choice_root(2, N, true);
                w.constrained(u64::from(*v), 0, 65535, "unsignedMin");
            }
            Self::UnsignedMax(v) => {
                w.choice_root(3, N, true);
                w.constrained(u64::from(*v), 0, 65535, "unsignedMax");
            }
            Self::Unsigned32Min(v) => {
                w.choice_root(4, N, true);
                w.constrained(u64::from(*v), 0, 0xffff_ffff, "unsigned32Min");
            }
            Self::Unsigned32Max(v) => {
                w.choice_root(5, N, true);
                w.constrained(u64::from(*v), 0, 0xffff_ffff, "unsigned32Max");
            }
            Self::OctetString(v) => {
                w.choice_root(6, N, true);
                w.octet_string(v, 0, None, "octetString");
            }
            Self::GenericParameter(v) => {
                w.choice_root(7, N, true);
                w.seq_of(v, 0, None, "genericParameter", |w, p| p.encode_to(w));
            }
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(8, true)? {
            Choice::Root(0) => Self::Logical,
            Choice::Root(1) => Self::BooleanArray(r.constrained(0, 255, "booleanArray")? as u8),
            Choice::Root(2) => Self::UnsignedMin(r.constrained(0, 65535, "unsignedMin")? as u16),
            Choice::Root(3) => Self::UnsignedMax(r.constrained(0, 65535, "unsignedMax")? as u16),
            Choice::Root(4) => {
                Self::Unsigned32Min(r.constrained(0, 0xffff_ffff, "unsigned32Min")? as u32)
            }
            Choice::Root(5) => {
                Self::Unsigned32Max(r.constrained(0, 0xffff_ffff, "unsigned32Max")? as u32)
            }
            Choice::Root(6) => Self::OctetString(r.octet_string(0, None, "octetString")?),
            Choice::Root(_) => Self::GenericParameter(r.nested(|r| {
                r.seq_of(0, None, "genericParameter", GenericParameter::decode_from)
            })?),
            Choice::Ext(i, d) => Self::Other(unknown(i, d)),
        })
    }
}

/// `GenericParameter ::= SEQUENCE { parameterIdentifier, parameterValue, supersedes
/// SEQUENCE OF ParameterIdentifier OPTIONAL, ... }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenericParameter {
    /// `parameterIdentifier`.
    pub parameter_identifier: ParameterIdentifier,
    /// `parameterValue`.
    pub parameter_value: ParameterValue,
    /// `supersedes`.
    pub supersedes: Option<Vec<ParameterIdentifier>>,
}

impl GenericParameter {
    /// A standard parameter `id` with `value`.
    pub fn standard(id: u8, value: ParameterValue) -> Self {
        GenericParameter {
            parameter_identifier: ParameterIdentifier::Standard(id),
            parameter_value: value,
            supersedes: None,
        }
    }
}

impl Per for GenericParameter {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[self.supersedes.is_some()]);
        self.parameter_identifier.encode_to(w);
        self.parameter_value.encode_to(w);
        if let Some(s) = &self.supersedes {
            w.seq_of(s, 0, None, "supersedes", |w, p| p.encode_to(w));
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut p) = r.preamble(true, 1)?;
        let v = GenericParameter {
            parameter_identifier: r.get()?,
            parameter_value: r.get()?,
            supersedes: r.opt(p.present(), |r| {
                r.seq_of(0, None, "supersedes", ParameterIdentifier::decode_from)
            })?,
        };
        r.additions(ext)?;
        Ok(v)
    }
}

/// `GenericMessage ::= SEQUENCE { messageIdentifier CapabilityIdentifier,
/// subMessageIdentifier INTEGER (0..127) OPTIONAL, messageContent SEQUENCE OF
/// GenericParameter OPTIONAL, ... }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenericMessage {
    /// `messageIdentifier`.
    pub message_identifier: CapabilityIdentifier,
    /// `subMessageIdentifier`.
    pub sub_message_identifier: Option<u8>,
    /// `messageContent`.
    pub message_content: Option<Vec<GenericParameter>>,
}

/// `GenericInformation ::= GenericMessage`.
pub type GenericInformation = GenericMessage;

impl GenericMessage {
    /// The parameter with standard identifier `id`, if any.
    pub fn standard_parameter(&self, id: u8) -> Option<&ParameterValue> {
        self.message_content
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|p| p.parameter_identifier == ParameterIdentifier::Standard(id))
            .map(|p| &p.parameter_value)
    }
}

impl Per for GenericMessage {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(
            Some(false),
            &[
                self.sub_message_identifier.is_some(),
                self.message_content.is_some(),
            ],
        );
        self.message_identifier.encode_to(w);
        if let Some(s) = self.sub_message_identifier {
            w.constrained(u64::from(s), 0, 127, "subMessageIdentifier");
        }
        if let Some(c) = &self.message_content {
            w.seq_of(c, 0, None, "messageContent", |w, p| p.encode_to(w));
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut p) = r.preamble(true, 2)?;
        let (has_sub, has_content) = (p.present(), p.present());
        let v = GenericMessage {
            message_identifier: r.get()?,
            sub_message_identifier: r.opt(has_sub, |r| {
                Ok(r.constrained(0, 127, "subMessageIdentifier")? as u8)
            })?,
            message_content: r.opt(has_content, |r| {
                r.nested(|r| r.seq_of(0, None, "messageContent", GenericParameter::decode_from))
            })?,
        };
        r.additions(ext)?;
        Ok(v)
    }
}
