//! System tests run the real binaries, as operations would, against a real nats-server.
//! This library finds (and if needed builds) the binaries and the project's tools.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod system;

/// The workspace root (this crate lives in `tests/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Path of a workspace binary in the same profile as the running test, built on demand
/// (cargo builds another package's binaries only when asked).
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    static BUILT: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut built = BUILT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let test_exe = std::env::current_exe()?;
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let profile_dir = test_exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| anyhow::anyhow!("unexpected test binary location {}", test_exe.display()))?;
    let path = profile_dir.join(name);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(cargo);
    // The same command as `make test` runs first, so this is a no-op there; building a
    // single package instead would unify features differently and rebuild every dependency.
    build.args(["build", "--quiet", "--workspace", "--bins"]).current_dir(workspace_root());
    // Cargo gives this test its package's variables; some build scripts (ring's) track
    // CARGO_MANIFEST_DIR, so passing them on would make the build above rebuild the world.
    for (variable, _) in std::env::vars_os() {
        let variable = variable.to_string_lossy();
        if variable.starts_with("CARGO_PKG_")
            || ["CARGO_MANIFEST_DIR", "CARGO_MANIFEST_PATH", "CARGO_CRATE_NAME", "CARGO_PRIMARY_PACKAGE"]
                .contains(&variable.as_ref())
        {
            build.env_remove(variable.as_ref());
        }
    }
    // One build per test process is enough: later starts (restarts) reuse it.
    if !*built {
        let status = build.status()?;
        anyhow::ensure!(status.success(), "cargo build --workspace --bins failed");
        *built = true;
    }
    anyhow::ensure!(path.exists(), "{} was not built", path.display());
    Ok(path)
}

/// A project tool installed by `make tools` (`.tools/venv/bin/<name>`), if present.
pub fn tool(name: &str) -> Option<PathBuf> {
    let path = workspace_root().join(".tools/venv/bin").join(name);
    path.exists().then_some(path)
}

/// A free TCP port on loopback (bound, then released for the child to take).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A child process that is killed if the test ends without stopping it.
pub struct Running {
    pub child: Child,
}

impl Running {
    pub fn spawn(command: &mut Command) -> anyhow::Result<Running> {
        let child = command.stdin(Stdio::null()).spawn()?;
        Ok(Running { child })
    }

    /// Sends SIGTERM and waits (bounded) for the exit; returns whether it exited cleanly.
    pub fn terminate(&mut self, timeout: Duration) -> anyhow::Result<bool> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status.success());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        anyhow::bail!("process {pid} did not exit within {timeout:?} of SIGTERM")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asks grpc.health.v1 at `address` (e.g. `http://127.0.0.1:50051`) for the server's status.
pub async fn health(address: &str) -> Option<i32> {
    let channel = tonic::transport::Channel::from_shared(address.to_owned()).ok()?.connect().await.ok()?;
    let mut client = tonic_health::pb::health_client::HealthClient::new(channel);
    let request = tonic_health::pb::HealthCheckRequest { service: String::new() };
    Some(client.check(request).await.ok()?.into_inner().status)
}

/// Waits (bounded: 15 s) until the server at `address` reports SERVING.
pub async fn wait_serving(address: &str) -> anyhow::Result<()> {
    let serving = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
    for _ in 0..300 {
        if health(address).await == Some(serving) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("{address} never reported SERVING")
}

/// One Waybill service binary running on a free port against `nats_url`.
pub struct Service {
    pub process: Running,
    /// `http://127.0.0.1:<port>`, for gRPC clients.
    pub address: String,
}

impl Service {
    /// Starts `waybill-<name>` with `env` on top of the listen address and NATS URL, and
    /// waits until it is SERVING.
    pub async fn start(name: &str, nats_url: &str, env: &[(&str, &str)]) -> anyhow::Result<Service> {
        Service::start_on(name, &format!("127.0.0.1:{}", free_port()?), nats_url, env).await
    }

    /// Starts `waybill-<name>` listening on `listen` (e.g. the address of one that was
    /// killed, to start it again in its place).
    pub async fn start_on(
        name: &str,
        listen: &str,
        nats_url: &str,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Service> {
        let listen = listen.to_owned();
        let mut command = Command::new(binary(&format!("waybill-{name}"))?);
        command
            .env("WAYBILL_LISTEN", &listen)
            .env("WAYBILL_NATS_URL", nats_url)
            .env("WAYBILL_SHUTDOWN_GRACE_SECS", "2")
            .env("RUST_LOG", "warn");
        for (key, value) in env {
            command.env(key, value);
        }
        let process = Running::spawn(&mut command)?;
        let address = format!("http://{listen}");
        wait_serving(&address).await?;
        Ok(Service { process, address })
    }

    /// `127.0.0.1:<port>`, the address it listens on.
    pub fn listen(&self) -> &str {
        self.address.trim_start_matches("http://")
    }

    /// Kills the process outright (SIGKILL, `kill -9`): no shutdown, no flush.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        self.process.child.kill()?;
        self.process.child.wait()?;
        Ok(())
    }

    pub async fn channel(&self) -> anyhow::Result<tonic::transport::Channel> {
        Ok(tonic::transport::Channel::from_shared(self.address.clone())?.connect().await?)
    }
}
