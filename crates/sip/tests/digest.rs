//! Digest authentication: RFC test vectors, header round trips, verification and a no-panic
//! fuzz pass over the header parsers.

use exp_sip::digest::{
    answer, ha1, response, verify, Algorithm, Challenge, Credentials, DigestError,
};

// RFC 7616 §3.9.1 inputs.
const USER: &str = "Mufasa";
const PASS: &str = "Circle of Life";
const REALM: &str = "http-auth@example.org";
const URI: &str = "/dir/index.html";
const NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
const OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";

fn rfc7616_challenge(algorithm: Algorithm) -> Challenge {
    Challenge {
        realm: REALM.to_owned(),
        nonce: NONCE.to_owned(),
        opaque: Some(OPAQUE.to_owned()),
        algorithm,
        qop_auth: true,
        stale: false,
    }
}

#[test]
fn rfc7616_md5_vector() {
    let h = ha1(Algorithm::Md5, USER, REALM, PASS);
    let r = response(
        Algorithm::Md5,
        &h,
        "GET",
        URI,
        NONCE,
        Some(("00000001", CNONCE)),
    );
    assert_eq!(r, "8ca523f5e9506fed4657c9700eebdbec");
    let creds = answer(
        &rfc7616_challenge(Algorithm::Md5),
        USER,
        PASS,
        "GET",
        URI,
        CNONCE,
        1,
    );
    assert_eq!(creds.response, "8ca523f5e9506fed4657c9700eebdbec");
    assert_eq!(creds.nc.as_deref(), Some("00000001"));
    assert_eq!(creds.opaque.as_deref(), Some(OPAQUE));
    assert!(verify(&creds, &h, "GET"));
}

#[test]
fn rfc7616_sha256_vector() {
    let h = ha1(Algorithm::Sha256, USER, REALM, PASS);
    let r = response(
        Algorithm::Sha256,
        &h,
        "GET",
        URI,
        NONCE,
        Some(("00000001", CNONCE)),
    );
    assert_eq!(
        r,
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    );
    let creds = answer(
        &rfc7616_challenge(Algorithm::Sha256),
        USER,
        PASS,
        "GET",
        URI,
        CNONCE,
        1,
    );
    assert_eq!(creds.response, r);
    assert!(verify(&creds, &h, "GET"));
    // An upper-case stored HA1 and an upper-case client response are accepted too.
    let mut upper = creds.clone();
    upper.response = upper.response.to_ascii_uppercase();
    assert!(verify(&upper, &h.to_ascii_uppercase(), "GET"));
}

#[test]
fn rfc2617_vector() {
    // RFC 2617 §3.5 example (MD5, qop=auth).
    let h = ha1(
        Algorithm::Md5,
        "Mufasa",
        "testrealm@host.com",
        "Circle Of Life",
    );
    let r = response(
        Algorithm::Md5,
        &h,
        "GET",
        "/dir/index.html",
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        Some(("00000001", "0a4f113b")),
    );
    assert_eq!(r, "6629fae49393a05397450978507c4ef1");
}

#[test]
fn no_qop_form() {
    // RFC 2069-compatible form (RFC 2617 §3.2.2.1, no qop): H(HA1:nonce:HA2), with the
    // RFC 2069 §2.4 example inputs; the expected value was computed independently with
    // Python's hashlib.
    let ch = Challenge {
        realm: "testrealm@host.com".to_owned(),
        nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093".to_owned(),
        opaque: None,
        algorithm: Algorithm::Md5,
        qop_auth: false,
        stale: false,
    };
    let creds = answer(
        &ch,
        "Mufasa",
        "CircleOfLife",
        "GET",
        "/dir/index.html",
        "ignored",
        1,
    );
    assert_eq!(creds.response, "1949323746fe6a43ef61f9606e7febea");
    assert_eq!(creds.cnonce, None);
    assert_eq!(creds.nc, None);
    assert!(!creds.qop_auth);
    let h = ha1(
        Algorithm::Md5,
        "Mufasa",
        "testrealm@host.com",
        "CircleOfLife",
    );
    assert!(verify(&creds, &h, "GET"));
    let header = creds.to_header_value();
    assert!(!header.contains("qop"), "{header}");
    assert_eq!(Credentials::parse(&header), Ok(creds));
}

#[test]
fn verify_rejects_tampering() {
    for alg in [Algorithm::Md5, Algorithm::Sha256] {
        let ch = rfc7616_challenge(alg);
        let uri = "sip:bob@biloxi.example.com";
        let creds = answer(&ch, "alice", "secret", "REGISTER", uri, "c-nonce", 7);
        let good = ha1(alg, "alice", REALM, "secret");
        assert!(verify(&creds, &good, "REGISTER"));

        let wrong_password = ha1(alg, "alice", REALM, "Secret");
        assert!(!verify(&creds, &wrong_password, "REGISTER"));
        assert!(!verify(&creds, &good, "INVITE"));

        let mut tampered = creds.clone();
        tampered.uri = "sip:mallory@biloxi.example.com".to_owned();
        assert!(!verify(&tampered, &good, "REGISTER"));

        let mut tampered = creds.clone();
        tampered.nonce.push('x');
        assert!(!verify(&tampered, &good, "REGISTER"));

        let mut tampered = creds.clone();
        tampered.nc = Some("00000008".to_owned());
        assert!(!verify(&tampered, &good, "REGISTER"));

        let mut tampered = creds.clone();
        tampered.cnonce = None;
        assert!(!verify(&tampered, &good, "REGISTER"));

        let mut tampered = creds.clone();
        tampered.qop_auth = false;
        assert!(!verify(&tampered, &good, "REGISTER"));

        let mut tampered = creds.clone();
        tampered.response.pop();
        assert!(!verify(&tampered, &good, "REGISTER"));
        tampered.response = String::new();
        assert!(!verify(&tampered, &good, "REGISTER"));

        let mut other_alg = creds.clone();
        other_alg.algorithm = match alg {
            Algorithm::Md5 => Algorithm::Sha256,
            Algorithm::Sha256 => Algorithm::Md5,
        };
        assert!(!verify(&other_alg, &good, "REGISTER"));
    }
}

#[test]
fn challenge_round_trip() {
    let mut ch = rfc7616_challenge(Algorithm::Sha256);
    ch.realm = "odd \"realm\" \\ , with commas".to_owned();
    let value = ch.to_header_value();
    assert!(value.starts_with("Digest realm="), "{value}");
    assert_eq!(Challenge::parse(&value), Ok(ch.clone()));

    ch.opaque = None;
    ch.stale = true;
    ch.qop_auth = false;
    ch.algorithm = Algorithm::Md5;
    let value = ch.to_header_value();
    assert_eq!(
        value,
        "Digest realm=\"odd \\\"realm\\\" \\\\ , with commas\", nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", algorithm=MD5, stale=true"
    );
    assert_eq!(Challenge::parse(&value), Ok(ch));

    let ch = rfc7616_challenge(Algorithm::Sha256);
    assert_eq!(
        ch.to_header_value(),
        format!(
            "Digest realm=\"{REALM}\", nonce=\"{NONCE}\", algorithm=SHA-256, qop=\"auth\", opaque=\"{OPAQUE}\""
        )
    );
}

#[test]
fn challenge_parse_rfc7616_example() {
    // The RFC 7616 §3.9.1 challenge, as sent (folded onto one line), plus unknown params.
    let value = "Digest\n realm=\"http-auth@example.org\",\n qop=\"auth, auth-int\",\n algorithm=SHA-256,\n nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\n opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"".replace("\n", "");
    let ch = Challenge::parse(&format!("{value}, charset=UTF-8, userhash=false")).unwrap();
    assert_eq!(ch, rfc7616_challenge(Algorithm::Sha256));

    let ch = Challenge::parse("DIGEST nonce=abc, realm=\"r\", stale=TRUE").unwrap();
    assert_eq!(ch.algorithm, Algorithm::Md5);
    assert!(ch.stale);
    assert!(!ch.qop_auth);
    assert_eq!(ch.opaque, None);
    assert!(
        !Challenge::parse("Digest nonce=abc, realm=r, stale=no")
            .unwrap()
            .stale
    );
}

#[test]
fn challenge_parse_errors() {
    use DigestError::*;
    let cases = [
        ("Basic realm=\"x\"", NotDigest),
        ("Digest nonce=\"n\"", MissingParam("realm")),
        ("Digest realm=\"r\"", MissingParam("nonce")),
        (
            "Digest realm=\"r\", nonce=n, algorithm=SHA-256-sess",
            UnsupportedAlgorithm("SHA-256-sess".to_owned()),
        ),
        (
            "Digest realm=\"r\", nonce=n, algorithm=\"MD5-sess\"",
            UnsupportedAlgorithm("MD5-sess".to_owned()),
        ),
        (
            "Digest realm=\"r\", nonce=n, qop=\"auth-int\"",
            UnsupportedQop,
        ),
        (
            "Digest realm=\"r\", nonce=n, realm=\"s\"",
            DuplicateParam("realm"),
        ),
    ];
    for (value, expected) in cases {
        assert_eq!(Challenge::parse(value), Err(expected), "{value}");
    }
    let long = format!("Digest realm=r, nonce=n, algorithm={}", "X".repeat(500));
    match Challenge::parse(&long) {
        Err(UnsupportedAlgorithm(name)) => assert_eq!(name.len(), 64),
        other => panic!("{other:?}"),
    }
}

#[test]
fn credentials_round_trip_and_parse() {
    let creds = answer(
        &rfc7616_challenge(Algorithm::Sha256),
        USER,
        PASS,
        "GET",
        URI,
        CNONCE,
        0x1a,
    );
    let value = creds.to_header_value();
    assert!(value.contains(", nc=0000001a, qop=auth"), "{value}");
    assert_eq!(Credentials::parse(&value), Ok(creds.clone()));

    // RFC 7616 §3.9.1 Authorization header (SHA-256), written on one line.
    let value = "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", algorithm=SHA-256, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
    let parsed = Credentials::parse(value).unwrap();
    let mut expected = creds;
    expected.nc = Some("00000001".to_owned());
    expected.response =
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1".to_owned();
    assert_eq!(parsed, expected);
    assert!(verify(
        &parsed,
        &ha1(Algorithm::Sha256, USER, REALM, PASS),
        "GET"
    ));
}

#[test]
fn credentials_parse_errors() {
    use DigestError::*;
    let base = "username=\"u\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"00\"";
    assert!(Credentials::parse(&format!("Digest {base}")).is_ok());
    for missing in ["username", "realm", "nonce", "uri", "response"] {
        let value: Vec<&str> = base
            .split(", ")
            .filter(|p| !p.starts_with(missing))
            .collect();
        assert_eq!(
            Credentials::parse(&format!("Digest {}", value.join(", "))),
            Err(MissingParam(missing)),
            "{missing}"
        );
    }
    let cases = [
        (format!("Basic {base}"), NotDigest),
        (
            format!("Digest {base}, qop=auth, nc=00000001"),
            MissingParam("cnonce"),
        ),
        (
            format!("Digest {base}, qop=auth, cnonce=\"c\""),
            MissingParam("nc"),
        ),
        (
            format!("Digest {base}, qop=auth, cnonce=\"c\", nc=1"),
            BadNonceCount,
        ),
        (
            format!("Digest {base}, qop=auth, cnonce=\"c\", nc=0000000g"),
            BadNonceCount,
        ),
        (
            format!("Digest {base}, qop=auth-int, cnonce=\"c\", nc=00000001"),
            UnsupportedQop,
        ),
        (
            format!("Digest {base}, algorithm=SHA-512"),
            UnsupportedAlgorithm("SHA-512".to_owned()),
        ),
        (
            format!("Digest {base}, Username=\"v\""),
            DuplicateParam("username"),
        ),
    ];
    for (value, expected) in cases {
        assert_eq!(Credentials::parse(&value), Err(expected), "{value}");
    }
}

/// xorshift64 (Marsaglia 2003): deterministic pseudo-random numbers without a crate.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn fuzz_digest_parsers_never_panic() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let seeds = [
        rfc7616_challenge(Algorithm::Sha256).to_header_value(),
        answer(
            &rfc7616_challenge(Algorithm::Md5),
            USER,
            PASS,
            "GET",
            URI,
            CNONCE,
            1,
        )
        .to_header_value(),
    ];
    let alphabet: Vec<char> = "Digest =,\"\\ \tabcnqop-é\u{0}\r\n".chars().collect();
    for round in 0..20_000 {
        let text: String = if round % 2 == 0 {
            let len = rng.below(64);
            (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect()
        } else {
            let mut chars: Vec<char> = seeds[rng.below(seeds.len())].chars().collect();
            for _ in 0..1 + rng.below(4) {
                let pos = rng.below(chars.len() + 1);
                match rng.below(3) {
                    0 if pos < chars.len() => {
                        chars.remove(pos);
                    }
                    1 if pos < chars.len() => chars[pos] = alphabet[rng.below(alphabet.len())],
                    _ => chars.insert(pos, alphabet[rng.below(alphabet.len())]),
                }
            }
            chars.into_iter().collect()
        };
        if let Ok(ch) = Challenge::parse(&text) {
            assert_eq!(Challenge::parse(&ch.to_header_value()), Ok(ch));
        }
        if let Ok(creds) = Credentials::parse(&text) {
            assert_eq!(
                Credentials::parse(&creds.to_header_value()),
                Ok(creds.clone())
            );
            let _ = verify(&creds, "00", "GET");
        }
    }
}
