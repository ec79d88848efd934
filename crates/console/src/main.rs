//! The console binary: configuration and wiring only.

use clap::Parser;
use waybill_console::{Backends, Console};

/// Waybill's web console: orders, the review queue and the KPI reports, for people signed
/// in with a Waybill token.
#[derive(Debug, Parser)]
#[command(version)]
struct Config {
    /// Address the console's HTTP server listens on. Port 0 lets the system choose;
    /// `--address-file` tells which it chose.
    #[arg(long, env = "WAYBILL_CONSOLE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// Once the listener is bound, write `pid=` and `http=<address>` to this file (for
    /// supervisors and tests that start the console on port 0).
    #[arg(long, env = "WAYBILL_CONSOLE_ADDRESS_FILE")]
    address_file: Option<std::path::PathBuf>,
    #[command(flatten)]
    backends: Backends,
    /// Mark the cookies `Secure` (the browser sends them over HTTPS only): set this when a
    /// TLS-terminating proxy serves the console.
    #[arg(long, env = "WAYBILL_CONSOLE_SECURE_COOKIES", default_value_t = false, action = clap::ArgAction::Set)]
    secure_cookies: bool,
    /// Log format: human-readable text or one JSON object per line. Filter with RUST_LOG.
    #[arg(long, env = "WAYBILL_LOG_FORMAT", value_enum, default_value_t = waybill_runtime::telemetry::LogFormat::Text)]
    log_format: waybill_runtime::telemetry::LogFormat,
    /// Where the console's spans go (one per page request); the trace context is sent on
    /// every gRPC call either way.
    #[command(flatten)]
    traces: waybill_runtime::telemetry::TraceFlags,
    /// Show the dead letters on the operations board (to the roles that may read the event
    /// log), read from NATS with the `--nats-*` flags.
    #[arg(long, env = "WAYBILL_CONSOLE_DEAD_LETTERS", default_value_t = false, action = clap::ArgAction::Set)]
    dead_letters: bool,
    /// The event log's NATS server, for `--dead-letters` only.
    #[command(flatten)]
    nats: waybill_runtime::NatsFlags,
    /// Whose tokens the console accepts at sign-in: the same keys as the services'.
    #[command(flatten)]
    auth: waybill_runtime::flags::AuthFlags,
}

waybill_runtime::global_allocator!();

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    waybill_runtime::telemetry::init_service(config.log_format, &config.traces, "waybill-console")?;
    let dead_letters = config.dead_letters.then(|| waybill_console::log::DeadLetters::new(config.nats));
    let console = Console::new(
        config.auth.verifier()?,
        config.backends.connect()?,
        config.secure_cookies,
        dead_letters,
    );
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen on {}: {error}", config.listen))?;
    let address = listener.local_addr()?;
    if let Some(path) = &config.address_file {
        waybill_runtime::flags::write_address_file(path, &[("http", address)])?;
    }
    tracing::info!(%address, "console listening");
    let served = waybill_console::serve(console, listener, waybill_runtime::shutdown::signal()).await;
    waybill_runtime::telemetry::flush().await;
    served
}
