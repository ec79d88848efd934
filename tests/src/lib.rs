//! System tests run the real binaries, as operations would, against a real nats-server.
//! This library finds (and if needed builds) the binaries and the project's tools.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use waybill_testkit::{Launch, NatsAccess, ServiceProcess};

pub mod console;
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

/// One Waybill service binary, on a port it bound itself, against a test's nats-server.
pub struct Service {
    pub process: ServiceProcess,
    /// `waybill-<name>` is what runs.
    pub name: String,
    /// `http://127.0.0.1:<port>`, for gRPC clients.
    pub address: String,
}

impl Service {
    /// Starts `waybill-<name>` with `env` on top of its NATS access (a test server or
    /// cluster: as its own NATS user; a URL: as given), on a port it picks itself, and
    /// waits until it is SERVING.
    pub async fn start(
        name: &str,
        nats: &(impl NatsAccess + ?Sized),
        env: &[(&str, &str)],
    ) -> anyhow::Result<Service> {
        Service::start_on(name, "127.0.0.1:0", nats, env).await
    }

    /// Starts `waybill-<name>` listening on `listen` (e.g. the address of one that was
    /// killed, to start it again in its place). Fails, saying so, if the port was taken.
    pub async fn start_on(
        name: &str,
        listen: &str,
        nats: &(impl NatsAccess + ?Sized),
        env: &[(&str, &str)],
    ) -> anyhow::Result<Service> {
        let mut command = Command::new(binary(&format!("waybill-{name}"))?);
        command.envs(nats.service_env(name));
        command.env("WAYBILL_SHUTDOWN_GRACE_SECS", "2").env("RUST_LOG", "warn");
        for (key, value) in env {
            command.env(key, value);
        }
        let launch = Launch { grpc_service: grpc_service(name)?, listen, timeout: Duration::from_secs(30) };
        let process = ServiceProcess::start(command, launch).await?;
        let address = process.url();
        Ok(Service { process, name: name.to_owned(), address })
    }

    /// `127.0.0.1:<port>`, the address it listens on.
    pub fn listen(&self) -> &str {
        self.address.trim_start_matches("http://")
    }

    /// Kills the process outright (SIGKILL, `kill -9`): no shutdown, no flush.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        self.process.process.kill()?;
        Ok(())
    }

    /// SIGTERM, then waits (bounded) for the exit; whether it exited cleanly.
    pub fn terminate(&mut self, timeout: Duration) -> anyhow::Result<bool> {
        match self.process.process.terminate(timeout)? {
            Some(status) => Ok(status.success()),
            None => anyhow::bail!("waybill-{} did not exit within {timeout:?} of SIGTERM", self.name),
        }
    }

    pub async fn channel(&self) -> anyhow::Result<tonic::transport::Channel> {
        Ok(tonic::transport::Channel::from_shared(self.address.clone())?.connect().await?)
    }
}

/// The gRPC service `waybill-<name>` serves, which its health answers for.
pub fn grpc_service(name: &str) -> anyhow::Result<&'static str> {
    match waybill_testkit::Service::named(name) {
        Some(service) => Ok(service.grpc_service()),
        None => anyhow::bail!("no service binary waybill-{name}"),
    }
}
