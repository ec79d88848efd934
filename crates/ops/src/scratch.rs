//! `waybill verify DIR --scratch`: the rehearsal of a restore, done by the command itself.
//!
//! A [`ScratchCopy`] is a nats-server of its own (on a port it picks, `-p -1`, in a
//! temporary directory, with the production users and permissions of [`crate::users`] and
//! passwords made for it), the backup bootstrapped (as `ops`) and restored into it, and the
//! five service binaries started on it, each as its own NATS user on a port it binds
//! itself, trusting a signing key made for the copy (so `verify` mints the token it asks
//! them with, and the operator's keys are not needed). It is ready once every service
//! answers SERVING on grpc.health.v1, that is once its read model has caught up with the
//! restored log.
//!
//! Everything is stopped and removed when the copy is dropped: on success, on a
//! difference, on a failure half-way through and on Ctrl-C (`waybill` drops the work it
//! was doing). Every child is an [`OwnedChild`] in a process group of its own, which the
//! kernel also kills should `waybill` itself be killed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use waybill_eventlog::StreamSettings;
use waybill_runtime::NatsFlags;
use waybill_runtime::probe::{ServingStatus, Unanswered, check_health, read_address_file};

use crate::process::OwnedChild;
use crate::users::{Service, User};
use crate::{Passwords, render_accounts};

/// Oldest nats-server whose JetStream features async-nats 0.51 uses by default; older ones
/// silently ignore them (/work/shared/FIELD-NOTES.md).
pub const MIN_NATS_SERVER_VERSION: (u32, u32) = (2, 10);

/// The scratch server's own user for the restore: publishing every service's events is
/// what no production user may do (docs/OPERATIONS.md, "Backups").
const RESTORE_USER: &str = "restore";

/// Where the scratch copy's parts come from.
#[derive(Clone, Debug)]
pub struct ScratchOptions {
    /// The nats-server binary; `None`: `nats-server` on `PATH`.
    pub nats_server_bin: Option<PathBuf>,
    /// Where `waybill-intake`, ... are; `None`: next to the running `waybill`.
    pub service_bin_dir: Option<PathBuf>,
    /// How long the server, and then each service, may take to be ready.
    pub timeout: Duration,
}

/// One service binary of the copy.
struct ScratchService {
    service: Service,
    process: OwnedChild,
    log: PathBuf,
    url: String,
}

/// A restored scratch server with the five services on it; stopped and removed on drop.
pub struct ScratchCopy {
    // Dropped in this order: the services, the server, then its directory.
    services: Vec<ScratchService>,
    _server: OwnedChild,
    port: u16,
    passwords: BTreeMap<String, String>,
    signer: waybill_auth::Signer,
    dir: tempfile::TempDir,
}

impl ScratchCopy {
    /// Starts the server, restores the backup in `backup` into it and starts the services,
    /// returning once all five are SERVING. Fails saying which part did not come up (with
    /// the end of its log, since the directory holding it goes away with the copy).
    pub async fn start(backup: &Path, options: &ScratchOptions) -> anyhow::Result<ScratchCopy> {
        let spinner = spinner();
        spinner.set_message("starting a scratch nats-server");
        let binary = options.nats_server_bin.clone().unwrap_or_else(|| PathBuf::from("nats-server"));
        let version = nats_server_version(&binary)?;
        anyhow::ensure!(
            version >= MIN_NATS_SERVER_VERSION,
            "{} is version {}.{}; Waybill needs nats-server >= {}.{}",
            binary.display(),
            version.0,
            version.1,
            MIN_NATS_SERVER_VERSION.0,
            MIN_NATS_SERVER_VERSION.1
        );
        let dir = tempfile::Builder::new().prefix("waybill-verify-").tempdir()?;
        let mut passwords: BTreeMap<String, String> = User::all()
            .into_iter()
            .map(|user| (user.name().to_owned(), crate::accounts::random_password()))
            .collect();
        passwords.insert(RESTORE_USER.to_owned(), crate::accounts::random_password());
        let restore_user = format!(
            "{{ user: {RESTORE_USER}, password: \"{}\" }}  # the scratch copy's restore",
            passwords[RESTORE_USER]
        );
        let config = dir.path().join("nats.conf");
        let accounts = render_accounts(
            &Passwords::Literal(passwords.clone()),
            &StreamSettings::default(),
            &[restore_user],
        );
        std::fs::write(&config, accounts)?;
        let (server, port) = start_server(&binary, dir.path(), &config, options.timeout).await?;

        let mut copy =
            ScratchCopy { services: Vec::new(), _server: server, port, passwords, signer: signer()?, dir };
        spinner.set_message("bootstrapping the scratch streams as ops");
        let ops = copy.connect(User::Ops.name()).await?;
        crate::bootstrap::bootstrap(&ops, &StreamSettings::default()).await?;
        spinner.finish_and_clear();
        let restorer = copy.connect(RESTORE_USER).await?;
        crate::backup::restore(&restorer, &StreamSettings::default(), backup).await?;
        copy.start_services(options).await?;
        Ok(copy)
    }

    /// A client of the scratch server as `user`.
    async fn connect(&self, user: &str) -> anyhow::Result<async_nats::Client> {
        let password = self.passwords.get(user).map_or("", String::as_str);
        NatsFlags::as_user(&self.nats_address(), user, password).connect("waybill-verify").await
    }

    /// A client that may read the restored streams (to compare them with the backup).
    pub async fn client(&self) -> anyhow::Result<async_nats::Client> {
        self.connect(RESTORE_USER).await
    }

    fn nats_address(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The copy's services, for the console's clients (plain gRPC on loopback).
    pub fn channels(&self) -> anyhow::Result<waybill_console::Channels> {
        let url = |service: Service| {
            self.services.iter().find(|started| started.service == service).map(|started| started.url.clone())
        };
        let missing = || anyhow::anyhow!("the scratch copy's services are not running");
        waybill_console::Backends {
            intake_url: url(Service::Intake).ok_or_else(missing)?,
            dispatch_url: url(Service::Dispatch).ok_or_else(missing)?,
            delivery_url: url(Service::Delivery).ok_or_else(missing)?,
            aftersales_url: url(Service::Aftersales).ok_or_else(missing)?,
            crm_url: url(Service::Crm).ok_or_else(missing)?,
            call_timeout_ms: 60_000,
            tls_ca: None,
        }
        .connect()
    }

    /// An administrator's token the copy's services accept (signed with the copy's key).
    pub fn token(&self) -> anyhow::Result<String> {
        let identity = waybill_auth::Identity::new("waybill-verify", waybill_auth::Role::Administrator);
        self.signer.mint(identity, Duration::from_secs(3600))
    }

    /// Starts the five binaries, then waits for each to be SERVING.
    async fn start_services(&mut self, options: &ScratchOptions) -> anyhow::Result<()> {
        let bin_dir = match &options.service_bin_dir {
            Some(dir) => dir.clone(),
            None => std::env::current_exe()?
                .parent()
                .map(Path::to_path_buf)
                .ok_or_else(|| anyhow::anyhow!("where is the waybill executable? name --service-bin-dir"))?,
        };
        let public_key = self.dir.path().join(format!("{}.pub.pem", self.signer.kid()));
        std::fs::write(&public_key, self.signer.public_key_pem()?)?;
        let bar = ProgressBar::new(Service::ALL.len() as u64);
        if let Ok(style) = ProgressStyle::with_template("{msg:>24} [{bar:40}] {pos}/{len} {elapsed}") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message("services SERVING");
        let mut addresses = Vec::new();
        for service in Service::ALL {
            let binary = bin_dir.join(format!("waybill-{}", service.name()));
            anyhow::ensure!(
                binary.is_file(),
                "{} not found: name the directory of the service binaries with --service-bin-dir",
                binary.display()
            );
            let address_file = self.dir.path().join(format!("{}.address", service.name()));
            let log = self.dir.path().join(format!("{}.log", service.name()));
            let output = std::fs::File::create(&log)?;
            let mut command = Command::new(&binary);
            // Nothing of the operator's environment (their NATS user, TLS files, ports)
            // reaches the copy: only what is set here.
            command
                .env_clear()
                .env("WAYBILL_NATS_URL", self.nats_address())
                .env("WAYBILL_NATS_USER", service.name())
                .env("WAYBILL_NATS_PASSWORD", self.passwords.get(service.name()).map_or("", String::as_str))
                .env("WAYBILL_LISTEN", "127.0.0.1:0")
                .env("WAYBILL_ADDRESS_FILE", &address_file)
                .env("WAYBILL_AUTH_PUBLIC_KEYS", &public_key)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::from(output.try_clone()?))
                .stderr(Stdio::from(output));
            let process = OwnedChild::spawn(&mut command)
                .with_context(|| format!("cannot start {}", binary.display()))?;
            self.services.push(ScratchService { service, process, log, url: String::new() });
            addresses.push(address_file);
        }
        let deadline = Instant::now() + options.timeout;
        for (started, address_file) in self.services.iter_mut().zip(addresses) {
            let ready = started.wait_serving(&address_file, deadline).await;
            if let Err(error) = ready {
                let log = std::fs::read_to_string(&started.log).unwrap_or_default();
                anyhow::bail!("{error}; the end of its log:\n{}", tail(&log, 20));
            }
            bar.inc(1);
        }
        bar.finish_and_clear();
        Ok(())
    }
}

impl ScratchService {
    /// Waits for the address file, then for SERVING; fails at once if the process exits.
    async fn wait_serving(&mut self, address_file: &Path, deadline: Instant) -> anyhow::Result<()> {
        let name = format!("waybill-{}", self.service.name());
        let mut last = String::from("no address yet");
        loop {
            if let Some(status) = self.process.try_wait()? {
                anyhow::bail!("{name} exited ({status}) before it was SERVING on the scratch copy");
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{name} was not SERVING on the scratch copy in time (last: {last})"
            );
            if self.url.is_empty()
                && let Some(written) = read_address_file(address_file)?
            {
                anyhow::ensure!(
                    written.pid == self.process.id(),
                    "{name}'s address file names another process"
                );
                self.url = format!("http://{}", written.grpc);
            }
            if !self.url.is_empty() {
                match check_health(&self.url, self.service.grpc_service()).await {
                    Ok(ServingStatus::Serving) => return Ok(()),
                    Ok(status) => last = format!("{status:?}"),
                    Err(Unanswered::UnknownService) => {
                        anyhow::bail!("the server at {} is not {name}", self.url)
                    }
                    Err(unanswered) => last = unanswered.to_string(),
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A signing key made for one copy, never written but as its public half.
fn signer() -> anyhow::Result<waybill_auth::Signer> {
    waybill_auth::Signer::generate(format!("waybill-verify-{}", std::process::id()))
}

/// Starts nats-server with JetStream in `dir` on a port it picks, and waits until its log
/// says it is ready: the process and the port.
async fn start_server(
    binary: &Path,
    dir: &Path,
    config: &Path,
    timeout: Duration,
) -> anyhow::Result<(OwnedChild, u16)> {
    let log_path = dir.join("nats.log");
    let stderr = std::fs::File::create(dir.join("nats.stderr"))?;
    let mut server = OwnedChild::spawn(
        Command::new(binary)
            .args(["-a", "127.0.0.1", "-p", "-1", "-js", "-sd"])
            .arg(dir.join("jetstream"))
            .arg("-l")
            .arg(&log_path)
            .arg("-c")
            .arg(config)
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr)),
    )
    .with_context(|| format!("cannot start {}", binary.display()))?;
    let deadline = Instant::now() + timeout;
    loop {
        let log = std::fs::read_to_string(dir.join("nats.stderr")).unwrap_or_default()
            + &std::fs::read_to_string(&log_path).unwrap_or_default();
        if let Some(status) = server.try_wait()? {
            anyhow::bail!("the scratch nats-server exited at start ({status}):\n{}", tail(&log, 20));
        }
        if let Some(port) = client_port_in_log(&log)
            && log.contains("Server is ready")
        {
            return Ok((server, port));
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the scratch nats-server was not ready within {timeout:?}:\n{}",
            tail(&log, 20)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The client port a nats-server's log says it listens on (`-p -1` picks one).
pub fn client_port_in_log(log: &str) -> Option<u16> {
    log.lines().find_map(|line| {
        let (_, address) = line.split_once("Listening for client connections on ")?;
        address.trim().rsplit(':').next()?.parse::<u16>().ok()
    })
}

/// What `binary --version` reports, as (major, minor).
pub fn nats_server_version(binary: &Path) -> anyhow::Result<(u32, u32)> {
    let output = Command::new(binary).arg("--version").output().with_context(|| {
        format!("cannot run {} (--nats-server-bin, NATS_SERVER_BIN or PATH)", binary.display())
    })?;
    let text =
        String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    text.split_whitespace()
        .find_map(|word| {
            let mut parts = word.trim_start_matches('v').split('.');
            Some((parts.next()?.parse::<u32>().ok()?, parts.next()?.parse::<u32>().ok()?))
        })
        .ok_or_else(|| anyhow::anyhow!("{} --version says {:?}", binary.display(), text.trim()))
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn spinner() -> ProgressBar {
    let spinner = ProgressBar::new_spinner();
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_is_read_from_the_servers_log() {
        let log =
            "[1] [INF] Starting nats-server\n[1] [INF] Listening for client connections on 127.0.0.1:40123\n";
        assert_eq!(client_port_in_log(log), Some(40123));
        assert_eq!(client_port_in_log("[1] [INF] Starting nats-server\n"), None);
    }
}
