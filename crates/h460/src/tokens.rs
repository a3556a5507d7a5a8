//! The H.235 security tokens that H.225.0 RAS messages carry (`tokens`, `cryptoTokens`,
//! `authenticationCapability`), as defined in the H235-SECURITY-MESSAGES module (H.235.0
//! 09/2005) and `CryptoH323Token` of H.225.0.
//!
//! exp uses one shape, the H.235.1 password-based integrity token ("procedure I"):
//! `cryptoTokens` → `nestedcryptoToken` → `cryptoHashedToken` { tokenOID "A",
//! hashedVals ClearToken { tokenOID "T", timeStamp, random, generalID, sendersID },
//! token HASHED { algorithmOID "U" (HMAC-SHA1-96), params {}, hash BIT STRING (96 bits) } }.
//! [`CryptoH323Token::h235_1`] builds it with a zero hash, the RAS encoder records where the
//! hash landed ([`crate::ras::RasMessage::encode_for_sealing`]) and [`crate::h235::seal`]
//! fills it in. The other token kinds are decoded so that a message carrying them still
//! decodes; their contents are kept but not interpreted.

use crate::h225::{get_identifier, get_u32_from_1, put_identifier, put_u32_from_1, AliasAddress};
use crate::per::{
    Additions, BitString, Choice, Error, Oid, Per, RawValue, Reader, UnknownAlternative, Writer,
};

/// `ClearToken`: values sent in the clear (H.235.0).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ClearToken {
    /// `tokenOID`.
    pub token_oid: Oid,
    /// `timeStamp TimeStamp` (seconds since 1970, `1..4294967295`).
    pub time_stamp: Option<u32>,
    /// `password Password` (BMPString 1..128).
    pub password: Option<String>,
    /// `dhkey`.
    pub dhkey: Option<DhSet>,
    /// `challenge ChallengeString` (8..128 octets).
    pub challenge: Option<Vec<u8>>,
    /// `random RandomVal` (an INTEGER; H.235.1 uses 32-bit values).
    pub random: Option<i64>,
    /// `certificate`.
    pub certificate: Option<TypedCertificate>,
    /// `generalID Identifier` (BMPString 1..128): the receiver's identity in H.235.1.
    pub general_id: Option<String>,
    /// `nonStandard`.
    pub non_standard: Option<H235NonStandard>,
    /// `eckasdhkey` (extension addition, kept as encoded).
    pub eckasdhkey: Option<RawValue>,
    /// `sendersID Identifier` (extension addition): the sender's identity in H.235.1.
    pub senders_id: Option<String>,
    /// `h235Key` (extension addition, kept as encoded).
    pub h235_key: Option<RawValue>,
    /// `profileInfo` (extension addition, kept as encoded).
    pub profile_info: Option<RawValue>,
}

impl Per for ClearToken {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.raw(self.eckasdhkey.as_ref());
        x.add(self.senders_id.as_ref(), |w, s| put_identifier(w, s));
        x.raw(self.h235_key.as_ref());
        x.raw(self.profile_info.as_ref());
        w.preamble(
            Some(x.present()),
            &[
                self.time_stamp.is_some(),
                self.password.is_some(),
                self.dhkey.is_some(),
                self.challenge.is_some(),
                self.random.is_some(),
                self.certificate.is_some(),
                self.general_id.is_some(),
                self.non_standard.is_some(),
            ],
        );
        w.oid(&self.token_oid);
        if let Some(t) = self.time_stamp {
            put_u32_from_1(w, t, "timeStamp");
        }
        if let Some(p) = &self.password {
            w.bmp(p, 1, Some(128), "password");
        }
        w.put_opt(&self.dhkey);
        if let Some(c) = &self.challenge {
            w.octet_string(c, 8, Some(128), "challenge");
        }
        if let Some(r) = self.random {
            w.unconstrained(r);
        }
        w.put_opt(&self.certificate);
        if let Some(g) = &self.general_id {
            put_identifier(w, g);
        }
        w.put_opt(&self.non_standard);
        x.write(w);
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 8)?;
        let p: Vec<bool> = (0..8).map(|_| o.present()).collect();
        let token_oid = r.oid()?;
        let time_stamp = r.opt(p[0], |r| get_u32_from_1(r, "timeStamp"))?;
        let password = r.opt(p[1], |r| r.bmp(1, Some(128), "password"))?;
        let dhkey = r.get_opt(p[2])?;
        let challenge = r.opt(p[3], |r| r.octet_string(8, Some(128), "challenge"))?;
        let random = r.opt(p[4], |r| r.unconstrained())?;
        let certificate = r.get_opt(p[5])?;
        let general_id = r.opt(p[6], get_identifier)?;
        let non_standard = r.get_opt(p[7])?;
        let mut x = r.additions(ext)?;
        Ok(ClearToken {
            token_oid,
            time_stamp,
            password,
            dhkey,
            challenge,
            random,
            certificate,
            general_id,
            non_standard,
            eckasdhkey: x.raw(),
            senders_id: x.next(get_identifier)?,
            h235_key: x.raw(),
            profile_info: x.raw(),
        })
    }
}

/// `DHset`: Diffie-Hellman parameters (each `BIT STRING (SIZE (0..2048))`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DhSet {
    /// `halfkey`.
    pub halfkey: BitString,
    /// `modSize`.
    pub mod_size: BitString,
    /// `generator`.
    pub generator: BitString,
}

impl Per for DhSet {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[]);
        for b in [&self.halfkey, &self.mod_size, &self.generator] {
            w.bit_string(b, 0, Some(2048), false, "DHset");
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let v = DhSet {
            halfkey: r.bit_string(0, Some(2048), "halfkey")?,
            mod_size: r.bit_string(0, Some(2048), "modSize")?,
            generator: r.bit_string(0, Some(2048), "generator")?,
        };
        r.additions(ext)?;
        Ok(v)
    }
}

/// `TypedCertificate`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TypedCertificate {
    /// `type`.
    pub kind: Oid,
    /// `certificate`.
    pub certificate: Vec<u8>,
}

impl Per for TypedCertificate {
    fn encode_to(&self, w: &mut Writer) {
        w.preamble(Some(false), &[]);
        w.oid(&self.kind);
        w.octet_string(&self.certificate, 0, None, "certificate");
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, _) = r.preamble(true, 0)?;
        let v = TypedCertificate {
            kind: r.oid()?,
            certificate: r.octet_string(0, None, "certificate")?,
        };
        r.additions(ext)?;
        Ok(v)
    }
}

/// `NonStandardParameter` of H.235 (an OID and data; not the H.225.0 one).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct H235NonStandard {
    /// `nonStandardIdentifier`.
    pub identifier: Oid,
    /// `data`.
    pub data: Vec<u8>,
}

impl Per for H235NonStandard {
    fn encode_to(&self, w: &mut Writer) {
        w.oid(&self.identifier);
        w.octet_string(&self.data, 0, None, "data");
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(H235NonStandard {
            identifier: r.oid()?,
            data: r.octet_string(0, None, "data")?,
        })
    }
}

/// `Params`: runtime parameters of a cryptographic operation (empty for HMAC-SHA1-96).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Params {
    /// `ranInt INTEGER`.
    pub ran_int: Option<i64>,
    /// `iv8 IV8` (8 octets).
    pub iv8: Option<[u8; 8]>,
    /// `iv16 IV16` (extension addition, 16 octets).
    pub iv16: Option<[u8; 16]>,
    /// `iv OCTET STRING` (extension addition).
    pub iv: Option<Vec<u8>>,
    /// `clearSalt OCTET STRING` (extension addition).
    pub clear_salt: Option<Vec<u8>>,
}

impl Per for Params {
    fn encode_to(&self, w: &mut Writer) {
        let mut x = Additions::new();
        x.add(self.iv16.as_ref(), |w, v| {
            w.octet_string(v, 16, Some(16), "iv16")
        });
        x.add(self.iv.as_ref(), |w, v| w.octet_string(v, 0, None, "iv"));
        x.add(self.clear_salt.as_ref(), |w, v| {
            w.octet_string(v, 0, None, "clearSalt")
        });
        w.preamble(
            Some(x.present()),
            &[self.ran_int.is_some(), self.iv8.is_some()],
        );
        if let Some(i) = self.ran_int {
            w.unconstrained(i);
        }
        if let Some(v) = &self.iv8 {
            w.octet_string(v, 8, Some(8), "iv8");
        }
        x.write(w);
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (ext, mut o) = r.preamble(true, 2)?;
        let (p_ran, p_iv8) = (o.present(), o.present());
        let ran_int = r.opt(p_ran, |r| r.unconstrained())?;
        let iv8 = r.opt(p_iv8, |r| r.octet_array("iv8"))?;
        let mut x = r.additions(ext)?;
        Ok(Params {
            ran_int,
            iv8,
            iv16: x.next(|r| r.octet_array("iv16"))?,
            iv: x.next(|r| r.octet_string(0, None, "iv"))?,
            clear_salt: x.next(|r| r.octet_string(0, None, "clearSalt"))?,
        })
    }
}

/// `HASHED{ToBeHashed}`: the hash of a value that is not itself sent.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Hashed {
    /// `algorithmOID`.
    pub algorithm_oid: Oid,
    /// `paramS`.
    pub params: Params,
    /// `hash BIT STRING`. Its encoding position is recorded for sealing.
    pub hash: BitString,
}

impl Per for Hashed {
    fn encode_to(&self, w: &mut Writer) {
        w.oid(&self.algorithm_oid);
        self.params.encode_to(w);
        w.bit_string(&self.hash, 0, None, true, "hash");
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Hashed {
            algorithm_oid: r.oid()?,
            params: r.get()?,
            hash: r.bit_string(0, None, "hash")?,
        })
    }
}

/// `ENCRYPTED{ToBeEncrypted}`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Encrypted {
    /// `algorithmOID`.
    pub algorithm_oid: Oid,
    /// `paramS`.
    pub params: Params,
    /// `encryptedData`.
    pub encrypted_data: Vec<u8>,
}

impl Per for Encrypted {
    fn encode_to(&self, w: &mut Writer) {
        w.oid(&self.algorithm_oid);
        self.params.encode_to(w);
        w.octet_string(&self.encrypted_data, 0, None, "encryptedData");
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Encrypted {
            algorithm_oid: r.oid()?,
            params: r.get()?,
            encrypted_data: r.octet_string(0, None, "encryptedData")?,
        })
    }
}

/// `SIGNED{ToBeSigned}`; `toBeSigned` (a `TYPE-IDENTIFIER.&Type`, i.e. an open type) is
/// kept as its encoding.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Signed {
    /// `toBeSigned`: the complete encoding of the signed value.
    pub to_be_signed: Vec<u8>,
    /// `algorithmOID`.
    pub algorithm_oid: Oid,
    /// `paramS`.
    pub params: Params,
    /// `signature`.
    pub signature: BitString,
}

impl Per for Signed {
    fn encode_to(&self, w: &mut Writer) {
        w.open_bytes(&self.to_be_signed, &[]);
        w.oid(&self.algorithm_oid);
        self.params.encode_to(w);
        w.bit_string(&self.signature, 0, None, false, "signature");
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Signed {
            to_be_signed: r.open_type()?.to_vec(),
            algorithm_oid: r.oid()?,
            params: r.get()?,
            signature: r.bit_string(0, None, "signature")?,
        })
    }
}

/// `CryptoToken` (H.235.0).
// Few per message; the H.235.1 variant is the large one and the common one.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CryptoToken {
    /// `cryptoEncryptedToken { tokenOID, token ENCRYPTED }`.
    Encrypted {
        /// `tokenOID`.
        token_oid: Oid,
        /// `token`.
        token: Encrypted,
    },
    /// `cryptoSignedToken { tokenOID, token SIGNED }`.
    Signed {
        /// `tokenOID`.
        token_oid: Oid,
        /// `token`.
        token: Signed,
    },
    /// `cryptoHashedToken { tokenOID, hashedVals, token HASHED }`: H.235.1.
    Hashed(CryptoHashedToken),
    /// `cryptoPwdEncr`.
    PwdEncr(Encrypted),
    /// A later alternative.
    Other(UnknownAlternative),
}

/// `cryptoHashedToken` of [`CryptoToken`].
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CryptoHashedToken {
    /// `tokenOID`.
    pub token_oid: Oid,
    /// `hashedVals`.
    pub hashed_vals: ClearToken,
    /// `token`.
    pub token: Hashed,
}

impl Per for CryptoToken {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Self::Encrypted { token_oid, token } => {
                w.choice_root(0, 4, true);
                w.oid(token_oid);
                token.encode_to(w);
            }
            Self::Signed { token_oid, token } => {
                w.choice_root(1, 4, true);
                w.oid(token_oid);
                token.encode_to(w);
            }
            Self::Hashed(h) => {
                w.choice_root(2, 4, true);
                w.oid(&h.token_oid);
                h.hashed_vals.encode_to(w);
                h.token.encode_to(w);
            }
            Self::PwdEncr(e) => {
                w.choice_root(3, 4, true);
                e.encode_to(w);
            }
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(4, true)? {
            Choice::Root(0) => Self::Encrypted {
                token_oid: r.oid()?,
                token: r.get()?,
            },
            Choice::Root(1) => Self::Signed {
                token_oid: r.oid()?,
                token: r.get()?,
            },
            Choice::Root(2) => Self::Hashed(CryptoHashedToken {
                token_oid: r.oid()?,
                hashed_vals: r.get()?,
                token: r.get()?,
            }),
            Choice::Root(_) => Self::PwdEncr(r.get()?),
            Choice::Ext(index, d) => Self::Other(UnknownAlternative {
                index,
                encoding: d.to_vec(),
            }),
        })
    }
}

/// `CryptoH323Token` (H.225.0): an element of a RAS message's `cryptoTokens`.
// Few per message; the H.235.1 variant is the large one and the common one.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CryptoH323Token {
    /// `cryptoEPPwdHash { alias, timeStamp, token HASHED }`.
    EpPwdHash {
        /// `alias`.
        alias: AliasAddress,
        /// `timeStamp`.
        time_stamp: u32,
        /// `token`.
        token: Hashed,
    },
    /// `cryptoGKPwdHash { gatekeeperId, timeStamp, token HASHED }`.
    GkPwdHash {
        /// `gatekeeperId`.
        gatekeeper_id: String,
        /// `timeStamp`.
        time_stamp: u32,
        /// `token`.
        token: Hashed,
    },
    /// `cryptoEPPwdEncr`.
    EpPwdEncr(Encrypted),
    /// `cryptoGKPwdEncr`.
    GkPwdEncr(Encrypted),
    /// `cryptoEPCert`.
    EpCert(Signed),
    /// `cryptoGKCert`.
    GkCert(Signed),
    /// `cryptoFastStart`.
    FastStart(Signed),
    /// `nestedcryptoToken`: H.235.1 uses this.
    Nested(CryptoToken),
    /// A later alternative.
    Other(UnknownAlternative),
}

impl CryptoH323Token {
    /// The H.235.1 procedure I token with a zero hash (to be sealed after encoding):
    /// `general_id` names the receiver, `senders_id` the sender.
    pub fn h235_1(general_id: &str, senders_id: &str, time_stamp: u32, random: u32) -> Self {
        CryptoH323Token::Nested(CryptoToken::Hashed(CryptoHashedToken {
            token_oid: Oid::new(crate::h235::OID_A),
            hashed_vals: ClearToken {
                token_oid: Oid::new(crate::h235::OID_T),
                time_stamp: Some(time_stamp),
                random: Some(i64::from(random)),
                general_id: Some(general_id.to_string()),
                senders_id: Some(senders_id.to_string()),
                ..Default::default()
            },
            token: Hashed {
                algorithm_oid: Oid::new(crate::h235::OID_U),
                params: Params::default(),
                hash: BitString::from_bytes(vec![0; crate::h235::HASH_LEN]),
            },
        }))
    }

    /// The `cryptoHashedToken` inside, if this is a nested hashed token.
    pub fn hashed(&self) -> Option<&CryptoHashedToken> {
        match self {
            CryptoH323Token::Nested(CryptoToken::Hashed(h)) => Some(h),
            _ => None,
        }
    }
}

/// `cryptoEPPwdHash`/`cryptoGKPwdHash` share this layout after their first component.
fn put_stamp_and_hash(w: &mut Writer, time_stamp: u32, token: &Hashed) {
    put_u32_from_1(w, time_stamp, "timeStamp");
    token.encode_to(w);
}

impl Per for CryptoH323Token {
    fn encode_to(&self, w: &mut Writer) {
        let root = |w: &mut Writer, i| w.choice_root(i, 8, true);
        match self {
            Self::EpPwdHash {
                alias,
                time_stamp,
                token,
            } => {
                root(w, 0);
                alias.encode_to(w);
                put_stamp_and_hash(w, *time_stamp, token);
            }
            Self::GkPwdHash {
                gatekeeper_id,
                time_stamp,
                token,
            } => {
                root(w, 1);
                put_identifier(w, gatekeeper_id);
                put_stamp_and_hash(w, *time_stamp, token);
            }
            Self::EpPwdEncr(e) => {
                root(w, 2);
                e.encode_to(w);
            }
            Self::GkPwdEncr(e) => {
                root(w, 3);
                e.encode_to(w);
            }
            Self::EpCert(s) => {
                root(w, 4);
                s.encode_to(w);
            }
            Self::GkCert(s) => {
                root(w, 5);
                s.encode_to(w);
            }
            Self::FastStart(s) => {
                root(w, 6);
                s.encode_to(w);
            }
            Self::Nested(t) => {
                root(w, 7);
                t.encode_to(w);
            }
            Self::Other(u) => w.choice_unknown(u),
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(8, true)? {
            Choice::Root(0) => Self::EpPwdHash {
                alias: r.get()?,
                time_stamp: get_u32_from_1(r, "timeStamp")?,
                token: r.get()?,
            },
            Choice::Root(1) => Self::GkPwdHash {
                gatekeeper_id: get_identifier(r)?,
                time_stamp: get_u32_from_1(r, "timeStamp")?,
                token: r.get()?,
            },
            Choice::Root(2) => Self::EpPwdEncr(r.get()?),
            Choice::Root(3) => Self::GkPwdEncr(r.get()?),
            Choice::Root(4) => Self::EpCert(r.get()?),
            Choice::Root(5) => Self::GkCert(r.get()?),
            Choice::Root(6) => Self::FastStart(r.get()?),
            Choice::Root(_) => Self::Nested(r.get()?),
            Choice::Ext(index, d) => Self::Other(UnknownAlternative {
                index,
                encoding: d.to_vec(),
            }),
        })
    }
}

/// `AuthenticationMechanism` (H.235.0): offered in GRQ, chosen in GCF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthenticationMechanism {
    /// `dhExch`.
    DhExch,
    /// `pwdSymEnc`.
    PwdSymEnc,
    /// `pwdHash`: password with hashing (H.235.1).
    PwdHash,
    /// `certSign`.
    CertSign,
    /// `ipsec`.
    Ipsec,
    /// `tls`.
    Tls,
    /// `nonStandard`.
    NonStandard(H235NonStandard),
    /// `keyExch` (extension alternative).
    KeyExch(Oid),
    /// `authenticationBES` or a later alternative.
    Other(UnknownAlternative),
}

impl Per for AuthenticationMechanism {
    fn encode_to(&self, w: &mut Writer) {
        let null = [
            Self::DhExch,
            Self::PwdSymEnc,
            Self::PwdHash,
            Self::CertSign,
            Self::Ipsec,
            Self::Tls,
        ];
        if let Some(i) = null.iter().position(|m| m == self) {
            w.choice_root(i as u32, 7, true);
            return;
        }
        match self {
            Self::NonStandard(n) => {
                w.choice_root(6, 7, true);
                n.encode_to(w);
            }
            Self::KeyExch(o) => w.choice_ext(1, |w| w.oid(o)),
            Self::Other(u) => w.choice_unknown(u),
            _ => {}
        }
    }
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.choice(7, true)? {
            Choice::Root(0) => Self::DhExch,
            Choice::Root(1) => Self::PwdSymEnc,
            Choice::Root(2) => Self::PwdHash,
            Choice::Root(3) => Self::CertSign,
            Choice::Root(4) => Self::Ipsec,
            Choice::Root(5) => Self::Tls,
            Choice::Root(_) => Self::NonStandard(r.get()?),
            Choice::Ext(1, d) => Self::KeyExch(r.sub(d).oid()?),
            Choice::Ext(index, d) => Self::Other(UnknownAlternative {
                index,
                encoding: d.to_vec(),
            }),
        })
    }
}
