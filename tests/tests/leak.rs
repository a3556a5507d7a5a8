//! 200 sequential calls through exp-e and exp-c, both directions, hung up by either side, each
//! with RTP both ways: afterwards the media port pools are full again and the process holds
//! no more file descriptors than after the first few calls. Its own test binary, so no other
//! test opens descriptors meanwhile.

#[path = "support/calls.rs"]
mod support;

use support::*;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_sequential_calls_leak_nothing() {
    let outside = Ua::new().await;
    let lan = Ua::new().await;
    let p = pair(lan.addr, outside.addr).await;
    let one = |n: u32| {
        let (caller, entry, callee, uri) = if n % 2 == 0 {
            (&outside, p.e_sip, &lan, "sip:bob@lan.example")
        } else {
            (&lan, p.c_sip, &outside, "sip:carol@outside.example")
        };
        call(caller, entry, callee, uri, n, [&p.e, &p.c], n % 4 < 2)
    };
    for n in 0..5 {
        one(n).await;
    }
    // Baseline once the warm-up calls' sockets are closed (asynchronously, by the media
    // thread): the lowest count over a second.
    let mut baseline = open_fds();
    for _ in 0..20 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        baseline = baseline.min(open_fds());
    }
    for n in 5..205 {
        one(n).await;
    }
    for node in [&p.e, &p.c] {
        let (counters, (free, total)) = node.media().unwrap();
        assert_eq!(free, total, "every media port pair back in the pool");
        assert_eq!(counters.streams_created, counters.streams_removed);
        assert_eq!(counters.streams_created, 205);
    }
    // The media thread closes a stream's sockets asynchronously, just after the call ends.
    let settled =
        exp_tests::wait_until(std::time::Duration::from_secs(5), || open_fds() <= baseline).await;
    let after = open_fds();
    println!("open file descriptors: {baseline} after 5 calls, {after} after 205 calls");
    assert!(settled, "descriptors leaked: {baseline} -> {after}");
}
