//! The after-sales binary: configuration and wiring only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use waybill_aftersales::commands::SystemClock;
use waybill_aftersales::domain::{ComplaintSla, Policy};
use waybill_aftersales::server::{self, Settings};
use waybill_eventlog::StreamSettings;
use waybill_runtime::telemetry::{self, LogFormat};

/// After-sales: returns, refunds, claims, complaints with an SLA clock, surveys.
#[derive(Debug, Parser)]
#[command(version)]
struct Config {
    /// Address the gRPC server listens on.
    #[arg(long, env = "WAYBILL_LISTEN", default_value = "127.0.0.1:50054")]
    listen: SocketAddr,
    /// NATS server(s) holding the event log.
    #[arg(long, env = "WAYBILL_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    nats_url: String,
    /// Log format: human-readable text or one JSON object per line. Filter with RUST_LOG.
    #[arg(long, env = "WAYBILL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Replicas of the event streams when this service creates them (3 in production).
    #[arg(long, env = "WAYBILL_STREAM_REPLICAS", default_value_t = 1)]
    stream_replicas: usize,
    /// Serve gRPC server reflection (handy for grpcurl; turn off in production).
    #[arg(long, env = "WAYBILL_REFLECTION", default_value_t = true, action = clap::ArgAction::Set)]
    reflection: bool,
    /// How many days after delivery a return may be requested.
    #[arg(long, env = "WAYBILL_AFTERSALES_RETURN_WINDOW_DAYS", default_value_t = 14)]
    return_window_days: i64,
    /// Complaint deadlines per severity, as "<acknowledge>/<resolve>": whole hours, or with
    /// a unit suffix `h`, `m` or `s` (e.g. "90m/4h"; seconds are for drills and tests).
    #[arg(long, env = "WAYBILL_AFTERSALES_SLA_LOW", default_value = "24/72")]
    sla_low: String,
    #[arg(long, env = "WAYBILL_AFTERSALES_SLA_MEDIUM", default_value = "8/48")]
    sla_medium: String,
    #[arg(long, env = "WAYBILL_AFTERSALES_SLA_HIGH", default_value = "2/24")]
    sla_high: String,
    #[arg(long, env = "WAYBILL_AFTERSALES_SLA_CRITICAL", default_value = "1/8")]
    sla_critical: String,
    /// LOW complaints are due by the end of their filing day (UTC) when that is sooner.
    #[arg(long, env = "WAYBILL_AFTERSALES_SAME_DAY_LOW", default_value_t = true, action = clap::ArgAction::Set)]
    same_day_low: bool,
    /// How often the SLA clock looks for missed complaint deadlines, in milliseconds.
    #[arg(long, env = "WAYBILL_AFTERSALES_SLA_TICK_MS", default_value_t = 1_000)]
    sla_tick_ms: u64,
    /// How long a query waits for the read model to reach its min_position, in milliseconds.
    #[arg(long, env = "WAYBILL_QUERY_WAIT_MS", default_value_t = 5_000)]
    query_wait_ms: u64,
    /// On SIGTERM, how long in-flight calls may take to finish before the process exits.
    #[arg(long, env = "WAYBILL_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    shutdown_grace_secs: u64,
    /// Serve Prometheus metrics at http://<address>/metrics (off when unset).
    #[arg(long, env = "WAYBILL_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
}

/// "<acknowledge>/<resolve>", each whole hours or a number with a unit (`h`, `m`, `s`),
/// both positive, acknowledge not after resolve, resolve within a year.
fn sla(flag: &str, value: &str) -> anyhow::Result<ComplaintSla> {
    fn duration(part: &str) -> Option<chrono::Duration> {
        let part = part.trim();
        let (number, unit) = match part.char_indices().last()? {
            (at, unit @ ('h' | 'm' | 's')) => (&part[..at], unit),
            _ => (part, 'h'),
        };
        let number = number.trim().parse::<i64>().ok().filter(|number| *number > 0)?;
        match unit {
            's' => chrono::Duration::try_seconds(number),
            'm' => chrono::Duration::try_minutes(number),
            _ => chrono::Duration::try_hours(number),
        }
    }
    let parsed = value
        .split_once('/')
        .and_then(|(acknowledge, resolve)| Some((duration(acknowledge)?, duration(resolve)?)))
        .filter(|(acknowledge, resolve)| acknowledge <= resolve && *resolve <= chrono::Duration::days(365));
    let (acknowledge_within, resolve_within) = parsed.ok_or_else(|| {
        anyhow::anyhow!(
            "--{flag} must be <acknowledge>/<resolve> in hours (or with h/m/s), e.g. 8/48 or 30s/2m"
        )
    })?;
    Ok(ComplaintSla { acknowledge_within, resolve_within })
}

// Replay and request handling allocate many small, short-lived objects; mimalloc serves
// them faster than glibc malloc (see intake's main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    telemetry::init(config.log_format);

    anyhow::ensure!(config.sla_tick_ms >= 1, "--sla-tick-ms must be at least 1");
    anyhow::ensure!(
        (1..=3650).contains(&config.return_window_days),
        "--return-window-days must be between 1 and 3650"
    );
    let policy = Policy {
        return_window: chrono::Duration::days(config.return_window_days),
        low: sla("sla-low", &config.sla_low)?,
        medium: sla("sla-medium", &config.sla_medium)?,
        high: sla("sla-high", &config.sla_high)?,
        critical: sla("sla-critical", &config.sla_critical)?,
        same_day_low: config.same_day_low,
        ..Policy::default()
    };
    let settings = Settings {
        stream: StreamSettings { replicas: config.stream_replicas, ..StreamSettings::default() },
        policy,
        wait_timeout: Duration::from_millis(config.query_wait_ms),
        reflection: config.reflection,
        shutdown_grace: Duration::from_secs(config.shutdown_grace_secs),
        clock: Arc::new(SystemClock),
        sla_tick: Duration::from_millis(config.sla_tick_ms),
        ..Settings::default()
    };

    if let Some(listen) = config.metrics_listen {
        waybill_runtime::metrics::export(listen)?;
    }
    let nats = waybill_runtime::connect_nats(&config.nats_url, "waybill-aftersales").await?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    server::run(settings, nats, listener, waybill_runtime::shutdown::signal()).await
}
