//! Datagram reception through io_uring: one multishot RECVMSG per UDP socket, all drawing
//! from one ring of provided buffers, all completing on one queue.
//!
//! Why: the TURN relay has a socket per allocation, and at media rates each wakeup finds a
//! packet or two on each of many sockets. With readiness polling that is one `recvmmsg` per
//! socket per wakeup, so about one system call per relayed packet on the peer side. Here the
//! kernel puts every socket's datagrams on the completion queue by itself, and one
//! `io_uring_enter` per loop turn waits for the next ones; the loop reads them straight out of
//! the shared buffers and hands each buffer back. The ring is set up with
//! `DEFER_TASKRUN`/`SINGLE_ISSUER`, so the kernel copies queued datagrams only when the owning
//! thread asks for completions: a burst is copied in one go, without interrupting the thread.
//!
//! Anything else the owner waits for (its mio poll, for TCP and the waker) is added as a
//! multishot poll on that poll's descriptor, so the ring is the loop's one place to wait.
//!
//! Needs Linux 6.1 (multishot recvmsg, provided buffer rings, deferred task running);
//! [`RecvRing::new`] checks that the kernel really delivers a datagram this way and returns
//! `None` otherwise, and the owner keeps to readiness polling.

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use io_uring::types::{BufRingEntry, Fd, RecvMsgOut, SubmitArgs, Timespec};
use io_uring::{cqueue, opcode, squeue, IoUring};

use crate::batch_io::to_socket_addr;

/// Provided buffers (a power of two, at most 32768).
const BUFFERS: u16 = 4096;
/// Bytes per buffer: the kernel's 16-byte header, the source address, then the datagram.
const BUFFER_SIZE: usize = 2048;
/// Buffer group id of the ring.
const GROUP: u16 = 0;
/// Submission queue entries; arming more sockets than this at once submits in between.
const SQ_ENTRIES: u32 = 1024;
/// Completion queue entries (the kernel keeps overflowing completions, IORING_FEAT_NODROP).
const CQ_ENTRIES: u32 = 16384;
/// User data of cancel requests, whose completions say nothing the owner needs.
const CANCEL: u64 = u64::MAX;

/// One completion, as the owner sees it.
pub enum Completion<'a> {
    /// A datagram received on the socket armed with `token`.
    Datagram {
        token: u64,
        from: SocketAddr,
        data: &'a [u8],
    },
    /// A datagram longer than a buffer, cut short (drop it).
    Truncated { token: u64 },
    /// The descriptor polled with `token` is ready.
    Ready { token: u64 },
    /// The request with `token` ended (cancelled, out of buffers, error): arm it again if its
    /// socket is still wanted.
    Ended { token: u64, error: i32 },
}

/// A page-aligned, zeroed block of anonymous memory the kernel reads or writes through its
/// address. Mapped rather than allocated so that pages become resident only when a datagram
/// first lands in them (an allocator would zero, and so touch, all of it).
struct Block {
    ptr: *mut u8,
    size: usize,
}

impl Block {
    fn new(size: usize) -> Option<Block> {
        // SAFETY: an anonymous private mapping of `size` bytes, no file, no fixed address.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        (ptr != libc::MAP_FAILED).then_some(Block {
            ptr: ptr.cast(),
            size,
        })
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: mapped in `Block::new` with this size.
        unsafe {
            libc::munmap(self.ptr.cast(), self.size);
        }
    }
}

/// The ring, its provided buffers and the completions of one reap.
pub struct RecvRing {
    ring: IoUring,
    /// BUFFERS × BUFFER_SIZE bytes the kernel receives into.
    buffers: Block,
    /// BUFFERS entries shared with the kernel: which buffers it may take.
    entries: Block,
    /// Our copy of the buffer ring's tail (the kernel's copy is in entry 0).
    tail: u16,
    /// The header every multishot receive is armed with; only its name and control lengths
    /// count (the kernel lays out each buffer after them).
    msghdr: Box<libc::msghdr>,
    /// Completions taken off the queue, then handled (user data, result, flags).
    taken: Vec<(u64, i32, u32)>,
    /// Receives and polls armed and not yet ended.
    armed: usize,
}

// SAFETY: the raw blocks are owned by the ring and only touched through `&mut self`.
unsafe impl Send for RecvRing {}

impl RecvRing {
    /// A ring, or `None` where the kernel cannot receive this way (checked with a real
    /// datagram on loopback).
    pub fn new() -> Option<RecvRing> {
        let ring = IoUring::builder()
            .setup_cqsize(CQ_ENTRIES)
            .setup_single_issuer()
            .setup_defer_taskrun()
            .build(SQ_ENTRIES)
            .ok()?;
        let buffers = Block::new(BUFFERS as usize * BUFFER_SIZE)?;
        let entries = Block::new(BUFFERS as usize * std::mem::size_of::<BufRingEntry>())?;
        // SAFETY: `entries` stays allocated until the group is unregistered (Drop).
        unsafe {
            ring.submitter()
                .register_buf_ring_with_flags(entries.ptr as u64, BUFFERS, GROUP, 0)
                .ok()?;
        }
        // SAFETY: msghdr is plain old data, all-zero valid.
        let mut msghdr: Box<libc::msghdr> = Box::new(unsafe { std::mem::zeroed() });
        msghdr.msg_namelen = std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        let mut r = RecvRing {
            ring,
            buffers,
            entries,
            tail: 0,
            msghdr,
            taken: Vec::with_capacity(1024),
            armed: 0,
        };
        for bid in 0..BUFFERS {
            r.give_back(bid);
        }
        r.publish_tail();
        r.self_test().then_some(r)
    }

    /// Receives one datagram on a loopback socket through the ring.
    fn self_test(&mut self) -> bool {
        let Ok(rx) = std::net::UdpSocket::bind("127.0.0.1:0") else {
            return false;
        };
        let Ok(tx) = std::net::UdpSocket::bind("127.0.0.1:0") else {
            return false;
        };
        let Ok(to) = rx.local_addr() else {
            return false;
        };
        use std::os::fd::AsRawFd;
        if self.arm(rx.as_raw_fd(), 1).is_err() || tx.send_to(b"exp ring test", to).is_err() {
            return false;
        }
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut got = false;
        let mut ended = false;
        while !got && !ended && Instant::now() < deadline {
            if self.wait(Some(Duration::from_millis(50))).is_err() {
                return false;
            }
            self.reap(|c| match c {
                Completion::Datagram { data, .. } => got |= data == b"exp ring test",
                Completion::Ended { .. } => ended = true,
                _ => {}
            });
        }
        // Stop the test socket's receive before it closes.
        let _ = self.cancel(1);
        let deadline = Instant::now() + Duration::from_millis(200);
        while got && !ended && Instant::now() < deadline {
            if self.wait(Some(Duration::from_millis(20))).is_err() {
                return false;
            }
            self.reap(|c| ended |= matches!(c, Completion::Ended { .. }));
        }
        got && ended
    }

    fn push(&mut self, sqe: squeue::Entry) -> io::Result<()> {
        loop {
            // SAFETY: every pointer an entry carries (the msghdr, in `self`) outlives it.
            if unsafe { self.ring.submission().push(&sqe) }.is_ok() {
                return Ok(());
            }
            self.ring.submit()?;
        }
    }

    /// Starts receiving on `fd`; its datagrams complete with `token` until it is cancelled or
    /// ends. `fd` must stay open until then (the kernel holds its own reference meanwhile).
    pub fn arm(&mut self, fd: RawFd, token: u64) -> io::Result<()> {
        let sqe = opcode::RecvMsgMulti::new(Fd(fd), &*self.msghdr, GROUP)
            .build()
            .user_data(token);
        self.push(sqe)?;
        self.armed += 1;
        Ok(())
    }

    /// Completes with [`Completion::Ready`] each time `fd` becomes readable.
    pub fn poll(&mut self, fd: RawFd, token: u64) -> io::Result<()> {
        let sqe = opcode::PollAdd::new(Fd(fd), libc::POLLIN as u32)
            .multi(true)
            .build()
            .user_data(token);
        self.push(sqe)?;
        self.armed += 1;
        Ok(())
    }

    /// Stops the request armed with `token` (it ends with [`Completion::Ended`]).
    pub fn cancel(&mut self, token: u64) -> io::Result<()> {
        let sqe = opcode::AsyncCancel::new(token).build().user_data(CANCEL);
        self.push(sqe)
    }

    /// Submits what is queued and waits until a completion is there or `timeout` passed.
    pub fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let r = match timeout {
            Some(t) => {
                let ts = Timespec::new().sec(t.as_secs()).nsec(t.subsec_nanos());
                let args = SubmitArgs::new().timespec(&ts);
                self.ring.submitter().submit_with_args(1, &args)
            }
            None => self.ring.submitter().submit_and_wait(1),
        };
        match r {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ETIME) | Some(libc::EINTR) | Some(libc::EBUSY)
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Hands every completion there is to `f`, then gives the buffers back to the kernel.
    pub fn reap(&mut self, mut f: impl FnMut(Completion<'_>)) {
        let mut taken = std::mem::take(&mut self.taken);
        taken.clear();
        taken.extend(
            self.ring
                .completion()
                .map(|c| (c.user_data(), c.result(), c.flags())),
        );
        for &(token, result, flags) in &taken {
            if token == CANCEL {
                continue;
            }
            if let Some(bid) = cqueue::buffer_select(flags) {
                if result >= 0 && bid < BUFFERS {
                    self.deliver(token, bid, result as usize, &mut f);
                }
                self.give_back(bid);
            } else if result >= 0 {
                // A poll (its last shot, too, when `more` is not set).
                f(Completion::Ready { token });
            }
            if !cqueue::more(flags) {
                self.armed = self.armed.saturating_sub(1);
                f(Completion::Ended {
                    token,
                    error: if result < 0 { -result } else { 0 },
                });
            }
        }
        self.publish_tail();
        self.taken = taken;
    }

    /// Parses buffer `bid` (`len` bytes were written) and hands its datagram to `f`.
    fn deliver(&self, token: u64, bid: u16, len: usize, f: &mut impl FnMut(Completion<'_>)) {
        let len = len.min(BUFFER_SIZE);
        // SAFETY: buffer `bid` lies inside `buffers`; the kernel wrote `len` bytes of it and
        // does not touch it again until it is given back (after `f` returns).
        let buf = unsafe {
            std::slice::from_raw_parts(self.buffers.ptr.add(bid as usize * BUFFER_SIZE), len)
        };
        let Ok(out) = RecvMsgOut::parse(buf, &self.msghdr) else {
            return;
        };
        if out.is_payload_truncated() {
            f(Completion::Truncated { token });
            return;
        }
        let name = out.name_data();
        // SAFETY: sockaddr_storage is plain old data, all-zero valid.
        let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let n = name
            .len()
            .min(std::mem::size_of::<libc::sockaddr_storage>());
        // SAFETY: both regions are at least `n` bytes and do not overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(name.as_ptr(), &mut ss as *mut _ as *mut u8, n);
        }
        if let Some(from) = to_socket_addr(&ss) {
            f(Completion::Datagram {
                token,
                from,
                data: out.payload_data(),
            });
        }
    }

    /// Puts buffer `bid` back at the ring's tail (published by [`Self::publish_tail`]).
    fn give_back(&mut self, bid: u16) {
        let index = (self.tail & (BUFFERS - 1)) as usize;
        // SAFETY: index < BUFFERS, inside `entries`; the kernel only reads entries between its
        // head and the published tail, and this one is past the tail until published.
        unsafe {
            let e = &mut *(self.entries.ptr as *mut BufRingEntry).add(index);
            e.set_addr(self.buffers.ptr.add(bid as usize * BUFFER_SIZE) as u64);
            e.set_len(BUFFER_SIZE as u32);
            e.set_bid(bid);
        }
        self.tail = self.tail.wrapping_add(1);
    }

    /// Lets the kernel see the buffers given back.
    fn publish_tail(&mut self) {
        // SAFETY: the tail field lives in entry 0 of the registered ring; the release store
        // orders the entries written before it.
        unsafe {
            let tail = BufRingEntry::tail(self.entries.ptr as *const BufRingEntry) as *mut u16;
            std::sync::atomic::AtomicU16::from_ptr(tail)
                .store(self.tail, std::sync::atomic::Ordering::Release);
        }
    }
}

impl Drop for RecvRing {
    fn drop(&mut self) {
        // Every armed receive holds its socket open in the kernel: end them all, and wait
        // (briefly) until they have ended, so that the owner's ports are free when it is gone
        // (tearing the ring down would end them too, but later, in the background).
        let all = opcode::AsyncCancel2::new(io_uring::types::CancelBuilder::any())
            .build()
            .user_data(CANCEL);
        if self.push(all).is_ok() {
            let deadline = Instant::now() + Duration::from_secs(1);
            while self.armed > 0 && Instant::now() < deadline {
                if self.wait(Some(Duration::from_millis(20))).is_err() {
                    break;
                }
                self.reap(|_| {});
            }
        }
        // The kernel takes buffers only while running our task's work, which cannot happen
        // during this call; once the group is gone it takes none, so the blocks can go.
        let _ = self.ring.submitter().unregister_buf_ring(GROUP);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    /// Datagrams received (token, source, bytes).
    type Received = Vec<(u64, SocketAddr, Vec<u8>)>;

    /// Reaps until `want` datagrams came (or 3 s passed): what came, the tokens that ended,
    /// and how many were truncated.
    fn reap_until(r: &mut RecvRing, want: usize) -> (Received, Vec<u64>, usize) {
        let (mut got, mut ended, mut truncated) = (Vec::new(), Vec::new(), 0);
        let deadline = Instant::now() + Duration::from_secs(3);
        while got.len() + truncated < want && Instant::now() < deadline {
            r.wait(Some(Duration::from_millis(50))).unwrap();
            r.reap(|c| match c {
                Completion::Datagram { token, from, data } => {
                    got.push((token, from, data.to_vec()))
                }
                Completion::Ended { token, .. } => ended.push(token),
                Completion::Truncated { .. } => truncated += 1,
                Completion::Ready { .. } => {}
            });
        }
        (got, ended, truncated)
    }

    #[test]
    fn datagrams_of_many_sockets_arrive_with_their_tokens_and_sources() {
        let Some(mut r) = RecvRing::new() else {
            eprintln!("io_uring multishot receive not available here: test skipped");
            return;
        };
        let socks: Vec<_> = (0..8)
            .map(|_| std::net::UdpSocket::bind("127.0.0.1:0").unwrap())
            .collect();
        for (i, s) in socks.iter().enumerate() {
            r.arm(s.as_raw_fd(), 100 + i as u64).unwrap();
        }
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        // More datagrams than buffers: buffers must come back to the kernel as we go.
        let rounds = BUFFERS as usize / socks.len() + 50;
        let mut sent = 0;
        for k in 0..rounds {
            for s in &socks {
                tx.send_to(&(k as u32).to_be_bytes(), s.local_addr().unwrap())
                    .unwrap();
                sent += 1;
            }
            if k % 64 == 63 {
                let (got, ended, _) = reap_until(&mut r, 64 * socks.len());
                assert!(ended.is_empty(), "a receive ended: {ended:?}");
                assert_eq!(got.len(), 64 * socks.len());
                assert!(got
                    .iter()
                    .all(|(_, from, _)| *from == tx.local_addr().unwrap()));
                sent -= got.len();
            }
        }
        let (got, _, _) = reap_until(&mut r, sent);
        assert_eq!(got.len(), sent);
        for (token, _, data) in &got {
            assert!((100..108).contains(token));
            assert_eq!(data.len(), 4);
        }
    }

    #[test]
    fn a_long_datagram_is_reported_truncated_and_a_cancelled_socket_ends() {
        let Some(mut r) = RecvRing::new() else {
            eprintln!("io_uring multishot receive not available here: test skipped");
            return;
        };
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        r.arm(s.as_raw_fd(), 7).unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.send_to(&[1u8; 4000], s.local_addr().unwrap()).unwrap();
        tx.send_to(b"short", s.local_addr().unwrap()).unwrap();
        let (got, _, truncated) = reap_until(&mut r, 2);
        assert_eq!(truncated, 1);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].2, b"short");
        r.cancel(7).unwrap();
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut ended = false;
        while !ended && Instant::now() < deadline {
            r.wait(Some(Duration::from_millis(20))).unwrap();
            r.reap(|c| ended |= matches!(c, Completion::Ended { token: 7, .. }));
        }
        assert!(ended);
    }
}
