//! Intake's facts about orders, as dispatch, delivery, after-sales and CRM read them.

use waybill_types::{Address, CargoLine, Money, Party, ServiceLevel};

use crate::convert::{self, FieldViolations};
use crate::envelope::{DecodeError, Envelope};
use crate::stored;
use crate::v1::{self, intake_event::Event as Wire};

/// (Read once and moved on: boxing the placement would buy nothing.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum OrderFact {
    Placed(PlacedOrder),
    Accepted,
    /// A cancelled order restored; `status` is UNSPECIFIED for a number this build does not know.
    Restored {
        status: v1::OrderStatus,
    },
    Cancelled {
        reason: String,
    },
    Amended {
        cargo: StoredCargo,
        service_level: Option<ServiceLevel>,
        quote: Option<QuoteFacts>,
    },
    /// `address` is `None` if the event carries none.
    ConsigneeAddressChanged {
        address: Option<Address>,
        quote: Option<QuoteFacts>,
    },
    Delivered,
}

impl OrderFact {
    /// Whether the order is cancelled after this fact: `Some(true)` when it cancels the
    /// order, `Some(false)` when it restores it, `None` when it changes neither.
    pub fn cancelled_after(&self) -> Option<bool> {
        match self {
            OrderFact::Cancelled { .. } => Some(true),
            OrderFact::Restored { .. } => Some(false),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PlacedOrder {
    /// As stored (intake checked it); readers that need a `CustomerId` parse it.
    pub customer_id: String,
    pub shipper: Party,
    pub consignee: Party,
    pub cargo: StoredCargo,
    pub service_level: Option<ServiceLevel>,
    pub quote: Option<QuoteFacts>,
}

/// What a quote says that other services use.
#[derive(Clone, Debug, PartialEq)]
pub struct QuoteFacts {
    pub chargeable_weight_grams: u64,
    /// UNSPECIFIED for a number this build does not know.
    pub zone: v1::Zone,
    /// `None` if absent or unreadable.
    pub total: Option<Money>,
}

/// An order's cargo as stored; read on demand (most readers need little of it).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoredCargo(Vec<v1::CargoLine>);

impl StoredCargo {
    /// Weight (grams) and volume (cm³) of all pieces of all lines.
    pub fn totals(&self) -> (u64, u64) {
        self.0.iter().fold((0, 0), |(weight, volume), line| {
            let pieces = u64::from(line.quantity);
            let line_volume = u64::from(line.length_cm)
                .saturating_mul(u64::from(line.width_cm))
                .saturating_mul(u64::from(line.height_cm));
            (
                weight.saturating_add(line.weight_grams.saturating_mul(pieces)),
                volume.saturating_add(line_volume.saturating_mul(pieces)),
            )
        })
    }

    /// Whether any line is hazardous goods (who may drive them depends on it).
    pub fn has_hazardous(&self) -> bool {
        self.0.iter().any(|line| line.category == v1::CargoCategory::Hazardous as i32)
    }

    /// The lines as domain values, leaving out any that no longer pass the checks.
    pub fn lines(&self) -> Vec<CargoLine> {
        self.0
            .iter()
            .filter_map(|line| convert::cargo_line(&mut FieldViolations::new(), "cargo", line))
            .collect()
    }
}

/// One of intake's order events, if it is one other services read.
pub fn read(payload: &[u8]) -> Result<Option<Envelope<OrderFact>>, DecodeError> {
    super::read(payload, |event: Wire, _| fact(event))
}

fn fact(event: Wire) -> Option<OrderFact> {
    Some(match event {
        Wire::OrderPlaced(placed) => OrderFact::Placed(PlacedOrder {
            shipper: stored::party(placed.shipper.as_ref()),
            consignee: stored::party(placed.consignee.as_ref()),
            service_level: stored::service_level(placed.service_level),
            quote: placed.quote.as_ref().map(quote),
            cargo: StoredCargo(placed.cargo),
            customer_id: placed.customer_id,
        }),
        Wire::OrderAccepted(_) => OrderFact::Accepted,
        Wire::OrderRestored(restored) => OrderFact::Restored {
            status: v1::OrderStatus::try_from(restored.restored_status).unwrap_or_default(),
        },
        Wire::OrderCancelled(cancelled) => OrderFact::Cancelled { reason: cancelled.reason },
        Wire::OrderAmended(amended) => OrderFact::Amended {
            service_level: stored::service_level(amended.service_level),
            quote: amended.quote.as_ref().map(quote),
            cargo: StoredCargo(amended.cargo),
        },
        Wire::ConsigneeAddressChanged(changed) => OrderFact::ConsigneeAddressChanged {
            address: changed.address.as_ref().map(|address| stored::address(Some(address))),
            quote: changed.quote.as_ref().map(quote),
        },
        Wire::OrderDelivered(_) => OrderFact::Delivered,
        _ => return None,
    })
}

fn quote(quote: &v1::Quote) -> QuoteFacts {
    QuoteFacts {
        chargeable_weight_grams: quote.chargeable_weight_grams,
        zone: v1::Zone::try_from(quote.zone).unwrap_or_default(),
        total: stored::money(quote.total.as_ref()),
    }
}
