//! ASN.1 packed encoding rules, ALIGNED variant (ITU-T X.691), as H.225.0 and H.245 use them.
//!
//! This is a focused codec: a bit-level [`Writer`] and [`Reader`] with one method per X.691
//! encoding procedure, and a [`Per`] trait that the message types in [`crate::h225`],
//! [`crate::tokens`] and [`crate::ras`] implement by hand, field by field, in the order of
//! the ASN.1 modules. Clause numbers below are those of X.691 (02/2021 and 08/2015, which
//! agree on them).
//!
//! # Why not `rasn`
//! The `rasn` crate (0.30, its `aper` codec and derive macros) was tried first with H.225.0
//! types: its encodings were right (tshark decoded a GRQ with an extensible CHOICE, extension
//! additions, a permitted-alphabet IA5String, an extensible INTEGER and BMPStrings cleanly)
//! and it survived random input. It failed on decoding, though: a SEQUENCE whose *mandatory*
//! extension addition is absent because the sender implements an older version of the module
//! is refused ("Extension ... required, but not present"). H.225.0 has such additions in the
//! very messages we need: `supportsAssignedGK` (BOOLEAN, added in version 6) in GRQ and RRQ,
//! `keepAlive`/`willSupplyUUIEs`/`maintainConnection` in RRQ. A version 4 endpoint's RRQ
//! (most deployed H.460.18 endpoints are v4/v5) would be rejected. Working around it means
//! declaring those fields OPTIONAL, i.e. not following the module. `rasn` also marks every
//! extensible type `#[non_exhaustive]`, so the other crates of exp could not build or match
//! the H.225 structs (almost all are extensible) without a second, mirrored set of types.
//!
//! # Rules this codec keeps
//! - Decoding never panics and never allocates from a length it has not checked against the
//!   input that is left: a count of N items or characters is refused unless N times the
//!   smallest item still fits in the remaining bits.
//! - Lengths of 16K or more (fragmented encoding, §11.9.3.8) are refused in both directions:
//!   no RAS message needs them.
//! - Nesting (GenericData inside Content inside GenericData...) is bounded by [`MAX_DEPTH`].
//! - Encoding is infallible: a value outside its constraint (an empty string where
//!   `SIZE (1..)` is required, a character outside the permitted alphabet) is written as the
//!   nearest valid value and remembered; [`encode_checked`] reports the first such value.
//! - Extension additions and extension alternatives this crate does not model are kept as
//!   their encodings ([`RawValue`], [`UnknownAlternative`]) so a relayed message keeps them.
//! - The extension bitmap of a SEQUENCE we encode has one bit for every addition of the
//!   type as modelled here (H.225.0 version 7), as other H.323 encoders send it; a shorter
//!   bitmap from an older peer decodes, its missing mandatory additions read as false/empty,
//!   and additions beyond ours from a newer peer are skipped.

use std::fmt;

/// Deepest nesting of recursive types (GenericData / EnumeratedParameter / Content) accepted.
pub const MAX_DEPTH: usize = 16;

/// Why a PER encoding could not be decoded (or a value could not be encoded as given).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input ended inside a field.
    #[error("truncated input at bit {at}")]
    Truncated {
        /// Bit offset where more input was needed.
        at: usize,
    },
    /// A length determinant announced a fragmented (16K or more) encoding (§11.9.3.8).
    #[error("fragmented length (16K or more) is not supported")]
    Fragmented,
    /// A length or count cannot be satisfied by the input that is left.
    #[error("{what}: length {len} exceeds the remaining input")]
    TooLong {
        /// The field.
        what: &'static str,
        /// The announced length.
        len: usize,
    },
    /// A value lies outside its constraint.
    #[error("{0}: value out of range")]
    OutOfRange(&'static str),
    /// The bits do not form a valid encoding of the field.
    #[error("invalid {0}")]
    Invalid(&'static str),
    /// Recursive types nest deeper than [`MAX_DEPTH`].
    #[error("nesting deeper than {MAX_DEPTH}")]
    TooDeep,
    /// A valid encoding of something this crate does not decode (a root alternative of a
    /// CHOICE whose type is not modelled).
    #[error("unsupported {0}")]
    Unsupported(&'static str),
    /// A RAS message other than the ones this crate handles.
    #[error("unsupported RAS message: {0}")]
    UnsupportedMessage(&'static str),
    /// A Q.931 message without the User-user IE that carries the H323-UserInformation.
    #[error("no User-user information element")]
    MissingUserUser,
}

/// A type with an aligned PER encoding.
pub trait Per: Sized {
    /// Appends the encoding of `self`.
    fn encode_to(&self, w: &mut Writer);
    /// Reads one value.
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, Error>;
}

/// The complete encoding (§11.1: padded to whole octets) of `v`.
pub fn encode<T: Per>(v: &T) -> Vec<u8> {
    let mut w = Writer::new();
    v.encode_to(&mut w);
    w.into_complete().0
}

/// Like [`encode`], but refuses a value that breaks a constraint instead of adjusting it.
pub fn encode_checked<T: Per>(v: &T) -> Result<Vec<u8>, Error> {
    let mut w = Writer::new();
    v.encode_to(&mut w);
    match w.violation.take() {
        Some(e) => Err(e),
        None => Ok(w.into_complete().0),
    }
}

/// Decodes one value from the start of `data` (trailing octets are ignored).
pub fn decode<T: Per>(data: &[u8]) -> Result<T, Error> {
    T::decode_from(&mut Reader::new(data))
}

/// An OBJECT IDENTIFIER, as its arcs (`0.0.8.2250.0.7` is `[0, 0, 8, 2250, 0, 7]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Oid(pub Vec<u32>);

impl Oid {
    /// The OID with these arcs.
    pub fn new(arcs: &[u32]) -> Self {
        Oid(arcs.to_vec())
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

/// A BIT STRING: `len` bits, first bit in the most significant bit of `bytes[0]`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BitString {
    /// The bits, `len.div_ceil(8)` octets; unused trailing bits are zero.
    pub bytes: Vec<u8>,
    /// Number of bits.
    pub len: usize,
}

impl BitString {
    /// All bits of `bytes`.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        let len = bytes.len() * 8;
        BitString { bytes, len }
    }
}

/// The complete encoding of a value whose type this crate does not model (an extension
/// addition), kept so that it is re-encoded unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawValue(pub Vec<u8>);

/// An extension alternative of a CHOICE that this crate does not model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownAlternative {
    /// Index among the extension alternatives (0 is the first after the `...`).
    pub index: u32,
    /// The complete encoding of the alternative's value.
    pub encoding: Vec<u8>,
}

/// Bits needed for the values `0..=max` (at least 1 where `max > 0`).
fn bits_for(max: u64) -> u32 {
    64 - max.leading_zeros()
}

/// Octets needed for `v` (at least 1).
fn octets_for(v: u64) -> usize {
    (bits_for(v) as usize).div_ceil(8).max(1)
}

/// A permitted alphabet of a known-multiplier character string type (§30).
#[derive(Clone, Copy, Debug)]
pub struct Alphabet {
    /// The characters, ascending; empty means the contiguous range `0..=max`.
    chars: &'static [u8],
    /// Largest character of a contiguous range (for `chars` empty).
    max: u32,
    /// Bits per character in the ALIGNED variant (§30.5.2: rounded up to a power of two).
    bits: u32,
}

impl Alphabet {
    /// IA5String: characters 0..=127, 8 bits each (7 rounded up).
    pub const IA5: Alphabet = Alphabet {
        chars: &[],
        max: 127,
        bits: 8,
    };
    /// BMPString: UCS-2 code units, 16 bits each.
    pub const BMP: Alphabet = Alphabet {
        chars: &[],
        max: 0xffff,
        bits: 16,
    };
    /// `IA5String (FROM ("0123456789#*,"))` of H.225.0 dialledDigits/NumberDigits: 13
    /// characters in 4 bits, as their index in ascending order since '9' > 15 (§30.5.4).
    pub const DIGITS: Alphabet = Alphabet {
        chars: b"#*,0123456789",
        max: 0,
        bits: 4,
    };
    /// NumericString: space and digits, 4 bits, as the index (§30.5.4).
    pub const NUMERIC: Alphabet = Alphabet {
        chars: b" 0123456789",
        max: 0,
        bits: 4,
    };

    /// The code to send for `c`, if `c` is in the alphabet.
    fn code(&self, c: u32) -> Option<u32> {
        if self.chars.is_empty() {
            (c <= self.max).then_some(c)
        } else {
            // Largest character > 2^bits - 1 holds for every list alphabet here, so the
            // index is sent (§30.5.4 b).
            self.chars
                .iter()
                .position(|&a| u32::from(a) == c)
                .map(|i| i as u32)
        }
    }

    /// The character sent as `code`.
    fn char_of(&self, code: u32) -> Option<u32> {
        if self.chars.is_empty() {
            (code <= self.max).then_some(code)
        } else {
            self.chars.get(code as usize).map(|&c| u32::from(c))
        }
    }
}

/// Writes an aligned PER encoding bit by bit.
#[derive(Default, Debug)]
pub struct Writer {
    buf: Vec<u8>,
    /// Bits written.
    len: usize,
    /// Octet offsets of marked fields (see [`Writer::mark`]).
    marks: Vec<usize>,
    violation: Option<Error>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that a value broke its constraint (the first one is kept).
    pub fn violation(&mut self, e: Error) {
        if self.violation.is_none() {
            self.violation = Some(e);
        }
    }

    /// The first constraint violation met, if any.
    pub fn violation_seen(&self) -> Option<&Error> {
        self.violation.as_ref()
    }

    /// Remembers the current octet offset (after aligning), so a caller can find a field in
    /// the final encoding: the H.235 hash placeholder.
    pub fn mark(&mut self) {
        self.align();
        self.marks.push(self.len / 8);
    }

    /// One bit.
    pub fn bit(&mut self, b: bool) {
        if self.len % 8 == 0 {
            self.buf.push(0);
        }
        if b {
            let i = self.len / 8;
            self.buf[i] |= 0x80 >> (self.len % 8);
        }
        self.len += 1;
    }

    /// The low `n` bits of `v`, most significant first (`n` at most 64).
    pub fn bits(&mut self, v: u64, n: u32) {
        for i in (0..n).rev() {
            self.bit((v >> i) & 1 == 1);
        }
    }

    /// Pads with zero bits to an octet boundary (§11.1).
    pub fn align(&mut self) {
        while self.len % 8 != 0 {
            self.bit(false);
        }
    }

    /// Octets, at the current position (callers align first where X.691 says so).
    pub fn octets(&mut self, data: &[u8]) {
        if self.len % 8 == 0 {
            self.buf.extend_from_slice(data);
            self.len += data.len() * 8;
        } else {
            for &b in data {
                self.bits(u64::from(b), 8);
            }
        }
    }

    /// Number of bits written so far.
    pub fn bit_len(&self) -> usize {
        self.len
    }

    /// The complete encoding (§11.1.3: at least one octet) and the marks.
    pub fn into_complete(self) -> (Vec<u8>, Vec<usize>) {
        let mut buf = self.buf;
        if buf.is_empty() {
            buf.push(0);
        }
        (buf, self.marks)
    }

    /// BOOLEAN (§12): one bit.
    pub fn boolean(&mut self, b: bool) {
        self.bit(b);
    }

    /// A constrained whole number `lb <= v <= ub` (§11.5, ALIGNED variant §11.5.7).
    pub fn constrained(&mut self, v: u64, lb: u64, ub: u64, what: &'static str) {
        let v = if v < lb || v > ub {
            self.violation(Error::OutOfRange(what));
            v.clamp(lb, ub)
        } else {
            v
        };
        let off = v - lb;
        let span = ub - lb; // range - 1
        if span == 0 {
            // §11.5.4: range 1, no bits.
        } else if span < 255 {
            // §11.5.7.1: a bit-field of the minimum size, not aligned.
            self.bits(off, bits_for(span));
        } else if span == 255 {
            // §11.5.7.2: one aligned octet.
            self.align();
            self.bits(off, 8);
        } else if span < 65536 {
            // §11.5.7.3: two aligned octets.
            self.align();
            self.bits(off, 16);
        } else {
            // §11.5.7.4: the octet count as a constrained whole number 1..=max, then the
            // value in that many aligned octets.
            let max = octets_for(span) as u64;
            let n = octets_for(off);
            self.bits(n as u64 - 1, bits_for(max - 1));
            self.align();
            self.bits(off, 8 * n as u32);
        }
    }

    /// `INTEGER (lb..ub, ...)` (§13.1): the extension bit, then the root encoding, or an
    /// unconstrained integer for a value outside the root.
    pub fn constrained_ext(&mut self, v: u64, lb: u64, ub: u64, what: &'static str) {
        if v >= lb && v <= ub {
            self.bit(false);
            self.constrained(v, lb, ub, what);
        } else {
            self.bit(true);
            match i64::try_from(v) {
                Ok(v) => self.unconstrained(v),
                Err(_) => {
                    self.violation(Error::OutOfRange(what));
                    self.unconstrained(i64::MAX);
                }
            }
        }
    }

    /// A semi-constrained whole number `v >= lb` (§11.7): length, then octets of `v - lb`.
    pub fn semi_constrained(&mut self, v: u64, lb: u64) {
        let off = v.saturating_sub(lb);
        let n = octets_for(off);
        self.length(n, 0, None, "semi-constrained integer");
        self.align();
        self.bits(off, 8 * n as u32);
    }

    /// An unconstrained INTEGER (§11.8, §13.2.6): length, then minimal two's complement.
    pub fn unconstrained(&mut self, v: i64) {
        let bytes = v.to_be_bytes();
        let mut start = 0;
        while start < 7 {
            let (b, next) = (bytes[start], bytes[start + 1]);
            if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
                start += 1;
            } else {
                break;
            }
        }
        self.length(8 - start, 0, None, "integer");
        self.align();
        self.octets(&bytes[start..]);
    }

    /// A length determinant for `n` (§11.9) under `SIZE (lb..ub)` (`ub` `None`: no upper
    /// bound). Returns the length actually written: `n` adjusted into the constraint and below
    /// 16K; the caller writes that many items.
    pub fn length(&mut self, n: usize, lb: usize, ub: Option<usize>, what: &'static str) -> usize {
        let mut n = n;
        if n < lb {
            self.violation(Error::OutOfRange(what));
            n = lb;
        }
        if let Some(ub) = ub {
            if n > ub {
                self.violation(Error::OutOfRange(what));
                n = ub;
            }
            if ub < 65536 {
                // §11.9.3.3 / §11.9.4.1: a constrained whole number (nothing when fixed).
                self.constrained(n as u64, lb as u64, ub as u64, what);
                return n;
            }
        }
        // §11.9.3.6, §11.9.3.7: one or two aligned octets; no fragmentation.
        if n >= 16384 {
            self.violation(Error::Fragmented);
            n = 16383;
        }
        self.align();
        if n < 128 {
            self.bits(n as u64, 8);
        } else {
            self.bits(0x8000 | n as u64, 16);
        }
        n
    }

    /// A normally small length `n >= 1` (§11.9.3.4), as used for the extension bitmap.
    pub fn normally_small_length(&mut self, n: usize) {
        if (1..=64).contains(&n) {
            self.bit(false);
            self.bits(n as u64 - 1, 6);
        } else {
            self.bit(true);
            self.length(n, 0, None, "normally small length");
        }
    }

    /// A normally small non-negative whole number (§11.6), as used for extension indexes.
    pub fn normally_small(&mut self, n: u64) {
        if n < 64 {
            self.bit(false);
            self.bits(n, 6);
        } else {
            self.bit(true);
            self.semi_constrained(n, 0);
        }
    }

    /// OCTET STRING (§17) under `SIZE (lb..ub)`.
    pub fn octet_string(&mut self, data: &[u8], lb: usize, ub: Option<usize>, what: &'static str) {
        if ub == Some(lb) && lb < 65536 {
            // §17.6, §17.7: fixed size, no length; aligned unless at most two octets.
            let mut fixed = data.to_vec();
            if fixed.len() != lb {
                self.violation(Error::OutOfRange(what));
                fixed.resize(lb, 0);
            }
            if lb > 2 {
                self.align();
            }
            self.octets(&fixed);
            return;
        }
        // §17.8: length determinant, then the octets aligned.
        let n = self.length(data.len(), lb, ub, what);
        self.align();
        let mut body = data[..n.min(data.len())].to_vec();
        body.resize(n, 0);
        self.octets(&body);
    }

    /// BIT STRING (§16) under `SIZE (lb..ub)`. When `mark` is set, the octet offset of the
    /// bits is recorded (see [`Writer::mark`]).
    pub fn bit_string(
        &mut self,
        b: &BitString,
        lb: usize,
        ub: Option<usize>,
        mark: bool,
        what: &'static str,
    ) {
        let have = b.bytes.len() * 8;
        let mut len = b.len;
        if len > have {
            self.violation(Error::Invalid(what));
            len = have;
        }
        let fixed = ub == Some(lb) && lb < 65536;
        if fixed {
            if len != lb {
                self.violation(Error::OutOfRange(what));
            }
            // §16.9, §16.10: no length; aligned when more than 16 bits.
            if lb > 16 {
                self.align();
            }
        } else {
            // §16.11: length in bits, then the bits aligned.
            len = self.length(len, lb, ub, what);
            self.align();
        }
        if mark {
            self.mark();
        }
        let n = if fixed { lb } else { len };
        for i in 0..n {
            let bit = i < b.len.min(have) && b.bytes[i / 8] & (0x80 >> (i % 8)) != 0;
            self.bit(bit);
        }
    }

    /// A known-multiplier character string (§30) of `alphabet` under `SIZE (lb..ub)`.
    pub fn char_string(
        &mut self,
        chars: &[u32],
        alphabet: Alphabet,
        lb: usize,
        ub: Option<usize>,
        what: &'static str,
    ) {
        let mut codes: Vec<u32> = Vec::with_capacity(chars.len());
        for &c in chars {
            match alphabet.code(c) {
                Some(v) => codes.push(v),
                None => {
                    self.violation(Error::Invalid(what));
                    codes.push(0);
                }
            }
        }
        let b = alphabet.bits as usize;
        let fixed = ub == Some(lb) && lb < 65536;
        let n = if fixed {
            if codes.len() != lb {
                self.violation(Error::OutOfRange(what));
                codes.resize(lb, 0);
            }
            lb
        } else {
            self.length(codes.len(), lb, ub, what)
        };
        // §30.5.7: octet-aligned unless the whole string fits in 16 bits.
        let aligned = match ub {
            Some(ub) => ub * b > 16,
            None => true,
        };
        if aligned && n > 0 {
            self.align();
        }
        for i in 0..n {
            self.bits(u64::from(codes.get(i).copied().unwrap_or(0)), alphabet.bits);
        }
    }

    /// An IA5String (ASCII) under `SIZE (lb..ub)`.
    pub fn ia5(&mut self, s: &str, lb: usize, ub: Option<usize>, what: &'static str) {
        let chars: Vec<u32> = s.chars().map(u32::from).collect();
        self.char_string(&chars, Alphabet::IA5, lb, ub, what);
    }

    /// A BMPString (UCS-2) under `SIZE (lb..ub)`; characters outside the Basic Multilingual
    /// Plane cannot be sent and are replaced by U+FFFD.
    pub fn bmp(&mut self, s: &str, lb: usize, ub: Option<usize>, what: &'static str) {
        let mut chars = Vec::new();
        for c in s.chars() {
            let c = u32::from(c);
            if c > 0xffff {
                self.violation(Error::Invalid(what));
                chars.push(0xfffd);
            } else {
                chars.push(c);
            }
        }
        self.char_string(&chars, Alphabet::BMP, lb, ub, what);
    }

    /// OBJECT IDENTIFIER (§24): length, then the X.690 §8.19 contents octets, aligned.
    pub fn oid(&mut self, oid: &Oid) {
        let mut arcs = oid.0.clone();
        if arcs.len() < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] >= 40) {
            self.violation(Error::Invalid("object identifier"));
            arcs = vec![0, 0];
        }
        let mut body = Vec::new();
        let first = u64::from(arcs[0]) * 40 + u64::from(arcs[1]);
        let put = |body: &mut Vec<u8>, v: u64| {
            let mut groups = vec![(v & 0x7f) as u8];
            let mut v = v >> 7;
            while v > 0 {
                groups.push(0x80 | (v & 0x7f) as u8);
                v >>= 7;
            }
            body.extend(groups.iter().rev());
        };
        put(&mut body, first);
        for &a in &arcs[2..] {
            put(&mut body, u64::from(a));
        }
        self.length(body.len(), 0, None, "object identifier");
        self.align();
        self.octets(&body);
    }

    /// An open type field (§11.2): the complete encoding written by `f`, as a length and
    /// aligned octets. Marks and violations inside carry over.
    pub fn open_type(&mut self, f: impl FnOnce(&mut Writer)) {
        let mut inner = Writer::new();
        f(&mut inner);
        if let Some(e) = inner.violation.take() {
            self.violation(e);
        }
        let (bytes, marks) = inner.into_complete();
        self.open_bytes(&bytes, &marks);
    }

    /// An open type field holding `bytes` (already a complete encoding).
    pub fn open_bytes(&mut self, bytes: &[u8], marks: &[usize]) {
        let n = self.length(bytes.len(), 0, None, "open type");
        self.align();
        let base = self.len / 8;
        self.marks.extend(marks.iter().map(|m| m + base));
        self.octets(&bytes[..n]);
    }

    /// A SEQUENCE preamble (§19.1–§19.3): the extension bit where the type is extensible
    /// (`ext` `Some`), then one presence bit per OPTIONAL/DEFAULT root component.
    pub fn preamble(&mut self, ext: Option<bool>, optionals: &[bool]) {
        if let Some(e) = ext {
            self.bit(e);
        }
        for &p in optionals {
            self.bit(p);
        }
    }

    /// A CHOICE index of a root alternative (§23.6–§23.8): the extension bit (if extensible),
    /// then the index as a constrained whole number.
    pub fn choice_root(&mut self, index: u32, root_count: u32, extensible: bool) {
        if extensible {
            self.bit(false);
        }
        if root_count > 1 {
            self.constrained(
                u64::from(index),
                0,
                u64::from(root_count - 1),
                "choice index",
            );
        }
    }

    /// An extension alternative of a CHOICE (§23.8): extension bit, normally small index,
    /// and the value written by `f` as an open type.
    pub fn choice_ext(&mut self, index: u32, f: impl FnOnce(&mut Writer)) {
        self.bit(true);
        self.normally_small(u64::from(index));
        self.open_type(f);
    }

    /// An [`UnknownAlternative`], as it came.
    pub fn choice_unknown(&mut self, u: &UnknownAlternative) {
        self.bit(true);
        self.normally_small(u64::from(u.index));
        self.open_bytes(&u.encoding, &[]);
    }

    /// ENUMERATED (§14) as its index among the root values, or an extension value.
    pub fn enumerated(&mut self, index: u32, root_count: u32, extensible: bool, ext: bool) {
        if extensible {
            self.bit(ext);
            if ext {
                self.normally_small(u64::from(index));
                return;
            }
        }
        if root_count > 1 {
            self.constrained(u64::from(index), 0, u64::from(root_count - 1), "enumerated");
        }
    }

    /// SEQUENCE OF (§20) under `SIZE (lb..ub)`.
    pub fn seq_of<T>(
        &mut self,
        items: &[T],
        lb: usize,
        ub: Option<usize>,
        what: &'static str,
        mut f: impl FnMut(&mut Writer, &T),
    ) {
        let n = self.length(items.len(), lb, ub, what);
        if n > items.len() {
            // Padding a too-short list cannot be done with a value we do not have: the
            // encoding stays short; the violation is recorded.
            self.violation(Error::OutOfRange(what));
        }
        for it in items.iter().take(n) {
            f(self, it);
        }
    }

    /// A value of a [`Per`] type.
    pub fn put<T: Per>(&mut self, v: &T) {
        v.encode_to(self);
    }

    /// An OPTIONAL root component: written when present (its presence bit is in the
    /// preamble).
    pub fn put_opt<T: Per>(&mut self, v: &Option<T>) {
        if let Some(v) = v {
            v.encode_to(self);
        }
    }
}

/// The extension additions of a SEQUENCE being encoded (§19.7–§19.9): each is written into
/// its own buffer first, since the extension bit in the preamble depends on them.
#[derive(Default)]
pub struct Additions {
    items: Vec<Option<Writer>>,
}

impl Additions {
    /// No additions yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next addition: present when `v` is.
    pub fn add<T>(&mut self, v: Option<&T>, f: impl FnOnce(&mut Writer, &T)) {
        self.items.push(v.map(|v| {
            let mut w = Writer::new();
            f(&mut w, v);
            w
        }));
    }

    /// The next addition, a [`Per`] value.
    pub fn put<T: Per>(&mut self, v: Option<&T>) {
        self.add(v, |w, v| v.encode_to(w));
    }

    /// The next addition, a mandatory one (always present when we encode).
    pub fn always(&mut self, f: impl FnOnce(&mut Writer)) {
        let mut w = Writer::new();
        f(&mut w);
        self.items.push(Some(w));
    }

    /// The next addition, an `OPTIONAL NULL` (present when `b`).
    pub fn flag(&mut self, b: bool) {
        self.items.push(b.then(Writer::new));
    }

    /// The next addition, kept as received.
    pub fn raw(&mut self, v: Option<&RawValue>) {
        self.items.push(v.map(|v| {
            let mut w = Writer::new();
            w.octets(&v.0);
            w
        }));
    }

    /// Whether any addition is present (the extension bit of the preamble).
    pub fn present(&self) -> bool {
        self.items.iter().any(Option::is_some)
    }

    /// Writes the additions after the root components (§19.7–§19.9): the bitmap's length as
    /// a normally small length (one bit for every addition of the type as this crate knows
    /// it, as other H.323 encoders send it), the bitmap, then each present addition as an
    /// open type. Nothing when none is present (the preamble's extension bit is then clear).
    pub fn write(self, w: &mut Writer) {
        if !self.present() {
            return;
        }
        w.normally_small_length(self.items.len());
        for it in &self.items {
            w.bit(it.is_some());
        }
        for inner in self.items.into_iter().flatten() {
            let mut inner = inner;
            if let Some(e) = inner.violation.take() {
                w.violation(e);
            }
            let (bytes, marks) = inner.into_complete();
            w.open_bytes(&bytes, &marks);
        }
    }
}

/// The presence bits of a SEQUENCE's optional root components, read in order.
pub struct Presence {
    bits: u64,
    n: u32,
    next: u32,
}

impl Presence {
    /// Whether the next optional component is present.
    pub fn present(&mut self) -> bool {
        if self.next >= self.n {
            return false;
        }
        let b = (self.bits >> (self.n - 1 - self.next)) & 1 == 1;
        self.next += 1;
        b
    }
}

/// A decoded CHOICE index.
pub enum Choice<'a> {
    /// A root alternative: its value follows.
    Root(u32),
    /// An extension alternative: its index and its value's encoding.
    Ext(u32, &'a [u8]),
}

/// Reads an aligned PER encoding.
pub struct Reader<'a> {
    data: &'a [u8],
    /// Bits read.
    pos: usize,
    depth: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader {
            data,
            pos: 0,
            depth: 0,
        }
    }

    /// A reader over an open type's contents, at the same nesting depth.
    pub fn sub(&self, data: &'a [u8]) -> Reader<'a> {
        Reader {
            data,
            pos: 0,
            depth: self.depth,
        }
    }

    /// Bits not yet read.
    pub fn remaining_bits(&self) -> usize {
        (self.data.len() * 8).saturating_sub(self.pos)
    }

    /// Bits read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Runs `f` one nesting level deeper, refusing more than [`MAX_DEPTH`] levels.
    pub fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Reader<'a>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        if self.depth >= MAX_DEPTH {
            return Err(Error::TooDeep);
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// One bit.
    pub fn bit(&mut self) -> Result<bool, Error> {
        let Some(&byte) = self.data.get(self.pos / 8) else {
            return Err(Error::Truncated { at: self.pos });
        };
        let b = byte & (0x80 >> (self.pos % 8)) != 0;
        self.pos += 1;
        Ok(b)
    }

    /// `n` bits (at most 64) as an unsigned number.
    pub fn bits(&mut self, n: u32) -> Result<u64, Error> {
        if self.remaining_bits() < n as usize {
            return Err(Error::Truncated { at: self.pos });
        }
        let mut v = 0u64;
        for _ in 0..n {
            v = (v << 1) | u64::from(self.bit()?);
        }
        Ok(v)
    }

    /// Skips to the next octet boundary.
    pub fn align(&mut self) {
        self.pos = self.pos.div_ceil(8) * 8;
    }

    /// `n` octets at the current (aligned) position.
    pub fn octets(&mut self, n: usize) -> Result<&'a [u8], Error> {
        self.align();
        let start = self.pos / 8;
        match start
            .checked_add(n)
            .and_then(|end| self.data.get(start..end))
        {
            Some(s) => {
                self.pos += n * 8;
                Ok(s)
            }
            None => Err(Error::Truncated { at: self.pos }),
        }
    }

    /// BOOLEAN (§12).
    pub fn boolean(&mut self) -> Result<bool, Error> {
        self.bit()
    }

    /// A constrained whole number in `lb..=ub` (§11.5.7).
    pub fn constrained(&mut self, lb: u64, ub: u64, what: &'static str) -> Result<u64, Error> {
        let span = ub - lb;
        let off = if span == 0 {
            0
        } else if span < 255 {
            self.bits(bits_for(span))?
        } else if span == 255 {
            self.align();
            self.bits(8)?
        } else if span < 65536 {
            self.align();
            self.bits(16)?
        } else {
            let max = octets_for(span) as u64;
            let n = self.bits(bits_for(max - 1))? + 1;
            if n > max {
                return Err(Error::OutOfRange(what));
            }
            self.align();
            self.bits(8 * n as u32)?
        };
        if off > span {
            return Err(Error::OutOfRange(what));
        }
        Ok(lb + off)
    }

    /// `INTEGER (lb..ub, ...)` (§13.1); a value outside the root comes back as it was sent,
    /// refused when negative.
    pub fn constrained_ext(&mut self, lb: u64, ub: u64, what: &'static str) -> Result<u64, Error> {
        if self.bit()? {
            u64::try_from(self.unconstrained()?).map_err(|_| Error::OutOfRange(what))
        } else {
            self.constrained(lb, ub, what)
        }
    }

    /// A semi-constrained whole number `>= lb` (§11.7), refused beyond 64 bits.
    pub fn semi_constrained(&mut self, lb: u64, what: &'static str) -> Result<u64, Error> {
        let n = self.length(0, None, what)?;
        if n == 0 || n > 8 {
            return Err(Error::OutOfRange(what));
        }
        self.align();
        let v = self.bits(8 * n as u32)?;
        lb.checked_add(v).ok_or(Error::OutOfRange(what))
    }

    /// An unconstrained INTEGER (§11.8), refused beyond 64 bits.
    pub fn unconstrained(&mut self) -> Result<i64, Error> {
        let n = self.length(0, None, "integer")?;
        if n == 0 || n > 8 {
            return Err(Error::OutOfRange("integer"));
        }
        let b = self.octets(n)?;
        let mut v: i64 = if b[0] & 0x80 != 0 { -1 } else { 0 };
        for &x in b {
            v = (v << 8) | i64::from(x);
        }
        Ok(v)
    }

    /// A length determinant under `SIZE (lb..ub)` (§11.9). Fragmented lengths are refused.
    pub fn length(
        &mut self,
        lb: usize,
        ub: Option<usize>,
        what: &'static str,
    ) -> Result<usize, Error> {
        if let Some(ub) = ub {
            if ub < 65536 {
                return Ok(self.constrained(lb as u64, ub as u64, what)? as usize);
            }
        }
        self.align();
        let first = self.bits(8)?;
        let n = if first & 0x80 == 0 {
            first as usize
        } else if first & 0x40 == 0 {
            (((first & 0x3f) << 8) | self.bits(8)?) as usize
        } else {
            return Err(Error::Fragmented);
        };
        if n < lb || ub.is_some_and(|ub| n > ub) {
            return Err(Error::OutOfRange(what));
        }
        Ok(n)
    }

    /// A normally small length (§11.9.3.4).
    pub fn normally_small_length(&mut self) -> Result<usize, Error> {
        if self.bit()? {
            let n = self.length(0, None, "normally small length")?;
            if n == 0 {
                return Err(Error::Invalid("normally small length"));
            }
            Ok(n)
        } else {
            Ok(self.bits(6)? as usize + 1)
        }
    }

    /// A normally small non-negative whole number (§11.6).
    pub fn normally_small(&mut self) -> Result<u64, Error> {
        if self.bit()? {
            self.semi_constrained(0, "normally small number")
        } else {
            self.bits(6)
        }
    }

    /// Checks that `n` items of at least `min_bits` each can still be in the input.
    fn check_count(&self, n: usize, min_bits: usize, what: &'static str) -> Result<(), Error> {
        if n.saturating_mul(min_bits) > self.remaining_bits() {
            return Err(Error::TooLong { what, len: n });
        }
        Ok(())
    }

    /// OCTET STRING (§17) under `SIZE (lb..ub)`.
    pub fn octet_string(
        &mut self,
        lb: usize,
        ub: Option<usize>,
        what: &'static str,
    ) -> Result<Vec<u8>, Error> {
        if ub == Some(lb) && lb < 65536 {
            self.check_count(lb, 8, what)?;
            if lb > 2 {
                return Ok(self.octets(lb)?.to_vec());
            }
            let mut v = Vec::with_capacity(lb);
            for _ in 0..lb {
                v.push(self.bits(8)? as u8);
            }
            return Ok(v);
        }
        let n = self.length(lb, ub, what)?;
        self.align();
        self.check_count(n, 8, what)?;
        Ok(self.octets(n)?.to_vec())
    }

    /// A fixed-size OCTET STRING as an array.
    pub fn octet_array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Error> {
        let v = self.octet_string(N, Some(N), what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(&v);
        Ok(a)
    }

    /// BIT STRING (§16) under `SIZE (lb..ub)`.
    pub fn bit_string(
        &mut self,
        lb: usize,
        ub: Option<usize>,
        what: &'static str,
    ) -> Result<BitString, Error> {
        let n = if ub == Some(lb) && lb < 65536 {
            if lb > 16 {
                self.align();
            }
            lb
        } else {
            let n = self.length(lb, ub, what)?;
            self.align();
            n
        };
        self.check_count(n, 1, what)?;
        let mut bytes = vec![0u8; n.div_ceil(8)];
        for i in 0..n {
            if self.bit()? {
                bytes[i / 8] |= 0x80 >> (i % 8);
            }
        }
        Ok(BitString { bytes, len: n })
    }

    /// A known-multiplier character string (§30) of `alphabet` under `SIZE (lb..ub)`.
    pub fn char_string(
        &mut self,
        alphabet: Alphabet,
        lb: usize,
        ub: Option<usize>,
        what: &'static str,
    ) -> Result<Vec<u32>, Error> {
        let b = alphabet.bits as usize;
        let n = if ub == Some(lb) && lb < 65536 {
            lb
        } else {
            self.length(lb, ub, what)?
        };
        let aligned = match ub {
            Some(ub) => ub * b > 16,
            None => true,
        };
        if aligned && n > 0 {
            self.align();
        }
        self.check_count(n, b, what)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let code = self.bits(alphabet.bits)? as u32;
            out.push(alphabet.char_of(code).ok_or(Error::Invalid(what))?);
        }
        Ok(out)
    }

    /// An IA5String under `SIZE (lb..ub)`.
    pub fn ia5(
        &mut self,
        lb: usize,
        ub: Option<usize>,
        what: &'static str,
    ) -> Result<String, Error> {
        let chars = self.char_string(Alphabet::IA5, lb, ub, what)?;
        Ok(chars.into_iter().filter_map(char::from_u32).collect())
    }

    /// A BMPString under `SIZE (lb..ub)`; lone surrogate code units become U+FFFD.
    pub fn bmp(
        &mut self,
        lb: usize,
        ub: Option<usize>,
        what: &'static str,
    ) -> Result<String, Error> {
        let chars = self.char_string(Alphabet::BMP, lb, ub, what)?;
        Ok(chars
            .into_iter()
            .map(|c| char::from_u32(c).unwrap_or('\u{fffd}'))
            .collect())
    }

    /// OBJECT IDENTIFIER (§24, contents per X.690 §8.19).
    pub fn oid(&mut self) -> Result<Oid, Error> {
        let n = self.length(0, None, "object identifier")?;
        if n == 0 {
            return Err(Error::Invalid("object identifier"));
        }
        let body = self.octets(n)?;
        let mut arcs = Vec::new();
        let mut v: u64 = 0;
        let mut digits = 0;
        for &b in body {
            if digits == 0 && b == 0x80 {
                // X.690 §8.19.2: no leading 0x80 octet.
                return Err(Error::Invalid("object identifier"));
            }
            v = (v << 7) | u64::from(b & 0x7f);
            digits += 1;
            if digits > 5 || v > u64::from(u32::MAX) + 80 {
                return Err(Error::OutOfRange("object identifier arc"));
            }
            if b & 0x80 == 0 {
                if arcs.is_empty() {
                    let (a, b) = match v {
                        0..=39 => (0, v),
                        40..=79 => (1, v - 40),
                        _ => (2, v - 80),
                    };
                    arcs.push(a as u32);
                    arcs.push(u32::try_from(b).map_err(|_| Error::OutOfRange("oid arc"))?);
                } else {
                    arcs.push(u32::try_from(v).map_err(|_| Error::OutOfRange("oid arc"))?);
                }
                v = 0;
                digits = 0;
            }
        }
        if digits != 0 {
            return Err(Error::Invalid("object identifier"));
        }
        Ok(Oid(arcs))
    }

    /// An open type field (§11.2): its contents.
    pub fn open_type(&mut self) -> Result<&'a [u8], Error> {
        let n = self.length(0, None, "open type")?;
        self.octets(n)
    }

    /// A SEQUENCE preamble: the extension bit (when `extensible`) and `n` presence bits.
    pub fn preamble(&mut self, extensible: bool, n: u32) -> Result<(bool, Presence), Error> {
        let ext = if extensible { self.bit()? } else { false };
        let bits = self.bits(n)?;
        Ok((ext, Presence { bits, n, next: 0 }))
    }

    /// An OPTIONAL component: decoded with `f` when `present`.
    pub fn opt<T>(
        &mut self,
        present: bool,
        f: impl FnOnce(&mut Reader<'a>) -> Result<T, Error>,
    ) -> Result<Option<T>, Error> {
        if present {
            f(self).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A value of a [`Per`] type.
    pub fn get<T: Per>(&mut self) -> Result<T, Error> {
        T::decode_from(self)
    }

    /// An OPTIONAL root component of a [`Per`] type, read when `present`.
    pub fn get_opt<T: Per>(&mut self, present: bool) -> Result<Option<T>, Error> {
        self.opt(present, T::decode_from)
    }

    /// The extension additions after the root components (§19.7–§19.9); none when the
    /// preamble's extension bit `ext` was clear.
    pub fn additions(&mut self, ext: bool) -> Result<AdditionsReader<'a>, Error> {
        let mut present = Vec::new();
        let mut n = 0;
        if ext {
            n = self.normally_small_length()?;
            self.check_count(n, 1, "extension bitmap")?;
            let mut bitmap = Vec::new();
            for i in 0..n {
                if self.bit()? {
                    bitmap.push(i);
                }
            }
            for i in bitmap {
                present.push((i, self.open_type()?));
            }
        }
        Ok(AdditionsReader {
            present,
            n,
            next: 0,
            depth: self.depth,
        })
    }

    /// A CHOICE index (§23): a root index in `0..root_count`, or an extension alternative
    /// with its open type contents.
    pub fn choice(&mut self, root_count: u32, extensible: bool) -> Result<Choice<'a>, Error> {
        if extensible && self.bit()? {
            let i = self.normally_small()?;
            let i = u32::try_from(i).map_err(|_| Error::OutOfRange("choice index"))?;
            return Ok(Choice::Ext(i, self.open_type()?));
        }
        if root_count <= 1 {
            return Ok(Choice::Root(0));
        }
        let i = self.constrained(0, u64::from(root_count - 1), "choice index")?;
        Ok(Choice::Root(i as u32))
    }

    /// ENUMERATED (§14): `Ok((index, is_extension_value))`.
    pub fn enumerated(&mut self, root_count: u32, extensible: bool) -> Result<(u32, bool), Error> {
        if extensible && self.bit()? {
            let i = self.normally_small()?;
            return Ok((
                u32::try_from(i).map_err(|_| Error::OutOfRange("enumerated"))?,
                true,
            ));
        }
        if root_count <= 1 {
            return Ok((0, false));
        }
        Ok((
            self.constrained(0, u64::from(root_count - 1), "enumerated")? as u32,
            false,
        ))
    }

    /// SEQUENCE OF (§20) under `SIZE (lb..ub)`; every item takes at least one bit.
    pub fn seq_of<T>(
        &mut self,
        lb: usize,
        ub: Option<usize>,
        what: &'static str,
        mut f: impl FnMut(&mut Reader<'a>) -> Result<T, Error>,
    ) -> Result<Vec<T>, Error> {
        let n = self.length(lb, ub, what)?;
        self.check_count(n, 1, what)?;
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(f(self)?);
        }
        Ok(out)
    }
}

/// The extension additions of a SEQUENCE being decoded, taken in order.
pub struct AdditionsReader<'a> {
    present: Vec<(usize, &'a [u8])>,
    /// Length of the bitmap.
    n: usize,
    next: usize,
    depth: usize,
}

impl<'a> AdditionsReader<'a> {
    /// The encoding of the next addition, if present.
    fn take(&mut self) -> Option<&'a [u8]> {
        let i = self.next;
        self.next += 1;
        if i >= self.n {
            return None;
        }
        self.present.iter().find(|(j, _)| *j == i).map(|(_, d)| *d)
    }

    /// The next addition, decoded with `f` when present. Additions after the last one the
    /// caller asks for (from a newer version of the module) are ignored (§19.9 note).
    pub fn next<T>(
        &mut self,
        f: impl FnOnce(&mut Reader<'a>) -> Result<T, Error>,
    ) -> Result<Option<T>, Error> {
        match self.take() {
            Some(d) => {
                let mut r = Reader {
                    data: d,
                    pos: 0,
                    depth: self.depth,
                };
                f(&mut r).map(Some)
            }
            None => Ok(None),
        }
    }

    /// The next addition, a [`Per`] value.
    pub fn get<T: Per>(&mut self) -> Result<Option<T>, Error> {
        self.next(T::decode_from)
    }

    /// The next addition, an `OPTIONAL NULL`: whether it is present.
    pub fn flag(&mut self) -> bool {
        self.take().is_some()
    }

    /// The next addition, kept as its encoding.
    pub fn raw(&mut self) -> Option<RawValue> {
        self.take().map(|d| RawValue(d.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(f: impl FnOnce(&mut Writer)) -> Vec<u8> {
        let mut w = Writer::new();
        f(&mut w);
        assert!(w.violation.is_none(), "{:?}", w.violation);
        w.into_complete().0
    }

    #[test]
    fn constrained_whole_numbers_follow_11_5_7() {
        // 1..65535 (RequestSeqNum): two aligned octets of n - 1.
        assert_eq!(bytes(|w| w.constrained(1, 1, 65535, "x")), [0, 0]);
        // After one bit, the two octets start on the next boundary.
        assert_eq!(
            bytes(|w| {
                w.bit(true);
                w.constrained(0x1234, 0, 65535, "x")
            }),
            [0x80, 0x12, 0x34]
        );
        // 0..255: one aligned octet; 0..127: seven bits, unaligned.
        assert_eq!(bytes(|w| w.constrained(200, 0, 255, "x")), [200]);
        assert_eq!(bytes(|w| w.constrained(127, 0, 127, "x")), [0xfe]);
        // 1..4294967295 (TimeToLive): octet count 1..4 in two bits, then the octets.
        assert_eq!(
            bytes(|w| w.constrained(60, 1, 0xffff_ffff, "x")),
            [0x00, 59]
        );
        assert_eq!(
            bytes(|w| w.constrained(1_700_000_000, 1, 0xffff_ffff, "x")),
            [0xc0, 0x65, 0x53, 0xf0, 0xff]
        );
        let mut r = Reader::new(&[0xc0, 0x65, 0x53, 0xf0, 0xff]);
        assert_eq!(r.constrained(1, 0xffff_ffff, "x"), Ok(1_700_000_000));
    }

    #[test]
    fn integers_and_lengths() {
        assert_eq!(bytes(|w| w.unconstrained(12345)), [2, 0x30, 0x39]);
        assert_eq!(bytes(|w| w.unconstrained(-1)), [1, 0xff]);
        assert_eq!(bytes(|w| w.unconstrained(128)), [2, 0, 128]);
        assert_eq!(bytes(|w| w.unconstrained(0)), [1, 0]);
        for v in [
            0i64,
            1,
            -1,
            127,
            128,
            -128,
            -129,
            i64::MAX,
            i64::MIN,
            0xffff_ffff,
        ] {
            let b = bytes(|w| w.unconstrained(v));
            assert_eq!(Reader::new(&b).unconstrained(), Ok(v));
        }
        // Extensible INTEGER (0..16383, ...): 20000 goes out of the root.
        assert_eq!(
            bytes(|w| w.constrained_ext(20000, 0, 16383, "x")),
            [0x80, 2, 0x4e, 0x20]
        );
        assert_eq!(
            bytes(|w| w.constrained_ext(18, 0, 16383, "x")),
            [0x00, 0x00, 18]
        );
        assert_eq!(
            bytes(|w| {
                w.length(300, 0, None, "x");
            }),
            [0x81, 0x2c]
        );
        assert_eq!(
            Reader::new(&[0xc1]).length(0, None, "x"),
            Err(Error::Fragmented)
        );
        assert_eq!(bytes(|w| w.normally_small(5)), [0x0a]);
    }

    #[test]
    fn strings_and_oids() {
        // dialledDigits "1234#": length 5 in 7 bits (1..128), then 4-bit indexes, aligned.
        assert_eq!(
            bytes(|w| w.char_string(
                &"1234#".chars().map(u32::from).collect::<Vec<_>>(),
                Alphabet::DIGITS,
                1,
                Some(128),
                "x"
            )),
            [0x08, 0x45, 0x67, 0x00]
        );
        // 0.0.8.2250.0.7: 00 08 91 4a 00 07 (2250 = 0x11*128 + 0x4a).
        let oid = Oid::new(&[0, 0, 8, 2250, 0, 7]);
        let b = bytes(|w| w.oid(&oid));
        assert_eq!(b, [6, 0x00, 0x08, 0x91, 0x4a, 0x00, 0x07]);
        assert_eq!(Reader::new(&b).oid(), Ok(oid.clone()));
        assert_eq!(oid.to_string(), "0.0.8.2250.0.7");
        assert!(Reader::new(&[1, 0x80]).oid().is_err());
        assert!(Reader::new(&[6, 0x8f, 0xff, 0xff, 0xff, 0xff, 0x7f])
            .oid()
            .is_err());
    }

    #[test]
    fn extension_additions_with_unknown_trailing_ones_are_skipped() {
        // SEQUENCE { a BOOLEAN, ..., b INTEGER(0..255) OPTIONAL, c BOOLEAN } sent by a
        // newer peer with one more addition we do not know.
        let mut w = Writer::new();
        let mut x = Additions::new();
        x.add(Some(&7u64), |w, v| w.constrained(*v, 0, 255, "b"));
        x.always(|w| w.boolean(true));
        x.always(|w| w.octet_string(b"new", 0, None, "unknown"));
        w.preamble(Some(x.present()), &[]);
        w.boolean(true);
        x.write(&mut w);
        let b = w.into_complete().0;
        let mut r = Reader::new(&b);
        let (ext, _) = r.preamble(true, 0).unwrap();
        assert!(ext);
        assert!(r.boolean().unwrap());
        let mut a = r.additions(ext).unwrap();
        assert_eq!(a.next(|r| r.constrained(0, 255, "b")), Ok(Some(7)));
        assert_eq!(a.next(|r| r.boolean()), Ok(Some(true)));
        // An older peer: no additions at all; the mandatory c reads as absent.
        let mut r = Reader::new(&[0x40]);
        let (ext, _) = r.preamble(true, 0).unwrap();
        assert!(r.boolean().unwrap());
        let mut a = r.additions(ext).unwrap();
        assert_eq!(a.next(|r| r.constrained(0, 255, "b")), Ok(None));
        assert_eq!(a.next(|r| r.boolean()), Ok(None));
    }

    #[test]
    fn violations_are_reported_by_encode_checked_and_adjusted_by_encode() {
        let mut w = Writer::new();
        w.constrained(0, 1, 65535, "requestSeqNum");
        assert_eq!(
            w.violation_seen(),
            Some(&Error::OutOfRange("requestSeqNum"))
        );
        assert_eq!(w.into_complete().0, [0, 0]);
    }
}
