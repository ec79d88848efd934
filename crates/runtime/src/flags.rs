//! The flags every service binary takes, flattened into each `main.rs`, and what every
//! `main` does with them before it hands over to its server: logging, the metrics
//! listener, the gRPC listener, the address file and the NATS connection.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use waybill_auth::{Verifier, VerifierConfig};
use waybill_eventlog::StreamSettings;

use crate::settings::Settings;
use crate::telemetry::{self, LogFormat};

/// Flags shared by all five services (each adds its own policy flags beside them).
#[derive(Clone, Debug, clap::Args)]
pub struct ServiceFlags {
    /// Address the gRPC server listens on [default: 127.0.0.1 and the service's own port,
    /// 50051-50055]. Port 0 lets the system choose; `--address-file` tells which it chose.
    #[arg(long, env = "WAYBILL_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Once the listeners are bound, write their addresses to this file, one `key=value` a
    /// line (`pid`, `grpc`, and `metrics` when served), for supervisors and tests that
    /// start the service on port 0.
    #[arg(long, env = "WAYBILL_ADDRESS_FILE")]
    pub address_file: Option<PathBuf>,
    /// Which NATS servers, as which user, over which TLS.
    #[command(flatten)]
    pub nats: crate::NatsFlags,
    /// Log format: human-readable text or one JSON object per line. Filter with RUST_LOG.
    #[arg(long, env = "WAYBILL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Replicas of the event streams. Services no longer create streams (`waybill
    /// bootstrap --replicas` does); kept so existing deployments' settings still parse.
    #[arg(long, env = "WAYBILL_STREAM_REPLICAS", default_value_t = 1)]
    pub stream_replicas: usize,
    /// Serve gRPC server reflection (handy for grpcurl; turn off in production).
    #[arg(long, env = "WAYBILL_REFLECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub reflection: bool,
    /// How long a query waits for the read model to reach its min_position, in milliseconds.
    #[arg(long, env = "WAYBILL_QUERY_WAIT_MS", default_value_t = 5_000)]
    pub query_wait_ms: u64,
    /// On SIGTERM, how long in-flight calls may take to finish before the process exits.
    #[arg(long, env = "WAYBILL_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
    /// Serve Prometheus metrics at http://<address>/metrics (off when unset; port 0 lets
    /// the system choose, see `--address-file`).
    #[arg(long, env = "WAYBILL_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// How far, in seconds, a fact's time may stray from this service's clock (a device's
    /// `delivered_at` into the future) or before the facts it follows (a replica whose clock
    /// is behind). Beyond it a request is refused (docs/OPERATIONS.md, "Clocks").
    #[arg(long, env = "WAYBILL_CLOCK_SKEW_SECS", default_value_t = 300)]
    pub clock_skew_secs: u32,
    #[command(flatten)]
    pub auth: AuthFlags,
    /// TLS on the gRPC port (plaintext without a certificate: development only).
    #[command(flatten)]
    pub tls: crate::TlsFlags,
    /// Where traces are exported (off by default).
    #[command(flatten)]
    pub traces: telemetry::TraceFlags,
}

/// Whose tokens a service accepts. There is no switch to turn authentication off: a
/// service without keys refuses to start (`waybill-token keygen` makes a dev key).
#[derive(Clone, Debug, clap::Args)]
pub struct AuthFlags {
    /// Ed25519 public keys (PEM) that sign callers' tokens, comma-separated; a file's key
    /// id is its name without `.pub.pem`. Several keys at once let keys rotate.
    #[arg(long, env = "WAYBILL_AUTH_PUBLIC_KEYS", value_delimiter = ',')]
    pub auth_public_keys: Vec<PathBuf>,
    /// A JWKS file with the token keys (the identity provider's published keys).
    #[arg(long, env = "WAYBILL_AUTH_JWKS")]
    pub auth_jwks: Option<PathBuf>,
    /// The issuer (`iss`) tokens must name.
    #[arg(long, env = "WAYBILL_AUTH_ISSUER", default_value = waybill_auth::token::DEFAULT_ISSUER)]
    pub auth_issuer: String,
    /// The audience (`aud`) tokens must name.
    #[arg(long, env = "WAYBILL_AUTH_AUDIENCE", default_value = waybill_auth::token::DEFAULT_AUDIENCE)]
    pub auth_audience: String,
}

impl AuthFlags {
    /// The verifier these flags configure; an error (no keys, an unreadable key) stops the
    /// start with the reason.
    pub fn verifier(&self) -> anyhow::Result<Arc<Verifier>> {
        let config = VerifierConfig {
            public_keys: self.auth_public_keys.clone(),
            jwks: self.auth_jwks.clone(),
            issuer: self.auth_issuer.clone(),
            audience: self.auth_audience.clone(),
        };
        Ok(Arc::new(Verifier::from_config(&config)?))
    }
}

/// What a service's server needs from its binary: a connection, a bound listener, the
/// verifier of its callers' tokens, and the port's TLS (`None`: plaintext).
pub struct Started {
    pub nats: async_nats::Client,
    pub listener: TcpListener,
    pub verifier: Arc<Verifier>,
    pub tls: Option<tonic::transport::ServerTlsConfig>,
}

impl ServiceFlags {
    pub fn stream(&self) -> StreamSettings {
        StreamSettings { replicas: self.stream_replicas, ..StreamSettings::default() }
    }

    pub fn query_wait(&self) -> Duration {
        Duration::from_millis(self.query_wait_ms)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// The settings these flags set, around the service's own `policy`; the rest default
    /// (`Settings::new`).
    pub fn settings<P>(&self, policy: P) -> Settings<P> {
        Settings {
            stream: self.stream(),
            wait_timeout: self.query_wait(),
            reflection: self.reflection,
            shutdown_grace: self.shutdown_grace(),
            clock_skew: chrono::Duration::seconds(i64::from(self.clock_skew_secs)),
            ..Settings::new(policy)
        }
    }

    /// Starts logging (and trace export, when configured), loads the token keys and the TLS certificates, binds the gRPC listener (on `default_port` unless `--listen` says
    /// otherwise) and the metrics listener, writes the address file, then connects to NATS
    /// as `name`. Binding comes first so that a port in use fails the start at once.
    pub async fn start(&self, name: &str, default_port: u16) -> anyhow::Result<Started> {
        telemetry::init_service(self.log_format, &self.traces, name)?;
        let verifier = self.auth.verifier()?;
        let tls = self.tls.server_config()?;
        if tls.is_none() {
            tracing::warn!(
                "serving gRPC in plaintext (no --tls-cert): for development only; tokens cross the wire in clear"
            );
        }
        let listen = self.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], default_port)));
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|error| anyhow::anyhow!("cannot listen on {listen}: {error}"))?;
        let metrics = match self.metrics_listen {
            Some(listen) => Some(crate::metrics::export(listen).await?),
            None => None,
        };
        if let Some(path) = &self.address_file {
            let mut bound = vec![("grpc", listener.local_addr()?)];
            bound.extend(metrics.map(|metrics| ("metrics", metrics)));
            write_address_file(path, &bound)?;
        }
        let nats = self.nats.connect(name).await?;
        Ok(Started { nats, listener, verifier, tls })
    }
}

/// Writes an address file: `pid=<this process>` and one `<key>=<address>` line per bound
/// listener (`grpc`, `metrics`; the console's `http`). Whole or not at all: a reader
/// polling for it never sees half of it.
pub fn write_address_file(path: &Path, bound: &[(&str, SocketAddr)]) -> anyhow::Result<()> {
    let mut text = format!("pid={}\n", std::process::id());
    for (key, address) in bound {
        text.push_str(&format!("{key}={address}\n"));
    }
    let partial = path.with_extension("partial");
    std::fs::write(&partial, text)
        .and_then(|()| std::fs::rename(&partial, path))
        .map_err(|error| anyhow::anyhow!("cannot write the address file {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_file_names_the_process_and_what_it_bound() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!("waybill-address-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("service.addr");
        write_address_file(
            &path,
            &[("grpc", "127.0.0.1:40001".parse()?), ("metrics", "127.0.0.1:40002".parse()?)],
        )?;
        let text = std::fs::read_to_string(&path)?;
        std::fs::remove_dir_all(&dir)?;
        assert_eq!(
            text,
            format!("pid={}\ngrpc=127.0.0.1:40001\nmetrics=127.0.0.1:40002\n", std::process::id())
        );
        Ok(())
    }
}
