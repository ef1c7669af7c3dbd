//! The same ping-pong workload on three deterministic simulators, timed side by side:
//! kubesim's engine (`sim::bench`), turmoil 0.7 and madsim 0.2.
//!
//! Workload: `actors` hosts paired up; in each pair one side sends a small datagram, the other
//! echoes it, and so on, until the run has delivered `messages` messages in total. Each peer
//! uses its own network model with ~1 ms latency (kubesim: 250 µs + up to 250 µs jitter, its
//! default; turmoil: 1 ms with a 1 ms tick; madsim: its default 1–10 ms), which changes virtual
//! time, not the work per message. What is compared is messages delivered per second of the
//! benchmark thread's on-CPU time (`/proc/thread-self/schedstat`), so other processes on a
//! shared machine do not count against any of them; each figure is the median of `runs` runs.
//!
//! Usage (from benches/peers, so `.cargo/config.toml` sets `--cfg madsim`):
//! `cargo run --release -- [MESSAGES] [RUNS] [ACTORS,...]`, default `200000 5 2,64,5000`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use sim::bench::{Workload, measure, thread_cpu_seconds};

fn cpu() -> f64 {
    thread_cpu_seconds().unwrap_or(f64::NAN)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Round trips per pair so the whole run delivers about `messages` messages.
fn rounds_per_pair(messages: u64, actors: usize) -> u64 {
    let pairs = (actors / 2).max(1) as u64;
    (messages / pairs / 2).max(1)
}

fn kubesim(messages: u64, runs: usize, actors: usize) -> f64 {
    let w = Workload {
        actors,
        timers: false,
        partitions: false,
    };
    let mut clock = cpu;
    let m = measure(w, messages, runs, &mut clock);
    m.events_per_sec
}

fn turmoil_run(messages: u64, actors: usize, seed: u64) -> (u64, f64) {
    let rounds = rounds_per_pair(messages, actors);
    let pairs = (actors / 2).max(1);
    let mut sim = turmoil::Builder::new()
        .simulation_duration(std::time::Duration::from_secs(1_000_000))
        .tick_duration(std::time::Duration::from_millis(1))
        .min_message_latency(std::time::Duration::from_millis(1))
        .max_message_latency(std::time::Duration::from_millis(1))
        .rng_seed(seed)
        .build();
    for p in 0..pairs {
        sim.host(format!("server{p}"), || async {
            let sock =
                turmoil::net::UdpSocket::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 9000)).await?;
            let mut buf = [0u8; 16];
            loop {
                let (n, from) = sock.recv_from(&mut buf).await?;
                sock.send_to(&buf[..n], from).await?;
            }
        });
        sim.client(format!("client{p}"), async move {
            let sock =
                turmoil::net::UdpSocket::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 9000)).await?;
            let server = SocketAddr::new(turmoil::lookup(format!("server{p}")), 9000);
            let mut buf = [0u8; 16];
            for k in 0..rounds {
                sock.send_to(&k.to_le_bytes(), server).await?;
                sock.recv_from(&mut buf).await?;
            }
            Ok(())
        });
    }
    let start = cpu();
    sim.run().expect("turmoil run");
    (rounds * 2 * pairs as u64, cpu() - start)
}

fn turmoil(messages: u64, runs: usize, actors: usize) -> f64 {
    median(
        (0..runs)
            .map(|r| {
                let (n, s) = turmoil_run(messages, actors, r as u64 + 1);
                n as f64 / s
            })
            .collect(),
    )
}

fn madsim_run(messages: u64, actors: usize, seed: u64) -> (u64, f64) {
    let rounds = rounds_per_pair(messages, actors);
    let pairs = (actors / 2).max(1);
    let rt = madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
    let start = cpu();
    rt.block_on(async move {
        let handle = madsim::runtime::Handle::current();
        let mut clients = Vec::new();
        for p in 0..pairs {
            let ip = move |side: u32| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + 2 * p as u32 + side));
            let server_addr = SocketAddr::new(ip(1), 9000);
            let server = handle.create_node().ip(ip(1)).build();
            server.spawn(async move {
                let ep = madsim::net::Endpoint::bind(server_addr)
                    .await
                    .expect("bind");
                let mut buf = [0u8; 16];
                loop {
                    let (n, from) = ep.recv_from(0, &mut buf).await.expect("recv");
                    ep.send_to(from, 0, &buf[..n]).await.expect("send");
                }
            });
            let client = handle.create_node().ip(ip(2)).build();
            clients.push(client.spawn(async move {
                let ep = madsim::net::Endpoint::bind(SocketAddr::new(ip(2), 9000))
                    .await
                    .expect("bind");
                // Let the server bind first.
                madsim::time::sleep(std::time::Duration::from_millis(1)).await;
                let mut buf = [0u8; 16];
                for k in 0..rounds {
                    ep.send_to(server_addr, 0, &k.to_le_bytes())
                        .await
                        .expect("send");
                    ep.recv_from(0, &mut buf).await.expect("recv");
                }
            }));
        }
        for c in clients {
            c.await.expect("client");
        }
    });
    (rounds * 2 * pairs as u64, cpu() - start)
}

fn madsim(messages: u64, runs: usize, actors: usize) -> f64 {
    median(
        (0..runs)
            .map(|r| {
                let (n, s) = madsim_run(messages, actors, r as u64 + 1);
                n as f64 / s
            })
            .collect(),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let messages: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let runs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let actor_counts: Vec<usize> = args
        .get(2)
        .map(|a| a.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![2, 64, 5000]);
    let skip: Vec<String> = std::env::var("PEERS_SKIP")
        .map(|s| s.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    println!("messages per on-CPU second, median of {runs} runs of {messages} messages\n");
    println!("| actors | kubesim | turmoil 0.7 | madsim 0.2 | kubesim/turmoil | kubesim/madsim |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for actors in actor_counts {
        let k = kubesim(messages, runs, actors);
        let t = if skip.iter().any(|s| s == "turmoil") {
            f64::NAN
        } else {
            turmoil(messages, runs, actors)
        };
        let m = if skip.iter().any(|s| s == "madsim") {
            f64::NAN
        } else {
            madsim(messages, runs, actors)
        };
        println!(
            "| {actors} | {:.2} M | {:.3} M | {:.3} M | {:.1}× | {:.1}× |",
            k / 1e6,
            t / 1e6,
            m / 1e6,
            k / t,
            k / m
        );
    }
}
