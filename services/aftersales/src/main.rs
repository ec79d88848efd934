//! The after-sales binary: configuration and wiring only.

use std::time::Duration;

use clap::Parser;
use waybill_aftersales::domain::{ComplaintSla, Policy};
use waybill_aftersales::server::{self, Settings};
use waybill_runtime::ServiceFlags;
use waybill_types::duration::{self, Unit};

/// After-sales: returns, refunds, claims, complaints with an SLA clock, surveys.
#[derive(Debug, Parser)]
#[command(version)]
struct Config {
    #[command(flatten)]
    service: ServiceFlags,
    /// How long after delivery a return may be requested: whole days, or with a unit suffix
    /// `d`, `h`, `m` or `s` (e.g. "14", "14d", "36h"). Default 14 days.
    #[arg(long, env = "WAYBILL_AFTERSALES_RETURN_WINDOW")]
    return_window: Option<String>,
    /// The same in whole days only (the older flag, kept for compatibility; set one of the two).
    #[arg(long, env = "WAYBILL_AFTERSALES_RETURN_WINDOW_DAYS")]
    return_window_days: Option<String>,
    /// Complaint deadlines per severity, as "<acknowledge>/<resolve>": whole hours, or with
    /// a unit suffix `d`, `h`, `m` or `s` (e.g. "90m/4h"; seconds are for drills and tests).
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

/// "<acknowledge>/<resolve>", each whole hours or a number with a unit (`d`, `h`, `m`, `s`),
/// both positive, acknowledge not after resolve, resolve within a year.
fn sla(flag: &str, value: &str) -> anyhow::Result<ComplaintSla> {
    let parsed = duration::parse_pair(value, Unit::Hours).filter(|(acknowledge, resolve)| {
        *acknowledge > chrono::Duration::zero()
            && acknowledge <= resolve
            && *resolve <= chrono::Duration::days(365)
    });
    let (acknowledge_within, resolve_within) = parsed.ok_or_else(|| {
        anyhow::anyhow!(
            "--{flag} must be <acknowledge>/<resolve> in hours (or with d/h/m/s), e.g. 8/48 or 30s/2m"
        )
    })?;
    Ok(ComplaintSla { acknowledge_within, resolve_within })
}

/// The return window from `--return-window` (bare number: days) or the older
/// `--return-window-days` (whole days), 14 days if neither: positive, at most 3650 days.
fn return_window(config: &Config) -> anyhow::Result<chrono::Duration> {
    let (flag, window) = match (&config.return_window, &config.return_window_days) {
        (Some(_), Some(_)) => anyhow::bail!("set --return-window or --return-window-days, not both"),
        (Some(text), None) => ("--return-window", duration::parse(text, Unit::Days)),
        (None, Some(days)) => {
            ("--return-window-days", days.trim().parse::<i64>().ok().and_then(chrono::Duration::try_days))
        }
        (None, None) => return Ok(chrono::Duration::days(14)),
    };
    window
        .filter(|window| *window > chrono::Duration::zero() && *window <= chrono::Duration::days(3650))
        .ok_or_else(|| {
            anyhow::anyhow!("{flag} must be a positive duration of at most 3650 days (e.g. 14, 14d, 36h)")
        })
}

waybill_runtime::global_allocator!();

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    anyhow::ensure!(config.sla_tick_ms >= 1, "--sla-tick-ms must be at least 1");
    let policy = Policy {
        return_window: return_window(&config)?,
        low: sla("sla-low", &config.sla_low)?,
        medium: sla("sla-medium", &config.sla_medium)?,
        high: sla("sla-high", &config.sla_high)?,
        critical: sla("sla-critical", &config.sla_critical)?,
        same_day_low: config.same_day_low,
        ..Policy::default()
    };
    let settings =
        Settings { sla_tick: Duration::from_millis(config.sla_tick_ms), ..config.service.settings(policy) };

    let started = config.service.start("waybill-aftersales", 50054).await?;
    server::run(settings, started, waybill_runtime::shutdown::signal()).await
}
