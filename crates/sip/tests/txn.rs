//! Transaction timers and absorption (RFC 3261 §17, RFC 6026), with time passed in.

use std::time::{Duration, Instant};

use exp_sip::message::{Message, Request, Response};
use exp_sip::txn::{ClientTransaction, ServerTransaction, TimerConfig, TxEvent};

fn req(method: &str) -> Request {
    let mut r = Request::new(method, "sip:bob@example.net");
    r.headers
        .push("Via", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc");
    r.headers.push("From", "<sip:alice@example.com>;tag=1");
    r.headers.push("To", "<sip:bob@example.net>");
    r.headers.push("Call-ID", "c1");
    r.headers.push("CSeq", format!("1 {method}"));
    r
}

fn resp(r: &Request, status: u16) -> Response {
    Response::for_request(r, status, "X", Some("t2"))
}

fn retransmits(ev: &[TxEvent]) -> usize {
    ev.iter()
        .filter(|e| matches!(e, TxEvent::Retransmit(_)))
        .count()
}

#[test]
fn invite_client_timer_a_doubles_until_provisional_and_b_times_out() {
    let t0 = Instant::now();
    let (mut tx, first) = ClientTransaction::new(req("INVITE"), false, TimerConfig::default(), t0);
    assert!(first.starts_with(b"INVITE "));
    // Retransmissions at 0.5, 1.5, 3.5, 7.5 s (A doubles from T1).
    let mut sends = Vec::new();
    let mut now = t0;
    while let Some(t) = tx.poll_timeout() {
        if t > t0 + Duration::from_secs(10) {
            break;
        }
        now = t;
        if retransmits(&tx.handle_timeout(now)) == 1 {
            sends.push((now - t0).as_millis());
        }
    }
    assert_eq!(sends, vec![500, 1500, 3500, 7500]);
    // Timer B at 64·T1 = 32 s.
    let ev = tx.handle_timeout(t0 + Duration::from_secs(32));
    assert_eq!(ev, vec![TxEvent::Timeout]);
    assert!(tx.is_terminated());
    let _ = now;
}

#[test]
fn invite_client_stops_retransmitting_after_a_provisional() {
    let t0 = Instant::now();
    let r = req("INVITE");
    let (mut tx, _) = ClientTransaction::new(r.clone(), false, TimerConfig::default(), t0);
    let ev = tx.handle_response(resp(&r, 180), t0);
    assert!(matches!(ev.as_slice(), [TxEvent::Response(x)] if x.status == 180));
    assert!(tx.provisional_received());
    assert!(tx.cancel_request().is_some());
    assert_eq!(
        retransmits(&tx.handle_timeout(t0 + Duration::from_secs(5))),
        0
    );
}

#[test]
fn invite_client_acks_a_failure_and_absorbs_its_retransmission() {
    let t0 = Instant::now();
    let r = req("INVITE");
    let (mut tx, _) = ClientTransaction::new(r.clone(), false, TimerConfig::default(), t0);
    let ev = tx.handle_response(resp(&r, 486), t0);
    let ack = match &ev[0] {
        TxEvent::Retransmit(b) => Message::parse(b).unwrap(),
        e => panic!("{e:?}"),
    };
    let Message::Request(ack) = ack else { panic!() };
    assert_eq!(ack.method, "ACK");
    assert_eq!(ack.headers.get("CSeq"), Some("1 ACK"));
    assert!(ack.headers.get("To").unwrap().contains("tag=t2"));
    assert!(matches!(&ev[1], TxEvent::Response(x) if x.status == 486));
    // The same final again: ACK again, not passed up.
    let ev = tx.handle_response(resp(&r, 486), t0 + Duration::from_millis(100));
    assert_eq!(ev.len(), 1);
    assert!(matches!(ev[0], TxEvent::Retransmit(_)));
    assert!(tx.cancel_request().is_none());
    // Timer D: 32 s on UDP.
    tx.handle_timeout(t0 + Duration::from_secs(33));
    assert!(tx.is_terminated());
}

#[test]
fn invite_client_passes_2xx_retransmissions_up_in_accepted() {
    let t0 = Instant::now();
    let r = req("INVITE");
    let (mut tx, _) = ClientTransaction::new(r.clone(), false, TimerConfig::default(), t0);
    assert_eq!(tx.handle_response(resp(&r, 200), t0).len(), 1);
    assert_eq!(
        tx.handle_response(resp(&r, 200), t0).len(),
        1,
        "RFC 6026 §7.2"
    );
    tx.handle_timeout(t0 + Duration::from_secs(32));
    assert!(tx.is_terminated(), "timer M");
}

#[test]
fn non_invite_client_timer_e_caps_at_t2_and_f_times_out() {
    let t0 = Instant::now();
    let (mut tx, _) = ClientTransaction::new(req("BYE"), false, TimerConfig::default(), t0);
    let mut gaps = Vec::new();
    let mut last = t0;
    while let Some(t) = tx.poll_timeout() {
        let ev = tx.handle_timeout(t);
        if ev.contains(&TxEvent::Timeout) {
            assert_eq!(t - t0, Duration::from_secs(32));
            break;
        }
        gaps.push((t - last).as_millis());
        last = t;
    }
    assert_eq!(&gaps[..5], &[500, 1000, 2000, 4000, 4000]);
    assert!(tx.is_terminated());
}

#[test]
fn reliable_transport_has_no_retransmissions_and_no_linger() {
    let t0 = Instant::now();
    let r = req("BYE");
    let (mut tx, _) = ClientTransaction::new(r.clone(), true, TimerConfig::default(), t0);
    assert_eq!(
        tx.poll_timeout(),
        Some(t0 + Duration::from_secs(32)),
        "only timer F"
    );
    tx.handle_response(resp(&r, 200), t0);
    assert!(tx.is_terminated(), "timer K is zero on reliable transports");
}

#[test]
fn invite_server_retransmits_failure_until_ack() {
    let t0 = Instant::now();
    let r = req("INVITE");
    let mut tx = ServerTransaction::new(r.clone(), false, TimerConfig::default(), t0);
    assert_eq!(retransmits(&tx.respond(resp(&r, 100), t0)), 1);
    // A retransmitted INVITE gets the 100 again.
    assert_eq!(retransmits(&tx.handle_retransmission(&r, t0)), 1);
    assert_eq!(retransmits(&tx.respond(resp(&r, 404), t0)), 1);
    // Timer G at T1, 2·T1 …
    assert_eq!(
        retransmits(&tx.handle_timeout(t0 + Duration::from_millis(500))),
        1
    );
    assert_eq!(
        retransmits(&tx.handle_timeout(t0 + Duration::from_millis(1500))),
        1
    );
    let mut ack = r.clone();
    ack.method = "ACK".into();
    assert_eq!(
        tx.handle_retransmission(&ack, t0 + Duration::from_secs(2)),
        vec![TxEvent::AckReceived]
    );
    assert_eq!(
        retransmits(&tx.handle_timeout(t0 + Duration::from_secs(3))),
        0
    );
    tx.handle_timeout(t0 + Duration::from_secs(8));
    assert!(tx.is_terminated(), "timer I");
}

#[test]
fn invite_server_timer_h_without_ack() {
    let t0 = Instant::now();
    let r = req("INVITE");
    let mut tx = ServerTransaction::new(r.clone(), false, TimerConfig::default(), t0);
    tx.respond(resp(&r, 500), t0);
    let ev = tx.handle_timeout(t0 + Duration::from_secs(32));
    assert_eq!(ev, vec![TxEvent::Timeout]);
    assert!(tx.is_terminated());
}

#[test]
fn invite_server_2xx_goes_to_accepted_and_lingers() {
    let t0 = Instant::now();
    let r = req("INVITE");
    let mut tx = ServerTransaction::new(r.clone(), false, TimerConfig::default(), t0);
    tx.respond(resp(&r, 200), t0);
    // Retransmitted INVITE absorbed (the UAS core retransmits the 2xx, not us).
    assert!(tx.handle_retransmission(&r, t0).is_empty());
    assert!(tx.respond(resp(&r, 200), t0).is_empty(), "one final only");
    tx.handle_timeout(t0 + Duration::from_secs(32));
    assert!(tx.is_terminated(), "timer L");
}

#[test]
fn non_invite_server_answers_retransmissions_then_j() {
    let t0 = Instant::now();
    let r = req("BYE");
    let mut tx = ServerTransaction::new(r.clone(), false, TimerConfig::default(), t0);
    tx.respond(resp(&r, 200), t0);
    assert_eq!(retransmits(&tx.handle_retransmission(&r, t0)), 1);
    tx.handle_timeout(t0 + Duration::from_secs(32));
    assert!(tx.is_terminated());
    // On a reliable transport it ends at once.
    let mut tx = ServerTransaction::new(r.clone(), true, TimerConfig::default(), t0);
    tx.respond(resp(&r, 200), t0);
    assert!(tx.is_terminated());
}
