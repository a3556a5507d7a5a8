//! The H.225.0 types that RAS and call-signalling messages share: addresses, aliases,
//! endpoint descriptions, identifiers, and the generic extensibility framework (FeatureSet,
//! GenericData) that H.460.18/H.460.19 ride on.
//!
//! Each type follows its definition in the H323-MESSAGES module of H.225.0 (12/2009,
//! version 7): the same component order, the same OPTIONAL components, the same place of the
//! extension marker. Component comments name the ASN.1 component where the Rust name
//! differs. Components and alternatives exp never uses are not modelled but are still
//! decoded or skipped correctly: extension additions as [`RawValue`](crate::per::RawValue), extension
//! alternatives as [`UnknownAlternative`]. Mandatory extension additions (such as `supportedPrefixes` in
//! `H323Caps`) read as empty/false when an older peer's encoding lacks them.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::per::{
    Additions, Alphabet, Choice, Error, Oid, Per, Reader, UnknownAlternative, Writer,
};

/// A CHOICE whose alternatives are all NULL, extensible: an enum with one variant per
/// alternative (root ones first, then extension ones) and `Other` for extension alternatives
/// of a newer version.
macro_rules! null_choice {
    ($(#[$doc:meta])* $name:ident { root: [$($(#[$rd:meta])* $r:ident),* $(,)?], ext: [$($(#[$ed:meta])* $e:ident),* $(,)?] }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$rd])* $r,)*
            $($(#[$ed])* $e,)*
            /// An extension alternative this crate does not know.
            Other($crate::per::UnknownAlternative),
        }

        impl $crate::per::Per for $name {
            fn encode_to(&self, w: &mut $crate::per::Writer) {
                let root: Vec<$name> = vec![$($name::$r),*];
                if let Some(i) = root.iter().position(|v| v == self) {
                    w.choice_root(i as u32, root.len() as u32, true);
                    return;
                }
                let ext: Vec<$name> = vec![$($name::$e),*];
                if let Some(i) = ext.iter().position(|v| v == self) {
                    w.choice_ext(i as u32, |_| {});
                    return;
                }
                if let $name::Other(u) = self {
                    w.choice_unknown(u);
                }
            }

            fn decode_from(
                r: &mut $crate::per::Reader<'_>,
            ) -> Result<Self, $crate::per::Error> {
                let root: Vec<$name> = vec![$($name::$r),*];
                let ext: Vec<$name> = vec![$($name::$e),*];
                match r.choice(root.len() as u32, true)? {
                    $crate::per::Choice::Root(i) => root
                        .into_iter()
                        .nth(i as usize)
                        .ok_or($crate::per::Error::Invalid(stringify!($name))),
                    $crate::per::Choice::Ext(i, d) => Ok(ext.into_iter().nth(i as usize).unwrap_or_else(
                        || $name::Other($crate::per::UnknownAlternative {
                            index: i,
                            encoding: d.to_vec(),
                        }),
                    )),
                }
            }
        }
    };
}
pub(crate) use null_choice;

/// The H.225.0 version whose module this crate follows (12/2009).
pub const H225_VERSION: u32 = 7;

/// `ProtocolIdentifier ::= OBJECT IDENTIFIER`: `{itu-t(0) recommendation(0) h(8) 2250
/// version(0) N}` for H.225.0 version N. The default is version [`H225_VERSION`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolIdentifier(pub Oid);

impl ProtocolIdentifier {
    /// The identifier of H.225.0 version `v`.
    pub fn h225(v: u32) -> Self {
        ProtocolIdentifier(Oid::new(&[0, 0, 8, 2250, 0, v]))
    }

    /// The H.225.0 version it names, if it names one.
    pub fn version(&self) -> Option<u32> {
        match self.0 .0.as_slice() {
            [0, 0, 8, 2250, 0, v] => Some(*v),
            _ => None,
        }
    }
}

impl Default for ProtocolIdentifier {
    fn default() -> Self {
        Self::h225(H225_VERSION)
    }
}

impl Per for ProtocolIdentifier {
    fn encode_to(&self, w: &mut Writer) {
        w.oid(&self.0);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(ProtocolIdentifier(r.oid()?))
    }
}

impl Per for Oid {
    fn encode_to(&self, w: &mut Writer) {
        w.oid(self);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        r.oid()
    }
}

/// `RequestSeqNum ::= INTEGER (1..65535)`.
pub(crate) fn put_seq_num(w: &mut Writer, n: u16) {
    w.constrained(u64::from(n), 1, 65535, "requestSeqNum");
}

pub(crate) fn get_seq_num(r: &mut Reader<'_>) -> Result<u16, Error> {
    Ok(r.constrained(1, 65535, "requestSeqNum")? as u16)
}

/// `GatekeeperIdentifier`/`EndpointIdentifier ::= BMPString (SIZE (1..128))`.
pub(crate) fn put_identifier(w: &mut Writer, s: &str) {
    w.bmp(s, 1, Some(128), "identifier");
}

pub(crate) fn get_identifier(r: &mut Reader<'_>) -> Result<String, Error> {
    r.bmp(1, Some(128), "identifier")
}

/// `TimeToLive ::= INTEGER (1..4294967295)` (and H.235 `TimeStamp`, the same range).
pub(crate) fn put_u32_from_1(w: &mut Writer, v: u32, what: &'static str) {
    w.constrained(u64::from(v), 1, 0xffff_ffff, what);
}

pub(crate) fn get_u32_from_1(r: &mut Reader<'_>, what: &'static str) -> Result<u32, Error> {
    Ok(r.constrained(1, 0xffff_ffff, what)? as u32)
}

/// `SEQUENCE OF T` without a size constraint.
pub(crate) fn put_list<T: Per>(w: &mut Writer, v: &[T], what: &'static str) {
    w.seq_of(v, 0, None, what, |w, x| x.encode_to(w));
}

pub(crate) fn get_list<T: Per>(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<T>, Error> {
    r.seq_of(0, None, what, T::decode_from)
}

/// `NonStandardParameter` (H.225.0): an identifier and opaque data.
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

/// `NonStandardIdentifier ::= CHOICE { object, h221NonStandard, ... }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NonStandardIdentifier {
    /// `object`.
    Object(Oid),
    /// `h221NonStandard`.
    H221(H221NonStandard),
    /// A later alternative.
    Other(UnknownAlternative),
}

impl Per for NonStandardIdentifier {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::Object(o) => {
                w.choice_root(0, 2, true);
                w.oid(o);
            }
            Self::H221(h) => {
                w.choice_root(1, 2, true);
                h.encode_to(w);
            }
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(2, true)? {
            Choice::Root(0) => Self::Object(r.oid()?),
            Choice::Root(_) => Self::H221(r.get()?),
            Choice::Ext(index, d) => Self::Other(UnknownAlternative {
                index,
                encoding: d.to_vec(),
            }),
        })
    }
}

/// `H221NonStandard`: a T.35 country/extension and manufacturer code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct H221NonStandard {
    /// `t35CountryCode`.
    pub t35_country_code: u8,
    /// `t35Extension`.
    pub t35_extension: u8,
    /// `manufacturerCode`.
    pub manufacturer_code: u16,
}

impl Per for H221NonStandard {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[]);
        w.constrained(u64::from(self.t35_country_code), 0, 255, "t35CountryCode");
        w.constrained(u64::from(self.t35_extension), 0, 255, "t35Extension");
        w.constrained(
            u64::from(self.manufacturer_code),
            0,
            65535,
            "manufacturerCode",
        );
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let v = H221NonStandard {
            t35_country_code: r.constrained(0, 255, "t35CountryCode")? as u8,
            t35_extension: r.constrained(0, 255, "t35Extension")? as u8,
            manufacturer_code: r.constrained(0, 65535, "manufacturerCode")? as u16,
        };
        r.additions(ext)?;
        Ok(v)
    }
}

/// `TransportAddress`: where to reach something. exp uses `ipAddress`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransportAddress {
    /// `ipAddress { ip OCTET STRING (SIZE (4)), port INTEGER (0..65535) }`.
    Ip {
        /// `ip`.
        ip: [u8; 4],
        /// `port`.
        port: u16,
    },
    /// `ipSourceRoute`.
    IpSourceRoute {
        /// `ip`.
        ip: [u8; 4],
        /// `port`.
        port: u16,
        /// `route`.
        route: Vec<[u8; 4]>,
        /// `routing`.
        routing: Routing,
    },
    /// `ipxAddress`.
    Ipx {
        /// `node`.
        node: [u8; 6],
        /// `netnum`.
        netnum: [u8; 4],
        /// `port`.
        port: [u8; 2],
    },
    /// `ip6Address`.
    Ip6 {
        /// `ip`.
        ip: [u8; 16],
        /// `port`.
        port: u16,
    },
    /// `netBios`.
    NetBios([u8; 16]),
    /// `nsap` (1..20 octets).
    Nsap(Vec<u8>),
    /// `nonStandardAddress`.
    NonStandard(NonStandardParameter),
    /// A later alternative.
    Other(UnknownAlternative),
}

impl TransportAddress {
    /// The IPv4 socket address, for `ipAddress`.
    pub fn ipv4(&self) -> Option<SocketAddrV4> {
        match self {
            TransportAddress::Ip { ip, port } => {
                Some(SocketAddrV4::new(Ipv4Addr::from(*ip), *port))
            }
            _ => None,
        }
    }
}

impl From<SocketAddrV4> for TransportAddress {
    fn from(a: SocketAddrV4) -> Self {
        TransportAddress::Ip {
            ip: a.ip().octets(),
            port: a.port(),
        }
    }
}

impl Default for TransportAddress {
    /// `0.0.0.0:0`.
    fn default() -> Self {
        TransportAddress::Ip {
            ip: [0; 4],
            port: 0,
        }
    }
}

null_choice! {
    /// `routing` of `ipSourceRoute`.
    Routing { root: [
        /// `strict`.
        Strict,
        /// `loose`.
        Loose,
    ], ext: [] }
}

impl Per for TransportAddress {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::Ip { ip, port } => {
                w.choice_root(0, 7, true);
                w.octet_string(ip, 4, Some(4), "ip");
                w.constrained(u64::from(*port), 0, 65535, "port");
            }
            Self::IpSourceRoute {
                ip,
                port,
                route,
                routing,
            } => {
                w.choice_root(1, 7, true);
                w.preamble(Some(false), &[]);
                w.octet_string(ip, 4, Some(4), "ip");
                w.constrained(u64::from(*port), 0, 65535, "port");
                w.seq_of(route, 0, None, "route", |w, r| {
                    w.octet_string(r, 4, Some(4), "route")
                });
                routing.encode_to(w);
            }
            Self::Ipx { node, netnum, port } => {
                w.choice_root(2, 7, true);
                w.octet_string(node, 6, Some(6), "node");
                w.octet_string(netnum, 4, Some(4), "netnum");
                w.octet_string(port, 2, Some(2), "port");
            }
            Self::Ip6 { ip, port } => {
                w.choice_root(3, 7, true);
                w.preamble(Some(false), &[]);
                w.octet_string(ip, 16, Some(16), "ip6");
                w.constrained(u64::from(*port), 0, 65535, "port");
            }
            Self::NetBios(n) => {
                w.choice_root(4, 7, true);
                w.octet_string(n, 16, Some(16), "netBios");
            }
            Self::Nsap(n) => {
                w.choice_root(5, 7, true);
                w.octet_string(n, 1, Some(20), "nsap");
            }
            Self::NonStandard(n) => {
                w.choice_root(6, 7, true);
                n.encode_to(w);
            }
            Self::Other(u) => w.choice_unknown(u),
        }
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(7, true)? {
            Choice::Root(0) => Self::Ip {
                ip: r.octet_array("ip")?,
                port: r.constrained(0, 65535, "port")? as u16,
            },
            Choice::Root(1) => {
                let (ext, _) = r.preamble(true, 0)?;
                let v = Self::IpSourceRoute {
                    ip: r.octet_array("ip")?,
                    port: r.constrained(0, 65535, "port")? as u16,
                    route: r.seq_of(0, None, "route", |r| r.octet_array("route"))?,
                    routing: r.get()?,
                };
                r.additions(ext)?;
                v
            }
            Choice::Root(2) => Self::Ipx {
                node: r.octet_array("node")?,
                netnum: r.octet_array("netnum")?,
                port: r.octet_array("port")?,
            },
            Choice::Root(3) => {
                let (ext, _) = r.preamble(true, 0)?;
                let v = Self::Ip6 {
                    ip: r.octet_array("ip6")?,
                    port: r.constrained(0, 65535, "port")? as u16,
                };
                r.additions(ext)?;
                v
            }
            Choice::Root(4) => Self::NetBios(r.octet_array("netBios")?),
            Choice::Root(5) => Self::Nsap(r.octet_string(1, Some(20), "nsap")?),
            Choice::Root(_) => Self::NonStandard(r.get()?),
            Choice::Ext(index, d) => Self::Other(UnknownAlternative {
                index,
                encoding: d.to_vec(),
            }),
        })
    }
}

/// `AliasAddress`: a name an endpoint is known by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AliasAddress {
    /// `dialledDigits IA5String (SIZE (1..128)) (FROM ("0123456789#*,"))`.
    DialledDigits(String),
    /// `h323-ID BMPString (SIZE (1..256))`.
    H323Id(String),
    /// `url-ID IA5String (SIZE (1..512))`.
    UrlId(String),
    /// `transportID`.
    TransportId(TransportAddress),
    /// `email-ID IA5String (SIZE (1..512))`.
    EmailId(String),
    /// `partyNumber`, `mobileUIM`, `isupNumber` or a later alternative.
    Other(UnknownAlternative),
}

impl Per for AliasAddress {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::DialledDigits(s) => {
                w.choice_root(0, 2, true);
                let chars: Vec<u32> = s.chars().map(u32::from).collect();
                w.char_string(&chars, Alphabet::DIGITS, 1, Some(128), "dialledDigits");
            }
            Self::H323Id(s) => {
                w.choice_root(1, 2, true);
                w.bmp(s, 1, Some(256), "h323-ID");
            }
            Self::UrlId(s) => w.choice_ext(0, |w| w.ia5(s, 1, Some(512), "url-ID")),
            Self::TransportId(t) => w.choice_ext(1, |w| t.encode_to(w)),
            Self::EmailId(s) => w.choice_ext(2, |w| w.ia5(s, 1, Some(512), "email-ID")),
            Self::Other(u) => w.choice_unknown(u),
        }
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(2, true)? {
            Choice::Root(0) => {
                let c = r.char_string(Alphabet::DIGITS, 1, Some(128), "dialledDigits")?;
                Self::DialledDigits(c.into_iter().filter_map(char::from_u32).collect())
            }
            Choice::Root(_) => Self::H323Id(r.bmp(1, Some(256), "h323-ID")?),
            Choice::Ext(0, d) => Self::UrlId(r.sub(d).ia5(1, Some(512), "url-ID")?),
            Choice::Ext(1, d) => Self::TransportId(r.sub(d).get()?),
            Choice::Ext(2, d) => Self::EmailId(r.sub(d).ia5(1, Some(512), "email-ID")?),
            Choice::Ext(index, d) => Self::Other(UnknownAlternative {
                index,
                encoding: d.to_vec(),
            }),
        })
    }
}

/// `EndpointType`: what kind of H.323 entity is speaking.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct EndpointType {
    /// `nonStandardData`.
    pub non_standard_data: Option<NonStandardParameter>,
    /// `vendor`.
    pub vendor: Option<VendorIdentifier>,
    /// `gatekeeper`.
    pub gatekeeper: Option<GatekeeperInfo>,
    /// `gateway`.
    pub gateway: Option<GatewayInfo>,
    /// `mcu`.
    pub mcu: Option<McuInfo>,
    /// `terminal`.
    pub terminal: Option<TerminalInfo>,
    /// `mc`.
    pub mc: bool,
    /// `undefinedNode`.
    pub undefined_node: bool,
    /// `set BIT STRING (SIZE (32))` (extension addition).
    pub set: Option<[u8; 4]>,
    /// `supportedTunnelledProtocols` (extension addition).
    pub supported_tunnelled_protocols: Option<Vec<TunnelledProtocol>>,
}

impl EndpointType {
    /// A plain terminal.
    pub fn terminal() -> Self {
        EndpointType {
            terminal: Some(TerminalInfo::default()),
            ..Default::default()
        }
    }

    /// A gatekeeper (what exp-e is toward its traversal clients).
    pub fn gatekeeper() -> Self {
        EndpointType {
            gatekeeper: Some(GatekeeperInfo::default()),
            ..Default::default()
        }
    }
}

impl Per for EndpointType {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.add(self.set.as_ref(), |w, s| {
            w.bit_string(
                &crate::per::BitString::from_bytes(s.to_vec()),
                32,
                Some(32),
                false,
                "set",
            )
        });
        x.add(self.supported_tunnelled_protocols.as_ref(), |w, v| {
            put_list(w, v, "supportedTunnelledProtocols")
        });
        w.preamble(
            Some(x.present()),
            &[
                self.non_standard_data.is_some(),
                self.vendor.is_some(),
                self.gatekeeper.is_some(),
                self.gateway.is_some(),
                self.mcu.is_some(),
                self.terminal.is_some(),
            ],
        );
        w.put_opt(&self.non_standard_data);
        w.put_opt(&self.vendor);
        w.put_opt(&self.gatekeeper);
        w.put_opt(&self.gateway);
        w.put_opt(&self.mcu);
        w.put_opt(&self.terminal);
        w.boolean(self.mc);
        w.boolean(self.undefined_node);
        x.write(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 6)?;
        let non_standard_data = r.get_opt(o.present())?;
        let vendor = r.get_opt(o.present())?;
        let gatekeeper = r.get_opt(o.present())?;
        let gateway = r.get_opt(o.present())?;
        let mcu = r.get_opt(o.present())?;
        let terminal = r.get_opt(o.present())?;
        let mc = r.boolean()?;
        let undefined_node = r.boolean()?;
        let mut x = r.additions(ext)?;
        let set = x.next(|r| {
            let b = r.bit_string(32, Some(32), "set")?;
            let mut a = [0u8; 4];
            a.copy_from_slice(&b.bytes);
            Ok(a)
        })?;
        let supported_tunnelled_protocols =
            x.next(|r| get_list(r, "supportedTunnelledProtocols"))?;
        Ok(EndpointType {
            non_standard_data,
            vendor,
            gatekeeper,
            gateway,
            mcu,
            terminal,
            mc,
            undefined_node,
            set,
            supported_tunnelled_protocols,
        })
    }
}

/// A SEQUENCE `{ nonStandardData NonStandardParameter OPTIONAL, ... }`: `TerminalInfo` and
/// `GatekeeperInfo` share this shape.
macro_rules! nonstandard_only {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Default)]
        pub struct $name {
            /// `nonStandardData`.
            pub non_standard_data: Option<NonStandardParameter>,
        }

        impl Per for $name {
            fn encode_to(&self, w: &mut Writer) {
                w.preamble(Some(false), &[self.non_standard_data.is_some()]);
                w.put_opt(&self.non_standard_data);
            }
            fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
                let (ext, mut o) = r.preamble(true, 1)?;
                let non_standard_data = r.get_opt(o.present())?;
                r.additions(ext)?;
                Ok($name { non_standard_data })
            }
        }
    };
}

nonstandard_only!(
    /// `TerminalInfo`.
    TerminalInfo
);
nonstandard_only!(
    /// `GatekeeperInfo`.
    GatekeeperInfo
);

/// `GatewayInfo`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct GatewayInfo {
    /// `protocol`.
    pub protocol: Option<Vec<SupportedProtocols>>,
    /// `nonStandardData`.
    pub non_standard_data: Option<NonStandardParameter>,
}

impl Per for GatewayInfo {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(
            Some(false),
            &[self.protocol.is_some(), self.non_standard_data.is_some()],
        );
        if let Some(p) = &self.protocol {
            put_list(w, p, "protocol");
        }
        w.put_opt(&self.non_standard_data);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 2)?;
        let protocol = r.opt(o.present(), |r| get_list(r, "protocol"))?;
        let non_standard_data = r.get_opt(o.present())?;
        r.additions(ext)?;
        Ok(GatewayInfo {
            protocol,
            non_standard_data,
        })
    }
}

/// `McuInfo`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct McuInfo {
    /// `nonStandardData`.
    pub non_standard_data: Option<NonStandardParameter>,
    /// `protocol` (extension addition).
    pub protocol: Option<Vec<SupportedProtocols>>,
}

impl Per for McuInfo {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.add(self.protocol.as_ref(), |w, p| put_list(w, p, "protocol"));
        w.preamble(Some(x.present()), &[self.non_standard_data.is_some()]);
        w.put_opt(&self.non_standard_data);
        x.write(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 1)?;
        let non_standard_data = r.get_opt(o.present())?;
        let mut x = r.additions(ext)?;
        let protocol = x.next(|r| get_list(r, "protocol"))?;
        Ok(McuInfo {
            non_standard_data,
            protocol,
        })
    }
}

/// `SupportedProtocols`: what a gateway or MCU can reach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SupportedProtocols {
    /// `nonStandardData`.
    NonStandardData(NonStandardParameter),
    /// `h310`, `h320`, `h321`, `h322`, `h323`, `h324`, `voice` or `t120-only` (root
    /// alternatives 1..=8, in that order), all of the same shape.
    Caps(CapsKind, Caps),
    /// `nonStandardProtocol`, `t38FaxAnnexbOnly`, `sip` or a later alternative.
    Other(UnknownAlternative),
}

/// Which `...Caps` alternative of [`SupportedProtocols`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapsKind {
    /// `h310`.
    H310,
    /// `h320`.
    H320,
    /// `h321`.
    H321,
    /// `h322`.
    H322,
    /// `h323`.
    H323,
    /// `h324`.
    H324,
    /// `voice`.
    Voice,
    /// `t120-only`.
    T120Only,
}

const CAPS_KINDS: [CapsKind; 8] = [
    CapsKind::H310,
    CapsKind::H320,
    CapsKind::H321,
    CapsKind::H322,
    CapsKind::H323,
    CapsKind::H324,
    CapsKind::Voice,
    CapsKind::T120Only,
];

impl Per for SupportedProtocols {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::NonStandardData(n) => {
                w.choice_root(0, 9, true);
                n.encode_to(w);
            }
            Self::Caps(k, c) => {
                let i = CAPS_KINDS.iter().position(|x| x == k).unwrap_or(0) as u32;
                w.choice_root(1 + i, 9, true);
                c.encode_to(w);
            }
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(9, true)? {
            Choice::Root(0) => Self::NonStandardData(r.get()?),
            Choice::Root(i) => {
                let k = *CAPS_KINDS
                    .get(i as usize - 1)
                    .ok_or(Error::Invalid("SupportedProtocols"))?;
                Self::Caps(k, r.get()?)
            }
            Choice::Ext(index, d) => Self::Other(UnknownAlternative {
                index,
                encoding: d.to_vec(),
            }),
        })
    }
}

/// `H310Caps` ... `T120OnlyCaps` (all alike).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Caps {
    /// `nonStandardData`.
    pub non_standard_data: Option<NonStandardParameter>,
    /// `dataRatesSupported` (extension addition).
    pub data_rates_supported: Option<Vec<DataRate>>,
    /// `supportedPrefixes` (mandatory extension addition).
    pub supported_prefixes: Vec<SupportedPrefix>,
}

impl Per for Caps {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.add(self.data_rates_supported.as_ref(), |w, v| {
            put_list(w, v, "dataRatesSupported")
        });
        x.always(|w| put_list(w, &self.supported_prefixes, "supportedPrefixes"));
        w.preamble(Some(x.present()), &[self.non_standard_data.is_some()]);
        w.put_opt(&self.non_standard_data);
        x.write(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 1)?;
        let non_standard_data = r.get_opt(o.present())?;
        let mut x = r.additions(ext)?;
        Ok(Caps {
            non_standard_data,
            data_rates_supported: x.next(|r| get_list(r, "dataRatesSupported"))?,
            supported_prefixes: x
                .next(|r| get_list(r, "supportedPrefixes"))?
                .unwrap_or_default(),
        })
    }
}

/// `DataRate`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DataRate {
    /// `nonStandardData`.
    pub non_standard_data: Option<NonStandardParameter>,
    /// `channelRate BandWidth` (100 bit/s units).
    pub channel_rate: u32,
    /// `channelMultiplier INTEGER (1..256)`.
    pub channel_multiplier: Option<u16>,
}

impl Per for DataRate {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(
            Some(false),
            &[
                self.non_standard_data.is_some(),
                self.channel_multiplier.is_some(),
            ],
        );
        w.put_opt(&self.non_standard_data);
        w.constrained(u64::from(self.channel_rate), 0, 0xffff_ffff, "channelRate");
        if let Some(m) = self.channel_multiplier {
            w.constrained(u64::from(m), 1, 256, "channelMultiplier");
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 2)?;
        let (p_nsd, p_mul) = (o.present(), o.present());
        let non_standard_data = r.get_opt(p_nsd)?;
        let channel_rate = r.constrained(0, 0xffff_ffff, "channelRate")? as u32;
        let channel_multiplier = r.opt(p_mul, |r| {
            Ok(r.constrained(1, 256, "channelMultiplier")? as u16)
        })?;
        r.additions(ext)?;
        Ok(DataRate {
            non_standard_data,
            channel_rate,
            channel_multiplier,
        })
    }
}

/// `SupportedPrefix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupportedPrefix {
    /// `nonStandardData`.
    pub non_standard_data: Option<NonStandardParameter>,
    /// `prefix`.
    pub prefix: AliasAddress,
}

impl Per for SupportedPrefix {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[self.non_standard_data.is_some()]);
        w.put_opt(&self.non_standard_data);
        self.prefix.encode_to(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 1)?;
        let non_standard_data = r.get_opt(o.present())?;
        let prefix = r.get()?;
        r.additions(ext)?;
        Ok(SupportedPrefix {
            non_standard_data,
            prefix,
        })
    }
}

/// `TunnelledProtocol`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelledProtocol {
    /// `id`.
    pub id: TunnelledProtocolId,
    /// `subIdentifier IA5String (SIZE (1..64))`.
    pub sub_identifier: Option<String>,
}

/// `id` of [`TunnelledProtocol`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TunnelledProtocolId {
    /// `tunnelledProtocolObjectID`.
    Object(Oid),
    /// `tunnelledProtocolAlternateID`: `protocolType` and `protocolVariant`.
    Alternate {
        /// `protocolType IA5String (SIZE (1..64))`.
        protocol_type: String,
        /// `protocolVariant IA5String (SIZE (1..64))`.
        protocol_variant: Option<String>,
    },
    /// A later alternative.
    Other(UnknownAlternative),
}

impl Per for TunnelledProtocol {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[self.sub_identifier.is_some()]);
        match &self.id {
            TunnelledProtocolId::Object(o) => {
                w.choice_root(0, 2, true);
                w.oid(o);
            }
            TunnelledProtocolId::Alternate {
                protocol_type,
                protocol_variant,
            } => {
                w.choice_root(1, 2, true);
                w.preamble(Some(false), &[protocol_variant.is_some()]);
                w.ia5(protocol_type, 1, Some(64), "protocolType");
                if let Some(v) = protocol_variant {
                    w.ia5(v, 1, Some(64), "protocolVariant");
                }
            }
            TunnelledProtocolId::Other(u) => w.choice_unknown(u),
        }
        if let Some(s) = &self.sub_identifier {
            w.ia5(s, 1, Some(64), "subIdentifier");
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 1)?;
        let id = match r.choice(2, true)? {
            Choice::Root(0) => TunnelledProtocolId::Object(r.oid()?),
            Choice::Root(_) => {
                let (e2, mut o2) = r.preamble(true, 1)?;
                let protocol_type = r.ia5(1, Some(64), "protocolType")?;
                let protocol_variant =
                    r.opt(o2.present(), |r| r.ia5(1, Some(64), "protocolVariant"))?;
                r.additions(e2)?;
                TunnelledProtocolId::Alternate {
                    protocol_type,
                    protocol_variant,
                }
            }
            Choice::Ext(index, d) => TunnelledProtocolId::Other(UnknownAlternative {
                index,
                encoding: d.to_vec(),
            }),
        };
        let sub_identifier = r.opt(o.present(), |r| r.ia5(1, Some(64), "subIdentifier"))?;
        r.additions(ext)?;
        Ok(TunnelledProtocol { id, sub_identifier })
    }
}

/// `VendorIdentifier`: who made the endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct VendorIdentifier {
    /// `vendor`.
    pub vendor: H221NonStandard,
    /// `productId OCTET STRING (SIZE (1..256))`.
    pub product_id: Option<Vec<u8>>,
    /// `versionId OCTET STRING (SIZE (1..256))`.
    pub version_id: Option<Vec<u8>>,
    /// `enterpriseNumber` (extension addition).
    pub enterprise_number: Option<Oid>,
}

impl Per for VendorIdentifier {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.put(self.enterprise_number.as_ref());
        w.preamble(
            Some(x.present()),
            &[self.product_id.is_some(), self.version_id.is_some()],
        );
        self.vendor.encode_to(w);
        if let Some(p) = &self.product_id {
            w.octet_string(p, 1, Some(256), "productId");
        }
        if let Some(v) = &self.version_id {
            w.octet_string(v, 1, Some(256), "versionId");
        }
        x.write(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 2)?;
        let (p_prod, p_ver) = (o.present(), o.present());
        let vendor = r.get()?;
        let product_id = r.opt(p_prod, |r| r.octet_string(1, Some(256), "productId"))?;
        let version_id = r.opt(p_ver, |r| r.octet_string(1, Some(256), "versionId"))?;
        let mut x = r.additions(ext)?;
        Ok(VendorIdentifier {
            vendor,
            product_id,
            version_id,
            enterprise_number: x.get()?,
        })
    }
}

/// `QseriesOptions`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct QseriesOptions {
    /// `q932Full`.
    pub q932_full: bool,
    /// `q951Full`.
    pub q951_full: bool,
    /// `q952Full`.
    pub q952_full: bool,
    /// `q953Full`.
    pub q953_full: bool,
    /// `q955Full`.
    pub q955_full: bool,
    /// `q956Full`.
    pub q956_full: bool,
    /// `q957Full`.
    pub q957_full: bool,
    /// `q954Info.conferenceCalling`.
    pub conference_calling: bool,
    /// `q954Info.threePartyService`.
    pub three_party_service: bool,
}

impl Per for QseriesOptions {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[]);
        for b in [
            self.q932_full,
            self.q951_full,
            self.q952_full,
            self.q953_full,
            self.q955_full,
            self.q956_full,
            self.q957_full,
        ] {
            w.boolean(b);
        }
        // Q954Details ::= SEQUENCE { conferenceCalling, threePartyService, ... }
        w.preamble(Some(false), &[]);
        w.boolean(self.conference_calling);
        w.boolean(self.three_party_service);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let mut b = [false; 7];
        for x in b.iter_mut() {
            *x = r.boolean()?;
        }
        let (e2, _) = r.preamble(true, 0)?;
        let conference_calling = r.boolean()?;
        let three_party_service = r.boolean()?;
        r.additions(e2)?;
        r.additions(ext)?;
        Ok(QseriesOptions {
            q932_full: b[0],
            q951_full: b[1],
            q952_full: b[2],
            q953_full: b[3],
            q955_full: b[4],
            q956_full: b[5],
            q957_full: b[6],
            conference_calling,
            three_party_service,
        })
    }
}

/// `CallIdentifier ::= SEQUENCE { guid GloballyUniqueID, ... }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct CallIdentifier {
    /// `guid OCTET STRING (SIZE (16))`.
    pub guid: [u8; 16],
}

impl Per for CallIdentifier {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[]);
        w.octet_string(&self.guid, 16, Some(16), "guid");
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let guid = r.octet_array("guid")?;
        r.additions(ext)?;
        Ok(CallIdentifier { guid })
    }
}

/// `GenericIdentifier`: names a feature or a parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GenericIdentifier {
    /// `standard INTEGER (0..16383, ...)`: an H.460.x feature number (18 is H.460.18).
    Standard(u32),
    /// `oid`.
    Oid(Oid),
    /// `nonStandard GloballyUniqueID`.
    NonStandard([u8; 16]),
    /// A later alternative.
    Other(UnknownAlternative),
}

impl Per for GenericIdentifier {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::Standard(n) => {
                w.choice_root(0, 3, true);
                w.constrained_ext(u64::from(*n), 0, 16383, "standard");
            }
            Self::Oid(o) => {
                w.choice_root(1, 3, true);
                w.oid(o);
            }
            Self::NonStandard(g) => {
                w.choice_root(2, 3, true);
                w.octet_string(g, 16, Some(16), "nonStandard");
            }
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(3, true)? {
            Choice::Root(0) => {
                let v = r.constrained_ext(0, 16383, "standard")?;
                Self::Standard(u32::try_from(v).map_err(|_| Error::OutOfRange("standard"))?)
            }
            Choice::Root(1) => Self::Oid(r.oid()?),
            Choice::Root(_) => Self::NonStandard(r.octet_array("nonStandard")?),
            Choice::Ext(index, d) => Self::Other(UnknownAlternative {
                index,
                encoding: d.to_vec(),
            }),
        })
    }
}

/// `GenericData` (also `FeatureDescriptor`): a feature and its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenericData {
    /// `id`.
    pub id: GenericIdentifier,
    /// `parameters SEQUENCE (SIZE (1..512)) OF EnumeratedParameter`.
    pub parameters: Option<Vec<EnumeratedParameter>>,
}

/// `FeatureDescriptor ::= GenericData`.
pub type FeatureDescriptor = GenericData;

impl GenericData {
    /// The standard feature `n` (H.460.n) without parameters.
    pub fn standard(n: u32) -> Self {
        GenericData {
            id: GenericIdentifier::Standard(n),
            parameters: None,
        }
    }

    /// The parameter with standard id `n`, if present.
    pub fn parameter(&self, n: u32) -> Option<&EnumeratedParameter> {
        self.parameters
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|p| p.id == GenericIdentifier::Standard(n))
    }
}

impl Per for GenericData {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[self.parameters.is_some()]);
        self.id.encode_to(w);
        if let Some(p) = &self.parameters {
            w.seq_of(p, 1, Some(512), "parameters", |w, x| x.encode_to(w));
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        r.nested(|r| {
            let (ext, mut o) = r.preamble(true, 1)?;
            let id = r.get()?;
            let parameters = r.opt(o.present(), |r| {
                r.seq_of(1, Some(512), "parameters", EnumeratedParameter::decode_from)
            })?;
            r.additions(ext)?;
            Ok(GenericData { id, parameters })
        })
    }
}

/// `EnumeratedParameter`: one parameter of a [`GenericData`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnumeratedParameter {
    /// `id`.
    pub id: GenericIdentifier,
    /// `content`.
    pub content: Option<Content>,
}

impl EnumeratedParameter {
    /// Parameter `n` (standard id) with `content`.
    pub fn standard(n: u32, content: Option<Content>) -> Self {
        EnumeratedParameter {
            id: GenericIdentifier::Standard(n),
            content,
        }
    }
}

impl Per for EnumeratedParameter {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[self.content.is_some()]);
        self.id.encode_to(w);
        w.put_opt(&self.content);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        r.nested(|r| {
            let (ext, mut o) = r.preamble(true, 1)?;
            let id = r.get()?;
            let content = r.get_opt(o.present())?;
            r.additions(ext)?;
            Ok(EnumeratedParameter { id, content })
        })
    }
}

/// `Content`: the value of an [`EnumeratedParameter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// `raw OCTET STRING` (H.460.18 puts PER-encoded structures here).
    Raw(Vec<u8>),
    /// `text IA5String`.
    Text(String),
    /// `unicode BMPString`.
    Unicode(String),
    /// `bool`.
    Bool(bool),
    /// `number8 INTEGER (0..255)`.
    Number8(u8),
    /// `number16 INTEGER (0..65535)`.
    Number16(u16),
    /// `number32 INTEGER (0..4294967295)`.
    Number32(u32),
    /// `id`.
    Id(GenericIdentifier),
    /// `alias`.
    Alias(AliasAddress),
    /// `transport`.
    Transport(TransportAddress),
    /// `compound SEQUENCE (SIZE (1..512)) OF EnumeratedParameter`.
    Compound(Vec<EnumeratedParameter>),
    /// `nested SEQUENCE (SIZE (1..16)) OF GenericData`.
    Nested(Vec<GenericData>),
    /// A later alternative.
    Other(UnknownAlternative),
}

impl Per for Content {
    fn encode_to(&self, w: &mut Writer) {
        let root = |w: &mut Writer, i| w.choice_root(i, 12, true);
        match self {
            Self::Raw(b) => {
                root(w, 0);
                w.octet_string(b, 0, None, "raw");
            }
            Self::Text(s) => {
                root(w, 1);
                w.ia5(s, 0, None, "text");
            }
            Self::Unicode(s) => {
                root(w, 2);
                w.bmp(s, 0, None, "unicode");
            }
            Self::Bool(b) => {
                root(w, 3);
                w.boolean(*b);
            }
            Self::Number8(n) => {
                root(w, 4);
                w.constrained(u64::from(*n), 0, 255, "number8");
            }
            Self::Number16(n) => {
                root(w, 5);
                w.constrained(u64::from(*n), 0, 65535, "number16");
            }
            Self::Number32(n) => {
                root(w, 6);
                w.constrained(u64::from(*n), 0, 0xffff_ffff, "number32");
            }
            Self::Id(i) => {
                root(w, 7);
                i.encode_to(w);
            }
            Self::Alias(a) => {
                root(w, 8);
                a.encode_to(w);
            }
            Self::Transport(t) => {
                root(w, 9);
                t.encode_to(w);
            }
            Self::Compound(v) => {
                root(w, 10);
                w.seq_of(v, 1, Some(512), "compound", |w, x| x.encode_to(w));
            }
            Self::Nested(v) => {
                root(w, 11);
                w.seq_of(v, 1, Some(16), "nested", |w, x| x.encode_to(w));
            }
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(12, true)? {
            Choice::Root(0) => Self::Raw(r.octet_string(0, None, "raw")?),
            Choice::Root(1) => Self::Text(r.ia5(0, None, "text")?),
            Choice::Root(2) => Self::Unicode(r.bmp(0, None, "unicode")?),
            Choice::Root(3) => Self::Bool(r.boolean()?),
            Choice::Root(4) => Self::Number8(r.constrained(0, 255, "number8")? as u8),
            Choice::Root(5) => Self::Number16(r.constrained(0, 65535, "number16")? as u16),
            Choice::Root(6) => Self::Number32(r.constrained(0, 0xffff_ffff, "number32")? as u32),
            Choice::Root(7) => Self::Id(r.get()?),
            Choice::Root(8) => Self::Alias(r.get()?),
            Choice::Root(9) => Self::Transport(r.get()?),
            Choice::Root(10) => Self::Compound(r.seq_of(
                1,
                Some(512),
                "compound",
                EnumeratedParameter::decode_from,
            )?),
            Choice::Root(_) => {
                Self::Nested(r.seq_of(1, Some(16), "nested", GenericData::decode_from)?)
            }
            Choice::Ext(index, d) => Self::Other(UnknownAlternative {
                index,
                encoding: d.to_vec(),
            }),
        })
    }
}

/// `FeatureSet`: the H.460 features an entity needs, desires and supports.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct FeatureSet {
    /// `replacementFeatureSet`.
    pub replacement_feature_set: bool,
    /// `neededFeatures`.
    pub needed_features: Option<Vec<FeatureDescriptor>>,
    /// `desiredFeatures`.
    pub desired_features: Option<Vec<FeatureDescriptor>>,
    /// `supportedFeatures`.
    pub supported_features: Option<Vec<FeatureDescriptor>>,
}

impl FeatureSet {
    /// Whether standard feature `n` is listed as needed, desired or supported.
    pub fn has(&self, n: u32) -> bool {
        [
            &self.needed_features,
            &self.desired_features,
            &self.supported_features,
        ]
        .into_iter()
        .flatten()
        .flatten()
        .any(|f| f.id == GenericIdentifier::Standard(n))
    }
}

impl Per for FeatureSet {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(
            Some(false),
            &[
                self.needed_features.is_some(),
                self.desired_features.is_some(),
                self.supported_features.is_some(),
            ],
        );
        w.boolean(self.replacement_feature_set);
        for f in [
            &self.needed_features,
            &self.desired_features,
            &self.supported_features,
        ]
        .into_iter()
        .flatten()
        {
            put_list(w, f, "features");
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 3)?;
        let (pn, pd, ps) = (o.present(), o.present(), o.present());
        let replacement_feature_set = r.boolean()?;
        let needed_features = r.opt(pn, |r| get_list(r, "neededFeatures"))?;
        let desired_features = r.opt(pd, |r| get_list(r, "desiredFeatures"))?;
        let supported_features = r.opt(ps, |r| get_list(r, "supportedFeatures"))?;
        r.additions(ext)?;
        Ok(FeatureSet {
            replacement_feature_set,
            needed_features,
            desired_features,
            supported_features,
        })
    }
}

/// `AlternateGK`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlternateGK {
    /// `rasAddress`.
    pub ras_address: TransportAddress,
    /// `gatekeeperIdentifier`.
    pub gatekeeper_identifier: Option<String>,
    /// `needToRegister`.
    pub need_to_register: bool,
    /// `priority INTEGER (0..127)`.
    pub priority: u8,
}

impl Per for AlternateGK {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[self.gatekeeper_identifier.is_some()]);
        self.ras_address.encode_to(w);
        if let Some(g) = &self.gatekeeper_identifier {
            put_identifier(w, g);
        }
        w.boolean(self.need_to_register);
        w.constrained(u64::from(self.priority), 0, 127, "priority");
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 1)?;
        let ras_address = r.get()?;
        let gatekeeper_identifier = r.opt(o.present(), get_identifier)?;
        let need_to_register = r.boolean()?;
        let priority = r.constrained(0, 127, "priority")? as u8;
        r.additions(ext)?;
        Ok(AlternateGK {
            ras_address,
            gatekeeper_identifier,
            need_to_register,
            priority,
        })
    }
}

/// `AltGKInfo`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AltGKInfo {
    /// `alternateGatekeeper`.
    pub alternate_gatekeeper: Vec<AlternateGK>,
    /// `altGKisPermanent`.
    pub alt_gk_is_permanent: bool,
}

impl Per for AltGKInfo {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[]);
        put_list(w, &self.alternate_gatekeeper, "alternateGatekeeper");
        w.boolean(self.alt_gk_is_permanent);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let alternate_gatekeeper = get_list(r, "alternateGatekeeper")?;
        let alt_gk_is_permanent = r.boolean()?;
        r.additions(ext)?;
        Ok(AltGKInfo {
            alternate_gatekeeper,
            alt_gk_is_permanent,
        })
    }
}

/// `ServiceControlSession`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceControlSession {
    /// `sessionId INTEGER (0..255)`.
    pub session_id: u8,
    /// `contents`.
    pub contents: Option<ServiceControlDescriptor>,
    /// `reason`.
    pub reason: ServiceControlReason,
}

null_choice! {
    /// `reason` of [`ServiceControlSession`].
    ServiceControlReason { root: [
        /// `open`.
        Open,
        /// `refresh`.
        Refresh,
        /// `close`.
        Close,
    ], ext: [] }
}

impl Per for ServiceControlSession {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[self.contents.is_some()]);
        w.constrained(u64::from(self.session_id), 0, 255, "sessionId");
        w.put_opt(&self.contents);
        self.reason.encode_to(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 1)?;
        let session_id = r.constrained(0, 255, "sessionId")? as u8;
        let contents = r.get_opt(o.present())?;
        let reason = r.get()?;
        r.additions(ext)?;
        Ok(ServiceControlSession {
            session_id,
            contents,
            reason,
        })
    }
}

/// `ServiceControlDescriptor`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceControlDescriptor {
    /// `url IA5String (SIZE (0..512))`.
    Url(String),
    /// `signal H248SignalsDescriptor`.
    Signal(Vec<u8>),
    /// `nonStandard`.
    NonStandard(NonStandardParameter),
    /// `callCreditServiceControl`.
    CallCredit(CallCreditServiceControl),
    /// A later alternative.
    Other(UnknownAlternative),
}

impl Per for ServiceControlDescriptor {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::Url(s) => {
                w.choice_root(0, 4, true);
                w.ia5(s, 0, Some(512), "url");
            }
            Self::Signal(b) => {
                w.choice_root(1, 4, true);
                w.octet_string(b, 0, None, "signal");
            }
            Self::NonStandard(n) => {
                w.choice_root(2, 4, true);
                n.encode_to(w);
            }
            Self::CallCredit(c) => {
                w.choice_root(3, 4, true);
                c.encode_to(w);
            }
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(4, true)? {
            Choice::Root(0) => Self::Url(r.ia5(0, Some(512), "url")?),
            Choice::Root(1) => Self::Signal(r.octet_string(0, None, "signal")?),
            Choice::Root(2) => Self::NonStandard(r.get()?),
            Choice::Root(_) => Self::CallCredit(r.get()?),
            Choice::Ext(index, d) => Self::Other(UnknownAlternative {
                index,
                encoding: d.to_vec(),
            }),
        })
    }
}

null_choice! {
    /// `billingMode` of [`CallCreditServiceControl`].
    BillingMode { root: [
        /// `credit`.
        Credit,
        /// `debit`.
        Debit,
    ], ext: [] }
}

null_choice! {
    /// `callStartingPoint` of [`CallCreditServiceControl`].
    CallStartingPoint { root: [
        /// `alerting`.
        Alerting,
        /// `connect`.
        Connect,
    ], ext: [] }
}

/// `CallCreditServiceControl`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CallCreditServiceControl {
    /// `amountString BMPString (SIZE (1..512))`.
    pub amount_string: Option<String>,
    /// `billingMode`.
    pub billing_mode: Option<BillingMode>,
    /// `callDurationLimit INTEGER (1..4294967295)`.
    pub call_duration_limit: Option<u32>,
    /// `enforceCallDurationLimit`.
    pub enforce_call_duration_limit: Option<bool>,
    /// `callStartingPoint`.
    pub call_starting_point: Option<CallStartingPoint>,
}

impl Per for CallCreditServiceControl {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(
            Some(false),
            &[
                self.amount_string.is_some(),
                self.billing_mode.is_some(),
                self.call_duration_limit.is_some(),
                self.enforce_call_duration_limit.is_some(),
                self.call_starting_point.is_some(),
            ],
        );
        if let Some(s) = &self.amount_string {
            w.bmp(s, 1, Some(512), "amountString");
        }
        w.put_opt(&self.billing_mode);
        if let Some(l) = self.call_duration_limit {
            put_u32_from_1(w, l, "callDurationLimit");
        }
        if let Some(b) = self.enforce_call_duration_limit {
            w.boolean(b);
        }
        w.put_opt(&self.call_starting_point);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 5)?;
        let p: Vec<bool> = (0..5).map(|_| o.present()).collect();
        let v = CallCreditServiceControl {
            amount_string: r.opt(p[0], |r| r.bmp(1, Some(512), "amountString"))?,
            billing_mode: r.get_opt(p[1])?,
            call_duration_limit: r.opt(p[2], |r| get_u32_from_1(r, "callDurationLimit"))?,
            enforce_call_duration_limit: r.opt(p[3], |r| r.boolean())?,
            call_starting_point: r.get_opt(p[4])?,
        };
        r.additions(ext)?;
        Ok(v)
    }
}

null_choice! {
    /// `SecurityErrors`: why a message failed its security checks.
    SecurityErrors { root: [
        /// `securityWrongSyncTime`: the timestamp is too far from the receiver's clock.
        WrongSyncTime,
        /// `securityReplay`.
        Replay,
        /// `securityWrongGeneralID`.
        WrongGeneralId,
        /// `securityWrongSendersID`.
        WrongSendersId,
        /// `securityIntegrityFailed`: the hash does not match (wrong password).
        IntegrityFailed,
        /// `securityWrongOID`.
        WrongOid,
        /// `securityDHmismatch`.
        DhMismatch,
        /// `securityCertificateExpired`.
        CertificateExpired,
        /// `securityCertificateDateInvalid`.
        CertificateDateInvalid,
        /// `securityCertificateRevoked`.
        CertificateRevoked,
        /// `securityCertificateNotReadable`.
        CertificateNotReadable,
        /// `securityCertificateSignatureInvalid`.
        CertificateSignatureInvalid,
        /// `securityCertificateMissing`.
        CertificateMissing,
        /// `securityCertificateIncomplete`.
        CertificateIncomplete,
        /// `securityUnsupportedCertificateAlgOID`.
        UnsupportedCertificateAlgOid,
        /// `securityUnknownCA`.
        UnknownCa,
    ], ext: [] }
}

null_choice! {
    /// `SecurityErrors2`: the shorter list used by URQ/URJ and others.
    SecurityErrors2 { root: [
        /// `securityWrongSyncTime`.
        WrongSyncTime,
        /// `securityReplay`.
        Replay,
        /// `securityWrongGeneralID`.
        WrongGeneralId,
        /// `securityWrongSendersID`.
        WrongSendersId,
        /// `securityIntegrityFailed`.
        IntegrityFailed,
        /// `securityWrongOID`.
        WrongOid,
    ], ext: [] }
}

/// `ICV`: an integrity check value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Icv {
    /// `algorithmOID`.
    pub algorithm_oid: Oid,
    /// `icv BIT STRING`.
    pub icv: crate::per::BitString,
}

impl Per for Icv {
    fn encode_to(&self, w: &mut Writer) {
        w.oid(&self.algorithm_oid);
        w.bit_string(&self.icv, 0, None, false, "icv");
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Icv {
            algorithm_oid: r.oid()?,
            icv: r.bit_string(0, None, "icv")?,
        })
    }
}

/// Additions helper: an unconstrained `SEQUENCE OF T` extension addition.
pub(crate) fn add_list<T: Per>(x: &mut Additions, v: Option<&Vec<T>>, what: &'static str) {
    x.add(v, |w, v| put_list(w, v, what));
}
