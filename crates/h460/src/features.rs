//! The H.460.18 and H.460.19 feature identifiers and the generic-data payloads the
//! traversal zone procedures exchange over RAS.
//!
//! H.460.18 (signalling traversal) is standard feature 18. Its generic data parameters, each
//! an `EnumeratedParameter` whose `content` is `raw` holding the PER encoding of a type of the
//! H.460.18 ASN.1 module (Wireshark's H.460 dissector numbers them the same, "18/1" and
//! "18/2"):
//! - parameter 1, `IncomingCallIndication ::= SEQUENCE { callSignallingAddress
//!   TransportAddress, callID CallIdentifier, ... }`, sent by the server in the
//!   `genericData` of a ServiceControlIndication: "open a call-signalling connection to this
//!   address for this call";
//! - parameter 2, `LRQKeepAliveData ::= SEQUENCE { lrqKeepAliveInterval TimeToLive, ... }`.
//!
//! The feature itself is announced (no parameters) in `featureSet.supportedFeatures` of GRQ,
//! RRQ, GCF and RCF. The keep-alive time the server grants is the RCF's `timeToLive`.
//!
//! H.460.19 (media traversal) is standard feature 19, with parameters without content:
//! 1 `supportTransmitMultiplexedMedia` (the client can send multiplexed RTP) and 2
//! `mediaTraversalServer` (the sender is the media traversal server).

use crate::h225::{
    get_u32_from_1, put_u32_from_1, CallIdentifier, Content, EnumeratedParameter,
    FeatureDescriptor, GenericData, GenericIdentifier, TransportAddress,
};
use crate::per::{self, Error, Per, Reader, Writer};
use crate::ras::ServiceControlIndication;

/// H.460.18 signalling traversal: standard feature number.
pub const H460_18: u32 = 18;
/// H.460.19 media traversal: standard feature number.
pub const H460_19: u32 = 19;

/// H.460.18 generic-data parameter: IncomingCallIndication.
pub const H460_18_INCOMING_CALL_INDICATION: u32 = 1;
/// H.460.18 generic-data parameter: LRQKeepAliveData.
pub const H460_18_LRQ_KEEP_ALIVE_DATA: u32 = 2;
/// H.460.19 parameter: the endpoint can transmit multiplexed media.
pub const H460_19_SUPPORT_TRANSMIT_MULTIPLEXED_MEDIA: u32 = 1;
/// H.460.19 parameter: the sender is a media traversal server.
pub const H460_19_MEDIA_TRAVERSAL_SERVER: u32 = 2;

/// The H.460.18 feature descriptor, as listed in `supportedFeatures`.
pub fn h460_18_feature() -> FeatureDescriptor {
    GenericData::standard(H460_18)
}

/// The H.460.19 feature descriptor: `multiplex` adds `supportTransmitMultiplexedMedia`,
/// `server` adds `mediaTraversalServer`.
pub fn h460_19_feature(multiplex: bool, server: bool) -> FeatureDescriptor {
    let mut params = Vec::new();
    if multiplex {
        params.push(EnumeratedParameter::standard(
            H460_19_SUPPORT_TRANSMIT_MULTIPLEXED_MEDIA,
            None,
        ));
    }
    if server {
        params.push(EnumeratedParameter::standard(
            H460_19_MEDIA_TRAVERSAL_SERVER,
            None,
        ));
    }
    GenericData {
        id: GenericIdentifier::Standard(H460_19),
        parameters: (!params.is_empty()).then_some(params),
    }
}

/// H.460.18 `IncomingCallIndication`: where the client must open the call-signalling
/// connection for the call, and which call it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingCallIndication {
    /// `callSignallingAddress`.
    pub call_signalling_address: TransportAddress,
    /// `callID`.
    pub call_id: CallIdentifier,
}

impl Per for IncomingCallIndication {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[]);
        self.call_signalling_address.encode_to(w);
        self.call_id.encode_to(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let v = IncomingCallIndication {
            call_signalling_address: r.get()?,
            call_id: r.get()?,
        };
        r.additions(ext)?;
        Ok(v)
    }
}

impl IncomingCallIndication {
    /// The `genericData` element carrying it (feature 18, parameter 1, raw content).
    pub fn to_generic_data(&self) -> GenericData {
        GenericData {
            id: GenericIdentifier::Standard(H460_18),
            parameters: Some(vec![EnumeratedParameter::standard(
                H460_18_INCOMING_CALL_INDICATION,
                Some(Content::Raw(per::encode(self))),
            )]),
        }
    }

    /// The indication in a list of `genericData`: `Ok(None)` when there is none, an error
    /// when it is there but does not decode.
    pub fn find(generic_data: &[GenericData]) -> Result<Option<Self>, Error> {
        for g in generic_data {
            if g.id != GenericIdentifier::Standard(H460_18) {
                continue;
            }
            if let Some(p) = g.parameter(H460_18_INCOMING_CALL_INDICATION) {
                return match &p.content {
                    Some(Content::Raw(raw)) => per::decode(raw).map(Some),
                    _ => Err(Error::Invalid("IncomingCallIndication content")),
                };
            }
        }
        Ok(None)
    }
}

/// H.460.18 `LRQKeepAliveData`: the interval for LRQ keep-alives between gatekeepers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LrqKeepAliveData {
    /// `lrqKeepAliveInterval TimeToLive` (seconds).
    pub lrq_keep_alive_interval: u32,
}

impl Per for LrqKeepAliveData {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[]);
        put_u32_from_1(w, self.lrq_keep_alive_interval, "lrqKeepAliveInterval");
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let v = LrqKeepAliveData {
            lrq_keep_alive_interval: get_u32_from_1(r, "lrqKeepAliveInterval")?,
        };
        r.additions(ext)?;
        Ok(v)
    }
}

impl LrqKeepAliveData {
    /// The `genericData` element carrying it (feature 18, parameter 2, raw content).
    pub fn to_generic_data(&self) -> GenericData {
        GenericData {
            id: GenericIdentifier::Standard(H460_18),
            parameters: Some(vec![EnumeratedParameter::standard(
                H460_18_LRQ_KEEP_ALIVE_DATA,
                Some(Content::Raw(per::encode(self))),
            )]),
        }
    }
}

impl ServiceControlIndication {
    /// The H.460.18 incoming-call indication SCI: an empty `serviceControl` and the
    /// indication in `genericData`.
    pub fn incoming_call(request_seq_num: u16, indication: &IncomingCallIndication) -> Self {
        ServiceControlIndication {
            request_seq_num,
            generic_data: Some(vec![indication.to_generic_data()]),
            ..Default::default()
        }
    }

    /// The H.460.18 incoming-call indication this SCI carries, if any.
    pub fn incoming_call_indication(&self) -> Result<Option<IncomingCallIndication>, Error> {
        IncomingCallIndication::find(self.generic_data.as_deref().unwrap_or_default())
    }
}
