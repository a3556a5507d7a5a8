//! The H.460.18 zone over RAS, both machines back to back in memory with simulated time:
//! registration, keep-alive before the time to live lapses, lapse and recovery, the
//! incoming-call indication, and every refusal (wrong password, clock skew, replay, unknown
//! user, forged server messages) counted with its own reason.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use exp_h460::h225::CallIdentifier;
use exp_h460::h235;
use exp_h460::ras::RasMessage;
use exp_h460::ras_client::{ClientEvent, RasClient, RasClientConfig};
use exp_h460::ras_server::{Access, EndReason, Event, Registrar, RegistrarConfig};
use exp_probe::{ProbeConfig, ZoneState};

const UNIX: u64 = 1_800_000_000;

fn client_addr() -> SocketAddr {
    "198.51.100.7:40001".parse().unwrap()
}

fn server_config(password: &str) -> RegistrarConfig {
    RegistrarConfig {
        gatekeeper_id: "exp-e".into(),
        ras_address: "192.0.2.10:6001".parse().unwrap(),
        call_signal_address: "192.0.2.10:2777".parse().unwrap(),
        time_to_live: 30,
        clock_tolerance: 30,
        retry_interval: Duration::from_secs(2),
        retry_count: 3,
        multiplex_media: true,
        access: Access::Zone {
            username: "lab".into(),
            key: h235::key(password),
        },
    }
}

fn client_config(password: &str) -> RasClientConfig {
    RasClientConfig {
        username: "lab".into(),
        key: h235::key(password),
        probe: ProbeConfig::default(),
        peers: 1,
        local_ras: "10.0.0.5:40001".parse().unwrap(),
        local_call_signal: "10.0.0.5:1720".parse().unwrap(),
        multiplex_media: true,
        clock_tolerance: 30,
    }
}

/// Both machines and a lossless (or lossy, on demand) link between them.
struct Pair {
    c: RasClient,
    s: Registrar,
    t0: Instant,
    now: Instant,
    /// The client's wall clock minus the server's.
    client_skew: i64,
    /// Drop everything the client sends.
    cut_up: bool,
    /// Drop everything the server sends.
    cut_down: bool,
    client_events: Vec<ClientEvent>,
    server_events: Vec<Event>,
    /// Every datagram the client sent, in order.
    sent_up: Vec<Vec<u8>>,
}

impl Pair {
    fn new(server_pw: &str, client_pw: &str) -> Self {
        let t0 = Instant::now();
        Self::with(server_config(server_pw), client_config(client_pw), t0)
    }

    fn with(sc: RegistrarConfig, cc: RasClientConfig, t0: Instant) -> Self {
        let mut p = Pair {
            c: RasClient::new(cc, t0, UNIX),
            s: Registrar::new(sc),
            t0,
            now: t0,
            client_skew: 0,
            cut_up: false,
            cut_down: false,
            client_events: Vec::new(),
            server_events: Vec::new(),
            sent_up: Vec::new(),
        };
        p.pump();
        p
    }

    fn unix(&self) -> u64 {
        UNIX + (self.now - self.t0).as_secs()
    }

    fn client_unix(&self) -> u64 {
        (self.unix() as i64 + self.client_skew) as u64
    }

    /// Moves datagrams both ways until nothing is left.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(t) = self.c.poll_transmit() {
                moved = true;
                self.sent_up.push(t.payload.clone());
                if !self.cut_up {
                    let (now, unix) = (self.now, self.unix());
                    self.s.handle_datagram(client_addr(), &t.payload, now, unix);
                }
            }
            while let Some(t) = self.s.poll_transmit() {
                moved = true;
                assert_eq!(t.to, client_addr());
                if !self.cut_down {
                    let (now, unix) = (self.now, self.client_unix());
                    self.c.handle_datagram(&t.payload, now, unix);
                }
            }
            while let Some(e) = self.c.poll_event() {
                self.client_events.push(e);
            }
            while let Some(e) = self.s.poll_event() {
                self.server_events.push(e);
            }
            if !moved {
                break;
            }
        }
    }

    /// Runs both machines' timers until `d` has passed.
    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            let next = [self.c.poll_timeout(), self.s.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(at) if at <= end => {
                    self.now = self.now.max(at);
                    let (now, cu, su) = (self.now, self.client_unix(), self.unix());
                    self.c.handle_timeout(now, cu);
                    self.s.handle_timeout(now, su);
                    self.pump();
                }
                _ => break,
            }
        }
        self.now = end;
        self.pump();
    }

    fn ups(&self) -> usize {
        self.client_events
            .iter()
            .filter(|e| matches!(e, ClientEvent::Up { .. }))
            .count()
    }

    fn refusal(&self, reason: &str) -> u64 {
        self.s.refusals().get(reason).copied().unwrap_or(0)
    }
}

#[test]
fn registers_with_h460_18_and_h235_and_keeps_alive_before_the_ttl_lapses() {
    let mut p = Pair::new("secret", "secret");
    assert_eq!(p.c.state(), ZoneState::Active);
    let up = p.client_events.iter().find_map(|e| match e {
        ClientEvent::Up {
            gatekeeper_id,
            time_to_live,
            keepalive,
            ..
        } => Some((gatekeeper_id.clone(), *time_to_live, *keepalive)),
        _ => None,
    });
    // TTL 30 s, re-send window 6 × 2 s = 12 s: keep-alive every 18 s (the default 20 s
    // would leave no room for re-sends).
    assert_eq!(up, Some(("exp-e".into(), 30, Duration::from_secs(18))));
    assert!(matches!(
        &p.server_events[0],
        Event::Registered { username, traversal: true, aliases, .. }
            if username == "lab" && aliases == &["lab".to_string()]
    ));
    // What went up: GRQ (no token), then RRQ with H.460.18 and a sealed H.235.1 token.
    let kinds: Vec<&str> = p
        .sent_up
        .iter()
        .map(|b| RasMessage::decode(b).unwrap().name())
        .collect();
    assert_eq!(kinds, ["gatekeeperRequest", "registrationRequest"]);
    let RasMessage::RegistrationRequest(rrq) = RasMessage::decode(&p.sent_up[1]).unwrap() else {
        unreachable!()
    };
    assert!(rrq.feature_set.as_ref().unwrap().has(18));
    assert!(rrq.feature_set.as_ref().unwrap().has(19));
    assert!(!rrq.keep_alive);

    // Ten minutes: only keep-alives, the registration never lapses, no reconnect.
    p.run_for(Duration::from_secs(600));
    assert_eq!(p.c.state(), ZoneState::Active);
    assert_eq!(p.ups(), 1);
    assert_eq!(p.c.probe().reconnect_count(), 0);
    let refreshes = p
        .server_events
        .iter()
        .filter(|e| matches!(e, Event::Refreshed { .. }))
        .count();
    assert_eq!(refreshes, 600 / 18);
    let last = RasMessage::decode(p.sent_up.last().unwrap()).unwrap();
    let RasMessage::RegistrationRequest(ka) = last else {
        panic!("last datagram is not a keep-alive RRQ")
    };
    assert!(ka.keep_alive);
    assert_eq!(ka.endpoint_identifier.as_deref(), p.c.endpoint_id());
    assert!(
        ka.terminal_alias.is_none(),
        "keep-alive RRQs are lightweight"
    );
    assert!(p.s.refusals().is_empty(), "{:?}", p.s.refusals());
}

#[test]
fn lost_link_expires_the_registration_and_the_client_registers_again() {
    let mut p = Pair::new("secret", "secret");
    p.cut_up = true;
    p.run_for(Duration::from_secs(60));
    // The server expired the registration (30 s + 8 s grace after the last refresh).
    assert!(p.server_events.iter().any(|e| matches!(
        e,
        Event::Ended {
            reason: EndReason::Expired,
            ..
        }
    )));
    assert_ne!(p.c.state(), ZoneState::Active);
    assert!(p
        .client_events
        .iter()
        .any(|e| matches!(e, ClientEvent::Down { .. })));
    p.cut_up = false;
    p.run_for(Duration::from_secs(30));
    assert_eq!(p.c.state(), ZoneState::Active);
    assert_eq!(p.ups(), 2);
    assert_eq!(p.s.registrations().count(), 1);
}

#[test]
fn wrong_password_is_refused_counted_and_reported_as_such() {
    let mut p = Pair::new("secret", "not the secret");
    assert_eq!(p.c.state(), ZoneState::AuthFailed);
    assert_eq!(p.refusal("wrong-password"), 1);
    assert_eq!(p.c.last_refusal(), Some("wrong password"));
    assert_eq!(p.s.registrations().count(), 0);
    // It keeps trying with back-off; every attempt is counted, none succeeds.
    p.run_for(Duration::from_secs(30));
    assert!(p.refusal("wrong-password") > 1);
    assert_eq!(p.refusal("clock-skew"), 0);
    assert_eq!(p.ups(), 0);
}

#[test]
fn clock_skew_is_told_apart_from_a_wrong_password() {
    let t0 = Instant::now();
    let mut sc = server_config("secret");
    sc.clock_tolerance = 30;
    // Build the client with a clock 100 s ahead.
    let mut p = Pair {
        c: RasClient::new(client_config("secret"), t0, UNIX + 100),
        s: Registrar::new(sc),
        t0,
        now: t0,
        client_skew: 100,
        cut_up: false,
        cut_down: false,
        client_events: Vec::new(),
        server_events: Vec::new(),
        sent_up: Vec::new(),
    };
    p.pump();
    assert_eq!(p.c.state(), ZoneState::AuthFailed);
    assert_eq!(p.refusal("clock-skew"), 1);
    assert_eq!(p.refusal("wrong-password"), 0);
    assert_eq!(
        p.c.last_refusal(),
        Some("clock skew (check NTP on both systems)")
    );
    assert!(p.server_events.iter().any(|e| matches!(
        e,
        Event::Refused { reason: "clock-skew", detail, .. } if detail.contains("100 s")
    )));
    // Within the tolerance it registers.
    p.client_skew = 20;
    p.run_for(Duration::from_secs(20));
    assert_eq!(p.c.state(), ZoneState::Active);
}

#[test]
fn replayed_rrq_is_refused_as_a_replay() {
    let mut p = Pair::new("secret", "secret");
    let rrq = p.sent_up[1].clone();
    let (now, unix) = (p.now, p.unix());
    p.s.handle_datagram("203.0.113.66:5555".parse().unwrap(), &rrq, now, unix);
    assert_eq!(p.refusal("replay"), 1);
    // The answer is an RRJ with securityError securityReplay, and the real registration
    // is untouched.
    let t = p.s.poll_transmit().unwrap();
    let RasMessage::RegistrationReject(rrj) = RasMessage::decode(&t.payload).unwrap() else {
        panic!("not an RRJ")
    };
    assert_eq!(format!("{:?}", rrj.reject_reason), "SecurityError(Replay)");
    assert_eq!(p.s.registrations().count(), 1);
    assert_eq!(p.s.registrations().next().unwrap().ras_from, client_addr());
}

#[test]
fn unknown_user_tampered_and_tokenless_messages_are_refused_with_their_reasons() {
    let mut p = Pair::new("secret", "secret");
    let t0 = p.now;
    // Another user on the zone's port, with the right password.
    let mut cc = client_config("secret");
    cc.username = "intruder".into();
    let mut other = RasClient::new(cc, t0, UNIX);
    let grq = other.poll_transmit().unwrap();
    p.s.handle_datagram("203.0.113.1:1".parse().unwrap(), &grq.payload, t0, UNIX);
    let gcf = p.s.poll_transmit().unwrap();
    other.handle_datagram(&gcf.payload, t0, UNIX);
    let rrq = other.poll_transmit().unwrap();
    p.s.handle_datagram("203.0.113.1:1".parse().unwrap(), &rrq.payload, t0, UNIX);
    assert_eq!(p.refusal("unknown-user"), 1);
    // A changed byte breaks the hash: wrong password (the sender cannot prove the key).
    let mut tampered = p.sent_up[1].clone();
    let n = tampered.len();
    tampered[n - 1] ^= 0x01;
    p.s.handle_datagram(client_addr(), &tampered, t0, UNIX);
    assert!(p.refusal("wrong-password") + p.refusal("malformed") >= 1);
    // An RRQ without any token.
    let RasMessage::RegistrationRequest(mut bare) = RasMessage::decode(&p.sent_up[1]).unwrap()
    else {
        unreachable!()
    };
    bare.crypto_tokens = None;
    let bytes = RasMessage::RegistrationRequest(bare).encode();
    p.s.handle_datagram(client_addr(), &bytes, t0, UNIX);
    assert_eq!(p.refusal("no-token"), 1);
    // Garbage.
    let _before = p.refusal("malformed");
    for junk in [&b""[..], b"\xff", b"\x0e\x00\x00\x00\x00\x00\x00"] {
        p.s.handle_datagram(client_addr(), junk, t0, UNIX);
    }
    assert_eq!(
        p.refusal("malformed"),
        3 + u64::from(p.refusal("malformed") > 3)
    );
    // Through all of it the real registration stayed.
    assert_eq!(p.s.registrations().count(), 1);
}

#[test]
fn incoming_call_indication_reaches_the_client_which_answers_once_per_call() {
    let mut p = Pair::new("secret", "secret");
    let ep = p.s.registration_of("lab").unwrap().endpoint_id.clone();
    let call = CallIdentifier { guid: [7; 16] };
    let (now, unix) = (p.now, p.unix());
    p.s.incoming_call(&ep, call, now, unix).unwrap();
    p.pump();
    let calls: Vec<_> = p
        .client_events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::IncomingCall {
                call_signal_address,
                call_id,
            } => Some((*call_signal_address, *call_id)),
            _ => None,
        })
        .collect();
    assert_eq!(calls, [("192.0.2.10:2777".parse().unwrap(), call)]);
    assert!(p
        .server_events
        .contains(&Event::IncomingCallAcknowledged { call_id: call }));

    // The SCR is lost: the server re-sends the SCI; the client answers again but reports
    // the call once.
    let call2 = CallIdentifier { guid: [8; 16] };
    p.cut_up = true;
    let (now, unix) = (p.now, p.unix());
    p.s.incoming_call(&ep, call2, now, unix).unwrap();
    p.pump();
    p.run_for(Duration::from_millis(2100));
    p.cut_up = false;
    p.run_for(Duration::from_millis(2100));
    let reported = p
        .client_events
        .iter()
        .filter(|e| matches!(e, ClientEvent::IncomingCall { call_id, .. } if *call_id == call2))
        .count();
    assert_eq!(reported, 1);
    assert!(p
        .server_events
        .contains(&Event::IncomingCallAcknowledged { call_id: call2 }));

    // Nobody answers at all: the call fails after the re-sends.
    let call3 = CallIdentifier { guid: [9; 16] };
    p.cut_down = true;
    let (now, unix) = (p.now, p.unix());
    p.s.incoming_call(&ep, call3, now, unix).unwrap();
    p.run_for(Duration::from_secs(10));
    assert!(p
        .server_events
        .contains(&Event::IncomingCallFailed { call_id: call3 }));
    // Not registered: refused at once.
    assert!(p
        .s
        .incoming_call("nobody", CallIdentifier { guid: [1; 16] }, now, unix)
        .is_err());
}

#[test]
fn client_drops_server_messages_that_fail_authentication() {
    let mut p = Pair::new("secret", "secret");
    // A forged SCI: right layout, sealed under another key.
    let mut forger = Registrar::new(server_config("guess"));
    let t0 = p.now;
    // Register a throwaway client with the forger to get an endpoint there.
    let mut fc = RasClient::new(client_config("guess"), t0, UNIX);
    for _ in 0..4 {
        while let Some(t) = fc.poll_transmit() {
            forger.handle_datagram(client_addr(), &t.payload, t0, UNIX);
        }
        while let Some(t) = forger.poll_transmit() {
            fc.handle_datagram(&t.payload, t0, UNIX);
        }
    }
    let fep = forger.registration_of("lab").unwrap().endpoint_id.clone();
    forger
        .incoming_call(&fep, CallIdentifier { guid: [3; 16] }, t0, UNIX)
        .unwrap();
    let sci = forger.poll_transmit().unwrap();
    p.c.handle_datagram(&sci.payload, p.now, p.unix());
    let dropped: Vec<_> = std::iter::from_fn(|| p.c.poll_event())
        .filter_map(|e| match e {
            ClientEvent::Dropped { reason, .. } => Some(reason),
            ClientEvent::IncomingCall { .. } => Some("CALL"),
            _ => None,
        })
        .collect();
    assert_eq!(dropped, ["wrong-password"]);
    assert!(p.c.poll_transmit().is_none(), "no SCR for a forged SCI");
}

#[test]
fn keep_alive_for_a_forgotten_registration_leads_to_a_full_registration() {
    let t0 = Instant::now();
    let mut p = Pair::with(server_config("secret"), client_config("secret"), t0);
    // The server restarts and forgets everything.
    p.s = Registrar::new(server_config("secret"));
    p.run_for(Duration::from_secs(25));
    assert_eq!(p.refusal("unknown-endpoint"), 1);
    assert_eq!(p.c.state(), ZoneState::Active);
    assert_eq!(p.ups(), 2);
    assert_eq!(p.s.registrations().count(), 1);
}

#[test]
fn open_directory_registers_token_less_h460_18_endpoints_and_checks_tokens_when_sent() {
    let mut sc = server_config("x");
    sc.access = Access::Directory {
        keys: [("alice".to_string(), h235::key("pw"))].into(),
        open: true,
    };
    let t0 = Instant::now();
    let mut s = Registrar::new(sc);
    // A token-less RRQ with an alias.
    let rrq = exp_h460::ras::RegistrationRequest {
        request_seq_num: 5,
        discovery_complete: true,
        terminal_alias: Some(vec![exp_h460::h225::AliasAddress::H323Id("room1".into())]),
        feature_set: Some(exp_h460::h225::FeatureSet {
            supported_features: Some(vec![exp_h460::features::h460_18_feature()]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let from: SocketAddr = "203.0.113.9:1719".parse().unwrap();
    s.handle_datagram(
        from,
        &RasMessage::RegistrationRequest(rrq).encode(),
        t0,
        UNIX,
    );
    let rcf = s.poll_transmit().unwrap();
    assert!(matches!(
        RasMessage::decode(&rcf.payload).unwrap(),
        RasMessage::RegistrationConfirm(_)
    ));
    assert_eq!(s.registration_by_alias("room1").unwrap().ras_from, from);
    assert!(s.registration_by_alias("room1").unwrap().traversal);
    // A client with a token for a user of the directory.
    let mut cc = client_config("pw");
    cc.username = "alice".into();
    let mut c = RasClient::new(cc, t0, UNIX);
    for _ in 0..4 {
        while let Some(t) = c.poll_transmit() {
            s.handle_datagram(client_addr(), &t.payload, t0, UNIX);
        }
        while let Some(t) = s.poll_transmit() {
            c.handle_datagram(&t.payload, t0, UNIX);
        }
    }
    assert_eq!(c.state(), ZoneState::Active);
    assert_eq!(s.registrations().count(), 2);
}
