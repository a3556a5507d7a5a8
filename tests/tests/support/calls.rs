//! Scripted SIP user agents on UDP and an exp-e/exp-c pair joined by a zone, shared by the
//! call test binaries.
#![allow(dead_code)] // each test binary uses a different part
#![allow(clippy::too_many_arguments)] // scripted user agents take the whole header set

use std::net::SocketAddr;
use std::time::Duration;

use exp_runtime::Node;
use exp_sip::message::{header_param, Message, Request, Response};
use exp_sip::sdp::SessionDescription;
use exp_tests::*;
use exp_zone::config::{RouteConfig, TargetTransport};
use exp_zone::{Role, Transport};
use tokio::net::UdpSocket;

pub const WAIT: Duration = Duration::from_secs(10);
pub const OFFER: &str = "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n";
pub const ANSWER: &str = "v=0\r\no=b 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40002 RTP/AVP 0\r\n";

/// An SDP for an endpoint whose RTP socket is `rtp` (RTCP on the next port, not used here).
pub fn sdp_for(user: &str, rtp: SocketAddr) -> String {
    format!(
        "v=0\r\no={user} 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=x-vendor:kept\r\na=candidate:1 1 UDP 1 192.0.2.1 9 typ host\r\na=sendrecv\r\n",
        rtp.port()
    )
}

/// The relayed SDP an endpoint received: the relay's address, not the other endpoint's; the
/// other endpoint's codecs and attributes; no ICE and no mux identifier.
pub fn anchored_media(body: &[u8], other: SocketAddr) -> SocketAddr {
    let text = String::from_utf8_lossy(body);
    let sdp = SessionDescription::parse(body).expect("valid SDP");
    let addr = SocketAddr::new(sdp.media_connection(0).unwrap(), sdp.media_port(0).unwrap());
    assert_ne!(addr, other, "media anchored: {text}");
    assert!(
        (20000..32000).contains(&addr.port()),
        "from the media range: {text}"
    );
    assert_eq!(sdp.media_formats(0), vec!["0", "101"], "{text}");
    assert!(text.contains("a=x-vendor:kept"), "{text}");
    assert!(!text.contains("candidate"), "ICE removed: {text}");
    assert!(
        !text.contains("x-exp-mux"),
        "mux identifier stays between exp-c and exp-e: {text}"
    );
    addr
}

pub fn rtp_packet(ssrc: u32, seq: u16) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[seq as u8; 160]);
    p
}

/// `from` sends 20 RTP packets to `to`; `sink` must receive them all, unchanged, in order,
/// from `expect_src`.
pub async fn media_flows(
    from: &UdpSocket,
    to: SocketAddr,
    sink: &UdpSocket,
    expect_src: SocketAddr,
) {
    let ssrc = from.local_addr().unwrap().port() as u32;
    let mut buf = [0u8; 2048];
    for seq in 0..20u16 {
        let p = rtp_packet(ssrc, seq);
        from.send_to(&p, to).await.unwrap();
        let (n, src) = tokio::time::timeout(WAIT, sink.recv_from(&mut buf))
            .await
            .expect("relayed RTP in time")
            .unwrap();
        assert_eq!(&buf[..n], &p[..], "RTP relayed unchanged");
        assert_eq!(
            src, expect_src,
            "RTP comes from the relay port the SDP named"
        );
    }
}

pub struct Ua {
    pub sock: UdpSocket,
    pub addr: SocketAddr,
}

impl Ua {
    pub async fn new() -> Ua {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = sock.local_addr().unwrap();
        Ua { sock, addr }
    }

    pub async fn send(&self, to: SocketAddr, m: &Message) {
        self.sock.send_to(&m.to_bytes(), to).await.unwrap();
    }

    /// Next message that is not a 100 Trying.
    pub async fn recv(&self) -> (Message, SocketAddr) {
        let mut buf = vec![0u8; 65536];
        loop {
            let (n, from) = tokio::time::timeout(WAIT, self.sock.recv_from(&mut buf))
                .await
                .expect("a SIP message in time")
                .unwrap();
            let m = Message::parse(&buf[..n]).expect("valid SIP");
            if let Message::Response(r) = &m {
                if r.status == 100 {
                    continue;
                }
            }
            return (m, from);
        }
    }

    pub async fn recv_request(&self, method: &str) -> (Request, SocketAddr) {
        match self.recv().await {
            (Message::Request(r), from) if r.method == method => (r, from),
            (m, _) => panic!("expected {method}, got {m:?}"),
        }
    }

    pub async fn recv_response(&self, status: u16) -> Response {
        match self.recv().await {
            (Message::Response(r), _) if r.status == status => r,
            (m, _) => panic!("expected {status}, got {m:?}"),
        }
    }

    pub fn request(
        &self,
        method: &str,
        uri: &str,
        from: &str,
        to: &str,
        call_id: &str,
        cseq: u32,
        branch: &str,
    ) -> Request {
        let mut r = Request::new(method, uri);
        let h = &mut r.headers;
        h.push(
            "Via",
            format!("SIP/2.0/UDP {};branch=z9hG4bK{branch};rport", self.addr),
        );
        h.push("Max-Forwards", "70");
        h.push("From", from);
        h.push("To", to);
        h.push("Call-ID", call_id);
        h.push("CSeq", format!("{cseq} {method}"));
        h.push("Contact", format!("<sip:ua@{}>", self.addr));
        r
    }
}

pub fn answer(req: &Request, status: u16, contact: SocketAddr, sdp: Option<&str>) -> Message {
    let mut r = Response::for_request(
        req,
        status,
        exp_sip::message::reason_phrase(status),
        Some("uas-tag"),
    );
    r.headers.push("Contact", format!("<sip:uas@{contact}>"));
    if let Some(s) = sdp {
        r.headers.push("Content-Type", "application/sdp");
        r.body = s.as_bytes().to_vec();
    }
    Message::Response(r)
}

pub fn route_to_zone(pattern: &str, zone: &str) -> RouteConfig {
    RouteConfig {
        pattern: pattern.into(),
        zone: Some(zone.into()),
        ..RouteConfig::default()
    }
}

pub fn route_to_target(pattern: &str, target: SocketAddr) -> RouteConfig {
    RouteConfig {
        pattern: pattern.into(),
        target: Some(target.to_string()),
        transport: Some(TargetTransport::Udp),
        ..RouteConfig::default()
    }
}

pub struct Pair {
    pub e: Node,
    pub c: Node,
    pub e_sip: SocketAddr,
    pub c_sip: SocketAddr,
}

/// exp-e with a zone `lan` and a SIP UDP listener; exp-c with a LAN SIP UDP listener.
/// Calls for `@lan.example` go to the zone on exp-e and to `lan_target` on exp-c; calls for
/// `@outside.example` go up the zone on exp-c and to `outside_target` on exp-e.
pub async fn pair(lan_target: SocketAddr, outside_target: SocketAddr) -> Pair {
    pair_with(lan_target, outside_target, |_| {}).await
}

/// Like [`pair`], with `tweak` applied to exp-e's configuration before it starts.
pub async fn pair_with(
    lan_target: SocketAddr,
    outside_target: SocketAddr,
    tweak: impl FnOnce(&mut exp_zone::config::Config),
) -> Pair {
    let zone_port = free_port();
    let (e_port, c_port) = (free_port(), free_port());
    let mut e = exp_e_config();
    e.credentials.push(credential("exp-c", "s3cret"));
    e.server_zones
        .push(server_zone("lan", "exp-c", zone_port, Transport::Tcp));
    e.sip.udp_port = e_port;
    e.routes.push(route_to_zone(r"sip:.*@lan\.example", "lan"));
    e.routes
        .push(route_to_target(r"sip:.*@outside\.example", outside_target));
    tweak(&mut e);
    let e = start(e, Role::Server).await;
    let mut c = exp_c_config();
    c.network.listen_address = "127.0.0.1".parse().unwrap();
    c.sip.udp_port = c_port;
    c.client_zones.push(client_zone(
        "dmz",
        &[format!("127.0.0.1:{zone_port}")],
        "exp-c",
        "s3cret",
    ));
    c.routes
        .push(route_to_target(r"sip:.*@lan\.example", lan_target));
    c.routes
        .push(route_to_zone(r"sip:.*@outside\.example", "dmz"));
    let c = start(c, Role::Client).await;
    assert!(wait_until(WAIT, || state(&c, "dmz") == "active").await);
    assert!(wait_until(WAIT, || state(&e, "lan") == "active").await);
    Pair {
        e,
        c,
        e_sip: format!("127.0.0.1:{e_port}").parse().unwrap(),
        c_sip: format!("127.0.0.1:{c_port}").parse().unwrap(),
    }
}

/// One call from `caller` (talking to `entry`) to `callee`, answered, confirmed, hung up by
/// `hangup_by_caller` or the callee. Returns nothing; asserts every step.
pub async fn call<const N: usize>(
    caller: &Ua,
    entry: SocketAddr,
    callee: &Ua,
    uri: &str,
    n: u32,
    nodes: [&Node; N],
    hangup_by_caller: bool,
) {
    call_inner(
        caller,
        entry,
        callee,
        uri,
        n,
        nodes,
        hangup_by_caller,
        false,
        &|_| {},
    )
    .await
}

/// Like [`call`] (hung up by the caller), with `check` run on each node's media legs while
/// the call is up.
pub async fn call_checking_legs<const N: usize>(
    caller: &Ua,
    entry: SocketAddr,
    callee: &Ua,
    uri: &str,
    n: u32,
    nodes: [&Node; N],
    check: &LegCheck,
) {
    call_inner(caller, entry, callee, uri, n, nodes, true, false, check).await
}

/// A check of one node's media legs during a call.
pub type LegCheck = dyn Fn(&[exp_runtime::anchor::MediaLegStatus]);

/// Like [`call`], with early media (183 with SDP, media both ways before the answer) and a
/// re-INVITE in the middle: the caller moves its media to a new socket and puts the call on
/// hold (`a=sendonly`); media then flows from and to the new address.
pub async fn call_with_reinvite<const N: usize>(
    caller: &Ua,
    entry: SocketAddr,
    callee: &Ua,
    uri: &str,
    n: u32,
    nodes: [&Node; N],
) {
    call_inner(caller, entry, callee, uri, n, nodes, true, true, &|_| {}).await
}

async fn call_inner<const N: usize>(
    caller: &Ua,
    entry: SocketAddr,
    callee: &Ua,
    uri: &str,
    n: u32,
    nodes: [&Node; N],
    hangup_by_caller: bool,
    reinvite: bool,
    check: &LegCheck,
) {
    let call_id = format!("call-{n}@test");
    let from = "<sip:alice@caller.example>;tag=uac-tag";
    let to = format!("<{uri}>");
    let caller_rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let callee_rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (caller_media, callee_media) = (
        caller_rtp.local_addr().unwrap(),
        callee_rtp.local_addr().unwrap(),
    );
    let mut inv = caller.request("INVITE", uri, from, &to, &call_id, 1, &format!("inv{n}"));
    inv.headers.push("Content-Type", "application/sdp");
    inv.body = sdp_for("caller", caller_media).into_bytes();
    caller.send(entry, &Message::Request(inv)).await;

    // The callee gets a fresh INVITE from the last B2BUA.
    let (inv_b, via_addr) = callee.recv_request("INVITE").await;
    assert_eq!(inv_b.uri, uri);
    assert_ne!(
        inv_b.headers.get("Call-ID"),
        Some(call_id.as_str()),
        "Call-ID hidden"
    );
    assert_eq!(
        inv_b.headers.get("Max-Forwards"),
        // The first program caps it at the zone's hop count (15 by default); every program
        // after takes one more.
        Some((16 - N).to_string().as_str()),
        "zone hop count, then one hop per program"
    );
    let relay_for_callee = anchored_media(&inv_b.body, caller_media);
    let callee_sdp = sdp_for("callee", callee_media);
    let mut early_packets = 0;
    if reinvite {
        // Early media: 183 with the answer; media flows before the call is answered.
        callee
            .send(
                via_addr,
                &answer(&inv_b, 183, callee.addr, Some(&callee_sdp)),
            )
            .await;
        let progress = caller.recv_response(183).await;
        let relay = anchored_media(&progress.body, callee_media);
        media_flows(&callee_rtp, relay_for_callee, &caller_rtp, relay).await;
        media_flows(&caller_rtp, relay, &callee_rtp, relay_for_callee).await;
        early_packets = 20;
    } else {
        callee
            .send(via_addr, &answer(&inv_b, 180, callee.addr, None))
            .await;
        caller.recv_response(180).await;
    }
    callee
        .send(
            via_addr,
            &answer(&inv_b, 200, callee.addr, Some(&callee_sdp)),
        )
        .await;
    let ok = caller.recv_response(200).await;
    let relay_for_caller = anchored_media(&ok.body, callee_media);
    let (ack_b, _) = callee.recv_request("ACK").await;
    assert_eq!(ack_b.headers.get("Call-ID"), inv_b.headers.get("Call-ID"));
    let our_tag = header_param(ok.headers.get("To").unwrap(), "tag")
        .unwrap()
        .to_string();
    let to_tagged = format!("{to};tag={our_tag}");
    let ack = caller.request(
        "ACK",
        uri,
        from,
        &to_tagged,
        &call_id,
        1,
        &format!("ack{n}"),
    );
    caller.send(entry, &Message::Request(ack)).await;
    for node in nodes {
        assert!(
            wait_until(WAIT, || node.calls().first().map(|c| c.state)
                == Some("confirmed"))
            .await,
            "{:?}",
            node.calls()
        );
    }
    // Media both ways through both programs: endpoint ⇄ exp-c ⇄ exp-e ⇄ endpoint. The caller
    // speaks first in one call and the callee in the other.
    if hangup_by_caller {
        media_flows(&caller_rtp, relay_for_caller, &callee_rtp, relay_for_callee).await;
        media_flows(&callee_rtp, relay_for_callee, &caller_rtp, relay_for_caller).await;
    } else {
        media_flows(&callee_rtp, relay_for_callee, &caller_rtp, relay_for_caller).await;
        media_flows(&caller_rtp, relay_for_caller, &callee_rtp, relay_for_callee).await;
    }
    let mut packets = 20 + early_packets;
    if reinvite {
        let moved = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let moved_addr = moved.local_addr().unwrap();
        let mut re = caller.request(
            "INVITE",
            uri,
            from,
            &to_tagged,
            &call_id,
            2,
            &format!("re{n}"),
        );
        re.headers.push("Content-Type", "application/sdp");
        re.body = sdp_for("caller", moved_addr)
            .replace("a=sendrecv", "a=sendonly")
            .replace("o=caller 1 1", "o=caller 1 2")
            .into_bytes();
        caller.send(entry, &Message::Request(re)).await;
        let (re_b, via) = callee.recv_request("INVITE").await;
        assert_eq!(re_b.headers.get("Call-ID"), inv_b.headers.get("Call-ID"));
        assert_eq!(
            anchored_media(&re_b.body, moved_addr),
            relay_for_callee,
            "the stream keeps its relay port"
        );
        assert!(String::from_utf8_lossy(&re_b.body).contains("a=sendonly"));
        let held = sdp_for("callee", callee_media)
            .replace("a=sendrecv", "a=recvonly")
            .replace("o=callee 1 1", "o=callee 1 2");
        callee
            .send(via, &answer(&re_b, 200, callee.addr, Some(&held)))
            .await;
        let ok2 = caller.recv_response(200).await;
        assert_eq!(anchored_media(&ok2.body, callee_media), relay_for_caller);
        assert!(String::from_utf8_lossy(&ok2.body).contains("a=recvonly"));
        let ack2 = caller.request(
            "ACK",
            uri,
            from,
            &to_tagged,
            &call_id,
            2,
            &format!("ack2{n}"),
        );
        caller.send(entry, &Message::Request(ack2)).await;
        callee.recv_request("ACK").await;
        // The new address took over (the SDP changed, so the latch was reset).
        media_flows(&moved, relay_for_caller, &callee_rtp, relay_for_callee).await;
        media_flows(&callee_rtp, relay_for_callee, &moved, relay_for_caller).await;
        packets += 20;
    }
    for node in nodes {
        let calls = node.calls();
        let legs = &calls[0].media;
        assert_eq!(legs.len(), 2, "{legs:?}");
        for leg in legs {
            assert_eq!(
                (leg.packets_in, leg.packets_out),
                (packets, packets),
                "{legs:?}"
            );
            assert_eq!(leg.dropped, 0, "{legs:?}");
        }
        check(legs);
    }
    if hangup_by_caller {
        let bye = caller.request(
            "BYE",
            uri,
            from,
            &to_tagged,
            &call_id,
            if reinvite { 3 } else { 2 },
            &format!("bye{n}"),
        );
        caller.send(entry, &Message::Request(bye)).await;
        caller.recv_response(200).await;
        let (bye_b, from_addr) = callee.recv_request("BYE").await;
        callee
            .send(
                from_addr,
                &Message::Response(Response::for_request(&bye_b, 200, "OK", None)),
            )
            .await;
    } else {
        // The callee hangs up: its BYE goes to the B2BUA that sent the INVITE.
        let mut bye = Request::new("BYE", &format!("sip:exp@{via_addr}"));
        let h = &mut bye.headers;
        h.push(
            "Via",
            format!("SIP/2.0/UDP {};branch=z9hG4bKcb{n}", callee.addr),
        );
        h.push("Max-Forwards", "70");
        h.push(
            "From",
            format!("{};tag=uas-tag", inv_b.headers.get("To").unwrap()),
        );
        h.push("To", inv_b.headers.get("From").unwrap());
        h.push("Call-ID", inv_b.headers.get("Call-ID").unwrap());
        h.push("CSeq", "1 BYE");
        callee.send(via_addr, &Message::Request(bye)).await;
        callee.recv_response(200).await;
        let (bye_a, from_addr) = caller.recv_request("BYE").await;
        assert_eq!(bye_a.headers.get("Call-ID"), Some(call_id.as_str()));
        caller
            .send(
                from_addr,
                &Message::Response(Response::for_request(&bye_a, 200, "OK", None)),
            )
            .await;
    }
    for node in nodes {
        assert!(
            wait_until(WAIT, || node.calls().is_empty()).await,
            "{:?}",
            node.calls()
        );
        // Every port pair is back in the pool.
        assert!(
            media_pool_full(node).await,
            "every port pair back in the pool"
        );
    }
}
