//! SIP transactions (RFC 3261 §17) with the RFC 6026 Accepted state, sans-IO.
//!
//! A transaction owns retransmissions and their timers on unreliable transports and absorbs
//! retransmitted messages from the peer; everything else is the transaction user's (the
//! B2BUA's). Over TCP/TLS and the traversal zones the retransmission timers are not run and
//! the linger timers are zero, as §17 prescribes for reliable transports.
//!
//! Timers used (RFC 3261 Table 4, RFC 6026 §8): client INVITE A, B, D, M; client non-INVITE
//! E, F, K; server INVITE G, H, I, L; server non-INVITE J.

use std::time::{Duration, Instant};

use crate::message::{Message, Request, Response};

/// Timer base values (RFC 3261 §17.1.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate, 500 ms.
    pub t1: Duration,
    /// Longest retransmit interval for non-INVITE requests and INVITE responses, 4 s.
    pub t2: Duration,
    /// Longest time a message stays in the network, 5 s.
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

/// What a transaction tells its user.
#[derive(Debug, PartialEq)]
pub enum TxEvent {
    /// A response for the transaction user (client transactions).
    Response(Response),
    /// Timer B or F fired: the request got no final answer (the user acts as if 408).
    Timeout,
    /// The transport failed.
    TransportError,
    /// Bytes to send (again) to the peer.
    Retransmit(Vec<u8>),
    /// The ACK for a non-2xx final arrived (server INVITE).
    AckReceived,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientState {
    Calling,
    Trying,
    Proceeding,
    Accepted,
    Completed,
    Terminated,
}

/// A client transaction (we sent the request).
#[derive(Debug)]
pub struct ClientTransaction {
    request: Request,
    bytes: Vec<u8>,
    invite: bool,
    reliable: bool,
    cfg: TimerConfig,
    state: ClientState,
    /// Next retransmission (A or E) and its interval.
    retransmit: Option<(Instant, Duration)>,
    /// Timeout (B or F), then the linger timer (D, K or M).
    deadline: Option<Instant>,
    provisional: bool,
    ack: Option<Vec<u8>>,
}

impl ClientTransaction {
    /// Start a transaction for `request`; returns it and the bytes to send first.
    pub fn new(
        request: Request,
        reliable: bool,
        cfg: TimerConfig,
        now: Instant,
    ) -> (Self, Vec<u8>) {
        let bytes = Message::Request(request.clone()).to_bytes();
        let invite = request.method == "INVITE";
        let t1 = cfg.t1;
        let tx = ClientTransaction {
            request,
            bytes: bytes.clone(),
            invite,
            reliable,
            state: if invite {
                ClientState::Calling
            } else {
                ClientState::Trying
            },
            retransmit: (!reliable).then_some((now + t1, t1)),
            deadline: Some(now + t1 * 64),
            cfg,
            provisional: false,
            ack: None,
        };
        (tx, bytes)
    }

    /// The request.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// True once a provisional response arrived (a CANCEL may be sent, RFC 3261 §9.1).
    pub fn provisional_received(&self) -> bool {
        self.provisional
    }

    /// True when the transaction is over.
    pub fn is_terminated(&self) -> bool {
        self.state == ClientState::Terminated
    }

    /// The CANCEL for this INVITE (RFC 3261 §9.1): same Request-URI, Call-ID, To, From,
    /// CSeq number and top Via; `None` for other methods or once a final response came.
    pub fn cancel_request(&self) -> Option<Request> {
        if !self.invite || !matches!(self.state, ClientState::Calling | ClientState::Proceeding) {
            return None;
        }
        let mut c = Request::new("CANCEL", &self.request.uri);
        let h = &self.request.headers;
        c.headers.push("Via", h.get("Via")?);
        for r in h.get_all("Route") {
            c.headers.push("Route", r);
        }
        c.headers.push("Max-Forwards", "70");
        c.headers.push("From", h.get("From")?);
        c.headers.push("To", h.get("To")?);
        c.headers.push("Call-ID", h.get("Call-ID")?);
        let n = h.get("CSeq")?.split_whitespace().next()?.to_string();
        c.headers.push("CSeq", format!("{n} CANCEL"));
        Some(c)
    }

    /// The ACK for a non-2xx final response (RFC 3261 §17.1.1.3).
    fn ack_for(&self, resp: &Response) -> Vec<u8> {
        let mut a = Request::new("ACK", &self.request.uri);
        let h = &self.request.headers;
        if let Some(v) = h.get("Via") {
            a.headers.push("Via", v);
        }
        for r in h.get_all("Route") {
            a.headers.push("Route", r);
        }
        a.headers.push("Max-Forwards", "70");
        if let Some(v) = h.get("From") {
            a.headers.push("From", v);
        }
        if let Some(v) = resp.headers.get("To").or_else(|| h.get("To")) {
            a.headers.push("To", v);
        }
        if let Some(v) = h.get("Call-ID") {
            a.headers.push("Call-ID", v);
        }
        let n = h
            .get("CSeq")
            .and_then(|c| c.split_whitespace().next())
            .unwrap_or("1");
        a.headers.push("CSeq", format!("{n} ACK"));
        Message::Request(a).to_bytes()
    }

    fn linger(&self, unreliable: Duration) -> Duration {
        if self.reliable {
            Duration::ZERO
        } else {
            unreliable
        }
    }

    /// Take a response matched to this transaction.
    pub fn handle_response(&mut self, resp: Response, now: Instant) -> Vec<TxEvent> {
        let status = resp.status;
        let mut out = Vec::new();
        match self.state {
            ClientState::Calling | ClientState::Trying | ClientState::Proceeding => {
                if status < 200 {
                    self.provisional = true;
                    if self.invite {
                        // Timer A stops once a provisional arrives (§17.1.1.2).
                        self.retransmit = None;
                    } else if let Some((_, _)) = self.retransmit {
                        // Timer E continues at T2 (§17.1.2.2).
                        self.retransmit = Some((now + self.cfg.t2, self.cfg.t2));
                    }
                    self.state = ClientState::Proceeding;
                    out.push(TxEvent::Response(resp));
                } else if self.invite && status < 300 {
                    self.state = ClientState::Accepted;
                    self.retransmit = None;
                    self.deadline = Some(now + self.cfg.t1 * 64); // timer M
                    out.push(TxEvent::Response(resp));
                } else {
                    self.retransmit = None;
                    if self.invite {
                        let ack = self.ack_for(&resp);
                        out.push(TxEvent::Retransmit(ack.clone()));
                        self.ack = Some(ack);
                        self.deadline = Some(now + self.linger(Duration::from_secs(32)));
                    // timer D
                    } else {
                        self.deadline = Some(now + self.linger(self.cfg.t4)); // timer K
                    }
                    self.state = ClientState::Completed;
                    out.push(TxEvent::Response(resp));
                    if self.deadline.is_some_and(|d| d <= now) {
                        self.state = ClientState::Terminated;
                    }
                }
            }
            ClientState::Accepted => {
                // RFC 6026 §7.2: 2xx retransmissions and other forks' 2xx go to the user.
                if (200..300).contains(&status) {
                    out.push(TxEvent::Response(resp));
                }
            }
            ClientState::Completed => {
                // A retransmitted final: ACK again, absorb.
                if let Some(ack) = &self.ack {
                    if status >= 300 {
                        out.push(TxEvent::Retransmit(ack.clone()));
                    }
                }
            }
            ClientState::Terminated => {}
        }
        out
    }

    /// Fire the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<TxEvent> {
        let mut out = Vec::new();
        if self.deadline.is_some_and(|d| now >= d) {
            match self.state {
                ClientState::Calling | ClientState::Trying | ClientState::Proceeding => {
                    out.push(TxEvent::Timeout);
                }
                _ => {}
            }
            self.state = ClientState::Terminated;
            self.retransmit = None;
            self.deadline = None;
            return out;
        }
        if let Some((at, interval)) = self.retransmit {
            if now >= at {
                out.push(TxEvent::Retransmit(self.bytes.clone()));
                let next = if self.invite {
                    interval * 2
                } else {
                    (interval * 2).min(self.cfg.t2)
                };
                self.retransmit = Some((now + next, next));
            }
        }
        out
    }

    /// The earliest time a timer fires.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.retransmit.map(|(t, _)| t), self.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ServerState {
    Trying,
    Proceeding,
    Accepted,
    Completed,
    Confirmed,
    Terminated,
}

/// A server transaction (the peer sent the request).
#[derive(Debug)]
pub struct ServerTransaction {
    request: Request,
    invite: bool,
    reliable: bool,
    cfg: TimerConfig,
    state: ServerState,
    last: Option<Vec<u8>>,
    /// Timer G.
    retransmit: Option<(Instant, Duration)>,
    /// Timer H, I, J or L.
    deadline: Option<Instant>,
}

impl ServerTransaction {
    /// A transaction for a new request.
    pub fn new(request: Request, reliable: bool, cfg: TimerConfig, _now: Instant) -> Self {
        let invite = request.method == "INVITE";
        ServerTransaction {
            request,
            invite,
            reliable,
            cfg,
            state: if invite {
                ServerState::Proceeding
            } else {
                ServerState::Trying
            },
            last: None,
            retransmit: None,
            deadline: None,
        }
    }

    /// The request.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// True when the transaction is over.
    pub fn is_terminated(&self) -> bool {
        self.state == ServerState::Terminated
    }

    /// The peer sent the request again (or, for INVITE, the ACK of our non-2xx final).
    pub fn handle_retransmission(&mut self, req: &Request, now: Instant) -> Vec<TxEvent> {
        if req.method == "ACK" {
            if self.state == ServerState::Completed {
                self.state = ServerState::Confirmed;
                self.retransmit = None;
                let i = if self.reliable {
                    Duration::ZERO
                } else {
                    self.cfg.t4
                };
                self.deadline = Some(now + i); // timer I
                return vec![TxEvent::AckReceived];
            }
            return Vec::new();
        }
        match (&self.last, self.state) {
            (Some(b), ServerState::Proceeding | ServerState::Completed | ServerState::Trying) => {
                vec![TxEvent::Retransmit(b.clone())]
            }
            _ => Vec::new(),
        }
    }

    /// Send a response; returns the bytes to send.
    pub fn respond(&mut self, resp: Response, now: Instant) -> Vec<TxEvent> {
        if matches!(
            self.state,
            ServerState::Accepted
                | ServerState::Completed
                | ServerState::Confirmed
                | ServerState::Terminated
        ) {
            return Vec::new();
        }
        let status = resp.status;
        let bytes = Message::Response(resp).to_bytes();
        self.last = Some(bytes.clone());
        if status < 200 {
            self.state = ServerState::Proceeding;
        } else if self.invite && status < 300 {
            // RFC 6026: Accepted; the UAS core retransmits the 2xx, the transaction lingers
            // to absorb INVITE retransmissions (timer L).
            self.state = ServerState::Accepted;
            self.deadline = Some(now + self.cfg.t1 * 64);
        } else if self.invite {
            self.state = ServerState::Completed;
            if !self.reliable {
                self.retransmit = Some((now + self.cfg.t1, self.cfg.t1)); // timer G
            }
            self.deadline = Some(now + self.cfg.t1 * 64); // timer H
        } else {
            self.state = ServerState::Completed;
            let j = if self.reliable {
                Duration::ZERO
            } else {
                self.cfg.t1 * 64
            };
            self.deadline = Some(now + j); // timer J
            if j.is_zero() {
                self.state = ServerState::Terminated;
            }
        }
        vec![TxEvent::Retransmit(bytes)]
    }

    /// Fire the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<TxEvent> {
        let mut out = Vec::new();
        if self.deadline.is_some_and(|d| now >= d) {
            if self.state == ServerState::Completed && self.invite {
                // Timer H: the ACK never came.
                out.push(TxEvent::Timeout);
            }
            self.state = ServerState::Terminated;
            self.deadline = None;
            self.retransmit = None;
            return out;
        }
        if let Some((at, interval)) = self.retransmit {
            if now >= at {
                if let Some(b) = &self.last {
                    out.push(TxEvent::Retransmit(b.clone()));
                }
                let next = (interval * 2).min(self.cfg.t2);
                self.retransmit = Some((now + next, next));
            }
        }
        out
    }

    /// The earliest time a timer fires.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.retransmit.map(|(t, _)| t), self.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
