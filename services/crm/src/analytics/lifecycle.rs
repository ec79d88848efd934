//! Lifecycle classes (docs/KPIS.md, "Lifecycle").

use waybill_types::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LifecycleClass {
    /// Known (registered, or seen otherwise) and never ordered.
    Prospect,
    /// Placed an order at or after `now - active_days`.
    Active,
    /// Ordered before, not since.
    Lapsed,
}

/// The class of a customer whose latest order was placed at `last_order_at`. An order
/// placed exactly `active_days` days ago still counts as recent. See docs/KPIS.md,
/// "Lifecycle".
pub fn classify(last_order_at: Option<Timestamp>, now: Timestamp, active_days: i64) -> LifecycleClass {
    let Some(last_order_at) = last_order_at else { return LifecycleClass::Prospect };
    let window = chrono::Duration::try_days(active_days).unwrap_or(chrono::Duration::MAX);
    let since = now.checked_sub_signed(window);
    match since {
        Some(since) if last_order_at < since => LifecycleClass::Lapsed,
        _ => LifecycleClass::Active,
    }
}
