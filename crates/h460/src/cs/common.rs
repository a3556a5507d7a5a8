//! Components that several call-signalling UUIEs share and the RAS messages do not: H.245
//! security modes, presentation and screening indicators, display names, call linkage, and
//! the encoding helpers for the lists of octet strings (fastStart, h245Control) and the
//! mandatory extension additions.

use crate::h225::{null_choice, NonStandardParameter};
use crate::per::{
    Additions, AdditionsReader, Choice, Error, Per, Reader, UnknownAlternative, Writer,
};

/// `ConferenceIdentifier ::= GloballyUniqueID` (OCTET STRING (SIZE (16))).
pub type ConferenceIdentifier = [u8; 16];

/// Writes a `GloballyUniqueID`: 16 octets, aligned, no length (X.691 §17.7).
pub(super) fn put_guid(w: &mut Writer, g: &ConferenceIdentifier, what: &'static str) {
    w.octet_string(g, 16, Some(16), what);
}

/// Reads a `GloballyUniqueID`.
pub(super) fn get_guid(
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<ConferenceIdentifier, Error> {
    r.octet_array(what)
}

/// Writes a `SEQUENCE OF OCTET STRING` (fastStart, h245Control, h4501SupplementaryService,
/// parallelH245Control): a length, then each string with its own length (X.691 §20, §17.8).
pub(super) fn put_octet_list(w: &mut Writer, v: &[Vec<u8>], what: &'static str) {
    w.seq_of(v, 0, None, what, |w, s| w.octet_string(s, 0, None, what));
}

/// Reads a `SEQUENCE OF OCTET STRING`; both counts are checked against the input left.
pub(super) fn get_octet_list(
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<Vec<Vec<u8>>, Error> {
    r.seq_of(0, None, what, |r| r.octet_string(0, None, what))
}

/// An OPTIONAL `SEQUENCE OF OCTET STRING` extension addition.
pub(super) fn add_octet_list(x: &mut Additions, v: Option<&Vec<Vec<u8>>>, what: &'static str) {
    x.add(v, |w, v| put_octet_list(w, v, what));
}

/// A mandatory BOOLEAN extension addition: `false` when an older peer did not send it.
pub(super) fn get_bool(x: &mut AdditionsReader<'_>) -> Result<bool, Error> {
    Ok(x.next(|r| r.boolean())?.unwrap_or(false))
}

/// A mandatory BOOLEAN extension addition, always sent.
pub(super) fn add_bool(x: &mut Additions, b: bool) {
    x.always(|w| w.boolean(b));
}

/// `H245Security`: the security mode of the H.245 channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum H245Security {
    /// `nonStandard`.
    NonStandard(NonStandardParameter),
    /// `noSecurity NULL`.
    NoSecurity,
    /// `tls`.
    Tls(SecurityCapabilities),
    /// `ipsec`.
    Ipsec(SecurityCapabilities),
    /// A later alternative.
    Other(UnknownAlternative),
}

impl Per for H245Security {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::NonStandard(n) => {
                w.choice_root(0, 4, true);
                n.encode_to(w);
            }
            Self::NoSecurity => w.choice_root(1, 4, true),
            Self::Tls(c) => {
                w.choice_root(2, 4, true);
                c.encode_to(w);
            }
            Self::Ipsec(c) => {
                w.choice_root(3, 4, true);
                c.encode_to(w);
            }
            Self::Other(u) => w.choice_unknown(u),
        }
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(4, true)? {
            Choice::Root(0) => Self::NonStandard(r.get()?),
            Choice::Root(1) => Self::NoSecurity,
            Choice::Root(2) => Self::Tls(r.get()?),
            Choice::Root(_) => Self::Ipsec(r.get()?),
            Choice::Ext(index, d) => Self::Other(UnknownAlternative {
                index,
                encoding: d.to_vec(),
            }),
        })
    }
}

/// `SecurityCapabilities`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityCapabilities {
    /// `nonStandard`.
    pub non_standard: Option<NonStandardParameter>,
    /// `encryption`.
    pub encryption: SecurityServiceMode,
    /// `authenticaton` (so spelt in H.225.0).
    pub authentication: SecurityServiceMode,
    /// `integrity`.
    pub integrity: SecurityServiceMode,
}

impl Per for SecurityCapabilities {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[self.non_standard.is_some()]);
        w.put_opt(&self.non_standard);
        self.encryption.encode_to(w);
        self.authentication.encode_to(w);
        self.integrity.encode_to(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 1)?;
        let v = SecurityCapabilities {
            non_standard: r.get_opt(o.present())?,
            encryption: r.get()?,
            authentication: r.get()?,
            integrity: r.get()?,
        };
        r.additions(ext)?;
        Ok(v)
    }
}

/// `SecurityServiceMode`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecurityServiceMode {
    /// `nonStandard`.
    NonStandard(NonStandardParameter),
    /// `none NULL`.
    None,
    /// `default NULL`.
    Default,
    /// A later alternative.
    Other(UnknownAlternative),
}

impl Per for SecurityServiceMode {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::NonStandard(n) => {
                w.choice_root(0, 3, true);
                n.encode_to(w);
            }
            Self::None => w.choice_root(1, 3, true),
            Self::Default => w.choice_root(2, 3, true),
            Self::Other(u) => w.choice_unknown(u),
        }
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(3, true)? {
            Choice::Root(0) => Self::NonStandard(r.get()?),
            Choice::Root(1) => Self::None,
            Choice::Root(_) => Self::Default,
            Choice::Ext(index, d) => Self::Other(UnknownAlternative {
                index,
                encoding: d.to_vec(),
            }),
        })
    }
}

null_choice! {
    /// `PresentationIndicator`: whether the address may be shown to the other party.
    PresentationIndicator { root: [
        /// `presentationAllowed`.
        Allowed,
        /// `presentationRestricted`.
        Restricted,
        /// `addressNotAvailable`.
        AddressNotAvailable,
    ], ext: [] }
}

/// `ScreeningIndicator ::= ENUMERATED { userProvidedNotScreened, userProvidedVerifiedAndPassed,
/// userProvidedVerifiedAndFailed, networkProvided, ... }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScreeningIndicator {
    /// `userProvidedNotScreened`.
    UserProvidedNotScreened,
    /// `userProvidedVerifiedAndPassed`.
    UserProvidedVerifiedAndPassed,
    /// `userProvidedVerifiedAndFailed`.
    UserProvidedVerifiedAndFailed,
    /// `networkProvided`.
    NetworkProvided,
    /// A later value: its index among the extension values.
    Other(u32),
}

impl Per for ScreeningIndicator {
    fn encode_to(&self, w: &mut Writer) {
        let (i, ext) = match self {
            Self::UserProvidedNotScreened => (0, false),
            Self::UserProvidedVerifiedAndPassed => (1, false),
            Self::UserProvidedVerifiedAndFailed => (2, false),
            Self::NetworkProvided => (3, false),
            Self::Other(i) => (*i, true),
        };
        w.enumerated(i, 4, true, ext);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.enumerated(4, true)? {
            (i, true) => Self::Other(i),
            (0, _) => Self::UserProvidedNotScreened,
            (1, _) => Self::UserProvidedVerifiedAndPassed,
            (2, _) => Self::UserProvidedVerifiedAndFailed,
            _ => Self::NetworkProvided,
        })
    }
}

/// `DisplayName ::= SEQUENCE { language IA5String OPTIONAL, name BMPString (SIZE (1..80)) }`
/// (not extensible).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName {
    /// `language` (an RFC 4646 tag).
    pub language: Option<String>,
    /// `name`.
    pub name: String,
}

impl Per for DisplayName {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(None, &[self.language.is_some()]);
        if let Some(l) = &self.language {
            w.ia5(l, 0, None, "language");
        }
        w.bmp(&self.name, 1, Some(80), "displayName");
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (_, mut o) = r.preamble(false, 1)?;
        Ok(DisplayName {
            language: r.opt(o.present(), |r| r.ia5(0, None, "language"))?,
            name: r.bmp(1, Some(80), "displayName")?,
        })
    }
}

/// `CallLinkage`: ties calls of one service together.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CallLinkage {
    /// `globalCallId`.
    pub global_call_id: Option<[u8; 16]>,
    /// `threadId`.
    pub thread_id: Option<[u8; 16]>,
}

impl Per for CallLinkage {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(
            Some(false),
            &[self.global_call_id.is_some(), self.thread_id.is_some()],
        );
        if let Some(g) = &self.global_call_id {
            put_guid(w, g, "globalCallId");
        }
        if let Some(g) = &self.thread_id {
            put_guid(w, g, "threadId");
        }
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 2)?;
        let (pg, pt) = (o.present(), o.present());
        let v = CallLinkage {
            global_call_id: r.opt(pg, |r| get_guid(r, "globalCallId"))?,
            thread_id: r.opt(pt, |r| get_guid(r, "threadId"))?,
        };
        r.additions(ext)?;
        Ok(v)
    }
}
