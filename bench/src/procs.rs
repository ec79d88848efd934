//! The processes a benchmark runs: its own nats-server (JetStream, default sync setting)
//! and the release service binaries, each killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

/// A child process killed (SIGKILL) and reaped on drop.
pub struct Process {
    pub child: Child,
}

impl Process {
    pub fn spawn(command: &mut Command) -> anyhow::Result<Process> {
        Ok(Process { child: command.stdin(Stdio::null()).spawn()? })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident set size (VmHWM) in bytes, read from /proc.
    pub fn peak_rss_bytes(&self) -> anyhow::Result<u64> {
        self.status_bytes("VmHWM:")
    }

    /// Resident set size now (VmRSS) in bytes, read from /proc.
    pub fn rss_bytes(&self) -> anyhow::Result<u64> {
        self.status_bytes("VmRSS:")
    }

    fn status_bytes(&self, field: &str) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let line = status
            .lines()
            .find(|line| line.starts_with(field))
            .ok_or_else(|| anyhow::anyhow!("no {field} in /proc/{}/status", self.pid()))?;
        let kib: u64 = line.trim_start_matches(field).trim().trim_end_matches("kB").trim().parse()?;
        Ok(kib * 1024)
    }

    /// CPU time (user + system) the process has used so far, in seconds; 0 if unknown.
    pub fn cpu_seconds(&self) -> f64 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())) else { return 0.0 };
        // Fields after the command name (which may hold spaces) in parentheses; utime and
        // stime are the 12th and 13th of them, in clock ticks (100 per second on Linux).
        let fields: Vec<&str> =
            stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
        let ticks =
            |index: usize| fields.get(index).and_then(|field| field.parse::<f64>().ok()).unwrap_or(0.0);
        (ticks(11) + ticks(12)) / 100.0
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub fn stop(mut self, grace: Duration) {
        let _ = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free TCP port on loopback (bound, then released for the child to take).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// nats-server with JetStream on a free port, storing in `store_dir` (kept on drop).
pub struct Nats {
    pub process: Process,
    pub url: String,
}

impl Nats {
    pub fn start(binary: &Path, store_dir: &Path) -> anyhow::Result<Nats> {
        std::fs::create_dir_all(store_dir)?;
        let port = free_port()?;
        let log = store_dir.join("nats.log");
        let _ = std::fs::remove_file(&log);
        let process = Process::spawn(
            Command::new(binary)
                .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
                .arg(store_dir.join("jetstream"))
                .arg("-l")
                .arg(&log)
                .stdout(Stdio::null()),
        )?;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("Server is ready") {
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "nats-server did not get ready; log:\n{text}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Nats { process, url: format!("nats://127.0.0.1:{port}") })
    }

    pub async fn client(&self) -> anyhow::Result<async_nats::Client> {
        Ok(async_nats::ConnectOptions::new().name("waybill-bench").connect(&self.url).await?)
    }
}

/// A service binary on a free port, with the time it took from spawn to SERVING.
pub struct Service {
    pub process: Process,
    pub address: String,
    pub started_in: Duration,
}

impl Service {
    /// Spawns `binary` (`WAYBILL_LISTEN`, `WAYBILL_NATS_URL`, `RUST_LOG` from `BENCH_SERVICE_LOG`, default `warn`, `extra_env`)
    /// and waits until grpc.health.v1 says SERVING (polled every 10 ms, up to `timeout`).
    pub async fn start(
        binary: &Path,
        nats_url: &str,
        log_file: &Path,
        extra_env: &[(&str, String)],
        timeout: Duration,
    ) -> anyhow::Result<Service> {
        let listen = format!("127.0.0.1:{}", free_port()?);
        let log = std::fs::File::create(log_file)?;
        let mut command = Command::new(binary);
        command
            .env("WAYBILL_LISTEN", &listen)
            .env("WAYBILL_NATS_URL", nats_url)
            .env("RUST_LOG", std::env::var("BENCH_SERVICE_LOG").unwrap_or_else(|_| "warn".to_owned()))
            .stdout(log.try_clone()?)
            .stderr(log);
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let started = Instant::now();
        let mut process = Process::spawn(&mut command)?;
        let address = format!("http://{listen}");
        wait_serving(&address, &mut process, timeout, binary).await?;
        Ok(Service { process, address, started_in: started.elapsed() })
    }

    pub async fn channel(&self) -> anyhow::Result<tonic::transport::Channel> {
        Ok(tonic::transport::Channel::from_shared(self.address.clone())?.connect().await?)
    }
}

async fn wait_serving(
    address: &str,
    process: &mut Process,
    timeout: Duration,
    binary: &Path,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut client = None;
    loop {
        if let Some(status) = process.child.try_wait()? {
            anyhow::bail!("{} exited at start: {status}", binary.display());
        }
        anyhow::ensure!(Instant::now() < deadline, "{} not SERVING within {timeout:?}", binary.display());
        if client.is_none()
            && let Ok(channel) = tonic::transport::Channel::from_shared(address.to_owned())?.connect().await
        {
            client = Some(HealthClient::new(channel));
        }
        if let Some(health) = client.as_mut()
            && let Ok(answer) = health.check(HealthCheckRequest { service: String::new() }).await
            && answer.into_inner().status == ServingStatus::Serving as i32
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
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
