//! The call-signalling gateway alone, in memory: exp-e's and exp-c's gateways with the
//! channels between them and the endpoints simulated as Q.931 messages. Covers the H.460.18
//! incoming call (parked call, indication, binding Facility, Setup down the client's
//! channel), the outgoing call up a client-opened channel, release in both directions,
//! tunnelled H.245 passing the anchor, and refusals.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use exp_h460::cs::{
    self, ConnectUuie, H323UserInformation, MessageBody, ReleaseCompleteReason,
    ReleaseCompleteUuie, SetupUuie,
};
use exp_h460::gateway::{
    Accepted, CallKey, Env, Gateway, GatewayConfig, Output, Peer, Route, Side,
};
use exp_h460::h225::{AliasAddress, CallIdentifier};
use exp_h460::q931::{self, CallRef, MessageType};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const EXPC_IP: &str = "10.0.0.2";

/// exp-e's routing: "bob" into zone lan, "alice" to the outside endpoint.
struct EnvE {
    h245_seen: Vec<(CallKey, Side, Vec<u8>)>,
}

impl Env for EnvE {
    fn route(&mut self, _from: &Peer, destination: &str) -> Route {
        match destination {
            "bob" => Route::Indicate {
                peer: Peer::ServerZone("lan".into()),
                target: "zone:lan".into(),
            },
            "alice" => Route::Connect {
                to: addr("198.51.100.1:1720"),
                peer: Peer::Net(addr("198.51.100.1:1720")),
                endpoint_id: None,
            },
            _ => Route::Refuse(ReleaseCompleteReason::CalledPartyNotRegistered, "no".into()),
        }
    }
    fn traversal_zone(&mut self, endpoint_id: Option<&str>, from: IpAddr) -> Option<String> {
        (endpoint_id == Some("ep-1") && from.to_string() == EXPC_IP).then(|| "lan".into())
    }
    fn channel_from_ok(&mut self, _peer: &Peer, from: IpAddr) -> bool {
        from.to_string() == EXPC_IP
    }
    fn h245(
        &mut self,
        call: CallKey,
        from: Side,
        _f: &Peer,
        _t: &Peer,
        m: &[u8],
    ) -> Result<Vec<u8>, String> {
        self.h245_seen.push((call, from, m.to_vec()));
        // The anchor's rewrite, made visible.
        let mut out = m.to_vec();
        out.push(0xEE);
        Ok(out)
    }
}

fn setup(dest: &str, call_id: CallIdentifier, crv: u16, h245: Vec<Vec<u8>>) -> q931::Message {
    let mut s = SetupUuie::new([5; 16], call_id);
    s.destination_address = Some(vec![AliasAddress::H323Id(dest.into())]);
    s.fast_start = Some(vec![vec![0, 0, 0, 6, 4, 1, 0]]);
    s.h245_address = Some(addr("192.168.1.5:30000").into_v4());
    let mut info = H323UserInformation::new(MessageBody::Setup(s));
    info.h323_uu_pdu.h245_tunnelling = true;
    if !h245.is_empty() {
        info.set_h245_control(h245);
    }
    cs::message(MessageType::Setup, CallRef::new(crv, false), &info)
}

trait IntoV4 {
    fn into_v4(self) -> exp_h460::h225::TransportAddress;
}
impl IntoV4 for SocketAddr {
    fn into_v4(self) -> exp_h460::h225::TransportAddress {
        match self {
            SocketAddr::V4(v) => v.into(),
            SocketAddr::V6(_) => unreachable!(),
        }
    }
}

fn simple(kind: MessageType, body: MessageBody, call_ref: CallRef) -> q931::Message {
    let mut info = H323UserInformation::new(body);
    info.h323_uu_pdu.h245_tunnelling = true;
    cs::message(kind, call_ref, &info)
}

fn outputs(g: &mut Gateway) -> Vec<Output> {
    std::iter::from_fn(|| g.poll_output()).collect()
}

fn decode(bytes: &[u8]) -> (q931::Message, H323UserInformation) {
    let body = &bytes[4..];
    let m = q931::Message::decode(body).unwrap();
    let i = cs::user_information(&m).unwrap();
    (m, i)
}

fn sent_on(out: &[Output], ch: u64) -> Vec<(q931::Message, H323UserInformation)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { channel, bytes } if *channel == ch => Some(decode(bytes)),
            _ => None,
        })
        .collect()
}

#[test]
fn incoming_call_is_parked_indicated_bound_by_facility_and_released_end_to_end() {
    let t0 = Instant::now();
    let mut e = Gateway::new(GatewayConfig::default());
    let mut env = EnvE { h245_seen: vec![] };
    // The outside caller's Setup on 1720, with tunnelled H.245, fastStart and an h245Address.
    let a = e.handle_accepted(Accepted::Net(addr("198.51.100.1:40000")));
    let cid = CallIdentifier { guid: [1; 16] };
    let s = setup("bob", cid, 77, vec![vec![1, 0, 60, 64, 48, 57]]);
    e.handle_message(a, &s.encode().unwrap(), t0, &mut env);
    let out = outputs(&mut e);
    assert_eq!(
        out,
        [Output::Indicate {
            target: "zone:lan".into(),
            call_id: cid
        }]
    );
    assert_eq!(e.calls()[0].state, "waiting-for-client");
    // A stranger's Facility with the right call id is refused (wrong source).
    let stranger = e.handle_accepted(Accepted::Traversal(addr("203.0.113.9:5000")));
    let fac = cs::message(
        MessageType::Facility,
        CallRef::new(0, false),
        &H323UserInformation::new(MessageBody::Facility(cs::FacilityUuie::new(
            cid,
            cs::FacilityReason::UndefinedReason,
        ))),
    );
    e.handle_message(stranger, &fac.encode().unwrap(), t0, &mut env);
    assert_eq!(outputs(&mut e), [Output::Close { channel: stranger }]);

    // exp-c's side: the indication makes it open a channel and send the binding Facility.
    let mut c = Gateway::new(GatewayConfig::default());
    c.handle_indication("dmz", addr("192.0.2.10:2777"), cid);
    let out = outputs(&mut c);
    let Output::Connect { channel: up, to } = out[0].clone() else {
        panic!("{out:?}")
    };
    assert_eq!(to, addr("192.0.2.10:2777"));
    c.handle_connected(up);
    let out = outputs(&mut c);
    let Output::Send { bytes, .. } = &out[0] else {
        panic!()
    };
    let (_, info) = decode(bytes);
    let MessageBody::Facility(f) = info.body() else {
        panic!("not a Facility")
    };
    assert_eq!(f.call_identifier, cid);
    assert_eq!(f.reason, cs::FacilityReason::UndefinedReason);

    // exp-e gets it on 2777 from exp-c's address: the Setup goes down that channel.
    let b = e.handle_accepted(Accepted::Traversal(addr("10.0.0.2:50000")));
    e.handle_message(b, &bytes[4..], t0, &mut env);
    let out = outputs(&mut e);
    let sent = sent_on(&out, b);
    assert_eq!(sent.len(), 1);
    let (m, info) = &sent[0];
    assert_eq!(m.kind, MessageType::Setup);
    let MessageBody::Setup(fwd) = info.body() else {
        panic!()
    };
    assert_eq!(fwd.call_identifier, cid);
    assert!(fwd.fast_start.is_none(), "fastStart is removed");
    assert!(fwd.h245_address.is_none(), "h245Address is removed");
    assert!(info.h323_uu_pdu.h245_tunnelling);
    assert_eq!(info.h245_control(), [vec![1, 0, 60, 64, 48, 57, 0xEE]]);
    assert_eq!(env.h245_seen[0].1, Side::A);
    let b_ref = m.call_ref.unwrap();
    assert_ne!(b_ref.value, 77, "leg B has its own call reference");

    // The callee's Connect comes back on B and reaches A with A's call reference.
    let connect = simple(
        MessageType::Connect,
        MessageBody::Connect(ConnectUuie::new([5; 16], cid)),
        b_ref.reply(),
    );
    e.handle_message(b, &connect.encode().unwrap(), t0, &mut env);
    let out = outputs(&mut e);
    let to_a = sent_on(&out, a);
    assert_eq!(to_a[0].0.kind, MessageType::Connect);
    assert_eq!(to_a[0].0.call_ref, Some(CallRef::new(77, true)));
    assert_eq!(e.calls()[0].state, "connected");
    assert_eq!(e.counters().connected, 1);

    // The caller hangs up: ReleaseComplete reaches B, both channels close, the call ends.
    let rc = simple(
        MessageType::ReleaseComplete,
        MessageBody::ReleaseComplete(ReleaseCompleteUuie::new(cid, None)),
        CallRef::new(77, false),
    );
    e.handle_message(a, &rc.encode().unwrap(), t0, &mut env);
    let out = outputs(&mut e);
    assert_eq!(sent_on(&out, b)[0].0.kind, MessageType::ReleaseComplete);
    assert!(out.contains(&Output::Close { channel: a }));
    assert!(out.contains(&Output::Close { channel: b }));
    assert!(out.iter().any(|o| matches!(o, Output::CallEnded { .. })));
    assert!(e.calls().is_empty());
}

#[test]
fn outgoing_call_goes_up_a_client_channel_named_by_its_endpoint_identifier() {
    let t0 = Instant::now();
    let mut e = Gateway::new(GatewayConfig::default());
    let mut env = EnvE { h245_seen: vec![] };
    let ch = e.handle_accepted(Accepted::Traversal(addr("10.0.0.2:50001")));
    let mut s = setup("alice", CallIdentifier { guid: [2; 16] }, 9, vec![]);
    // Without the registration's endpoint identifier: refused.
    e.handle_message(ch, &s.encode().unwrap(), t0, &mut env);
    let out = outputs(&mut e);
    let refused = sent_on(&out, ch);
    assert!(matches!(
        refused[0].1.body(),
        MessageBody::ReleaseComplete(r) if r.reason == Some(ReleaseCompleteReason::SecurityDenied)
    ));
    // With it: routed to alice, a connection is opened and the Setup sent once it is up.
    let ch = e.handle_accepted(Accepted::Traversal(addr("10.0.0.2:50002")));
    let mut info = cs::user_information(&s).unwrap();
    if let MessageBody::Setup(x) = &mut info.h323_uu_pdu.h323_message_body {
        x.endpoint_identifier = Some("ep-1".into());
    }
    s = cs::message(MessageType::Setup, CallRef::new(9, false), &info);
    e.handle_message(ch, &s.encode().unwrap(), t0, &mut env);
    let out = outputs(&mut e);
    let Some(Output::Connect { channel: b, to }) = out.first().cloned() else {
        panic!("{out:?}")
    };
    assert_eq!(to, addr("198.51.100.1:1720"));
    assert_eq!(e.calls()[0].a, Peer::ServerZone("lan".into()));
    e.handle_connected(b);
    let out = outputs(&mut e);
    let (m, info) = &sent_on(&out, b)[0];
    assert_eq!(m.kind, MessageType::Setup);
    let MessageBody::Setup(x) = info.body() else {
        panic!()
    };
    assert_eq!(
        x.endpoint_identifier, None,
        "our endpoint id stays inside the zone"
    );
    // The callee is unreachable: its connection fails; the caller gets a release.
    e.handle_closed(b);
    let out = outputs(&mut e);
    let back = sent_on(&out, ch);
    assert!(matches!(
        back[0].1.body(),
        MessageBody::ReleaseComplete(r)
            if r.reason == Some(ReleaseCompleteReason::UnreachableDestination)
    ));
    assert!(e.calls().is_empty());
    assert_eq!(e.counters().failed, 2);
}

#[test]
fn parked_calls_time_out_and_unknown_destinations_and_garbage_are_refused() {
    let t0 = Instant::now();
    let mut e = Gateway::new(GatewayConfig {
        indication_timeout: Duration::from_secs(3),
        ..Default::default()
    });
    let mut env = EnvE { h245_seen: vec![] };
    let a = e.handle_accepted(Accepted::Net(addr("198.51.100.1:40000")));
    e.handle_message(
        a,
        &setup("bob", CallIdentifier { guid: [3; 16] }, 5, vec![])
            .encode()
            .unwrap(),
        t0,
        &mut env,
    );
    let _ = outputs(&mut e);
    assert_eq!(e.poll_timeout(), Some(t0 + Duration::from_secs(3)));
    e.handle_timeout(t0 + Duration::from_secs(3));
    let out = outputs(&mut e);
    assert!(matches!(
        sent_on(&out, a)[0].1.body(),
        MessageBody::ReleaseComplete(r)
            if r.reason == Some(ReleaseCompleteReason::UnreachableDestination)
    ));
    assert!(e.calls().is_empty());
    // No route.
    let a2 = e.handle_accepted(Accepted::Net(addr("198.51.100.1:40001")));
    e.handle_message(
        a2,
        &setup("carol", CallIdentifier { guid: [4; 16] }, 6, vec![])
            .encode()
            .unwrap(),
        t0,
        &mut env,
    );
    let out = outputs(&mut e);
    assert!(matches!(
        sent_on(&out, a2)[0].1.body(),
        MessageBody::ReleaseComplete(r)
            if r.reason == Some(ReleaseCompleteReason::CalledPartyNotRegistered)
    ));
    // Garbage on a fresh channel closes it; random bytes never panic.
    let g = e.handle_accepted(Accepted::Net(addr("198.51.100.1:40002")));
    e.handle_message(g, b"\x08\x02\x00\x01\x05junk", t0, &mut env);
    assert_eq!(outputs(&mut e), [Output::Close { channel: g }]);
    let mut x: u32 = 0x1234_5678;
    for n in 0..2000 {
        let ch = e.handle_accepted(Accepted::Traversal(addr("10.0.0.2:1")));
        let len = n % 64;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        e.handle_message(ch, &bytes, t0, &mut env);
        let _ = outputs(&mut e);
    }
}
