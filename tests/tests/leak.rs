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

/// The descriptor count once it holds still for 300 ms (or after 5 s).
async fn steady_fds() -> usize {
    let mut last = open_fds();
    let mut still = 0;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let now = open_fds();
        still = if now == last { still + 1 } else { 0 };
        last = now;
        if still >= 6 {
            break;
        }
    }
    last
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
    // Baseline once the warm-up calls' sockets are closed and the warm pairs re-bound (both
    // asynchronous, on the media thread): a count that holds still.
    let baseline = steady_fds().await;
    for n in 5..205 {
        one(n).await;
    }
    for node in [&p.e, &p.c] {
        assert!(
            exp_tests::media_pool_full(node).await,
            "every media port pair back in the pool"
        );
        let (counters, _) = node.media().unwrap();
        assert_eq!(counters.streams_created, counters.streams_removed);
        assert_eq!(counters.streams_created, 205);
    }
    let after = steady_fds().await;
    println!("open file descriptors: {baseline} after 5 calls, {after} after 205 calls");
    assert!(
        after <= baseline,
        "descriptors leaked: {baseline} -> {after}"
    );
}
