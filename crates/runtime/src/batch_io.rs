//! Batched UDP I/O: `recvmmsg(2)` and `sendmmsg(2)`, so the media relay pays one system call
//! per batch of datagrams instead of one per datagram.
//!
//! Written on `libc` directly: the datagrams of one batch go to many different destinations
//! (one per call stream), which GSO-based batching (as in quinn-udp) does not cover, and the
//! send side must gather a 4-byte prefix and a payload slice without copying. All `unsafe` of
//! the relay lives here; each block says what keeps it sound.

use std::io;
use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

/// Datagrams per system call.
pub const BATCH: usize = 32;
/// Receive buffer per datagram: larger than any datagram the relay accepts, so a larger one
/// shows up as oversize (and is dropped) instead of being silently cut to fit.
pub const BUF: usize = 2048;

pub(crate) fn to_socket_addr(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(s.ss_family) {
        libc::AF_INET => {
            // SAFETY: ss_family says the storage holds a sockaddr_in, which it is large
            // enough and suitably aligned for.
            let a = unsafe { &*(s as *const libc::sockaddr_storage as *const libc::sockaddr_in) };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let a = unsafe { &*(s as *const libc::sockaddr_storage as *const libc::sockaddr_in6) };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(a.sin6_addr.s6_addr),
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

fn from_socket_addr(addr: &SocketAddr, out: &mut libc::sockaddr_storage) -> libc::socklen_t {
    match addr {
        SocketAddr::V4(v4) => {
            // SAFETY: sockaddr_storage is large enough and aligned for sockaddr_in.
            let a = unsafe { &mut *(out as *mut libc::sockaddr_storage as *mut libc::sockaddr_in) };
            a.sin_family = libc::AF_INET as libc::sa_family_t;
            a.sin_port = v4.port().to_be();
            a.sin_addr = libc::in_addr {
                s_addr: u32::from(*v4.ip()).to_be(),
            };
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t
        }
        SocketAddr::V6(v6) => {
            // SAFETY: as above, for sockaddr_in6.
            let a =
                unsafe { &mut *(out as *mut libc::sockaddr_storage as *mut libc::sockaddr_in6) };
            a.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            a.sin6_port = v6.port().to_be();
            a.sin6_flowinfo = v6.flowinfo();
            a.sin6_addr = libc::in6_addr {
                s6_addr: v6.ip().octets(),
            };
            a.sin6_scope_id = v6.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t
        }
    }
}

/// Buffers for one `recvmmsg` call.
pub struct RecvBatch {
    bufs: Vec<[u8; BUF]>,
    addrs: Vec<libc::sockaddr_storage>,
    lens: Vec<usize>,
    count: usize,
}

impl Default for RecvBatch {
    fn default() -> Self {
        // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
        let zero: libc::sockaddr_storage = unsafe { MaybeUninit::zeroed().assume_init() };
        RecvBatch {
            bufs: vec![[0u8; BUF]; BATCH],
            addrs: vec![zero; BATCH],
            lens: vec![0; BATCH],
            count: 0,
        }
    }
}

impl RecvBatch {
    /// Receives up to [`BATCH`] datagrams without blocking; `Ok(0)` never happens (would-block
    /// is an error of kind `WouldBlock`).
    pub fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        let mut iovs: [libc::iovec; BATCH] = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; BATCH];
        // SAFETY: mmsghdr is plain old data; all-zero is valid.
        let mut hdrs: [libc::mmsghdr; BATCH] = unsafe { MaybeUninit::zeroed().assume_init() };
        for i in 0..BATCH {
            iovs[i].iov_base = self.bufs[i].as_mut_ptr().cast();
            iovs[i].iov_len = BUF;
            hdrs[i].msg_hdr.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
            hdrs[i].msg_hdr.msg_namelen =
                std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            hdrs[i].msg_hdr.msg_iov = &mut iovs[i];
            hdrs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: every header points at a live buffer, address storage and iovec owned by
        // this function or `self` for the duration of the call; lengths match the buffers.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                hdrs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            self.count = 0;
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        for (i, h) in hdrs.iter().enumerate().take(n) {
            // A truncated datagram reports its cut length; flag it as oversize by its full
            // buffer length plus one.
            let truncated = h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
            self.lens[i] = if truncated {
                BUF + 1
            } else {
                h.msg_len as usize
            };
        }
        self.count = n;
        Ok(n)
    }

    /// Datagram `i` of the last call: source and bytes. A truncated datagram comes back as
    /// `BUF + 1` bytes long via [`RecvBatch::len`] and a `BUF`-byte slice here.
    pub fn get(&self, i: usize) -> Option<(SocketAddr, &[u8])> {
        if i >= self.count {
            return None;
        }
        let from = to_socket_addr(&self.addrs[i])?;
        Some((from, &self.bufs[i][..self.lens[i].min(BUF)]))
    }

    /// Whether datagram `i` was larger than the buffer.
    pub fn truncated(&self, i: usize) -> bool {
        i < self.count && self.lens[i] > BUF
    }
}

/// One datagram to send: optional 4-byte prefix, then `data`.
pub struct Outgoing<'a> {
    /// Destination.
    pub to: SocketAddr,
    /// Prefix bytes (big-endian mux identifier), if any.
    pub prefix: Option<[u8; 4]>,
    /// Payload.
    pub data: &'a [u8],
}

/// Sends `items` from `fd` with as few `sendmmsg` calls as possible. Returns how many were
/// handed to the kernel; a datagram the kernel refuses (e.g. unreachable destination) is
/// skipped, not retried.
pub fn send_batch(fd: RawFd, items: &[Outgoing<'_>]) -> usize {
    let mut sent = 0;
    let mut start = 0;
    while start < items.len() {
        let chunk = &items[start..items.len().min(start + BATCH)];
        // SAFETY: plain old data, all-zero valid.
        let mut addrs: [libc::sockaddr_storage; BATCH] =
            unsafe { MaybeUninit::zeroed().assume_init() };
        let mut iovs: [[libc::iovec; 2]; BATCH] = [[libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; 2]; BATCH];
        let mut prefixes = [[0u8; 4]; BATCH];
        // SAFETY: plain old data, all-zero valid.
        let mut hdrs: [libc::mmsghdr; BATCH] = unsafe { MaybeUninit::zeroed().assume_init() };
        for (i, item) in chunk.iter().enumerate() {
            let len = from_socket_addr(&item.to, &mut addrs[i]);
            let mut n = 0;
            if let Some(p) = item.prefix {
                prefixes[i] = p;
                iovs[i][0] = libc::iovec {
                    iov_base: prefixes[i].as_mut_ptr().cast(),
                    iov_len: 4,
                };
                n = 1;
            }
            iovs[i][n] = libc::iovec {
                iov_base: item.data.as_ptr() as *mut libc::c_void,
                iov_len: item.data.len(),
            };
            hdrs[i].msg_hdr.msg_name = (&mut addrs[i] as *mut libc::sockaddr_storage).cast();
            hdrs[i].msg_hdr.msg_namelen = len;
            hdrs[i].msg_hdr.msg_iov = iovs[i].as_mut_ptr();
            hdrs[i].msg_hdr.msg_iovlen = n + 1;
        }
        let mut done = 0;
        while done < chunk.len() {
            // SAFETY: headers, addresses, iovecs and prefixes live on this stack frame and the
            // payload slices outlive the call; the kernel only reads through the iovecs.
            let r = unsafe {
                libc::sendmmsg(
                    fd,
                    hdrs[done..].as_mut_ptr(),
                    (chunk.len() - done) as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            };
            if r <= 0 {
                // The first remaining datagram failed (full buffer, unreachable, EPERM from a
                // firewall): skip it and go on with the rest.
                done += 1;
            } else {
                done += r as usize;
                sent += r as usize;
            }
        }
        start += chunk.len();
    }
    sent
}

/// Sends datagrams that leave from *different* sockets with one system call per batch, through
/// io_uring (one `IORING_OP_SENDMSG` per datagram). `sendmmsg` batches only within one socket,
/// and relayed media toward endpoints leaves from a different socket per stream, so without
/// this every such datagram costs a system call of its own.
///
/// The message headers live in this struct and are reused; a batch is complete (every
/// completion reaped) before the next one overwrites them. If the ring ever fails in a way that
/// could leave operations in flight, it is abandoned for good (its buffers are never touched
/// again) and the caller falls back to `sendmmsg`.
pub struct UringSender {
    ring: io_uring::IoUring,
    addrs: Box<[libc::sockaddr_storage; BATCH]>,
    iovs: Box<[[libc::iovec; 2]; BATCH]>,
    prefixes: Box<[[u8; 4]; BATCH]>,
    hdrs: Box<[libc::msghdr; BATCH]>,
    broken: bool,
}

// SAFETY: the raw pointers inside the stored headers point only into this struct's own boxes
// (or at payloads borrowed for the duration of `send`); the struct is used by one thread at a
// time.
unsafe impl Send for UringSender {}

impl UringSender {
    /// A ring for [`BATCH`] sends at a time; `None` where io_uring is unavailable (old kernel,
    /// disabled by `kernel.io_uring_disabled`, seccomp).
    pub fn new() -> Option<UringSender> {
        let ring = io_uring::IoUring::new(BATCH as u32 * 2).ok()?;
        // SAFETY (both): plain old data, all-zero valid.
        let addrs: [libc::sockaddr_storage; BATCH] = unsafe { MaybeUninit::zeroed().assume_init() };
        let hdrs: [libc::msghdr; BATCH] = unsafe { MaybeUninit::zeroed().assume_init() };
        Some(UringSender {
            ring,
            addrs: Box::new(addrs),
            iovs: Box::new(
                [[libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0,
                }; 2]; BATCH],
            ),
            prefixes: Box::new([[0u8; 4]; BATCH]),
            hdrs: Box::new(hdrs),
            broken: false,
        })
    }

    /// False once the ring has been abandoned.
    pub fn usable(&self) -> bool {
        !self.broken
    }

    /// Sends each `(fd, datagram)`; returns how many the kernel accepted. A datagram the
    /// kernel refuses is skipped, as with [`send_batch`].
    pub fn send(&mut self, items: &[(RawFd, Outgoing<'_>)]) -> usize {
        let mut sent = 0;
        for chunk in items.chunks(BATCH) {
            if self.broken {
                return sent;
            }
            for (i, (fd, item)) in chunk.iter().enumerate() {
                let len = from_socket_addr(&item.to, &mut self.addrs[i]);
                let mut n = 0;
                if let Some(p) = item.prefix {
                    self.prefixes[i] = p;
                    self.iovs[i][0] = libc::iovec {
                        iov_base: self.prefixes[i].as_mut_ptr().cast(),
                        iov_len: 4,
                    };
                    n = 1;
                }
                self.iovs[i][n] = libc::iovec {
                    iov_base: item.data.as_ptr() as *mut libc::c_void,
                    iov_len: item.data.len(),
                };
                let h = &mut self.hdrs[i];
                h.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
                h.msg_namelen = len;
                h.msg_iov = self.iovs[i].as_mut_ptr();
                h.msg_iovlen = n + 1;
                h.msg_control = std::ptr::null_mut();
                h.msg_controllen = 0;
                h.msg_flags = 0;
                let sqe = io_uring::opcode::SendMsg::new(io_uring::types::Fd(*fd), h)
                    .flags(libc::MSG_DONTWAIT as u32)
                    .build()
                    .user_data(i as u64);
                // SAFETY: the header, its address, iovecs and prefix live in `self` and the
                // payload in `items`, all until every completion of this chunk is reaped below.
                if unsafe { self.ring.submission().push(&sqe) }.is_err() {
                    // Cannot happen with a ring twice the batch size and an empty queue; stay
                    // safe anyway.
                    self.broken = true;
                    return sent;
                }
            }
            let mut reaped = 0;
            while reaped < chunk.len() {
                match self.ring.submit_and_wait(chunk.len() - reaped) {
                    Ok(_) => {}
                    Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                    Err(_) => {
                        // Operations may still be in flight: never reuse these buffers.
                        self.broken = true;
                        return sent;
                    }
                }
                for cqe in self.ring.completion() {
                    reaped += 1;
                    if cqe.result() >= 0 {
                        sent += 1;
                    }
                }
            }
        }
        sent
    }
}

/// A non-blocking UDP socket bound to `addr`, with receive (and, if given, send) buffers of
/// that many bytes where the kernel allows (it caps them at net.core.rmem_max/wmem_max; a
/// smaller buffer only costs headroom against bursts). Shared by the media and TURN relays.
pub fn bind_udp(
    addr: SocketAddr,
    recv_buffer: usize,
    send_buffer: Option<usize>,
) -> io::Result<std::net::UdpSocket> {
    let s = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    let _ = s.set_recv_buffer_size(recv_buffer);
    if let Some(n) = send_buffer {
        let _ = s.set_send_buffer_size(n);
    }
    s.bind(&addr.into())?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}
