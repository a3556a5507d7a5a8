//! H.460.19 media traversal parameters (MEDIA-TRAVERSAL module): where a traversal server
//! wants keep-alives and multiplexed media, carried in the `genericInformation` of
//! `OpenLogicalChannel` / `OpenLogicalChannelAck`.
//!
//! H.460.19 carries them as a `GenericInformation` whose `messageIdentifier` is the standard
//! OID `0.0.8.460.19.0.1` ([`TRAVERSAL_OID`]) with one `GenericParameter`, standard
//! identifier 1 ([`TRAVERSAL_PARAMETER`]), whose value is an `octetString` holding the PER
//! encoding of `TraversalParameters`. Wireshark decodes that parameter as
//! TraversalParameters under this identifier ("GenericInformation/0.0.8.460.19.0.1/1").

use crate::per::{self, Error, Oid, Per, Reader, Writer};

use super::common::{
    CapabilityIdentifier, GenericInformation, GenericMessage, GenericParameter, ParameterValue,
    TransportAddress,
};

/// The arcs of the H.460.19 generic message identifier, `{itu-t(0) recommendation(0) h(8)
/// 460 19 0 1}`.
pub const TRAVERSAL_OID: [u32; 7] = [0, 0, 8, 460, 19, 0, 1];

/// The standard parameter identifier of `traversalParameters` in that message.
pub const TRAVERSAL_PARAMETER: u8 = 1;

/// `TraversalParameters ::= SEQUENCE { multiplexedMediaChannel TransportAddress OPTIONAL,
/// multiplexedMediaControlChannel TransportAddress OPTIONAL, multiplexID INTEGER
/// (0..4294967295) OPTIONAL, keepAliveChannel TransportAddress OPTIONAL,
/// keepAlivePayloadType INTEGER (0..127) OPTIONAL, keepAliveInterval TimeToLive OPTIONAL, ...
/// }`, with the H.245 `TransportAddress` and H.225.0's `TimeToLive ::= INTEGER
/// (1..4294967295)` (seconds).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TraversalParameters {
    /// `multiplexedMediaChannel`.
    pub multiplexed_media_channel: Option<TransportAddress>,
    /// `multiplexedMediaControlChannel`.
    pub multiplexed_media_control_channel: Option<TransportAddress>,
    /// `multiplexID`.
    pub multiplex_id: Option<u32>,
    /// `keepAliveChannel`.
    pub keep_alive_channel: Option<TransportAddress>,
    /// `keepAlivePayloadType`.
    pub keep_alive_payload_type: Option<u8>,
    /// `keepAliveInterval` (seconds, at least 1).
    pub keep_alive_interval: Option<u32>,
}

impl Per for TraversalParameters {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(
            Some(false),
            &[
                self.multiplexed_media_channel.is_some(),
                self.multiplexed_media_control_channel.is_some(),
                self.multiplex_id.is_some(),
                self.keep_alive_channel.is_some(),
                self.keep_alive_payload_type.is_some(),
                self.keep_alive_interval.is_some(),
            ],
        );
        w.put_opt(&self.multiplexed_media_channel);
        w.put_opt(&self.multiplexed_media_control_channel);
        if let Some(v) = self.multiplex_id {
            w.constrained(u64::from(v), 0, 0xffff_ffff, "multiplexID");
        }
        w.put_opt(&self.keep_alive_channel);
        if let Some(v) = self.keep_alive_payload_type {
            w.constrained(u64::from(v), 0, 127, "keepAlivePayloadType");
        }
        if let Some(v) = self.keep_alive_interval {
            w.constrained(u64::from(v), 1, 0xffff_ffff, "keepAliveInterval");
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut p) = r.preamble(true, 6)?;
        let v = TraversalParameters {
            multiplexed_media_channel: r.get_opt(p.present())?,
            multiplexed_media_control_channel: r.get_opt(p.present())?,
            multiplex_id: r.opt(p.present(), |r| {
                Ok(r.constrained(0, 0xffff_ffff, "multiplexID")? as u32)
            })?,
            keep_alive_channel: r.get_opt(p.present())?,
            keep_alive_payload_type: r.opt(p.present(), |r| {
                Ok(r.constrained(0, 127, "keepAlivePayloadType")? as u8)
            })?,
            keep_alive_interval: r.opt(p.present(), |r| {
                Ok(r.constrained(1, 0xffff_ffff, "keepAliveInterval")? as u32)
            })?,
        };
        r.additions(ext)?;
        Ok(v)
    }
}

/// Whether `g` is the H.460.19 generic information entry.
fn is_traversal(g: &GenericInformation) -> bool {
    matches!(&g.message_identifier, CapabilityIdentifier::Standard(o) if o.0 == TRAVERSAL_OID)
}

impl TraversalParameters {
    /// The `GenericInformation` entry carrying these parameters.
    pub fn to_generic_information(&self) -> GenericInformation {
        GenericMessage {
            message_identifier: CapabilityIdentifier::Standard(Oid::new(&TRAVERSAL_OID)),
            sub_message_identifier: None,
            message_content: Some(vec![GenericParameter::standard(
                TRAVERSAL_PARAMETER,
                ParameterValue::OctetString(per::encode(self)),
            )]),
        }
    }

    /// The parameters of the H.460.19 entry in `list` (an OLC's or OLCAck's
    /// `genericInformation`): `None` when there is no such entry; an entry without the
    /// traversal parameter reads as all components absent (H.460.19 support signalled, no
    /// parameters); a parameter that is not an octet string or does not decode is an error.
    pub fn from_generic_information(
        list: &[GenericInformation],
    ) -> Option<Result<TraversalParameters, Error>> {
        let g = list.iter().find(|g| is_traversal(g))?;
        Some(match g.standard_parameter(TRAVERSAL_PARAMETER) {
            None => Ok(TraversalParameters::default()),
            Some(ParameterValue::OctetString(b)) => per::decode(b),
            Some(_) => Err(Error::Invalid("traversalParameters")),
        })
    }

    /// Replaces (or appends) the H.460.19 entry of `list`.
    pub(crate) fn store_in(&self, list: &mut Option<Vec<GenericInformation>>) {
        let list = list.get_or_insert_with(Vec::new);
        let entry = self.to_generic_information();
        match list.iter_mut().find(|g| is_traversal(g)) {
            Some(g) => *g = entry,
            None => list.push(entry),
        }
    }
}
