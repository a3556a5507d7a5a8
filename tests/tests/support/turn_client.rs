//! A minimal blocking TURN client over UDP, built on exp-turn's codec, for tests that must
//! hold an allocation open across something (a reload) and look at it from both ends. The
//! independent clients (coturn's uclient, aioice) check interoperability; this one checks
//! behaviour over time.

// Each test file uses a different part of it.
#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use exp_turn::{
    long_term_key_md5, Attribute, Class, Message, MessageBuilder, Method, TransactionId,
};

/// One client socket with long-term credentials.
pub struct TurnClient {
    pub socket: UdpSocket,
    server: SocketAddr,
    username: String,
    key: Vec<u8>,
    realm: String,
    nonce: String,
}

/// A response: success, or the error code.
pub type Answer = Result<Message, u16>;

impl TurnClient {
    pub fn new(server: SocketAddr, username: &str, password: &str, realm: &str) -> TurnClient {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("client socket");
        socket
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        TurnClient {
            socket,
            server,
            username: username.into(),
            key: long_term_key_md5(username, realm, password).to_vec(),
            realm: realm.into(),
            nonce: String::new(),
        }
    }

    fn exchange(&self, bytes: &[u8]) -> Option<Message> {
        self.socket.send_to(bytes, self.server).ok()?;
        let mut buf = [0u8; 2048];
        loop {
            let (n, _) = self.socket.recv_from(&mut buf).ok()?;
            if let Ok(m) = Message::decode(&buf[..n]) {
                if m.class() != Class::Indication {
                    return Some(m);
                }
            }
        }
    }

    /// Sends an authenticated request with `attrs`, learning realm and nonce from a 401/438
    /// first when needed. `None` when nothing answers.
    pub fn request(&mut self, method: Method, attrs: &[Attribute]) -> Option<Answer> {
        for _ in 0..3 {
            let mut b = MessageBuilder::new(method, Class::Request, TransactionId::random()?);
            for a in attrs {
                b.add(a);
            }
            if !self.nonce.is_empty() {
                b.add(&Attribute::Username(self.username.clone()));
                b.add(&Attribute::Realm(self.realm.clone()));
                b.add(&Attribute::Nonce(self.nonce.clone()));
                b.add_message_integrity(&self.key);
            }
            let m = self.exchange(&b.finish().ok()?)?;
            if m.class() == Class::Success {
                return Some(Ok(m));
            }
            let code = match m.attributes().iter().find_map(|a| match a {
                Attribute::ErrorCode { code, .. } => Some(*code),
                _ => None,
            }) {
                Some(c) => c,
                None => return Some(Err(0)),
            };
            if (code == 401 || code == 438) && m.nonce().is_some() {
                if code == 401 && !self.nonce.is_empty() && m.nonce() == Some(&self.nonce) {
                    return Some(Err(401));
                }
                self.nonce = m.nonce().unwrap_or_default().to_string();
                continue;
            }
            return Some(Err(code));
        }
        Some(Err(401))
    }

    /// Allocate a UDP relay; its relayed address.
    pub fn allocate(&mut self) -> Result<SocketAddr, u16> {
        let m = self
            .request(Method::ALLOCATE, &[Attribute::RequestedTransport(17)])
            .ok_or(0u16)??;
        m.attributes()
            .iter()
            .find_map(|a| match a {
                Attribute::XorRelayedAddress(r) => Some(*r),
                _ => None,
            })
            .ok_or(0)
    }

    /// Permission for `peer`'s address.
    pub fn permit(&mut self, peer: SocketAddr) -> Result<(), u16> {
        self.request(
            Method::CREATE_PERMISSION,
            &[Attribute::XorPeerAddress(peer)],
        )
        .ok_or(0u16)?
        .map(|_| ())
    }

    /// A Send indication carrying `data` to `peer`.
    pub fn send(&self, peer: SocketAddr, data: &[u8]) {
        let mut b = MessageBuilder::new(
            Method::SEND,
            Class::Indication,
            TransactionId::random().unwrap(),
        );
        b.add(&Attribute::XorPeerAddress(peer));
        b.add(&Attribute::Data(data.to_vec()));
        let _ = self.socket.send_to(&b.finish().unwrap(), self.server);
    }

    /// The payload of the next Data indication, if one comes within the read timeout.
    pub fn receive(&self) -> Option<(SocketAddr, Vec<u8>)> {
        let mut buf = [0u8; 2048];
        loop {
            let (n, _) = self.socket.recv_from(&mut buf).ok()?;
            let Ok(m) = Message::decode(&buf[..n]) else {
                continue;
            };
            if m.method() != Method::DATA {
                continue;
            }
            let peer = m.attributes().iter().find_map(|a| match a {
                Attribute::XorPeerAddress(p) => Some(*p),
                _ => None,
            })?;
            let data = m.attributes().iter().find_map(|a| match a {
                Attribute::Data(d) => Some(d.clone()),
                _ => None,
            })?;
            return Some((peer, data));
        }
    }
}
