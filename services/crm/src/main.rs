//! The CRM binary: configuration and wiring only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use waybill_crm::analytics::{CostModel, Policy};
use waybill_crm::commands::SystemClock;
use waybill_crm::server::{self, Settings};
use waybill_eventlog::StreamSettings;
use waybill_runtime::telemetry::{self, LogFormat};
use waybill_types::Currency;

/// CRM: customers, credit holds, profit contribution, ABC and lifecycle classes, KPIs.
#[derive(Debug, Parser)]
#[command(version)]
struct Config {
    /// Address the gRPC server listens on.
    #[arg(long, env = "WAYBILL_LISTEN", default_value = "127.0.0.1:50055")]
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
    /// A customer who ordered within this many days is active; before that, lapsed.
    #[arg(long, env = "WAYBILL_CRM_ACTIVE_DAYS", default_value_t = 90)]
    active_days: i64,
    /// The report currency (ISO 4217); money in other currencies is counted apart.
    #[arg(long, env = "WAYBILL_CRM_CURRENCY", default_value = "EUR")]
    currency: String,
    /// Cost model: the fixed cost of an order, in minor units of the report currency.
    #[arg(long, env = "WAYBILL_CRM_COST_PER_ORDER_MINOR", default_value_t = 400)]
    cost_per_order_minor: i64,
    /// Cost model: the cost per kilogram of chargeable weight, in minor units.
    #[arg(long, env = "WAYBILL_CRM_COST_PER_KG_MINOR", default_value_t = 25)]
    cost_per_kg_minor: i64,
    /// How long a query waits for the read model to reach its min_position, in milliseconds.
    #[arg(long, env = "WAYBILL_QUERY_WAIT_MS", default_value_t = 5_000)]
    query_wait_ms: u64,
    /// On SIGTERM, how long in-flight calls may take to finish before the process exits.
    #[arg(long, env = "WAYBILL_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    shutdown_grace_secs: u64,
    /// Serve Prometheus metrics at http://<address>/metrics (off when unset).
    #[arg(long, env = "WAYBILL_METRICS_LISTEN")]
    metrics_listen: Option<std::net::SocketAddr>,
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    telemetry::init(config.log_format);

    if config.active_days < 0 {
        anyhow::bail!("--active-days must not be negative");
    }
    if config.cost_per_order_minor < 0 || config.cost_per_kg_minor < 0 {
        anyhow::bail!("the cost model's rates must not be negative");
    }
    let currency =
        Currency::parse(&config.currency).map_err(|error| anyhow::anyhow!("--currency: {error}"))?;
    let settings = Settings {
        stream: StreamSettings { replicas: config.stream_replicas, ..StreamSettings::default() },
        policy: Policy {
            currency,
            cost: CostModel {
                per_order_minor: config.cost_per_order_minor,
                per_kg_minor: config.cost_per_kg_minor,
            },
            active_days: config.active_days,
        },
        wait_timeout: Duration::from_millis(config.query_wait_ms),
        reflection: config.reflection,
        shutdown_grace: Duration::from_secs(config.shutdown_grace_secs),
        clock: Arc::new(SystemClock),
        ..Settings::default()
    };

    if let Some(listen) = config.metrics_listen {
        waybill_runtime::metrics::export(listen)?;
    }
    let nats = waybill_runtime::connect_nats(&config.nats_url, "waybill-crm").await?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    server::run(settings, nats, listener, waybill_runtime::shutdown::signal()).await
}
