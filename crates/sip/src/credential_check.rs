//! Delegated TURN credential checks over a traversal zone (SPEC "TURN server": exp-e asks the
//! traversal client to check a TURN user's credential against its own database).
//!
//! A long-term TURN credential is checked with its key, HA1 = H(username:realm:password)
//! (RFC 8489 §9.2.2): exp-e needs the key itself to verify the request's MESSAGE-INTEGRITY
//! and to sign its responses. So the check asks the traversal client for the user's HA1
//! hashes, over the authenticated zone connection (TLS where the zone uses it), and exp-e
//! caches the answer briefly.
//!
//! The exchange is a SIP request of our own method on the zone connection, which already
//! frames and routes SIP both ways, answered like any SIP request:
//!
//! ```text
//! CREDENTIAL sip:credential-check SIP/2.0        200 OK
//! Via, From, To, Call-ID, CSeq: n CREDENTIAL      (Via, From, To, Call-ID, CSeq copied)
//! Max-Forwards: 0                                 Exp-Ha1-Md5: <32 hex>      (if stored)
//! Exp-Username: alice                             Exp-Ha1-Sha256: <64 hex>   (if stored)
//! Exp-Realm: exp                                  — or 404 (unknown user or other realm),
//! Content-Length: 0                                 403 (this client does not answer checks)
//! ```

use crate::message::{Message, Request, Response};

/// The request method.
pub const METHOD: &str = "CREDENTIAL";
const USERNAME: &str = "Exp-Username";
const REALM: &str = "Exp-Realm";
const HA1_MD5: &str = "Exp-Ha1-Md5";
const HA1_SHA256: &str = "Exp-Ha1-Sha256";

/// A user's stored key hashes, lower-case hex.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ha1 {
    /// MD5 HA1 (32 hex digits).
    pub md5: Option<String>,
    /// SHA-256 HA1 (64 hex digits).
    pub sha256: Option<String>,
}

/// The request asking for `username` in `realm`; `call_id` matches the answer to it.
pub fn request(username: &str, realm: &str, call_id: &str, seq: u32) -> Request {
    let mut r = Request::new(METHOD, "sip:credential-check");
    r.headers.push(
        "Via",
        format!("SIP/2.0/TCP exp-e.invalid;branch=z9hG4bK-cred-{call_id}"),
    );
    r.headers.push("Max-Forwards", "0");
    r.headers
        .push("From", "<sip:exp-e@credential-check>;tag=cred");
    r.headers.push("To", "<sip:exp-c@credential-check>");
    r.headers.push("Call-ID", call_id);
    r.headers.push("CSeq", format!("{seq} {METHOD}"));
    r.headers.push(USERNAME, username);
    r.headers.push(REALM, realm);
    r.headers.push("Content-Length", "0");
    r
}

/// Whether `req` is a credential check.
pub fn is_check(req: &Request) -> bool {
    req.method == METHOD
}

/// Whether `resp` answers a credential check.
pub fn is_answer(resp: &Response) -> bool {
    Message::Response(resp.clone())
        .cseq()
        .is_some_and(|(_, m)| m == METHOD)
}

/// The (username, realm) a check asks about; `None` when a header is missing.
pub fn asked(req: &Request) -> Option<(&str, &str)> {
    Some((req.headers.get(USERNAME)?, req.headers.get(REALM)?))
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The answer to `req`: 200 with the hashes, 404 without any, 400 when malformed.
pub fn answer(req: &Request, found: Option<Ha1>) -> Response {
    if asked(req).is_none() {
        return Response::for_request(req, 400, "Bad Request", None);
    }
    match found {
        Some(h) if h.md5.is_some() || h.sha256.is_some() => {
            let mut r = Response::for_request(req, 200, "OK", None);
            if let Some(m) = h.md5 {
                r.headers.push(HA1_MD5, m);
            }
            if let Some(s) = h.sha256 {
                r.headers.push(HA1_SHA256, s);
            }
            r.headers.push("Content-Length", "0");
            r
        }
        _ => Response::for_request(req, 404, "Not Found", None),
    }
}

/// A refusal: this traversal client does not answer credential checks.
pub fn refuse(req: &Request) -> Response {
    Response::for_request(req, 403, "Forbidden", None)
}

/// What an answer says: `Some` hashes on 200 (malformed hashes are left out), `None` for any
/// other status.
pub fn read_answer(resp: &Response) -> Option<Ha1> {
    if resp.status != 200 {
        return None;
    }
    let h = Ha1 {
        md5: resp
            .headers
            .get(HA1_MD5)
            .filter(|v| is_hex(v, 32))
            .map(str::to_ascii_lowercase),
        sha256: resp
            .headers
            .get(HA1_SHA256)
            .filter(|v| is_hex(v, 64))
            .map(str::to_ascii_lowercase),
    };
    (h.md5.is_some() || h.sha256.is_some()).then_some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip_request(r: &Request) -> Request {
        match Message::parse(&Message::Request(r.clone()).to_bytes()).unwrap() {
            Message::Request(r) => r,
            _ => panic!("not a request"),
        }
    }

    fn roundtrip_response(r: &Response) -> Response {
        match Message::parse(&Message::Response(r.clone()).to_bytes()).unwrap() {
            Message::Response(r) => r,
            _ => panic!("not a response"),
        }
    }

    #[test]
    fn a_check_and_its_answer_survive_the_wire() {
        let req = roundtrip_request(&request("alice", "exp", "c1", 7));
        assert!(is_check(&req));
        assert_eq!(asked(&req), Some(("alice", "exp")));
        let h = Ha1 {
            md5: Some("fe3a77a64ec58bbc3a4b06a778ab8ef3".into()),
            sha256: None,
        };
        let resp = roundtrip_response(&answer(&req, Some(h.clone())));
        assert!(is_answer(&resp));
        assert_eq!(Message::Response(resp.clone()).call_id(), Some("c1"));
        assert_eq!(read_answer(&resp), Some(h));
    }

    #[test]
    fn unknown_users_refusals_and_bad_hashes_read_as_no_key() {
        let req = request("bob", "exp", "c2", 1);
        assert_eq!(read_answer(&answer(&req, None)), None);
        assert_eq!(answer(&req, None).status, 404);
        assert_eq!(refuse(&req).status, 403);
        assert_eq!(read_answer(&refuse(&req)), None);
        let mut bad = answer(
            &req,
            Some(Ha1 {
                md5: Some("zz".into()),
                sha256: None,
            }),
        );
        assert_eq!(bad.status, 200);
        assert_eq!(read_answer(&bad), None);
        bad.headers.set(HA1_SHA256, "g".repeat(64));
        assert_eq!(read_answer(&bad), None);
        let mut no_user = request("x", "exp", "c3", 1);
        no_user.headers.remove(USERNAME);
        assert_eq!(answer(&no_user, None).status, 400);
    }
}
