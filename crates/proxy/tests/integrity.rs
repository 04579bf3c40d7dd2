//! Bulk echo transfers through the proxy, several in parallel, each checked
//! byte for byte by SHA-256.

mod fault_kit;

use fault_kit::{connect_tls, echo_round_trip, make_pki, start_stack};

async fn parallel_echo(streams: u64, bytes_each: u64) {
    let pki = make_pki();
    let stack = start_stack(&pki, "5s").await;

    let mut tasks = Vec::new();
    for seed in 0..streams {
        let stream = connect_tls(stack.proxy.addr, &pki).await.unwrap();
        tasks.push(tokio::spawn(echo_round_trip(stream, bytes_each, seed)));
    }
    for (index, task) in tasks.into_iter().enumerate() {
        let result = task.await.unwrap();
        assert_eq!(result, Ok(()), "stream {index}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_streams_of_64_mib_intact() {
    parallel_echo(4, 64 << 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "moves 1 GiB each way, minutes in a debug build; scripts/soak.sh runs it in release"]
async fn four_streams_of_256_mib_intact() {
    parallel_echo(4, 256 << 20).await;
}
