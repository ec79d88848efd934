//! The processes a benchmark runs: its own nats-server (JetStream, default sync setting)
//! and the release service binaries, each on a port it binds itself and killed when
//! dropped (waybill_testkit's process handling, the same as the tests').

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use waybill_testkit::{Launch, OwnedChild, ServiceProcess};

/// A child process (and its process group) killed and reaped on drop.
pub struct Process {
    pub child: OwnedChild,
}

impl Process {
    pub fn spawn(command: &mut Command) -> anyhow::Result<Process> {
        Ok(Process { child: OwnedChild::spawn(command)? })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time (user + system) the process has used so far, in seconds; 0 if unknown.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.pid())
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub fn stop(mut self, grace: Duration) {
        let _ = self.child.terminate(grace);
    }
}

fn status_bytes(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|line| line.starts_with(field))
        .ok_or_else(|| anyhow::anyhow!("no {field} in /proc/{pid}/status"))?;
    let kib: u64 = line.trim_start_matches(field).trim().trim_end_matches("kB").trim().parse()?;
    Ok(kib * 1024)
}

pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    // Fields after the command name (which may hold spaces) in parentheses; utime and
    // stime are the 12th and 13th of them, in clock ticks (100 per second on Linux).
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |index: usize| fields.get(index).and_then(|field| field.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// nats-server with JetStream on a port it picks itself, storing in `store_dir` (kept on
/// drop).
pub struct Nats {
    pub process: Process,
    pub url: String,
}

impl Nats {
    pub fn start(binary: &Path, store_dir: &Path) -> anyhow::Result<Nats> {
        std::fs::create_dir_all(store_dir)?;
        let log = store_dir.join("nats.log");
        let _ = std::fs::remove_file(&log);
        let process = Process::spawn(
            Command::new(binary)
                .args(["-a", "127.0.0.1", "-p", "-1", "-js", "-sd"])
                .arg(store_dir.join("jetstream"))
                .arg("-l")
                .arg(&log)
                .stdout(Stdio::null()),
        )?;
        let deadline = Instant::now() + Duration::from_secs(120);
        let port = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("Server is ready")
                && let Some(port) = waybill_testkit::client_port_in_log(&text)
            {
                break port;
            }
            anyhow::ensure!(Instant::now() < deadline, "nats-server did not get ready; log:\n{text}");
            std::thread::sleep(Duration::from_millis(20));
        };
        let url = format!("nats://127.0.0.1:{port}");
        // Services only look their streams up; the operator's bootstrap creates them.
        waybill_testkit::bootstrap_streams(&waybill_runtime::NatsFlags::anonymous(&url), &Default::default());
        Ok(Nats { process, url })
    }

    pub async fn client(&self) -> anyhow::Result<async_nats::Client> {
        Ok(async_nats::ConnectOptions::new().name("waybill-bench").connect(&self.url).await?)
    }
}

/// Where the benchmarks' log lives: one node as `make run` has it, or the production shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One nats-server, R1 streams, nats-server's default sync (every 2 minutes).
    Single,
    /// Three nats-servers clustered on loopback, R3 streams, `sync_interval: always` on
    /// every node (waybill_testkit's cluster, with its production accounts).
    Cluster,
}

impl Shape {
    pub fn replicas(self) -> usize {
        match self {
            Shape::Single => 1,
            Shape::Cluster => 3,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Shape::Single => "single",
            Shape::Cluster => "cluster",
        }
    }
}

/// The log a benchmark run writes to, in either shape; stopped on drop.
pub enum Broker {
    Single(Nats),
    Cluster(waybill_testkit::NatsCluster),
}

impl Broker {
    /// A fresh broker of `shape`, the event streams bootstrapped; a single node stores in
    /// `store_dir`, a cluster in temporary directories of its own.
    pub fn start(paths: &Paths, shape: Shape, store_dir: &Path) -> anyhow::Result<Broker> {
        Ok(match shape {
            Shape::Single => Broker::Single(Nats::start(&paths.nats_server, store_dir)?),
            Shape::Cluster => {
                // The testkit finds nats-server through NATS_SERVER_BIN.
                anyhow::ensure!(
                    std::env::var_os("NATS_SERVER_BIN").is_some(),
                    "the cluster shape needs NATS_SERVER_BIN (make bench sets it)"
                );
                Broker::Cluster(waybill_testkit::NatsCluster::start_with(
                    waybill_testkit::Durability::SyncAlways,
                ))
            }
        })
    }

    /// A fresh broker of `shape` for one measured run, storing in `paths.data_dir/<label>`
    /// (emptied first), with the baselines' stream on it: the broker, that store (to remove
    /// after the run) and a JetStream context on it.
    pub async fn start_for_run(
        paths: &Paths,
        shape: Shape,
        label: &str,
    ) -> anyhow::Result<(Broker, PathBuf, async_nats::jetstream::Context)> {
        let store = paths.data_dir.join(label);
        let _ = std::fs::remove_dir_all(&store);
        let broker = Broker::start(paths, shape, &store)?;
        let jetstream = async_nats::jetstream::new(broker.client().await?);
        crate::baseline::ensure_stream(&jetstream, shape.replicas()).await?;
        Ok((broker, store, jetstream))
    }

    /// The URL(s) the services get: one node, or all three with the test user's credentials.
    pub fn url(&self) -> String {
        match self {
            Broker::Single(nats) => nats.url.clone(),
            Broker::Cluster(cluster) => cluster.urls(),
        }
    }

    pub async fn client(&self) -> anyhow::Result<async_nats::Client> {
        match self {
            Broker::Single(nats) => nats.client().await,
            Broker::Cluster(cluster) => Ok(cluster.client().await),
        }
    }

    /// The nats-server processes, for CPU readings.
    pub fn processes(&self) -> Vec<(&'static str, u32)> {
        match self {
            Broker::Single(nats) => vec![("nats-server", nats.process.pid())],
            Broker::Cluster(cluster) => ["nats n0", "nats n1", "nats n2"]
                .into_iter()
                .zip(&cluster.nodes)
                .filter_map(|(name, node)| Some((name, node.pid()?)))
                .collect(),
        }
    }

    pub fn stop(self) {
        match self {
            Broker::Single(nats) => nats.process.stop(Duration::from_secs(5)),
            Broker::Cluster(cluster) => drop(cluster),
        }
    }
}

/// A service binary on a port it bound itself, with the time it took from spawn to SERVING.
pub struct Service {
    pub process: ServiceProcess,
    pub address: String,
    pub started_in: Duration,
}

impl Service {
    /// Spawns `binary` (`WAYBILL_NATS_URL`, `RUST_LOG` from `BENCH_SERVICE_LOG`, default
    /// `warn`, `extra_env`) on port 0 and waits until grpc.health.v1 says `grpc_service`
    /// is SERVING (polled every 10 ms, up to `timeout`).
    pub async fn start(
        binary: &Path,
        grpc_service: &str,
        nats_url: &str,
        log_file: &Path,
        extra_env: &[(&str, String)],
        timeout: Duration,
    ) -> anyhow::Result<Service> {
        let log = std::fs::File::create(log_file)?;
        let mut command = Command::new(binary);
        command
            .env("WAYBILL_NATS_URL", nats_url)
            .env("RUST_LOG", std::env::var("BENCH_SERVICE_LOG").unwrap_or_else(|_| "warn".to_owned()))
            .stdout(log.try_clone()?)
            .stderr(log);
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let started = Instant::now();
        let process =
            ServiceProcess::start(command, Launch { grpc_service, listen: "127.0.0.1:0", timeout }).await?;
        let started_in = started.elapsed();
        let address = process.url();
        Ok(Service { process, address, started_in })
    }

    pub fn pid(&self) -> u32 {
        self.process.process.id()
    }

    /// Peak resident set size (VmHWM) in bytes, read from /proc.
    pub fn peak_rss_bytes(&self) -> anyhow::Result<u64> {
        status_bytes(self.pid(), "VmHWM:")
    }

    /// Resident set size now (VmRSS) in bytes, read from /proc.
    pub fn rss_bytes(&self) -> anyhow::Result<u64> {
        status_bytes(self.pid(), "VmRSS:")
    }

    /// CPU time (user + system) the process has used so far, in seconds; 0 if unknown.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.pid())
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub fn stop(mut self, grace: Duration) {
        let _ = self.process.process.terminate(grace);
    }

    pub async fn channel(&self) -> anyhow::Result<tonic::transport::Channel> {
        Ok(tonic::transport::Channel::from_shared(self.address.clone())?.connect().await?)
    }
}

/// Where the tools and binaries are.
#[derive(Clone, Debug)]
pub struct Paths {
    pub nats_server: PathBuf,
    pub release_dir: PathBuf,
    pub data_dir: PathBuf,
}

impl Paths {
    pub fn service(&self, name: &str) -> PathBuf {
        self.release_dir.join(format!("waybill-{name}"))
    }

    pub fn log(&self, name: &str) -> anyhow::Result<PathBuf> {
        let dir = self.data_dir.join("logs");
        std::fs::create_dir_all(&dir)?;
        Ok(dir.join(format!("{name}.log")))
    }
}
