//! The after-sales binary: configuration and wiring only.

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use waybill_aftersales::commands::SystemClock;
use waybill_aftersales::domain::{ComplaintSla, Policy};
use waybill_aftersales::server::{self, Settings};
use waybill_runtime::{ServiceFlags, Started};

/// After-sales: returns, refunds, claims, complaints with an SLA clock, surveys.
#[derive(Debug, Parser)]
#[command(version)]
struct Config {
    #[command(flatten)]
    service: ServiceFlags,
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
        stream: config.service.stream(),
        policy,
        wait_timeout: config.service.query_wait(),
        reflection: config.service.reflection,
        shutdown_grace: config.service.shutdown_grace(),
        clock: Arc::new(SystemClock),
        sla_tick: Duration::from_millis(config.sla_tick_ms),
        ..Settings::default()
    };

    let Started { nats, listener } = config.service.start("waybill-aftersales", 50054).await?;
    server::run(settings, nats, listener, waybill_runtime::shutdown::signal()).await
}
