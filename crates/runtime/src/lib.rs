//! What every Waybill binary repeats, so that each `main.rs` is configuration only and each
//! `server.rs` a short declaration: the shared flags and settings, logging and traces, the allocator,
//! the NATS connection, TLS on the gRPC port, the authentication layer, health and
//! reflection, timers, and the host that serves a service on an already-bound listener until
//! a shutdown future resolves.

pub mod auth;
pub mod flags;
pub mod grpc;
pub mod host;
pub mod limits;
pub mod metrics;
pub mod nats;
pub mod privacy;
pub mod probe;
pub mod settings;
pub mod shutdown;
pub mod telemetry;
pub mod timer;
pub mod tls;
pub mod trace;

/// The services' adapters read their caller as `waybill_runtime::actor::context_of`.
pub use auth as actor;
pub use auth::{AuthLayer, CORRELATION_HEADER, Duty, Origin, RequestContext, context_of};
pub use flags::{ServiceFlags, Started};
pub use grpc::{Health, follow_read_model, serve, while_starting};
pub use host::{Host, Opened, ReadModel, Wiring};
pub use nats::NatsFlags;
pub use privacy::Redaction;
pub use settings::Settings;
pub use shutdown::Shutdown;
pub use timer::Timer;
pub use tls::TlsFlags;

#[doc(hidden)]
pub use mimalloc::MiMalloc;

/// Makes mimalloc the process's allocator; one line in each service's `main.rs`.
///
/// Replay and request handling allocate many small, short-lived objects; mimalloc serves
/// them faster than glibc malloc (replaying 110k events took 1.3 s instead of 2.4 s here).
#[macro_export]
macro_rules! global_allocator {
    () => {
        #[global_allocator]
        static ALLOCATOR: $crate::MiMalloc = $crate::MiMalloc;
    };
}

/// Connects to NATS under the process's name, retrying while no server is up yet
/// (services and nats-server often start together). `urls` is one server or several,
/// comma-separated, each with or without `nats://` and with optional credentials, as
/// every NATS client accepts; the client keeps reconnecting across all of them.
/// For a user and TLS, see [`NatsFlags::connect`].
pub async fn connect_nats(urls: &str, name: &str) -> anyhow::Result<async_nats::Client> {
    NatsFlags::anonymous(urls).connect(name).await
}

/// `nats://a:4222, b:4222,tls://c` -> three server addresses; an empty or malformed entry
/// is a configuration error that names the entry (credentials redacted).
pub fn parse_nats_urls(urls: &str) -> anyhow::Result<Vec<async_nats::ServerAddr>> {
    let entries: Vec<&str> = urls.split(',').map(str::trim).collect();
    let mut servers = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        anyhow::ensure!(
            !entry.is_empty(),
            "--nats-url {:?}: server {} of {} is empty",
            redact_credentials(urls),
            index + 1,
            entries.len()
        );
        let server = entry.parse::<async_nats::ServerAddr>().map_err(|error| {
            anyhow::anyhow!(
                "--nats-url: {:?} is not a NATS server address: {error}",
                redact_credentials(entry)
            )
        })?;
        servers.push(server);
    }
    Ok(servers)
}

/// The user and password the server list carries: the same on every entry that has them.
pub(crate) fn url_credentials(
    servers: &[async_nats::ServerAddr],
) -> anyhow::Result<Option<(String, String)>> {
    let mut found: Option<(String, String)> = None;
    for server in servers.iter().filter(|server| server.has_user_pass()) {
        let these = (
            server.username().unwrap_or_default().to_owned(),
            server.password().unwrap_or_default().to_owned(),
        );
        match &found {
            Some(first) if *first != these => {
                anyhow::bail!("--nats-url: the servers name different credentials; one user per process")
            }
            _ => found = Some(these),
        }
    }
    Ok(found)
}

/// `nats://user:secret@host:4222,...` -> `nats://***@host:4222,...`: URLs go into logs.
pub(crate) fn redact_credentials(urls: &str) -> String {
    let redact = |url: &str| match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}***{}", &url[..scheme_end + 3], &url[at..])
        }
        (None, Some(at)) => format!("***{}", &url[at..]),
        _ => url.to_owned(),
    };
    urls.split(',').map(|url| redact(url.trim())).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_never_reach_the_logs() {
        assert_eq!(
            super::redact_credentials("nats://intake:s3cret@nats-1:4222,nats://intake:s3cret@nats-2:4222"),
            "nats://***@nats-1:4222,nats://***@nats-2:4222"
        );
        assert_eq!(super::redact_credentials("intake:s3cret@localhost"), "***@localhost");
        assert_eq!(super::redact_credentials("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
    }

    #[test]
    fn every_form_of_a_server_list_parses() -> anyhow::Result<()> {
        for urls in [
            "nats://127.0.0.1:34222,nats://127.0.0.1:35222,nats://127.0.0.1:36222",
            "nats://127.0.0.1:34222, nats://127.0.0.1:35222, nats://127.0.0.1:36222",
            "127.0.0.1:34222,127.0.0.1:35222,127.0.0.1:36222",
            "nats://intake:s3cret@nats-1:4222,nats://intake:s3cret@nats-2:4222,nats-3",
        ] {
            let servers = super::parse_nats_urls(urls)?;
            assert_eq!(servers.len(), 3, "{urls}");
        }
        let servers = super::parse_nats_urls("nats://intake:s3cret@nats-1:4222")?;
        assert_eq!((servers[0].username(), servers[0].password()), (Some("intake"), Some("s3cret")));
        Ok(())
    }

    #[test]
    fn a_bad_server_list_names_the_entry_and_never_the_password() {
        let error = super::parse_nats_urls("nats://a:4222,,nats://b:4222").expect_err("empty entry");
        assert!(error.to_string().contains("server 2 of 3 is empty"), "{error}");
        let error = super::parse_nats_urls("nats://intake:s3cret@a:99999").expect_err("bad port");
        assert!(!error.to_string().contains("s3cret"), "{error}");
        assert!(error.to_string().contains("not a NATS server address"), "{error}");
    }
}
