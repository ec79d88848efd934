//! A service binary started as operations would start it, on a port it binds itself.
//!
//! The service is told to listen on port 0 (or on a given address, to restart in place)
//! and to write the address it bound to a file in a directory of its own
//! (`WAYBILL_ADDRESS_FILE`); nothing picks a port for it beforehand, so no other process
//! can take that port in between. Before the launch returns, it checks that the server it
//! reached is its own child (the file names the child's pid) serving the gRPC service it
//! expects, and SERVING.
//!
//! Unless the command names token keys itself, the service trusts the process's test
//! signing key (`waybill_fixtures::test_signer`): its public key is written beside the
//! address file and passed as `WAYBILL_AUTH_PUBLIC_KEYS`, so tests' callers are accepted.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use tonic_health::pb::health_check_response::ServingStatus;
use waybill_runtime::probe::read_address_file;
pub(crate) use waybill_runtime::probe::{Unanswered, check_health};

use crate::process::OwnedChild;

/// One running service binary, killed (with its process group) on drop.
pub struct ServiceProcess {
    pub process: OwnedChild,
    /// What was started, for messages (`waybill-intake`).
    pub label: String,
    grpc: SocketAddr,
    metrics: Option<SocketAddr>,
    /// Holds the address file; removed on drop.
    _dir: tempfile::TempDir,
}

/// What a launch needs besides the command (binary, environment, output).
pub struct Launch<'a> {
    /// The gRPC service the binary must serve (`waybill.v1.IntakeService`).
    pub grpc_service: &'a str,
    /// `127.0.0.1:0` for a fresh start; the old address to restart in place.
    pub listen: &'a str,
    /// How long to wait for the address file and then for SERVING.
    pub timeout: Duration,
}

impl ServiceProcess {
    /// Spawns `command` with `WAYBILL_LISTEN` and `WAYBILL_ADDRESS_FILE` set, and waits
    /// until it is SERVING as `launch.grpc_service` at the address it wrote.
    pub async fn start(command: Command, launch: Launch<'_>) -> anyhow::Result<ServiceProcess> {
        let deadline = Instant::now() + launch.timeout;
        let mut service = ServiceProcess::spawn(command, &launch).await?;
        service.wait_serving(launch.grpc_service, deadline).await?;
        Ok(service)
    }

    /// Like [`ServiceProcess::start`], but returns once the service has reported its
    /// address, before it is SERVING (for tests of how it starts).
    pub async fn spawn(mut command: Command, launch: &Launch<'_>) -> anyhow::Result<ServiceProcess> {
        let label = Path::new(command.get_program())
            .file_name()
            .map_or_else(|| "service".to_owned(), |name| name.to_string_lossy().into_owned());
        let dir = tempfile::Builder::new().prefix("waybill-service-").tempdir()?;
        let address_file = dir.path().join("address");
        command.env("WAYBILL_LISTEN", launch.listen).env("WAYBILL_ADDRESS_FILE", &address_file);
        let names_keys = command
            .get_envs()
            .any(|(key, _)| key == "WAYBILL_AUTH_PUBLIC_KEYS" || key == "WAYBILL_AUTH_JWKS");
        if !names_keys {
            trust_test_signer(&mut command, dir.path())?;
        }
        let started = Instant::now();
        let mut process = OwnedChild::spawn(&mut command)?;
        let deadline = started + launch.timeout;

        let addresses = loop {
            if let Some(status) = process.try_wait()? {
                anyhow::bail!(
                    "{label} exited at start ({status}) before it reported an address \
                     (listening on {}); its stderr says why",
                    launch.listen
                );
            }
            if let Some(addresses) = read_address_file(&address_file)? {
                break addresses;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{label} reported no address within {:?}",
                launch.timeout
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        anyhow::ensure!(
            addresses.pid == process.id(),
            "{} names pid {}, but this test started {label} as pid {}",
            address_file.display(),
            addresses.pid,
            process.id()
        );
        Ok(ServiceProcess { process, label, grpc: addresses.grpc, metrics: addresses.metrics, _dir: dir })
    }

    /// `http://<address>`, for gRPC clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.grpc)
    }

    /// The metrics address, when the service was asked to serve metrics.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics
    }

    /// What grpc.health.v1 answers for `grpc_service` now: a status, or why there is none.
    pub async fn health(&self, grpc_service: &str) -> Result<ServingStatus, String> {
        check_health(&self.url(), grpc_service).await.map_err(|unanswered| unanswered.to_string())
    }

    /// Polls grpc.health.v1 for `grpc_service` until SERVING, failing at once if the
    /// child exits, and with a clear message if the server there is not the expected one.
    pub async fn wait_serving(&mut self, grpc_service: &str, deadline: Instant) -> anyhow::Result<()> {
        let mut last = String::from("no answer yet");
        loop {
            if let Some(status) = self.process.try_wait()? {
                anyhow::bail!("{} exited ({status}) before it was SERVING; its stderr says why", self.label);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{} at {} was not SERVING in time (last: {last})",
                self.label,
                self.grpc
            );
            match check_health(&self.url(), grpc_service).await {
                Ok(ServingStatus::Serving) => return Ok(()),
                Ok(status) => last = format!("{status:?}"),
                Err(Unanswered::UnknownService) => anyhow::bail!(
                    "the server at {} does not serve {grpc_service}: it is not this test's {}",
                    self.grpc,
                    self.label
                ),
                Err(unanswered) => last = unanswered.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Makes the service `command` starts trust the process's test signing key: writes its
/// public key into `dir` (which must outlive the start) and names it in
/// `WAYBILL_AUTH_PUBLIC_KEYS`.
pub fn trust_test_signer(command: &mut Command, dir: &Path) -> anyhow::Result<()> {
    let signer = waybill_fixtures::test_signer();
    let public_key = dir.join(format!("{}.pub.pem", signer.kid()));
    std::fs::write(&public_key, signer.public_key_pem()?)?;
    command.env("WAYBILL_AUTH_PUBLIC_KEYS", &public_key);
    Ok(())
}

/// Polls grpc.health.v1 at `url` (`http://host:port`) until `grpc_service` is SERVING, for
/// in-process servers; answers why not after `timeout`.
pub async fn wait_serving(url: &str, grpc_service: &str, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut last = String::from("no answer yet");
    while Instant::now() < deadline {
        match check_health(url, grpc_service).await {
            Ok(ServingStatus::Serving) => return Ok(()),
            Ok(status) => last = format!("{status:?}"),
            Err(unanswered) => last = unanswered.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    anyhow::bail!("{grpc_service} at {url} was not SERVING within {timeout:?} (last: {last})")
}
