//! The UUIEs of the in-call messages: `Information-UUIE`, `Status-UUIE`,
//! `StatusInquiry-UUIE`, `SetupAcknowledge-UUIE` and `Notify-UUIE`. The last four begin
//! alike (protocolIdentifier, callIdentifier, tokens, cryptoTokens); three of them end
//! there and share [`CallStatusUuie`].

use super::common::{add_octet_list, get_octet_list, DisplayName, PresentationIndicator};
use crate::h225::{
    add_list, get_list, put_list, AliasAddress, CallIdentifier, EndpointType, ProtocolIdentifier,
};
use crate::per::{Additions, Error, Per, RawValue, Reader, Writer};
use crate::tokens::{ClearToken, CryptoH323Token};

/// `Information-UUIE`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct InformationUuie {
    /// `protocolIdentifier`.
    pub protocol_identifier: ProtocolIdentifier,
    /// `callIdentifier` (mandatory addition).
    pub call_identifier: CallIdentifier,
    /// `tokens`.
    pub tokens: Option<Vec<ClearToken>>,
    /// `cryptoTokens`.
    pub crypto_tokens: Option<Vec<CryptoH323Token>>,
    /// `fastStart`.
    pub fast_start: Option<Vec<Vec<u8>>>,
    /// `fastConnectRefused NULL OPTIONAL`.
    pub fast_connect_refused: bool,
    /// `circuitInfo` (kept as encoded).
    pub circuit_info: Option<RawValue>,
}

impl InformationUuie {
    /// An Information for the call `call_identifier`, H.225.0 v7.
    pub fn new(call_identifier: CallIdentifier) -> Self {
        InformationUuie {
            call_identifier,
            ..Default::default()
        }
    }
}

impl Per for InformationUuie {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.put(Some(&self.call_identifier));
        add_list(&mut x, self.tokens.as_ref(), "tokens");
        add_list(&mut x, self.crypto_tokens.as_ref(), "cryptoTokens");
        add_octet_list(&mut x, self.fast_start.as_ref(), "fastStart");
        x.flag(self.fast_connect_refused);
        x.raw(self.circuit_info.as_ref());
        w.preamble(Some(x.present()), &[]);
        self.protocol_identifier.encode_to(w);
        x.write(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let protocol_identifier = r.get()?;
        let mut x = r.additions(ext)?;
        Ok(InformationUuie {
            protocol_identifier,
            call_identifier: x.get()?.unwrap_or_default(),
            tokens: x.next(|r| get_list(r, "tokens"))?,
            crypto_tokens: x.next(|r| get_list(r, "cryptoTokens"))?,
            fast_start: x.next(|r| get_octet_list(r, "fastStart"))?,
            fast_connect_refused: x.flag(),
            circuit_info: x.raw(),
        })
    }
}

/// The root of `Status-UUIE`, `StatusInquiry-UUIE`, `SetupAcknowledge-UUIE` and
/// `Notify-UUIE`: written after an extension bit and two presence bits.
fn put_head(
    w: &mut Writer,
    ext: bool,
    pi: &ProtocolIdentifier,
    id: &CallIdentifier,
    tokens: &Option<Vec<ClearToken>>,
    crypto: &Option<Vec<CryptoH323Token>>,
) {
    w.preamble(Some(ext), &[tokens.is_some(), crypto.is_some()]);
    pi.encode_to(w);
    id.encode_to(w);
    if let Some(t) = tokens {
        put_list(w, t, "tokens");
    }
    if let Some(t) = crypto {
        put_list(w, t, "cryptoTokens");
    }
}

/// The decoded root of [`put_head`] and the extension bit.
type Head = (
    bool,
    ProtocolIdentifier,
    CallIdentifier,
    Option<Vec<ClearToken>>,
    Option<Vec<CryptoH323Token>>,
);

fn get_head(r: &mut Reader<'_>) -> Result<Head, Error> {
    let (ext, mut o) = r.preamble(true, 2)?;
    let (pt, pc) = (o.present(), o.present());
    let pi = r.get()?;
    let id = r.get()?;
    let tokens = r.opt(pt, |r| get_list(r, "tokens"))?;
    let crypto = r.opt(pc, |r| get_list(r, "cryptoTokens"))?;
    Ok((ext, pi, id, tokens, crypto))
}

/// `Status-UUIE`, `StatusInquiry-UUIE` and `SetupAcknowledge-UUIE`, which are the same
/// SEQUENCE `{ protocolIdentifier, callIdentifier, tokens OPTIONAL, cryptoTokens OPTIONAL,
/// ... }` (no additions in version 7).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CallStatusUuie {
    /// `protocolIdentifier`.
    pub protocol_identifier: ProtocolIdentifier,
    /// `callIdentifier`.
    pub call_identifier: CallIdentifier,
    /// `tokens`.
    pub tokens: Option<Vec<ClearToken>>,
    /// `cryptoTokens`.
    pub crypto_tokens: Option<Vec<CryptoH323Token>>,
}

/// `Status-UUIE`.
pub type StatusUuie = CallStatusUuie;
/// `StatusInquiry-UUIE`.
pub type StatusInquiryUuie = CallStatusUuie;
/// `SetupAcknowledge-UUIE`.
pub type SetupAcknowledgeUuie = CallStatusUuie;

impl CallStatusUuie {
    /// The UUIE for the call `call_identifier`, H.225.0 v7.
    pub fn new(call_identifier: CallIdentifier) -> Self {
        CallStatusUuie {
            call_identifier,
            ..Default::default()
        }
    }
}

impl Per for CallStatusUuie {
    fn encode_to(&self, w: &mut Writer) {
        put_head(
            w,
            false,
            &self.protocol_identifier,
            &self.call_identifier,
            &self.tokens,
            &self.crypto_tokens,
        );
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, protocol_identifier, call_identifier, tokens, crypto_tokens) = get_head(r)?;
        r.additions(ext)?;
        Ok(CallStatusUuie {
            protocol_identifier,
            call_identifier,
            tokens,
            crypto_tokens,
        })
    }
}

/// `Notify-UUIE`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NotifyUuie {
    /// `protocolIdentifier`.
    pub protocol_identifier: ProtocolIdentifier,
    /// `callIdentifier`.
    pub call_identifier: CallIdentifier,
    /// `tokens`.
    pub tokens: Option<Vec<ClearToken>>,
    /// `cryptoTokens`.
    pub crypto_tokens: Option<Vec<CryptoH323Token>>,
    /// `connectedAddress`.
    pub connected_address: Option<Vec<AliasAddress>>,
    /// `presentationIndicator`.
    pub presentation_indicator: Option<PresentationIndicator>,
    /// `screeningIndicator` (kept as encoded).
    pub screening_indicator: Option<RawValue>,
    /// `destinationInfo`.
    pub destination_info: Option<EndpointType>,
    /// `displayName`.
    pub display_name: Option<Vec<DisplayName>>,
}

impl NotifyUuie {
    /// A Notify for the call `call_identifier`, H.225.0 v7.
    pub fn new(call_identifier: CallIdentifier) -> Self {
        NotifyUuie {
            call_identifier,
            ..Default::default()
        }
    }
}

impl Per for NotifyUuie {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        add_list(&mut x, self.connected_address.as_ref(), "connectedAddress");
        x.put(self.presentation_indicator.as_ref());
        x.raw(self.screening_indicator.as_ref());
        x.put(self.destination_info.as_ref());
        add_list(&mut x, self.display_name.as_ref(), "displayName");
        put_head(
            w,
            x.present(),
            &self.protocol_identifier,
            &self.call_identifier,
            &self.tokens,
            &self.crypto_tokens,
        );
        x.write(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, protocol_identifier, call_identifier, tokens, crypto_tokens) = get_head(r)?;
        let mut x = r.additions(ext)?;
        Ok(NotifyUuie {
            protocol_identifier,
            call_identifier,
            tokens,
            crypto_tokens,
            connected_address: x.next(|r| get_list(r, "connectedAddress"))?,
            presentation_indicator: x.get()?,
            screening_indicator: x.raw(),
            destination_info: x.get()?,
            display_name: x.next(|r| get_list(r, "displayName"))?,
        })
    }
}
