//! SIP calls through the traversal zone, both directions, with scripted user agents on UDP
//! outside exp-e and on the LAN behind exp-c: every message each UA sees is checked.
#![allow(clippy::too_many_arguments)] // scripted user agents take the whole header set

#[path = "support/calls.rs"]
mod support;

use exp_sip::message::{header_param, Message};
use exp_tests::*;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incoming_call_outside_to_lan() {
    let outside = Ua::new().await;
    let lan = Ua::new().await;
    let p = pair(lan.addr, outside.addr).await;
    call(
        &outside,
        p.e_sip,
        &lan,
        "sip:bob@lan.example",
        1,
        [&p.e, &p.c],
        true,
    )
    .await;
    call(
        &outside,
        p.e_sip,
        &lan,
        "sip:bob@lan.example",
        2,
        [&p.e, &p.c],
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outgoing_call_lan_to_outside() {
    let outside = Ua::new().await;
    let lan = Ua::new().await;
    let p = pair(lan.addr, outside.addr).await;
    call(
        &lan,
        p.c_sip,
        &outside,
        "sip:carol@outside.example",
        1,
        [&p.c, &p.e],
        true,
    )
    .await;
    call(
        &lan,
        p.c_sip,
        &outside,
        "sip:carol@outside.example",
        2,
        [&p.c, &p.e],
        false,
    )
    .await;
}

/// exp-e with two interfaces: SDP toward exp-c names the internal address (here 127.0.0.3,
/// standing for the interface toward the LAN firewall), SDP toward the outside the external
/// one, and media flows both ways through either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_interface_exp_e_announces_its_internal_address_toward_exp_c() {
    let outside = Ua::new().await;
    let lan = Ua::new().await;
    let p = pair_with(lan.addr, outside.addr, |e| {
        e.media.address = Some("127.0.0.1".parse().unwrap());
        e.network.internal_address = Some("127.0.0.3".parse().unwrap());
    })
    .await;
    let check = |legs: &[exp_runtime::anchor::MediaLegStatus]| {
        for leg in legs {
            let (local, remote) = (leg.local.as_str(), leg.remote.as_str());
            match leg.kind {
                // exp-e toward exp-c: announced (and reached) on the internal address.
                "demux" => assert!(local.starts_with("127.0.0.3:"), "{leg:?}"),
                // exp-c toward exp-e: it sends to what exp-e announced.
                "mux-out" => assert!(remote.starts_with("127.0.0.3:"), "{leg:?}"),
                _ => assert!(local.starts_with("127.0.0.1:"), "{leg:?}"),
            }
        }
    };
    for (n, (caller, entry, callee, uri, nodes)) in [
        (&outside, p.e_sip, &lan, "sip:bob@lan.example", [&p.e, &p.c]),
        (
            &lan,
            p.c_sip,
            &outside,
            "sip:carol@outside.example",
            [&p.c, &p.e],
        ),
    ]
    .into_iter()
    .enumerate()
    {
        call_checking_legs(caller, entry, callee, uri, n as u32 + 1, nodes, &check).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_route_is_404_and_zone_down_is_503() {
    let outside = Ua::new().await;
    let lan = Ua::new().await;
    let p = pair(lan.addr, outside.addr).await;
    let from = "<sip:alice@caller.example>;tag=x";
    let inv = outside.request(
        "INVITE",
        "sip:nobody@nowhere.example",
        from,
        "<sip:nobody@nowhere.example>",
        "c404",
        1,
        "n404",
    );
    outside.send(p.e_sip, &Message::Request(inv)).await;
    outside.recv_response(404).await;
    drop(p.c); // the LAN side goes away: the zone is down
    assert!(wait_until(WAIT, || state(&p.e, "lan") == "down").await);
    let inv = outside.request(
        "INVITE",
        "sip:bob@lan.example",
        from,
        "<sip:bob@lan.example>",
        "c503",
        1,
        "n503",
    );
    outside.send(p.e_sip, &Message::Request(inv)).await;
    let r = outside.recv_response(503).await;
    assert!(r.headers.get("Retry-After").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exp_c_killed_mid_call_clears_the_call_on_exp_e() {
    let outside = Ua::new().await;
    let lan = Ua::new().await;
    let p = pair(lan.addr, outside.addr).await;
    let from = "<sip:alice@caller.example>;tag=k";
    let mut inv = outside.request(
        "INVITE",
        "sip:bob@lan.example",
        from,
        "<sip:bob@lan.example>",
        "ck",
        1,
        "k1",
    );
    inv.headers.push("Content-Type", "application/sdp");
    inv.body = OFFER.as_bytes().to_vec();
    outside.send(p.e_sip, &Message::Request(inv)).await;
    let (inv_b, via) = lan.recv_request("INVITE").await;
    lan.send(via, &answer(&inv_b, 200, lan.addr, Some(ANSWER)))
        .await;
    let ok = outside.recv_response(200).await;
    let tag = header_param(ok.headers.get("To").unwrap(), "tag")
        .unwrap()
        .to_string();
    let ack = outside.request(
        "ACK",
        "sip:bob@lan.example",
        from,
        &format!("<sip:bob@lan.example>;tag={tag}"),
        "ck",
        1,
        "k2",
    );
    outside.send(p.e_sip, &Message::Request(ack)).await;
    assert!(wait_until(WAIT, || p.e.calls().len() == 1).await);
    drop(p.c);
    // exp-e hangs up the outside leg and forgets the call.
    let (bye, _) = outside.recv_request("BYE").await;
    assert_eq!(bye.headers.get("Call-ID"), Some("ck"));
    assert!(wait_until(WAIT, || p.e.calls().is_empty()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_before_answer_cleans_up_both_programs() {
    let outside = Ua::new().await;
    let lan = Ua::new().await;
    let p = pair(lan.addr, outside.addr).await;
    let uri = "sip:bob@lan.example";
    let from = "<sip:alice@caller.example>;tag=uac-tag";
    let to = format!("<{uri}>");
    let rtp = std::net::SocketAddr::from(([127, 0, 0, 1], 40000));
    let mut inv = outside.request("INVITE", uri, from, &to, "cancel@test", 1, "invc");
    inv.headers.push("Content-Type", "application/sdp");
    inv.body = sdp_for("caller", rtp).into_bytes();
    outside.send(p.e_sip, &Message::Request(inv)).await;
    let (inv_b, via) = lan.recv_request("INVITE").await;
    lan.send(via, &answer(&inv_b, 180, lan.addr, None)).await;
    outside.recv_response(180).await;
    // Media ports are held while it rings.
    for node in [&p.e, &p.c] {
        let (_, (free, total)) = node.media().unwrap();
        assert!(free < total);
    }
    let cancel = outside.request("CANCEL", uri, from, &to, "cancel@test", 1, "invc");
    outside.send(p.e_sip, &Message::Request(cancel)).await;
    outside.recv_response(200).await;
    let (cancel_b, via) = lan.recv_request("CANCEL").await;
    lan.send(
        via,
        &Message::Response(exp_sip::message::Response::for_request(
            &cancel_b, 200, "OK", None,
        )),
    )
    .await;
    lan.send(via, &answer(&inv_b, 487, lan.addr, None)).await;
    let (ack_b, _) = lan.recv_request("ACK").await;
    assert_eq!(ack_b.headers.get("Call-ID"), inv_b.headers.get("Call-ID"));
    outside.recv_response(487).await;
    let ack = outside.request("ACK", uri, from, &to, "cancel@test", 1, "invc");
    outside.send(p.e_sip, &Message::Request(ack)).await;
    for node in [&p.e, &p.c] {
        assert!(wait_until(WAIT, || node.calls().is_empty()).await);
        assert!(media_pool_full(node).await, "ports back in the pool");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_on_every_listener_is_dropped_and_counted() {
    use tokio::io::AsyncWriteExt;
    let outside = Ua::new().await;
    let lan = Ua::new().await;
    let p = pair(lan.addr, outside.addr).await;
    let junk = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // Malformed SIP on both SIP listeners.
    for to in [p.e_sip, p.c_sip] {
        for bad in [
            &b"\x00\x01\x02 not sip at all"[..],
            b"INVITE sip:x SIP/2.0\r\nVia: nonsense\r\n\r\n",
            b"SIP/2.0 200\r\n\r\n",
            &[b'A'; 70000][..65000],
        ] {
            junk.send_to(bad, to).await.unwrap();
        }
    }
    // Garbage on the zone port: the connection is refused, the zone stays up.
    let zone = p.e.zone_addrs()[0].1;
    if let Ok(mut s) = tokio::net::TcpStream::connect(zone).await {
        let _ = s.write_all(b"GET / HTTP/1.1\r\n\r\n\x00\xff\xfe").await;
    }
    // An INVITE with a malformed SDP body: 488, no call, no ports held.
    let uri = "sip:bob@lan.example";
    let mut inv = outside.request(
        "INVITE",
        uri,
        "<sip:a@x>;tag=1",
        &format!("<{uri}>"),
        "badsdp@test",
        1,
        "badsdp",
    );
    inv.headers.push("Content-Type", "application/sdp");
    inv.body = b"v=0\r\nc=IN IP4 not-an-address\r\nm=audio x RTP/AVP 0\r\n".to_vec();
    outside.send(p.e_sip, &Message::Request(inv)).await;
    let refused = outside.recv_response(488).await;
    let ack = outside.request(
        "ACK",
        uri,
        "<sip:a@x>;tag=1",
        refused.headers.get("To").unwrap(),
        "badsdp@test",
        1,
        "badsdp",
    );
    outside.send(p.e_sip, &Message::Request(ack)).await;
    // Media junk: forged mux identifiers, short and oversized datagrams at the demux pair.
    let (demux_rtp, demux_rtcp) = p.e.demux_ports()[0];
    let demux = |port: u16| std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut forged = vec![0xde, 0xad, 0xbe, 0xef];
    forged.extend_from_slice(&rtp_packet(1, 1));
    junk.send_to(&forged, demux(demux_rtp)).await.unwrap();
    junk.send_to(&[0xde, 0xad, 0xbe, 0xef], demux(demux_rtcp))
        .await
        .unwrap();
    junk.send_to(&[1, 2], demux(demux_rtp)).await.unwrap();
    junk.send_to(&[0x80; 3000], demux(demux_rtp)).await.unwrap();
    assert!(
        wait_until(WAIT, || {
            let (c, _) = p.e.media().unwrap();
            c.dropped_unknown_mux >= 2 && c.dropped_malformed >= 1 && c.dropped_oversize >= 1
        })
        .await,
        "{:?}",
        p.e.media()
    );
    assert!(p
        .e
        .metrics_text()
        .contains("exp_media_dropped_total{reason=\"unknown-mux\"}"));
    // Nothing else was disturbed: the zone is up and a call with media works.
    assert_eq!(state(&p.c, "dmz"), "active");
    call(&outside, p.e_sip, &lan, uri, 1, [&p.e, &p.c], true).await;
    call(
        &lan,
        p.c_sip,
        &outside,
        "sip:carol@outside.example",
        2,
        [&p.e, &p.c],
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sip_over_tls_is_served_on_exp_e() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = scratch("sip-tls");
    let pki = test_pki(&dir, "siptls", &["exp-e.test"]);
    let mut e = exp_e_config();
    e.tls.certificate = Some(pki.cert.clone());
    e.tls.private_key = Some(pki.key.clone());
    let port = free_port();
    e.sip.tls_port = port;
    let e = start(e, exp_zone::Role::Server).await;
    let tls = exp_runtime::tls::client_config(&exp_zone::resolve::ClientTls {
        ca_file: Some(pki.ca.clone()),
        pinned_sha256: Vec::new(),
        server_name: Some("exp-e.test".into()),
        insecure: false,
    })
    .unwrap();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let name = rustls_pki_types::ServerName::try_from("exp-e.test").unwrap();
    let mut s = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .expect("TLS handshake with exp-e's SIP listener");
    let local = s.get_ref().0.local_addr().unwrap();
    // No route for this destination: the answer (404) comes back over the same TLS connection.
    let invite = format!(
        "INVITE sip:nobody@nowhere.example SIP/2.0\r\nVia: SIP/2.0/TLS {local};branch=z9hG4bKtls1\r\n\
         Max-Forwards: 70\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:nobody@nowhere.example>\r\n\
         Call-ID: tls@test\r\nCSeq: 1 INVITE\r\nContact: <sip:a@{local};transport=tls>\r\n\
         Content-Length: 0\r\n\r\n"
    );
    s.write_all(invite.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("SIP/2.0 404") {
        let n = tokio::time::timeout(WAIT, s.read(&mut buf))
            .await
            .expect("an answer in time")
            .unwrap();
        assert!(
            n > 0,
            "connection closed: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    drop(e);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_media_and_reinvite_moving_media_and_holding_both_directions() {
    let outside = Ua::new().await;
    let lan = Ua::new().await;
    let p = pair(lan.addr, outside.addr).await;
    call_with_reinvite(
        &outside,
        p.e_sip,
        &lan,
        "sip:bob@lan.example",
        1,
        [&p.e, &p.c],
    )
    .await;
    call_with_reinvite(
        &lan,
        p.c_sip,
        &outside,
        "sip:carol@outside.example",
        2,
        [&p.e, &p.c],
    )
    .await;
}

/// A routing rule with `transport = "tls"`: exp-e opens a TLS connection to the target,
/// verifies its certificate (issued for the target's IP address) against `sip.tls_ca_file`,
/// and the call's answer comes back over it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outgoing_call_to_a_tls_target_verifies_its_certificate() {
    tls_target_call("sip-tls-out", &["127.0.0.1"], |a| a.to_string()).await;
}

/// A TLS target given by host name: exp-e resolves it and checks the certificate for the name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outgoing_call_to_a_tls_target_by_host_name_verifies_the_name() {
    tls_target_call("sip-tls-name", &["localhost"], |a| {
        format!("localhost:{}", a.port())
    })
    .await;
}

/// An outgoing call from the LAN to a TLS target whose certificate names `cert_names`, the
/// routing rule naming it as `target_of(its address)`; the target answers 486.
async fn tls_target_call(
    tag: &str,
    cert_names: &[&str],
    target_of: impl Fn(std::net::SocketAddr) -> String,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = scratch(tag);
    let pki = test_pki(&dir, "target", cert_names);
    let server = exp_runtime::tls::server_config(&exp_zone::resolve::TlsIdentity {
        certificate: pki.cert.clone(),
        private_key: pki.key.clone(),
    })
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap();
    // The TLS target: answers the INVITE with 486 over the connection exp-e opened.
    let target_task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut s = tokio_rustls::TlsAcceptor::from(server)
            .accept(tcp)
            .await
            .expect("exp-e completes the TLS handshake");
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let invite = loop {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before an INVITE");
            got.extend_from_slice(&buf[..n]);
            if let Ok(Message::Request(r)) = Message::parse(&got) {
                break r;
            }
        };
        assert_eq!(invite.method, "INVITE");
        let via = invite.headers.get("Via").unwrap_or_default().to_string();
        assert!(via.contains("SIP/2.0/TLS"), "{via}");
        let busy = exp_sip::message::Response::for_request(&invite, 486, "Busy Here", Some("t1"));
        s.write_all(&Message::Response(busy).to_bytes())
            .await
            .unwrap();
        // Keep the connection for the ACK.
        let _ = tokio::time::timeout(WAIT, s.read(&mut buf)).await;
    });
    let outside = Ua::new().await;
    let lan = Ua::new().await;
    let ca = pki.ca.clone();
    let p = pair_with(lan.addr, outside.addr, |e| {
        e.sip.tls_ca_file = Some(ca);
        e.routes.insert(
            0,
            exp_zone::config::RouteConfig {
                pattern: r"sip:carol-tls@.*".into(),
                target: Some(target_of(target)),
                transport: Some(exp_zone::config::TargetTransport::Tls),
                ..Default::default()
            },
        );
    })
    .await;
    let uri = "sip:carol-tls@outside.example";
    let rtp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // A host name resolves in the background as exp-e starts; until then the call is 503.
    for n in 1.. {
        let mut inv = lan.request(
            "INVITE",
            uri,
            "<sip:bob@lan.example>;tag=b1",
            &format!("<{uri}>"),
            &format!("tls-out-{n}@test"),
            1,
            &format!("tlsout{n}"),
        );
        inv.headers.push("Content-Type", "application/sdp");
        inv.body = sdp_for("bob", rtp.local_addr().unwrap()).into_bytes();
        lan.send(p.c_sip, &Message::Request(inv)).await;
        match lan.recv().await.0 {
            Message::Response(r) if r.status == 486 => break,
            Message::Response(r) if r.status == 503 && n < 50 => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await
            }
            m => panic!("expected 486, got {m:?}"),
        }
    }
    target_task.await.unwrap();
}

/// Routing targets given by host name: resolved (in the background, as the program starts),
/// the call reaches the address; a name that does not resolve refuses the call with 503 and a
/// Retry-After.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_name_targets_are_resolved_and_an_unresolvable_one_is_503() {
    use exp_zone::config::{RouteConfig, TargetTransport};
    let caller = Ua::new().await;
    let callee = Ua::new().await;
    let e_port = free_port();
    let mut e = exp_e_config();
    e.sip.udp_port = e_port;
    e.routes.push(RouteConfig {
        pattern: r"sip:.*@byname\.example".into(),
        target: Some(format!("localhost:{}", callee.addr.port())),
        transport: Some(TargetTransport::Udp),
        ..Default::default()
    });
    e.routes.push(RouteConfig {
        pattern: r"sip:.*@nowhere\.example".into(),
        target: Some("no-such-host.invalid:5060".into()),
        transport: Some(TargetTransport::Udp),
        ..Default::default()
    });
    let _e = start(e, exp_zone::Role::Server).await;
    let e_sip: std::net::SocketAddr = format!("127.0.0.1:{e_port}").parse().unwrap();
    let rtp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let invite = |uri: &str, call_id: &str| {
        let mut inv = caller.request(
            "INVITE",
            uri,
            "<sip:alice@caller.example>;tag=a1",
            &format!("<{uri}>"),
            call_id,
            1,
            call_id,
        );
        inv.headers.push("Content-Type", "application/sdp");
        inv.body = sdp_for("alice", rtp.local_addr().unwrap()).into_bytes();
        Message::Request(inv)
    };
    let mut reached = None;
    for n in 0..50 {
        caller
            .send(
                e_sip,
                &invite("sip:dave@byname.example", &format!("byname-{n}")),
            )
            .await;
        let mut buf = vec![0u8; 65536];
        let got = tokio::time::timeout(
            std::time::Duration::from_millis(200),
            callee.sock.recv_from(&mut buf),
        )
        .await;
        if let Ok(Ok((len, _))) = got {
            reached = Message::parse(&buf[..len]).ok();
            break;
        }
    }
    match reached {
        Some(Message::Request(r)) => {
            assert_eq!(r.method, "INVITE");
            assert!(r.uri.contains("dave@byname.example"), "{}", r.uri);
        }
        other => panic!("the INVITE did not reach localhost's address: {other:?}"),
    }
    caller
        .send(e_sip, &invite("sip:erin@nowhere.example", "nowhere-1"))
        .await;
    loop {
        if let (Message::Response(r), _) = caller.recv().await {
            if r.headers.get("Call-ID") == Some("nowhere-1") {
                assert_eq!(r.status, 503, "{r:?}");
                assert!(r.headers.get("Retry-After").is_some());
                break;
            }
        }
    }
}
