//! Benchmark 1: PlaceOrder through intake against its two baselines, at the same
//! concurrency and payload size, in the same run (interleaved per concurrency level):
//! - intake: `IntakeService/PlaceOrder` on the release intake binary (validation, quote,
//!   decider, optimistic append, read model; its auto-review reaction runs alongside);
//! - (a) the bare tonic handler of [`crate::baseline`], in its own process;
//! - (b) raw JetStream publish from this process, `clients` acks in flight.
//!
//! Clients are closed loops (send, await the answer, send again). gRPC clients share one
//! HTTP/2 channel per 16 clients (1 client: 1 channel, 256 clients: 16 channels).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use prost::Message;
use waybill_proto::v1::intake_service_client::IntakeServiceClient;

use crate::baseline;
use crate::orders;
use crate::procs::{Broker, Paths, Service, Shape};
use crate::stats::{ms, quantile};

pub const CLIENTS_PER_CHANNEL: usize = 16;

/// One measurement: `clients` closed-loop clients for the measured window.
#[derive(Clone, Copy, Debug)]
pub struct Level {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
}

/// One concurrency level of a run: (clients, intake, baseline a, raw b).
pub type LevelRow = (usize, Level, Level, Level);

/// Results of one run, per concurrency level.
pub type PlaceRun = Vec<LevelRow>;

pub struct Settings {
    pub concurrency: Vec<usize>,
    pub warmup: Duration,
    pub measure: Duration,
}

pub async fn run(
    paths: &Paths,
    settings: &Settings,
    shape: Shape,
    run_index: usize,
) -> anyhow::Result<PlaceRun> {
    let label = format!("place-{}-{run_index}", shape.label());
    let (broker, store, jetstream) = Broker::start_for_run(paths, shape, &label).await?;
    let intake = Service::start(
        &paths.service("intake"),
        waybill_system_tests::grpc_service("intake")?,
        &broker.url(),
        &paths.log(&format!("{label}-intake"))?,
        &[],
        Duration::from_secs(30),
    )
    .await?;
    let bench_exe = std::env::current_exe()?;
    let baseline = Service::start(
        &bench_exe,
        waybill_system_tests::grpc_service("intake")?,
        &broker.url(),
        &paths.log(&format!("{label}-baseline"))?,
        &[(crate::ROLE_ENV, crate::BASELINE_ROLE.to_owned())],
        Duration::from_secs(30),
    )
    .await?;

    let mut results = Vec::new();
    for &clients in &settings.concurrency {
        let intake_level = grpc_level(&intake, clients, settings).await?;
        // Intake's auto-review reaction may still be working off the orders just placed;
        // the baselines must not share the machine with it.
        let idle_after = reactions_idle(&jetstream, Duration::from_secs(120)).await?;
        if idle_after > Duration::from_millis(100) {
            eprintln!("  (intake's reactions caught up {:.1} s after the load)", idle_after.as_secs_f64());
        }
        let baseline_level = grpc_level(&baseline, clients, settings).await?;
        let raw_level = raw_level(&jetstream, clients, settings).await;
        eprintln!(
            "  {label}, {clients:>3} clients: intake {:>7.0}/s p99 {:>6.1} ms | (a) {:>7.0}/s p99 {:>6.1} ms | (b) {:>7.0}/s p99 {:>6.1} ms",
            intake_level.per_second,
            intake_level.p99_ms,
            baseline_level.per_second,
            baseline_level.p99_ms,
            raw_level.per_second,
            raw_level.p99_ms
        );
        results.push((clients, intake_level, baseline_level, raw_level));
    }
    baseline.stop(Duration::from_secs(3));
    intake.stop(Duration::from_secs(3));
    broker.stop();
    let _ = std::fs::remove_dir_all(&store);
    Ok(results)
}

/// PlaceOrder with `clients` closed-loop clients against `service`.
async fn grpc_level(service: &Service, clients: usize, settings: &Settings) -> anyhow::Result<Level> {
    let channels = clients.div_ceil(CLIENTS_PER_CHANNEL);
    let mut stubs = Vec::with_capacity(channels);
    for _ in 0..channels {
        stubs.push(IntakeServiceClient::new(service.channel().await?));
    }
    let prefix = uuid::Uuid::now_v7().to_string();
    // One token for the whole run: minting one per call would be measured too.
    let desk = orders::Caller::customer_service("bench");
    Ok(closed_loop(clients, settings, move |client, sequence| {
        let mut stub = stubs[client / CLIENTS_PER_CHANNEL].clone();
        let request = orders::place_order_request(
            &format!("{prefix}-{client}-{sequence}"),
            &format!("cust-{}", client % 100),
        );
        let request = orders::request(&desk, request);
        async move { stub.place_order(request).await.is_ok() }
    })
    .await)
}

/// Raw JetStream publish of an OrderPlaced-sized event with the same headers, each client
/// awaiting its ack before the next publish (`clients` acks in flight).
pub async fn raw_level(
    jetstream: &async_nats::jetstream::Context,
    clients: usize,
    settings: &Settings,
) -> Level {
    let sample = orders::place_order_request(&orders::request_id(), "cust-1");
    let jetstream = jetstream.clone();
    closed_loop(clients, settings, move |_, _| {
        let jetstream = jetstream.clone();
        let order_id = uuid::Uuid::now_v7().to_string();
        let event_id = uuid::Uuid::now_v7().to_string();
        let envelope = baseline::order_placed(&order_id, &event_id, &sample);
        let headers = baseline::event_headers(
            &format!("{order_id}:{}", orders::request_id()),
            &event_id,
            &envelope.event_type,
            &order_id,
        );
        let payload = envelope.encode_to_vec();
        async move {
            match jetstream
                .publish_with_headers(format!("bench.raw.{order_id}"), headers, payload.into())
                .await
            {
                Ok(ack) => ack.await.is_ok(),
                Err(_) => false,
            }
        }
    })
    .await
}

/// Runs `clients` closed loops of `call(client, sequence)` for warmup + measure; counts
/// and times the calls that complete inside the measured window.
pub async fn closed_loop<F, Fut>(clients: usize, settings: &Settings, call: F) -> Level
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let call = Arc::new(call);
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let measure_from = start + settings.warmup;
    let measure_until = measure_from + settings.measure;
    let mut tasks = Vec::with_capacity(clients);
    for client in 0..clients {
        let call = call.clone();
        let errors = errors.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut sequence = 0;
            loop {
                let sent = Instant::now();
                if sent >= measure_until {
                    break;
                }
                let ok = call(client, sequence).await;
                sequence += 1;
                let done = Instant::now();
                if done >= measure_from && done <= measure_until {
                    if ok {
                        latencies.push(done - sent);
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        if let Ok(mut client_latencies) = task.await {
            latencies.append(&mut client_latencies);
        }
    }
    Level {
        per_second: latencies.len() as f64 / settings.measure.as_secs_f64(),
        p50_ms: ms(quantile(&mut latencies, 0.50)),
        p99_ms: ms(quantile(&mut latencies, 0.99)),
        errors: errors.load(Ordering::Relaxed),
    }
}

/// Waits (bounded) until every durable consumer of `WAYBILL` has nothing pending; returns
/// how long that took.
pub async fn reactions_idle(
    jetstream: &async_nats::jetstream::Context,
    limit: Duration,
) -> anyhow::Result<Duration> {
    use futures::StreamExt;
    let started = Instant::now();
    let stream = jetstream.get_stream("WAYBILL").await?;
    loop {
        let mut busy = false;
        let mut consumers = stream.consumers();
        while let Some(info) = consumers.next().await {
            let info = info?;
            if info.config.durable_name.is_some() && (info.num_pending > 0 || info.num_ack_pending > 0) {
                busy = true;
            }
        }
        if !busy || started.elapsed() > limit {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
