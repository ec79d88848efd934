//! The Courier decider: registered with the zones it serves, zones changed, retired.
//!
//! - **Register** a new id with a non-blank name and at least one zone; an id already
//!   registered is `CourierAlreadyRegistered` (a retried request never gets here: the
//!   command loop answers it from the log).
//! - **ChangeZones** of an active courier; the same zones again do nothing.
//! - **Retire** an active courier with no open deliveries; retiring twice does nothing.

use waybill_types::{Timestamp, limits};

use super::{Context, Courier, CourierCommand, CourierEvent, Rejection, same_zone};

/// Most zones one courier serves.
pub const MAX_ZONES: usize = 32;

pub fn decide_courier(
    state: Option<&Courier>,
    command: CourierCommand,
    _context: &Context<'_>,
) -> Result<Vec<CourierEvent>, Rejection> {
    let (courier, command) = match (state, command) {
        (None, CourierCommand::Register { courier_id, name, zones }) => {
            let zones = checked_zones(zones)?;
            if name.trim().is_empty() {
                return Err(Rejection::invalid("name", "is required"));
            }
            return Ok(vec![CourierEvent::Registered { courier_id, name: name.trim().to_owned(), zones }]);
        }
        (Some(_), CourierCommand::Register { .. }) => return Err(Rejection::CourierAlreadyRegistered),
        (None, _) => return Err(Rejection::CourierNotFound),
        (Some(courier), command) => (courier, command),
    };
    match command {
        CourierCommand::Register { .. } => Err(Rejection::CourierAlreadyRegistered),
        CourierCommand::ChangeZones { zones } => {
            if courier.retired {
                return Err(Rejection::CourierRetired { courier_id: courier.id });
            }
            let zones = checked_zones(zones)?;
            if zones == courier.zones {
                return Ok(vec![]);
            }
            Ok(vec![CourierEvent::ZonesChanged { zones }])
        }
        CourierCommand::Retire { reason, open_deliveries } => {
            if courier.retired {
                return Ok(vec![]);
            }
            if open_deliveries > 0 {
                return Err(Rejection::CourierHasOpenDeliveries { open: open_deliveries });
            }
            Ok(vec![CourierEvent::Retired { reason }])
        }
    }
}

/// Trimmed, blanks dropped, duplicates (case-insensitive) dropped, first spelling kept.
pub fn normalize_zones(zones: Vec<String>) -> Vec<String> {
    let mut normalized: Vec<String> = Vec::with_capacity(zones.len());
    for zone in zones {
        let zone = zone.trim();
        if !zone.is_empty() && !normalized.iter().any(|kept| same_zone(kept, zone)) {
            normalized.push(zone.to_owned());
        }
    }
    normalized
}

fn checked_zones(zones: Vec<String>) -> Result<Vec<String>, Rejection> {
    let zones = normalize_zones(zones);
    if zones.is_empty() {
        return Err(Rejection::invalid("zones", "a courier serves at least one zone"));
    }
    if zones.len() > MAX_ZONES {
        return Err(Rejection::invalid("zones", format!("at most {MAX_ZONES} zones")));
    }
    if zones.iter().any(|zone| zone.chars().count() > limits::MAX_TEXT_CHARS) {
        return Err(Rejection::invalid(
            "zones",
            format!("a zone has at most {} characters", limits::MAX_TEXT_CHARS),
        ));
    }
    Ok(zones)
}

/// Pure; the same on replay and live. `at` is the event's occurred-at.
pub fn evolve_courier(state: Option<Courier>, event: &CourierEvent, at: Timestamp) -> Option<Courier> {
    let Some(mut courier) = state else {
        return match event {
            CourierEvent::Registered { courier_id, name, zones } => Some(Courier {
                id: *courier_id,
                name: name.clone(),
                zones: zones.clone(),
                retired: false,
                registered_at: at,
                updated_at: at,
            }),
            _ => None,
        };
    };
    match event {
        CourierEvent::Registered { .. } => return Some(courier),
        CourierEvent::ZonesChanged { zones } => courier.zones = zones.clone(),
        CourierEvent::Retired { .. } => courier.retired = true,
    }
    courier.updated_at = at;
    Some(courier)
}
