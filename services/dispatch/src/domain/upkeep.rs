//! Fleet upkeep (the delivery rules 第八–十一条): vehicles inspected and maintained on a
//! schedule, drivers licensed for what they drive and trained for what they carry.
//!
//! The rules, in one place, for assignment and for the upkeep clock:
//! - A vehicle is **roadworthy** while neither its inspection nor its maintenance is past
//!   due. A vehicle with no due date recorded yet is not held back (the fleet predates the
//!   rule; recording one starts the schedule).
//! - A driver **may drive** a vehicle while the licence has not expired and its class covers
//!   the vehicle's kind ([`licence_covers`]); a task with hazardous cargo also needs
//!   hazardous-goods training valid now.
//! - Due dates a person records lie after now and within a horizon per kind
//!   ([`check_due_date`]): a date in the past or decades away is a typing mistake.
//! - Each due date gets one reminder (`…DueSoon`) once it is within the lead time; a new
//!   due date is a new reminder.

use waybill_types::Timestamp;

use super::{Driver, Rejection, Vehicle, VehicleKind};

/// One of a vehicle's scheduled upkeeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Upkeep {
    Inspection,
    Maintenance,
}

impl Upkeep {
    pub fn as_str(&self) -> &'static str {
        match self {
            Upkeep::Inspection => "inspection",
            Upkeep::Maintenance => "maintenance",
        }
    }
}

/// Training a driver can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Training {
    /// Dangerous goods (ADR): needed for a task with hazardous cargo.
    HazardousGoods,
}

impl Training {
    pub fn as_str(&self) -> &'static str {
        match self {
            Training::HazardousGoods => "hazardous-goods",
        }
    }
}

/// A date something is due, and whether its reminder went out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DueDate {
    pub due: Timestamp,
    pub reminded: bool,
}

impl DueDate {
    pub fn new(due: Timestamp) -> Self {
        DueDate { due, reminded: false }
    }

    /// Due at or before `now`.
    pub fn passed(&self, now: Timestamp) -> bool {
        self.due <= now
    }
}

/// How far ahead a recorded date may lie.
pub const UPKEEP_HORIZON_YEARS: i64 = 5;
pub const LICENCE_HORIZON_YEARS: i64 = 20;
pub const TRAINING_HORIZON_YEARS: i64 = 10;

/// `Invalid` naming `field` unless `date` is after `now` and within `horizon_years`.
pub fn check_due_date(
    field: &str,
    date: Timestamp,
    now: Timestamp,
    horizon_years: i64,
) -> Result<(), Rejection> {
    if date <= now {
        return Err(Rejection::invalid(field, format!("must be after now ({})", now.to_rfc3339())));
    }
    if date > now + chrono::Duration::days(365 * horizon_years) {
        return Err(Rejection::invalid(field, format!("must be within {horizon_years} years from now")));
    }
    Ok(())
}

/// A licence class as written on the licence: trimmed, upper case ("ce" is "CE").
pub fn normalise_licence_class(class: &str) -> String {
    class.trim().to_uppercase()
}

/// Whether a licence of `class` lets its holder drive a vehicle of `kind`: a van needs B
/// (or a class that includes it: BE, C1, C1E, C, CE), a truck C or CE. Rail wagons and air
/// containers are capacity booked with an operator: no licence of ours applies.
pub fn licence_covers(class: &str, kind: VehicleKind) -> bool {
    let class = normalise_licence_class(class);
    match kind {
        VehicleKind::Van => ["B", "BE", "C1", "C1E", "C", "CE"].contains(&class.as_str()),
        VehicleKind::Truck => ["C", "CE"].contains(&class.as_str()),
        VehicleKind::RailWagon | VehicleKind::AirContainer => true,
    }
}

/// `UpkeepOverdue` naming the first upkeep past due, if any.
pub fn roadworthy(vehicle: &Vehicle, now: Timestamp) -> Result<(), Rejection> {
    for (upkeep, due) in vehicle.upkeeps() {
        if due.passed(now) {
            return Err(Rejection::UpkeepOverdue { vehicle_id: vehicle.id, upkeep, due: due.due });
        }
    }
    Ok(())
}

/// What keeps `driver` from a task with this cargo on any vehicle: an expired licence, or
/// hazardous cargo without valid training.
pub fn may_carry(driver: &Driver, hazardous: bool, now: Timestamp) -> Result<(), Rejection> {
    if let Some(expired) = driver.licence_expires_at.filter(|expires| *expires <= now) {
        return Err(Rejection::LicenceExpired { driver_id: driver.id, expired });
    }
    if hazardous && !driver.trained(Training::HazardousGoods, now) {
        return Err(Rejection::NotTrained { driver_id: driver.id, training: Training::HazardousGoods });
    }
    Ok(())
}

/// `LicenceDoesNotCover` unless `driver`'s licence class covers `vehicle`.
pub fn may_drive(driver: &Driver, vehicle: &Vehicle) -> Result<(), Rejection> {
    if licence_covers(&driver.licence_class, vehicle.kind) {
        return Ok(());
    }
    Err(Rejection::LicenceDoesNotCover {
        driver_id: driver.id,
        class: driver.licence_class.clone(),
        vehicle_id: vehicle.id,
        kind: vehicle.kind.as_str(),
    })
}
