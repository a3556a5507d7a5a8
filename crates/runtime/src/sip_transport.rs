//! SIP over UDP and TCP toward endpoints and proxies: exp-e's outside listeners, exp-c's LAN
//! listeners, and outbound connections to static targets.
//!
//! It only moves messages: datagrams and framed stream messages are parsed and handed to the
//! call layer with the [`Peer`] they came from; messages from the call layer go out on the
//! socket or connection for their peer (a TCP connection is opened when none exists, and kept
//! for the peer's later messages and the answers to them). Malformed input is dropped with a
//! log line and a counter; a stream that breaks framing is closed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use exp_sip::b2bua::{NetTransport, Peer};
use exp_sip::framer::{Frame, Limits as FrameLimits, Role as FrameRole, StreamFramer};
use exp_sip::message::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::{debug, warn};

/// Largest UDP datagram we read; anything longer is truncated by the kernel and dropped.
const MAX_DATAGRAM: usize = 65_535;

/// Counters of the SIP listeners.
#[derive(Default)]
pub struct TransportCounters {
    /// Messages received.
    pub received: AtomicU64,
    /// Messages sent.
    pub sent: AtomicU64,
    /// Datagrams or streams dropped for malformed SIP.
    pub malformed: AtomicU64,
    /// Sends that failed.
    pub send_errors: AtomicU64,
}

/// What the transport hands the call layer: straight into the call task's inbox (one task
/// hop from socket to B2BUA).
pub type Inbound = crate::calls::CallInput;

/// The SIP sockets of one side (outside on exp-e, LAN on exp-c).
pub struct SipTransport {
    udp: Option<Arc<UdpSocket>>,
    tcp: Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>,
    inbound: mpsc::Sender<Inbound>,
    limits: FrameLimits,
    /// Counters.
    pub counters: TransportCounters,
    conns: Mutex<JoinSet<()>>,
    /// Opens TLS connections to SIP targets (present when a routing rule uses TLS).
    connector: Option<tokio_rustls::TlsConnector>,
    /// Host names TLS targets were given by (target_names.rs): their certificates are checked
    /// for the name, not for the address it resolved to.
    tls_names: Mutex<HashMap<SocketAddr, String>>,
}

impl SipTransport {
    /// Bind the UDP socket and TCP listener (either may be absent); returns the transport and
    /// the accept/receive loops to spawn.
    pub async fn bind(
        udp: Option<SocketAddr>,
        tcp: Option<SocketAddr>,
        tls: Option<(SocketAddr, tokio_rustls::TlsAcceptor)>,
        connector: Option<tokio_rustls::TlsConnector>,
        limits: FrameLimits,
        inbound: mpsc::Sender<Inbound>,
    ) -> anyhow::Result<(
        Arc<SipTransport>,
        Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>>,
    )> {
        let udp_sock = match udp {
            Some(a) => {
                Some(Arc::new(UdpSocket::bind(a).await.map_err(|e| {
                    anyhow::anyhow!("SIP cannot listen on udp {a}: {e}")
                })?))
            }
            None => None,
        };
        let listener = match tcp {
            Some(a) => Some(
                TcpListener::bind(a)
                    .await
                    .map_err(|e| anyhow::anyhow!("SIP cannot listen on tcp {a}: {e}"))?,
            ),
            None => None,
        };
        let tls_listener = match tls {
            Some((a, acceptor)) => Some((
                TcpListener::bind(a)
                    .await
                    .map_err(|e| anyhow::anyhow!("SIP cannot listen on tls {a}: {e}"))?,
                acceptor,
            )),
            None => None,
        };
        let t = Arc::new(SipTransport {
            udp: udp_sock.clone(),
            tcp: Mutex::new(HashMap::new()),
            inbound,
            limits,
            counters: TransportCounters::default(),
            conns: Mutex::new(JoinSet::new()),
            connector,
            tls_names: Mutex::new(HashMap::new()),
        });
        let mut loops: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>> =
            Vec::new();
        if let Some(sock) = udp_sock {
            loops.push(Box::pin(t.clone().udp_loop(sock)));
        }
        if let Some(l) = listener {
            loops.push(Box::pin(t.clone().accept_loop(l)));
        }
        if let Some((l, acceptor)) = tls_listener {
            loops.push(Box::pin(t.clone().accept_tls_loop(l, acceptor)));
        }
        Ok((t, loops))
    }

    /// Local address of the UDP socket.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp.as_ref().and_then(|s| s.local_addr().ok())
    }

    async fn udp_loop(self: Arc<Self>, sock: Arc<UdpSocket>) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let (n, src) = match sock.recv_from(&mut buf).await {
                Ok(x) => x,
                Err(e) => {
                    debug!(error = %e, "SIP udp receive error");
                    continue;
                }
            };
            let data = &buf[..n];
            // RFC 5626 §4.4.2 keep-alives (CRLF) and stray whitespace: nothing to do.
            if data.iter().all(|b| matches!(b, b'\r' | b'\n' | b' ')) {
                continue;
            }
            match Message::parse(data) {
                Ok(m) => {
                    self.counters.received.fetch_add(1, Ordering::Relaxed);
                    let peer = Peer::Net {
                        transport: NetTransport::Udp,
                        addr: src,
                    };
                    if self.inbound.send(Inbound::Message(peer, m)).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    self.counters.malformed.fetch_add(1, Ordering::Relaxed);
                    warn!(peer = %src, error = %e, "malformed SIP datagram dropped");
                }
            }
        }
    }

    async fn accept_loop(self: Arc<Self>, listener: TcpListener) {
        loop {
            match listener.accept().await {
                Ok((s, peer)) => {
                    let _ = s.set_nodelay(true);
                    self.adopt(s, peer, FrameRole::Server, NetTransport::Tcp)
                }
                Err(e) => {
                    warn!(error = %e, "SIP tcp accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// Run a TCP connection: register its sender, read frames to the call layer.
    /// Accepts SIP over TLS (RFC 3261 §26.2): the TLS handshake runs in the connection's own
    /// task, bounded by a timeout, so a slow or silent client holds up nobody else.
    async fn accept_tls_loop(
        self: Arc<Self>,
        listener: TcpListener,
        acceptor: tokio_rustls::TlsAcceptor,
    ) {
        loop {
            match listener.accept().await {
                Ok((s, peer)) => {
                    let _ = s.set_nodelay(true);
                    let me = self.clone();
                    let acceptor = acceptor.clone();
                    let handshake = async move {
                        let timeout = std::time::Duration::from_secs(10);
                        match tokio::time::timeout(timeout, acceptor.accept(s)).await {
                            Ok(Ok(tls)) => {
                                me.adopt(tls, peer, FrameRole::Server, NetTransport::Tls)
                            }
                            Ok(Err(e)) => {
                                me.counters.malformed.fetch_add(1, Ordering::Relaxed);
                                warn!(%peer, error = %e, "SIP TLS handshake failed");
                            }
                            Err(_) => warn!(%peer, "SIP TLS handshake timed out"),
                        }
                    };
                    if let Ok(mut set) = self.conns.lock() {
                        set.spawn(handshake);
                    }
                }
                Err(e) => {
                    warn!(error = %e, "SIP tls accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn adopt<S>(
        self: &Arc<Self>,
        stream: S,
        peer: SocketAddr,
        role: FrameRole,
        transport: NetTransport,
    ) where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(256);
        if let Ok(mut m) = self.tcp.lock() {
            m.insert(peer, tx);
        }
        let me = self.clone();
        let task = async move {
            let (mut rd, mut wr) = tokio::io::split(stream);
            let writer = async move {
                while let Some(bytes) = rx.recv().await {
                    if wr.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
            };
            let reader = {
                let me = me.clone();
                async move {
                    let mut framer = StreamFramer::new(role, me.limits);
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = match rd.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        framer.push(&buf[..n]);
                        loop {
                            match framer.next_frame() {
                                Ok(Some(Frame::Message(m))) => {
                                    me.counters.received.fetch_add(1, Ordering::Relaxed);
                                    let p = Peer::Net {
                                        transport,
                                        addr: peer,
                                    };
                                    if me.inbound.send(Inbound::Message(p, m)).await.is_err() {
                                        return;
                                    }
                                }
                                Ok(Some(Frame::Ping)) => {
                                    if let Some(tx) =
                                        me.tcp.lock().ok().and_then(|m| m.get(&peer).cloned())
                                    {
                                        let _ = tx.try_send(b"\r\n".to_vec());
                                    }
                                }
                                Ok(Some(Frame::Pong)) => {}
                                Ok(None) => break,
                                Err(e) => {
                                    me.counters.malformed.fetch_add(1, Ordering::Relaxed);
                                    warn!(%peer, error = %e, "closing SIP tcp connection: bad input");
                                    return;
                                }
                            }
                        }
                    }
                }
            };
            tokio::select! {
                _ = writer => {}
                _ = reader => {}
            }
            if let Ok(mut m) = me.tcp.lock() {
                m.remove(&peer);
            }
        };
        if let Ok(mut set) = self.conns.lock() {
            set.spawn(task);
        }
    }

    /// Makes TLS connections to `addr` check the peer's certificate for `host`.
    pub fn set_tls_name(&self, addr: SocketAddr, host: &str) {
        if let Ok(mut m) = self.tls_names.lock() {
            m.insert(addr, host.to_string());
        }
    }

    /// Opens a TLS connection to `addr` and adopts it; `None` (logged) on failure.
    async fn connect_tls(self: &Arc<Self>, addr: SocketAddr) -> Option<mpsc::Sender<Vec<u8>>> {
        let Some(connector) = &self.connector else {
            warn!(peer = %addr, "no TLS connection from this SIP peer and no TLS routing rule: message dropped");
            return None;
        };
        let tcp = match TcpStream::connect(addr).await {
            Ok(s) => s,
            Err(e) => {
                warn!(peer = %addr, error = %e, "cannot connect to SIP peer (TLS)");
                return None;
            }
        };
        let _ = tcp.set_nodelay(true);
        let host = self
            .tls_names
            .lock()
            .ok()
            .and_then(|m| m.get(&addr).cloned());
        let name = match host.map(rustls::pki_types::ServerName::try_from) {
            Some(Ok(n)) => n,
            _ => rustls::pki_types::ServerName::IpAddress(addr.ip().into()),
        };
        match connector.connect(name, tcp).await {
            Ok(s) => {
                self.adopt(s, addr, FrameRole::Client, NetTransport::Tls);
                self.tcp.lock().ok().and_then(|m| m.get(&addr).cloned())
            }
            Err(e) => {
                warn!(peer = %addr, error = %e, "TLS handshake with SIP peer failed: message dropped");
                None
            }
        }
    }

    /// Send `bytes` to a network peer.
    pub async fn send(self: &Arc<Self>, transport: NetTransport, addr: SocketAddr, bytes: Vec<u8>) {
        let ok = match transport {
            NetTransport::Udp => match &self.udp {
                Some(s) => s.send_to(&bytes, addr).await.is_ok(),
                None => false,
            },
            NetTransport::Tcp | NetTransport::Tls => {
                let existing = self.tcp.lock().ok().and_then(|m| m.get(&addr).cloned());
                let tx = match existing {
                    Some(tx) => Some(tx),
                    // A TLS target: connect and verify its certificate (against the IP
                    // address: targets are addresses).
                    None if transport == NetTransport::Tls => self.connect_tls(addr).await,
                    None => match TcpStream::connect(addr).await {
                        Ok(s) => {
                            let _ = s.set_nodelay(true);
                            self.adopt(s, addr, FrameRole::Client, NetTransport::Tcp);
                            self.tcp.lock().ok().and_then(|m| m.get(&addr).cloned())
                        }
                        Err(e) => {
                            warn!(peer = %addr, error = %e, "cannot connect to SIP peer");
                            None
                        }
                    },
                };
                match tx {
                    Some(tx) => tx.send(bytes).await.is_ok(),
                    None => false,
                }
            }
        };
        if ok {
            self.counters.sent.fetch_add(1, Ordering::Relaxed);
        } else {
            self.counters.send_errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}
