//! The CRM binary: configuration and wiring only.

use clap::Parser;
use waybill_crm::analytics::{CostModel, Policy};
use waybill_crm::server;
use waybill_runtime::ServiceFlags;
use waybill_types::Currency;

/// CRM: customers, credit holds, profit contribution, ABC and lifecycle classes, KPIs.
#[derive(Debug, Parser)]
#[command(version)]
struct Config {
    #[command(flatten)]
    service: ServiceFlags,
    /// A customer who ordered within this many days is active; before that, lapsed.
    #[arg(long, env = "WAYBILL_CRM_ACTIVE_DAYS", default_value_t = 90, value_parser = not_negative())]
    active_days: i64,
    /// The report currency (ISO 4217); money in other currencies is counted apart.
    #[arg(long, env = "WAYBILL_CRM_CURRENCY", default_value = "EUR")]
    currency: String,
    /// Cost model: the fixed cost of an order, in minor units of the report currency.
    #[arg(long, env = "WAYBILL_CRM_COST_PER_ORDER_MINOR", default_value_t = 400, value_parser = not_negative())]
    cost_per_order_minor: i64,
    /// Cost model: the cost per kilogram of chargeable weight, in minor units.
    #[arg(long, env = "WAYBILL_CRM_COST_PER_KG_MINOR", default_value_t = 25, value_parser = not_negative())]
    cost_per_kg_minor: i64,
}

/// Days and the cost model's rates are never negative: clap refuses them with the flag's name.
fn not_negative() -> clap::builder::RangedI64ValueParser<i64> {
    clap::value_parser!(i64).range(0..)
}

waybill_runtime::global_allocator!();

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let currency =
        Currency::parse(&config.currency).map_err(|error| anyhow::anyhow!("--currency: {error}"))?;
    let cost =
        CostModel { per_order_minor: config.cost_per_order_minor, per_kg_minor: config.cost_per_kg_minor };
    let settings = config.service.settings(Policy { currency, cost, active_days: config.active_days });

    let started = config.service.start("waybill-crm", 50055).await?;
    server::run(settings, started, waybill_runtime::shutdown::signal()).await
}
