//! Minimal H323-UserInformation values, one per h323-message-body alternative we use.
//!
//! Common parts, with bits written most significant first:
//! - `H323-UserInformation ::= SEQUENCE { h323-uu-pdu, user-data OPTIONAL, ... }`: extension
//!   bit 0, presence bit of user-data 0.
//! - `H323-UU-PDU ::= SEQUENCE { h323-message-body, nonStandardData OPTIONAL, ..., ... }`:
//!   extension bit 0 (no h245Tunneling etc.), presence bit of nonStandardData 0.
//! - `h323-message-body CHOICE { setup, callProceeding, connect, alerting, information,
//!   releaseComplete, facility, ..., progress, empty, status, statusInquiry,
//!   setupAcknowledge, notify }`: extension bit, then for the 7 root alternatives a 3-bit
//!   index (X.691 §23.6); for the extension alternatives a normally small whole number
//!   (`0` + 6 bits, §11.6) and the value as an open type (octet-aligned length, §11.2).
//! - `protocolIdentifier` is the OBJECT IDENTIFIER 0.0.8.2250.0.4 (H.225.0 version 4): an
//!   octet-aligned length 6 and the X.690 contents `00 08 91 4A 00 04` (arcs 0.0 → 0x00, 8,
//!   2250 = 17·128 + 74 → 0x91 0x4A, 0, 4) (X.691 §24).
//! - `EndpointType ::= SEQUENCE { nonStandardData, vendor, gatekeeper, gateway, mcu,
//!   terminal (all OPTIONAL), mc BOOLEAN, undefinedNode BOOLEAN, ... }`: extension bit 0, six
//!   presence bits 0, mc 0, undefinedNode 0: 9 zero bits.
//! - A `ConferenceIdentifier` or a `CallIdentifier`'s `guid` is an OCTET STRING (SIZE(16)):
//!   16 octets, octet-aligned, no length (X.691 §17.8); `CallIdentifier ::= SEQUENCE { guid,
//!   ... }` adds an extension bit 0 in front.
//!
//! Shared by `framing_tshark.rs` (inside Q.931 messages for tshark) and `cs.rs` (decoded as
//! an older peer's messages).
#![allow(dead_code)] // each test binary uses a part

pub const OID: [u8; 7] = [0x06, 0x00, 0x08, 0x91, 0x4A, 0x00, 0x04];
pub const GUID: [u8; 16] = [
    0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF,
];

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// `Setup-UUIE ::= SEQUENCE { protocolIdentifier, h245Address OPT, sourceAddress OPT,
/// sourceInfo EndpointType, destinationAddress OPT, destCallSignalAddress OPT,
/// destExtraCallInfo OPT, destExtraCRV OPT, activeMC BOOLEAN, conferenceID,
/// conferenceGoal CHOICE { create, join, invite, ... }, callServices OPT, callType
/// CHOICE { pointToPoint, oneToN, nToOne, nToN, ... }, ... }`.
///
/// `0 0 0 0 0 000` (setup, index 0) = 0x00; extension bit 0 and 7 presence bits 0 = 0x00;
/// the OID; EndpointType (9 bits) and activeMC 0, padded = 0x00 0x00; conferenceID;
/// conferenceGoal `0 00` (create) and callType `0 00` (pointToPoint), padded = 0x00.
pub fn setup() -> Vec<u8> {
    cat(&[&[0x00, 0x00], &OID, &[0x00, 0x00], &GUID, &[0x00]])
}

/// `CallProceeding-UUIE ::= SEQUENCE { protocolIdentifier, destinationInfo EndpointType,
/// h245Address OPT, ... }`: `0 0 0 0 0 001` = 0x01; extension 0, presence 0, padded =
/// 0x00; the OID; EndpointType, padded = 0x00 0x00.
pub fn call_proceeding() -> Vec<u8> {
    cat(&[&[0x01, 0x00], &OID, &[0x00, 0x00]])
}

/// `Connect-UUIE ::= SEQUENCE { protocolIdentifier, h245Address OPT, destinationInfo,
/// conferenceID, ... }`: `0 0 0 0 0 010` = 0x02; extension 0, presence 0 = 0x00; the
/// OID; EndpointType, padded = 0x00 0x00; conferenceID.
pub fn connect() -> Vec<u8> {
    cat(&[&[0x02, 0x00], &OID, &[0x00, 0x00], &GUID])
}

/// `Alerting-UUIE ::= SEQUENCE { protocolIdentifier, destinationInfo, h245Address OPT,
/// ... }`: as CallProceeding with index 3 (`011`) = 0x03.
pub fn alerting() -> Vec<u8> {
    cat(&[&[0x03, 0x00], &OID, &[0x00, 0x00]])
}

/// `Information-UUIE ::= SEQUENCE { protocolIdentifier, ... }`: `0 0 0 0 0 100` = 0x04;
/// extension 0, padded = 0x00; the OID.
pub fn information() -> Vec<u8> {
    cat(&[&[0x04, 0x00], &OID])
}

/// `ReleaseComplete-UUIE ::= SEQUENCE { protocolIdentifier, reason OPT, ... }`:
/// `0 0 0 0 0 101` = 0x05; extension 0, presence 0, padded = 0x00; the OID.
pub fn release_complete() -> Vec<u8> {
    cat(&[&[0x05, 0x00], &OID])
}

/// `Facility-UUIE ::= SEQUENCE { protocolIdentifier, alternativeAddress OPT,
/// alternativeAliasAddress OPT, conferenceID OPT, reason FacilityReason, ... }` with
/// `FacilityReason ::= CHOICE { routeCallToGatekeeper, callForwarded, routeCallToMC,
/// undefinedReason, ... }`: `0 0 0 0 0 110` = 0x06; extension 0 and three presence bits
/// 0, padded = 0x00; the OID; reason `0 11` (undefinedReason, NULL), padded = 0x60.
pub fn facility() -> Vec<u8> {
    cat(&[&[0x06, 0x00], &OID, &[0x60]])
}

/// An extension alternative of h323-message-body: `0 0 0 0 1`, then `0` and the 6-bit
/// index, then the open type's length (aligned) and contents.
fn extension(index: u8, value: &[u8]) -> Vec<u8> {
    // 12 bits: 00001 0 iiiiii, then 4 padding bits.
    let bits: u16 = (0b00001 << 11) | (u16::from(index) << 4);
    let mut out = bits.to_be_bytes().to_vec();
    out.push(value.len() as u8);
    out.extend_from_slice(value);
    out
}

/// `Progress-UUIE ::= SEQUENCE { protocolIdentifier, destinationInfo, h245Address OPT,
/// callIdentifier, h245SecurityMode OPT, tokens OPT, cryptoTokens OPT, fastStart OPT,
/// ... }` (extension index 0): extension 0 and 5 presence bits 0, padded = 0x00; the
/// OID; EndpointType (9 bits) and the CallIdentifier's extension bit, padded = 0x00 0x00;
/// the guid.
pub fn progress() -> Vec<u8> {
    extension(0, &cat(&[&[0x00], &OID, &[0x00, 0x00], &GUID]))
}

/// `Status-UUIE`, `StatusInquiry-UUIE` and `Notify-UUIE` are all `SEQUENCE {
/// protocolIdentifier, callIdentifier, tokens OPT, cryptoTokens OPT, ... }`: extension 0
/// and 2 presence bits 0, padded = 0x00; the OID; the CallIdentifier's extension bit,
/// padded = 0x00; the guid. Extension indexes 2, 3 and 5.
fn id_only(index: u8) -> Vec<u8> {
    extension(index, &cat(&[&[0x00], &OID, &[0x00], &GUID]))
}

/// Status (extension index 2).
pub fn status() -> Vec<u8> {
    id_only(2)
}

/// StatusInquiry (extension index 3).
pub fn status_inquiry() -> Vec<u8> {
    id_only(3)
}

/// `SetupAcknowledge-UUIE ::= SEQUENCE { protocolIdentifier, callIdentifier, ... }`
/// (extension index 4): extension 0, padded = 0x00; the OID; 0x00; the guid.
pub fn setup_ack() -> Vec<u8> {
    extension(4, &cat(&[&[0x00], &OID, &[0x00], &GUID]))
}

/// Notify (extension index 5).
pub fn notify() -> Vec<u8> {
    id_only(5)
}
