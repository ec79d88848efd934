//! How wire values read on a page and in a CSV: statuses in lower case without their
//! enum prefix, times in UTC to the second, money in its currency's units.

use waybill_proto::v1;

/// `ORDER_STATUS_IN_REVIEW` -> `in_review`: the names the filters and exports use.
pub fn order_status(status: i32) -> String {
    let name =
        v1::OrderStatus::try_from(status).map_or("ORDER_STATUS_UNSPECIFIED", |status| status.as_str_name());
    name.trim_start_matches("ORDER_STATUS_").to_ascii_lowercase()
}

/// `in_review` -> the status, for the order list's filter.
pub fn parse_order_status(name: &str) -> Option<v1::OrderStatus> {
    let status = v1::OrderStatus::from_str_name(&format!("ORDER_STATUS_{}", name.to_ascii_uppercase()))?;
    (status != v1::OrderStatus::Unspecified).then_some(status)
}

/// Every status a filter may name, in lifecycle order.
pub fn order_statuses() -> impl Iterator<Item = String> {
    (1..=10).map(order_status).filter(|name| name != "unspecified")
}

/// An enum value's wire name without its prefix, in lower case (`TASK_STATUS_IN_TRANSIT`
/// with prefix `TASK_STATUS_` -> `in_transit`); a value this build does not know is
/// `unknown`.
pub fn wire_name<E>(name: Result<&str, E>, prefix: &str) -> String {
    name.map_or_else(|_| "unknown".to_owned(), |name| name.trim_start_matches(prefix).to_ascii_lowercase())
}

pub fn service_level(level: i32) -> String {
    let name =
        v1::ServiceLevel::try_from(level).map_or("SERVICE_LEVEL_UNSPECIFIED", |level| level.as_str_name());
    name.trim_start_matches("SERVICE_LEVEL_").to_ascii_lowercase()
}

/// `2026-12-04 05:40:00 UTC`; empty when unset.
pub fn time(timestamp: Option<&prost_types::Timestamp>) -> String {
    timestamp
        .and_then(|at| chrono::DateTime::from_timestamp(at.seconds, u32::try_from(at.nanos).unwrap_or(0)))
        .map(|at| at.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// `EUR 12.50`; a currency the types do not know is shown in minor units.
pub fn money(money: Option<&v1::Money>) -> String {
    let Some(money) = money else { return String::new() };
    match waybill_types::Currency::from_log(&money.currency) {
        Ok(currency) => waybill_types::Money::new(money.amount_minor, currency).to_string(),
        Err(_) => format!("{} {} (minor units)", money.currency, money.amount_minor),
    }
}

/// A ratio as a percentage with one decimal (`97.5`), or `None` when nothing was counted.
pub fn percent(rate: Option<&v1::Rate>) -> Option<f64> {
    rate.and_then(|rate| rate.ratio).map(|ratio| (ratio * 1000.0).round() / 10.0)
}

/// A duration in seconds as `1d 4h 05m` (lead times).
pub fn duration(seconds: Option<i64>) -> String {
    let Some(seconds) = seconds else { return String::new() };
    let (days, hours, minutes) = (seconds / 86_400, seconds % 86_400 / 3_600, seconds % 3_600 / 60);
    match (days, hours) {
        (0, 0) => format!("{minutes}m"),
        (0, _) => format!("{hours}h {minutes:02}m"),
        _ => format!("{days}d {hours}h {minutes:02}m"),
    }
}

/// `2026-12-01` -> midnight UTC that day, for period filters.
pub fn parse_day(day: &str) -> Result<prost_types::Timestamp, String> {
    let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|_| format!("{day:?} is not a date (YYYY-MM-DD)"))?;
    let midnight = date.and_hms_opt(0, 0, 0).map(|at| at.and_utc().timestamp()).unwrap_or_default();
    Ok(prost_types::Timestamp { seconds: midnight, nanos: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_and_parse_by_their_short_names() {
        assert_eq!(order_status(v1::OrderStatus::InReview as i32), "in_review");
        assert_eq!(parse_order_status("in_review"), Some(v1::OrderStatus::InReview));
        assert_eq!(parse_order_status("unspecified"), None);
        assert_eq!(parse_order_status("lost"), None);
        assert_eq!(order_statuses().count(), 10);
        let in_transit =
            v1::TaskStatus::try_from(v1::TaskStatus::InTransit as i32).map(|status| status.as_str_name());
        assert_eq!(wire_name(in_transit, "TASK_STATUS_"), "in_transit");
        let unknown = v1::TaskStatus::try_from(99).map(|status| status.as_str_name());
        assert_eq!(wire_name(unknown, "TASK_STATUS_"), "unknown");
    }

    #[test]
    fn days_percentages_and_durations() {
        assert_eq!(parse_day("2026-12-01").map(|at| at.seconds), Ok(1_796_083_200));
        assert!(parse_day("01.12.2026").is_err());
        let rate = v1::Rate { numerator: 39, denominator: 40, ratio: Some(0.975) };
        assert_eq!(percent(Some(&rate)), Some(97.5));
        assert_eq!(percent(Some(&v1::Rate { numerator: 0, denominator: 0, ratio: None })), None);
        assert_eq!(duration(Some(90_061)), "1d 1h 01m");
        assert_eq!(duration(Some(3_540)), "59m");
    }
}
