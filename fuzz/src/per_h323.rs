//! `per_h323`: any bytes through exp-h460's aligned PER decoders and the machines that use
//! them. The first byte picks the decoder, the rest is the encoding:
//! - 0: a RAS message (`RasMessage`), 1: an `H323-UserInformation` (call signalling),
//!   2: an H.460.18 `IncomingCallIndication`, 3: an H.245 `MultimediaSystemControlMessage`;
//! - 4: the bytes as a datagram to the RAS registrar of a traversal zone, and to a traversal
//!   client registered with it; 5: the bytes as a Q.931 message on fresh and bound
//!   call-signalling channels of the gateway.
//!
//! Checks that nothing panics, and that whatever decodes re-encodes to something that
//! decodes to the same value (a codec that keeps unknown extensions as their encodings must
//! not lose or change anything it decoded).

use std::net::SocketAddr;
use std::time::Instant;

use exp_h460::cs::{H323UserInformation, ReleaseCompleteReason};
use exp_h460::features::IncomingCallIndication;
use exp_h460::gateway::{Accepted, Env, Gateway, GatewayConfig, Peer, Route, Side};
use exp_h460::h245::MultimediaSystemControlMessage;
use exp_h460::per::{self, Per};
use exp_h460::ras::RasMessage;
use exp_h460::ras_server::{Access, Registrar, RegistrarConfig};

/// Runs every check on `data`.
pub fn check(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 6 {
        0 => {
            if let Ok(m) = RasMessage::decode(rest) {
                let again = RasMessage::decode(&m.encode()).expect("re-encoded RAS decodes");
                assert_eq!(again, m, "RAS re-encoding changed the value");
                let _ = (m.name(), m.request_seq_num(), m.crypto_tokens().len());
                let (bytes, marks) = m.encode_for_sealing();
                assert!(marks.iter().all(|&at| at + 12 <= bytes.len()));
            }
        }
        1 => {
            if let Ok(u) = H323UserInformation::decode(rest) {
                let again =
                    H323UserInformation::decode(&u.encode()).expect("re-encoded UUIE decodes");
                assert_eq!(again, u, "UUIE re-encoding changed the value");
                let _ = (u.call_identifier(), u.h245_control().len(), u.fast_start());
            }
        }
        2 => round_trip::<IncomingCallIndication>(rest),
        3 => {
            if let Ok(m) = MultimediaSystemControlMessage::decode(rest) {
                let again = MultimediaSystemControlMessage::decode(&m.encode())
                    .expect("re-encoded H.245 decodes");
                assert_eq!(again, m, "H.245 re-encoding changed the value");
            }
        }
        4 => registrar(rest),
        _ => gateway(rest),
    }
}

fn round_trip<T: Per + PartialEq + std::fmt::Debug>(bytes: &[u8]) {
    if let Ok(v) = per::decode::<T>(bytes) {
        let again: T = per::decode(&per::encode(&v)).expect("re-encoded value decodes");
        assert_eq!(again, v);
    }
}

fn registrar(bytes: &[u8]) {
    let t0 = Instant::now();
    let mut reg = Registrar::new(RegistrarConfig {
        gatekeeper_id: "exp-e".into(),
        ras_address: "192.0.2.10:6001".parse().expect("address"),
        call_signal_address: "192.0.2.10:2777".parse().expect("address"),
        time_to_live: 30,
        clock_tolerance: 30,
        retry_interval: std::time::Duration::from_secs(1),
        retry_count: 2,
        multiplex_media: true,
        access: Access::Zone {
            username: "lab".into(),
            key: exp_h460::h235::key("secret"),
        },
    });
    let from: SocketAddr = "198.51.100.7:40001".parse().expect("address");
    reg.handle_datagram(from, bytes, t0, 1_800_000_000);
    while let Some(t) = reg.poll_transmit() {
        // Whatever we answer must be a RAS message we can decode ourselves.
        RasMessage::decode(&t.payload).expect("our answer decodes");
    }
    while reg.poll_event().is_some() {}
    reg.handle_timeout(t0 + std::time::Duration::from_secs(120), 1_800_000_120);
}

struct NoRoutes;

impl Env for NoRoutes {
    fn route(&mut self, _from: &Peer, _d: &str) -> Route {
        Route::Refuse(
            ReleaseCompleteReason::CalledPartyNotRegistered,
            String::new(),
        )
    }
    fn traversal_zone(&mut self, _e: Option<&str>, _f: std::net::IpAddr) -> Option<String> {
        Some("lan".into())
    }
    fn channel_from_ok(&mut self, _p: &Peer, _f: std::net::IpAddr) -> bool {
        true
    }
    fn h245(
        &mut self,
        _c: u64,
        _s: Side,
        _f: &Peer,
        _t: &Peer,
        m: &[u8],
    ) -> Result<Vec<u8>, String> {
        Ok(m.to_vec())
    }
}

fn gateway(bytes: &[u8]) {
    let t0 = Instant::now();
    let mut g = Gateway::new(GatewayConfig::default());
    let from: SocketAddr = "198.51.100.7:40001".parse().expect("address");
    for how in [Accepted::Net(from), Accepted::Traversal(from)] {
        let ch = g.handle_accepted(how);
        g.handle_message(ch, bytes, t0, &mut NoRoutes);
        // Twice: the second lands on whatever the first made of the channel.
        g.handle_message(ch, bytes, t0, &mut NoRoutes);
        g.handle_closed(ch);
    }
    while g.poll_output().is_some() {}
    g.handle_timeout(t0 + std::time::Duration::from_secs(600));
}
