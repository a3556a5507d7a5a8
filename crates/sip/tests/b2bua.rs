//! The B2BUA engine driven by scripted user agents on both legs, deterministically: every
//! message each side sees is checked, no sockets, no sleeping.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use exp_sip::b2bua::{
    CallEnv, CallId, Engine, EngineConfig, LegRole, NetTransport, Output, Peer, RouteDecision,
};
use exp_sip::message::{header_param, Message, Request, Response};
use exp_sip::txn::TimerConfig;

const OFFER: &str = "v=0\r\no=alice 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
const ANSWER: &str = "v=0\r\no=bob 1 1 IN IP4 192.168.1.5\r\ns=-\r\nc=IN IP4 192.168.1.5\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";

#[derive(Default)]
struct Env {
    route: Option<RouteDecision>,
    offers: Vec<(CallId, LegRole)>,
    answers: Vec<(CallId, LegRole)>,
    released: Vec<CallId>,
    /// Hop count of every zone.
    hop: Option<u32>,
}

impl CallEnv for Env {
    fn route(&mut self, _request: &Request, _from: &Peer) -> RouteDecision {
        self.route
            .clone()
            .unwrap_or(RouteDecision::Forward(Peer::Zone("lan".into())))
    }
    fn via_sent_by(&self, peer: &Peer) -> String {
        match peer {
            Peer::Zone(_) => "172.16.0.1:7001".into(),
            Peer::Net { .. } => "203.0.113.1:5060".into(),
        }
    }
    fn contact(&self, peer: &Peer) -> String {
        format!("sip:exp@{}", self.via_sent_by(peer))
    }
    fn anchor_offer(
        &mut self,
        call: CallId,
        from: LegRole,
        _f: &Peer,
        _t: &Peer,
        sdp: &[u8],
    ) -> Result<Vec<u8>, String> {
        self.offers.push((call, from));
        Ok(rewrite(sdp))
    }
    fn anchor_answer(
        &mut self,
        call: CallId,
        from: LegRole,
        _f: &Peer,
        _t: &Peer,
        sdp: &[u8],
    ) -> Result<Vec<u8>, String> {
        self.answers.push((call, from));
        Ok(rewrite(sdp))
    }
    fn release_media(&mut self, call: CallId) {
        self.released.push(call);
    }
    fn hop_limit(&self, peer: &Peer) -> Option<u32> {
        match peer {
            Peer::Zone(_) => self.hop,
            Peer::Net { .. } => None,
        }
    }
}

/// Stand-in for media anchoring: mark the SDP so tests can see it was rewritten.
fn rewrite(sdp: &[u8]) -> Vec<u8> {
    let mut v = sdp.to_vec();
    v.extend_from_slice(b"a=anchored\r\n");
    v
}

fn caller() -> Peer {
    Peer::Net {
        transport: NetTransport::Udp,
        addr: "198.51.100.7:5060".parse::<SocketAddr>().unwrap(),
    }
}

fn zone() -> Peer {
    Peer::Zone("lan".into())
}

fn engine() -> Engine {
    named_engine("test-edge", [9; 16])
}

fn named_engine(name: &str, seed: [u8; 16]) -> Engine {
    Engine::new(
        EngineConfig {
            timers: TimerConfig::default(),
            max_calls: 100,
            invite_timeout: Duration::from_secs(180),
            product: "exp-e/test".into(),
            system_name: name.into(),
        },
        seed,
    )
}

fn invite(branch: &str) -> Request {
    let mut r = Request::new("INVITE", "sip:bob@lan.example");
    let h = &mut r.headers;
    h.push(
        "Via",
        format!("SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK{branch};rport"),
    );
    h.push("Max-Forwards", "70");
    h.push("From", "\"Alice\" <sip:alice@outside.example>;tag=a1");
    h.push("To", "<sip:bob@lan.example>");
    h.push("Call-ID", "call-1@198.51.100.7");
    h.push("CSeq", "1 INVITE");
    h.push("Contact", "<sip:alice@198.51.100.7:5060>");
    h.push("Content-Type", "application/sdp");
    r.body = OFFER.as_bytes().to_vec();
    r
}

/// Messages sent to `peer` in `out`, parsed.
fn sent_to(out: &[Output], peer: &Peer) -> Vec<Message> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { to, bytes } if to == peer => {
                Some(Message::parse(bytes).expect("we send valid SIP"))
            }
            _ => None,
        })
        .collect()
}

fn responses(msgs: &[Message]) -> Vec<u16> {
    msgs.iter()
        .filter_map(|m| match m {
            Message::Response(r) => Some(r.status),
            _ => None,
        })
        .collect()
}

fn requests(msgs: &[Message]) -> Vec<Request> {
    msgs.iter()
        .filter_map(|m| match m {
            Message::Request(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

/// A UAS answer to `req` with tag `bt` (and SDP when given).
fn answer(req: &Request, status: u16, sdp: Option<&str>) -> Message {
    let mut r = Response::for_request(
        req,
        status,
        exp_sip::message::reason_phrase(status),
        Some("bt"),
    );
    r.headers.push("Contact", "<sip:bob@192.168.1.5:5060>");
    if let Some(s) = sdp {
        r.headers.push("Content-Type", "application/sdp");
        r.body = s.as_bytes().to_vec();
    }
    Message::Response(r)
}

/// An in-dialog request from the caller, after a 2xx carrying our tag.
fn caller_in_dialog(method: &str, our_tag: &str, cseq: u32, branch: &str) -> Request {
    let mut r = Request::new(method, "sip:exp@203.0.113.1:5060");
    let h = &mut r.headers;
    h.push(
        "Via",
        format!("SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK{branch};rport"),
    );
    h.push("Max-Forwards", "70");
    h.push("From", "\"Alice\" <sip:alice@outside.example>;tag=a1");
    h.push("To", format!("<sip:bob@lan.example>;tag={our_tag}"));
    h.push("Call-ID", "call-1@198.51.100.7");
    h.push("CSeq", format!("{cseq} {method}"));
    r
}

struct Established {
    eng: Engine,
    env: Env,
    callee_invite: Request,
    our_caller_tag: String,
    t: Instant,
}

fn establish() -> Established {
    let mut eng = engine();
    let mut env = Env::default();
    let t = Instant::now();
    let out = eng.handle_message(caller(), Message::Request(invite("i1")), t, &mut env);
    assert_eq!(responses(&sent_to(&out, &caller())), vec![100]);
    let to_zone = requests(&sent_to(&out, &zone()));
    assert_eq!(to_zone.len(), 1);
    let inv = to_zone[0].clone();
    assert_eq!(inv.method, "INVITE");
    assert_eq!(inv.uri, "sip:bob@lan.example");
    assert_ne!(
        inv.headers.get("Call-ID"),
        Some("call-1@198.51.100.7"),
        "new Call-ID on the callee leg"
    );
    assert_eq!(inv.headers.get("Max-Forwards"), Some("69"));
    assert!(String::from_utf8_lossy(&inv.body).ends_with("a=anchored\r\n"));
    assert_eq!(env.offers, vec![(1, LegRole::Caller)]);
    assert!(out.contains(&Output::CallStarted(1)));

    let out = eng.handle_message(zone(), answer(&inv, 180, None), t, &mut env);
    assert_eq!(responses(&sent_to(&out, &caller())), vec![180]);
    let out = eng.handle_message(zone(), answer(&inv, 200, Some(ANSWER)), t, &mut env);
    let to_caller = sent_to(&out, &caller());
    assert_eq!(responses(&to_caller), vec![200]);
    let Message::Response(ok) = &to_caller[0] else {
        unreachable!()
    };
    assert!(String::from_utf8_lossy(&ok.body).contains("a=anchored"));
    assert_eq!(env.answers, vec![(1, LegRole::Callee)]);
    let our_tag = header_param(ok.headers.get("To").unwrap(), "tag")
        .unwrap()
        .to_string();
    // The callee leg's 2xx is ACKed by us at once (the offer was in the INVITE).
    let acks = requests(&sent_to(&out, &zone()));
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].method, "ACK");
    assert_eq!(
        acks[0].uri, "sip:bob@192.168.1.5:5060",
        "ACK to the callee's Contact"
    );
    // Caller ACKs.
    let ack = caller_in_dialog("ACK", &our_tag, 1, "i1");
    let out = eng.handle_message(caller(), Message::Request(ack), t, &mut env);
    assert!(sent_to(&out, &zone()).is_empty(), "caller ACK is absorbed");
    assert_eq!(eng.calls()[0].state.as_str(), "confirmed");
    Established {
        eng,
        env,
        callee_invite: inv,
        our_caller_tag: our_tag,
        t,
    }
}

#[test]
fn incoming_call_is_established_and_caller_hangs_up() {
    let Established {
        mut eng,
        mut env,
        our_caller_tag,
        t,
        ..
    } = establish();
    let bye = caller_in_dialog("BYE", &our_caller_tag, 2, "b1");
    let out = eng.handle_message(caller(), Message::Request(bye), t, &mut env);
    assert_eq!(responses(&sent_to(&out, &caller())), vec![200]);
    let to_zone = requests(&sent_to(&out, &zone()));
    assert_eq!(to_zone.len(), 1);
    assert_eq!(to_zone[0].method, "BYE");
    assert_eq!(env.released, vec![1]);
    assert_eq!(eng.call_count(), 0);
    // The callee answers the BYE; nothing more happens.
    let out = eng.handle_message(zone(), answer(&to_zone[0], 200, None), t, &mut env);
    assert!(sent_to(&out, &caller()).is_empty());
}

#[test]
fn callee_hangs_up() {
    let Established {
        mut eng,
        mut env,
        callee_invite,
        t,
        ..
    } = establish();
    // The callee's BYE: From is the callee (tag bt), To is our callee-leg tag.
    let our_callee_tag = header_param(callee_invite.headers.get("From").unwrap(), "tag")
        .unwrap()
        .to_string();
    let mut bye = Request::new("BYE", "sip:exp@172.16.0.1:7001");
    bye.headers
        .push("Via", "SIP/2.0/TCP 192.168.1.5:5060;branch=z9hG4bKcb1");
    bye.headers.push("From", "<sip:bob@lan.example>;tag=bt");
    bye.headers.push(
        "To",
        format!("<sip:alice@outside.example>;tag={our_callee_tag}"),
    );
    bye.headers
        .push("Call-ID", callee_invite.headers.get("Call-ID").unwrap());
    bye.headers.push("CSeq", "10 BYE");
    let out = eng.handle_message(zone(), Message::Request(bye), t, &mut env);
    assert_eq!(responses(&sent_to(&out, &zone())), vec![200]);
    let to_caller = requests(&sent_to(&out, &caller()));
    assert_eq!(to_caller.len(), 1);
    assert_eq!(to_caller[0].method, "BYE");
    assert_eq!(
        to_caller[0].uri, "sip:alice@198.51.100.7:5060",
        "BYE to the caller's Contact"
    );
    assert_eq!(
        to_caller[0].headers.get("Call-ID"),
        Some("call-1@198.51.100.7")
    );
    assert_eq!(eng.call_count(), 0);
}

#[test]
fn cancel_before_answer() {
    let mut eng = engine();
    let mut env = Env::default();
    let t = Instant::now();
    let out = eng.handle_message(caller(), Message::Request(invite("c1")), t, &mut env);
    let inv = requests(&sent_to(&out, &zone()))[0].clone();
    eng.handle_message(zone(), answer(&inv, 180, None), t, &mut env);
    let mut cancel = invite("c1");
    cancel.method = "CANCEL".into();
    cancel.headers.set("CSeq", "1 CANCEL");
    cancel.body.clear();
    cancel.headers.remove("Content-Type");
    let out = eng.handle_message(caller(), Message::Request(cancel), t, &mut env);
    let mut got = responses(&sent_to(&out, &caller()));
    got.sort();
    assert_eq!(got, vec![200, 487]);
    let to_zone = requests(&sent_to(&out, &zone()));
    assert_eq!(to_zone.len(), 1);
    assert_eq!(to_zone[0].method, "CANCEL");
    assert_eq!(eng.call_count(), 0);
    assert_eq!(env.released, vec![1]);
    // The callee confirms: 200 for CANCEL, 487 for INVITE → we ACK the 487.
    eng.handle_message(zone(), answer(&to_zone[0], 200, None), t, &mut env);
    let out = eng.handle_message(zone(), answer(&inv, 487, None), t, &mut env);
    let acks = requests(&sent_to(&out, &zone()));
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].method, "ACK");
    assert!(sent_to(&out, &caller()).is_empty());
}

#[test]
fn no_route_is_404_and_zone_down_is_503_with_retry_after() {
    for (decision, status) in [
        (RouteDecision::NotFound, 404),
        (RouteDecision::ZoneDown("lan".into()), 503),
        (RouteDecision::Overloaded, 503),
    ] {
        let mut eng = engine();
        let mut env = Env {
            route: Some(decision),
            ..Env::default()
        };
        let out = eng.handle_message(
            caller(),
            Message::Request(invite("n1")),
            Instant::now(),
            &mut env,
        );
        let msgs = sent_to(&out, &caller());
        assert_eq!(responses(&msgs), vec![100, status]);
        if status == 503 {
            let Message::Response(r) = &msgs[1] else {
                unreachable!()
            };
            assert!(r.headers.get("Retry-After").is_some());
        }
        assert_eq!(eng.call_count(), 0);
        assert!(sent_to(&out, &zone()).is_empty());
    }
}

#[test]
fn failure_response_is_relayed() {
    let mut eng = engine();
    let mut env = Env::default();
    let t = Instant::now();
    let out = eng.handle_message(caller(), Message::Request(invite("f1")), t, &mut env);
    let inv = requests(&sent_to(&out, &zone()))[0].clone();
    let out = eng.handle_message(zone(), answer(&inv, 486, None), t, &mut env);
    assert_eq!(responses(&sent_to(&out, &caller())), vec![486]);
    assert_eq!(requests(&sent_to(&out, &zone()))[0].method, "ACK");
    assert_eq!(eng.call_count(), 0);
    assert_eq!(env.released, vec![1]);
}

#[test]
fn reinvite_for_hold_is_forwarded_with_anchored_sdp() {
    let Established {
        mut eng,
        mut env,
        our_caller_tag,
        t,
        ..
    } = establish();
    let mut re = caller_in_dialog("INVITE", &our_caller_tag, 2, "r1");
    re.headers.push("Contact", "<sip:alice@198.51.100.7:5060>");
    re.headers.push("Content-Type", "application/sdp");
    re.body = format!("{OFFER}a=sendonly\r\n").into_bytes();
    let out = eng.handle_message(caller(), Message::Request(re.clone()), t, &mut env);
    let to_zone = requests(&sent_to(&out, &zone()));
    assert_eq!(to_zone.len(), 1);
    let fwd = &to_zone[0];
    assert_eq!(fwd.method, "INVITE");
    assert_eq!(fwd.uri, "sip:bob@192.168.1.5:5060");
    assert!(header_param(fwd.headers.get("To").unwrap(), "tag") == Some("bt"));
    assert!(String::from_utf8_lossy(&fwd.body).contains("a=sendonly"));
    assert!(String::from_utf8_lossy(&fwd.body).contains("a=anchored"));
    let out = eng.handle_message(zone(), answer(fwd, 200, Some(ANSWER)), t, &mut env);
    assert_eq!(responses(&sent_to(&out, &caller())), vec![200]);
    let acks = requests(&sent_to(&out, &zone()));
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].method, "ACK");
    // The caller's ACK for the re-INVITE is absorbed.
    let ack = caller_in_dialog("ACK", &our_caller_tag, 2, "r1");
    let out = eng.handle_message(caller(), Message::Request(ack), t, &mut env);
    assert!(out.iter().all(|o| !matches!(o, Output::Send { .. })));
    assert_eq!(env.offers.len(), 2);
    assert_eq!(eng.call_count(), 1);
}

#[test]
fn zone_lost_mid_call_hangs_up_the_other_leg() {
    let Established {
        mut eng,
        mut env,
        t,
        ..
    } = establish();
    let out = eng.zone_lost("lan", t, &mut env);
    let to_caller = requests(&sent_to(&out, &caller()));
    assert_eq!(to_caller.len(), 1);
    assert_eq!(to_caller[0].method, "BYE");
    assert!(
        sent_to(&out, &zone()).is_empty(),
        "nothing is sent into a lost zone"
    );
    assert_eq!(eng.call_count(), 0);
    assert_eq!(env.released, vec![1]);
}

#[test]
fn unreliable_2xx_is_retransmitted_until_ack() {
    let mut eng = engine();
    let mut env = Env::default();
    let t = Instant::now();
    let out = eng.handle_message(caller(), Message::Request(invite("u1")), t, &mut env);
    let inv = requests(&sent_to(&out, &zone()))[0].clone();
    let out = eng.handle_message(zone(), answer(&inv, 200, Some(ANSWER)), t, &mut env);
    let Message::Response(ok) = &sent_to(&out, &caller())[0] else {
        unreachable!()
    };
    let tag = header_param(ok.headers.get("To").unwrap(), "tag")
        .unwrap()
        .to_string();
    // No ACK: the 200 goes out again at T1, then 2·T1.
    let t1 = t + Duration::from_millis(500);
    let out = eng.handle_timeout(t1, &mut env);
    assert_eq!(responses(&sent_to(&out, &caller())), vec![200]);
    let out = eng.handle_timeout(t1 + Duration::from_millis(1000), &mut env);
    assert_eq!(responses(&sent_to(&out, &caller())), vec![200]);
    let ack = caller_in_dialog("ACK", &tag, 1, "u1");
    eng.handle_message(caller(), Message::Request(ack), t1, &mut env);
    let out = eng.handle_timeout(t1 + Duration::from_secs(10), &mut env);
    assert!(sent_to(&out, &caller()).is_empty());
}

#[test]
fn no_ack_at_all_ends_the_call_with_bye() {
    let mut eng = engine();
    let mut env = Env::default();
    let t = Instant::now();
    let out = eng.handle_message(caller(), Message::Request(invite("x1")), t, &mut env);
    let inv = requests(&sent_to(&out, &zone()))[0].clone();
    eng.handle_message(zone(), answer(&inv, 200, Some(ANSWER)), t, &mut env);
    let mut now = t;
    for _ in 0..100 {
        now += Duration::from_secs(1);
        eng.handle_timeout(now, &mut env);
        if eng.call_count() == 0 {
            break;
        }
    }
    assert_eq!(eng.call_count(), 0, "given up after 64·T1");
    assert_eq!(env.released, vec![1]);
}

#[test]
fn in_dialog_request_for_an_unknown_dialog_is_481() {
    let mut eng = engine();
    let mut env = Env::default();
    let bye = caller_in_dialog("BYE", "nope", 5, "z1");
    let out = eng.handle_message(caller(), Message::Request(bye), Instant::now(), &mut env);
    assert_eq!(responses(&sent_to(&out, &caller())), vec![481]);
}

#[test]
fn late_offer_answer_travels_in_the_ack() {
    let mut eng = engine();
    let mut env = Env::default();
    let t = Instant::now();
    let mut inv = invite("l1");
    inv.body.clear();
    inv.headers.remove("Content-Type");
    let out = eng.handle_message(caller(), Message::Request(inv), t, &mut env);
    let fwd = requests(&sent_to(&out, &zone()))[0].clone();
    assert!(fwd.body.is_empty());
    // The callee's 2xx carries the offer; no ACK yet.
    let out = eng.handle_message(zone(), answer(&fwd, 200, Some(ANSWER)), t, &mut env);
    assert!(requests(&sent_to(&out, &zone())).is_empty());
    assert_eq!(env.offers, vec![(1, LegRole::Callee)]);
    let Message::Response(ok) = &sent_to(&out, &caller())[0] else {
        unreachable!()
    };
    let tag = header_param(ok.headers.get("To").unwrap(), "tag")
        .unwrap()
        .to_string();
    let mut ack = caller_in_dialog("ACK", &tag, 1, "l1");
    ack.headers.push("Content-Type", "application/sdp");
    ack.body = OFFER.as_bytes().to_vec();
    let out = eng.handle_message(caller(), Message::Request(ack), t, &mut env);
    let acks = requests(&sent_to(&out, &zone()));
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].method, "ACK");
    assert!(String::from_utf8_lossy(&acks[0].body).contains("a=anchored"));
    assert_eq!(env.answers, vec![(1, LegRole::Caller)]);
}

#[test]
fn timers_driven_by_poll_timeout_alone_clean_up_every_transaction() {
    let mut eng = engine();
    let mut env = Env::default();
    let t = Instant::now();
    let out = eng.handle_message(caller(), Message::Request(invite("h1")), t, &mut env);
    let inv = requests(&sent_to(&out, &zone()))[0].clone();
    let out = eng.handle_message(zone(), answer(&inv, 200, Some(ANSWER)), t, &mut env);
    let Message::Response(ok) = &sent_to(&out, &caller())[0] else {
        unreachable!()
    };
    let tag = header_param(ok.headers.get("To").unwrap(), "tag")
        .unwrap()
        .to_string();
    let ack = caller_in_dialog("ACK", &tag, 1, "h1");
    eng.handle_message(caller(), Message::Request(ack), t, &mut env);
    assert!(eng.transaction_count() > 0);
    // Wake only when the engine asks to, as the runtime does.
    let mut wakes = 0;
    while let Some(at) = eng.poll_timeout() {
        assert!(at >= t, "deadlines never go backwards");
        eng.handle_timeout(at, &mut env);
        wakes += 1;
        assert!(wakes < 50, "a stale timer keeps firing");
    }
    assert_eq!(
        eng.transaction_count(),
        0,
        "every transaction ended by its timer"
    );
    assert_eq!(
        eng.call_count(),
        1,
        "the confirmed call itself has no timer"
    );
}

#[test]
fn forwarded_invite_leaves_before_the_100_trying() {
    let mut eng = engine();
    let mut env = Env::default();
    let out = eng.handle_message(
        caller(),
        Message::Request(invite("i1")),
        Instant::now(),
        &mut env,
    );
    let sends: Vec<(&Peer, Message)> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send { to, bytes } => Some((to, Message::parse(bytes).expect("valid SIP"))),
            _ => None,
        })
        .collect();
    assert_eq!(sends.len(), 2, "the INVITE and the 100");
    assert_eq!(sends[0].0, &zone());
    assert!(matches!(&sends[0].1, Message::Request(r) if r.method == "INVITE"));
    assert_eq!(sends[1].0, &caller());
    assert!(matches!(&sends[1].1, Message::Response(r) if r.status == 100));
}

#[test]
fn a_refused_invite_still_gets_its_100_then_the_failure() {
    let mut eng = engine();
    let mut env = Env {
        route: Some(RouteDecision::NotFound),
        ..Env::default()
    };
    let out = eng.handle_message(
        caller(),
        Message::Request(invite("i1")),
        Instant::now(),
        &mut env,
    );
    assert_eq!(responses(&sent_to(&out, &caller())), vec![100, 404]);
}

/// The first request `eng` sends to `to` for `req` arriving from `from` (routed by `env`),
/// or the responses it sent back to `from` when it sent none.
fn forward(
    eng: &mut Engine,
    env: &mut Env,
    from: Peer,
    req: Request,
    to: &Peer,
) -> Result<Request, Vec<u16>> {
    let out = eng.handle_message(from.clone(), Message::Request(req), Instant::now(), env);
    requests(&sent_to(&out, to))
        .into_iter()
        .next()
        .ok_or_else(|| responses(&sent_to(&out, &from)))
}

fn outside_target() -> Peer {
    Peer::Net {
        transport: NetTransport::Udp,
        addr: "198.51.100.9:5060".parse::<SocketAddr>().unwrap(),
    }
}

#[test]
fn zone_hop_count_caps_max_forwards_and_never_raises_it() {
    let mut env = Env {
        hop: Some(15),
        ..Env::default()
    };
    let mf = |r: &Request| r.headers.get("Max-Forwards").map(str::to_string);
    let fwd = forward(&mut engine(), &mut env, caller(), invite("h1"), &zone()).unwrap();
    assert_eq!(
        mf(&fwd).as_deref(),
        Some("15"),
        "capped by the zone's hop count"
    );
    let mut low = invite("h2");
    low.headers.set("Max-Forwards", "9");
    let fwd = forward(&mut engine(), &mut env, caller(), low, &zone()).unwrap();
    assert_eq!(
        mf(&fwd).as_deref(),
        Some("8"),
        "one less, never raised to 15"
    );
    // Toward the network no zone hop count applies.
    env.route = Some(RouteDecision::Forward(outside_target()));
    let fwd = forward(
        &mut engine(),
        &mut env,
        zone(),
        invite("h3"),
        &outside_target(),
    )
    .unwrap();
    assert_eq!(mf(&fwd).as_deref(), Some("69"));
    // The last hop: Max-Forwards 1 arrives, 0 leaves; 0 arriving is refused.
    let mut one = invite("h4");
    one.headers.set("Max-Forwards", "1");
    let fwd = forward(&mut engine(), &mut env, zone(), one, &outside_target()).unwrap();
    assert_eq!(mf(&fwd).as_deref(), Some("0"));
    let mut zero = invite("h5");
    zero.headers.set("Max-Forwards", "0");
    let refused = forward(&mut engine(), &mut env, zone(), zero, &outside_target());
    assert_eq!(refused.unwrap_err(), vec![100, 483]);
}

#[test]
fn invites_into_zones_carry_the_path_and_a_revisit_is_482() {
    let mut a = named_engine("company dmz", [1; 16]);
    let mut b = named_engine("partner-edge", [2; 16]);
    let b2b = Peer::Zone("b2b".into());
    let partner = Peer::Zone("partner".into());
    let mut to_b2b = Env {
        route: Some(RouteDecision::Forward(b2b.clone())),
        ..Env::default()
    };
    // exp-e(1) sends the call from its LAN zone up its client zone: its own entry.
    let first = forward(&mut a, &mut to_b2b, zone(), invite("p1"), &b2b).unwrap();
    let path = first
        .headers
        .get("Exp-Path")
        .expect("an Exp-Path into the zone");
    assert_eq!(path, format!("company-dmz;id={}", a.path_id()));
    // exp-e(2), misconfigured, sends it on into another zone whose far end leads back to
    // exp-e(1) (straight back into `partner` would be refused as a hairpin already): both
    // entries, oldest first.
    let other = Peer::Zone("other".into());
    let mut onward = Env {
        route: Some(RouteDecision::Forward(other.clone())),
        ..Env::default()
    };
    let second = forward(&mut b, &mut onward, partner, first, &other).unwrap();
    assert_eq!(
        second.headers.get("Exp-Path"),
        Some(
            format!(
                "company-dmz;id={}, partner-edge;id={}",
                a.path_id(),
                b.path_id()
            )
            .as_str()
        )
    );
    // exp-e(1) finds itself on the path: 482 at the first revisit, no new call.
    let refused = forward(&mut a, &mut to_b2b, b2b.clone(), second, &b2b);
    assert_eq!(refused.unwrap_err(), vec![100, 482]);
    assert_eq!(a.calls().len(), 1, "only the first pass made a call");
}

#[test]
fn exp_path_is_only_read_from_zones_and_only_sent_into_them() {
    let mut a = named_engine("edge", [3; 16]);
    let mut env = Env::default();
    // From the network, a path (even one naming us) is ignored: the INVITE is forwarded,
    // with our entry alone.
    let mut inv = invite("n1");
    inv.headers
        .push("Exp-Path", format!("forged;id={}", a.path_id()));
    let fwd = forward(&mut a, &mut env, caller(), inv, &zone()).unwrap();
    assert_eq!(
        fwd.headers.get("Exp-Path"),
        Some(format!("edge;id={}", a.path_id()).as_str())
    );
    // Toward the network the path is not sent.
    let mut inv = invite("n2");
    inv.headers.push("Exp-Path", "far;id=f00d");
    env.route = Some(RouteDecision::Forward(outside_target()));
    let fwd = forward(&mut a, &mut env, zone(), inv, &outside_target()).unwrap();
    assert_eq!(fwd.headers.get("Exp-Path"), None);
}

#[test]
fn malformed_exp_path_from_a_zone_is_400_and_an_overlong_one_483() {
    let mut env = Env {
        route: Some(RouteDecision::Forward(outside_target())),
        ..Env::default()
    };
    let mut inv = invite("m1");
    inv.headers.push("Exp-Path", "no-id-here");
    let refused = forward(&mut engine(), &mut env, zone(), inv, &outside_target());
    assert_eq!(refused.unwrap_err(), vec![100, 400]);
    let mut inv = invite("m2");
    let long: Vec<String> = (0..71).map(|i| format!("s{i};id={i}")).collect();
    inv.headers.push("Exp-Path", long.join(", "));
    let refused = forward(&mut engine(), &mut env, zone(), inv, &outside_target());
    assert_eq!(refused.unwrap_err(), vec![100, 483]);
}
