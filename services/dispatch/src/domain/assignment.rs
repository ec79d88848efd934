//! Choosing a vehicle for a task: capacity and upkeep first, then the origin depot, then
//! the best fit.

use waybill_types::Timestamp;

use super::upkeep::{may_drive, roadworthy};
use super::{Driver, Load, Rejection, Task, Vehicle, same_place, suits};

/// How much `load` overshoots what `vehicle` has left, e.g. "2000 g" or "3000 g, 500 cm³";
/// `None` if it fits.
pub fn shortfall(vehicle: &Vehicle, load: Load) -> Option<String> {
    let after = vehicle.load().plus(load);
    if after.fits_within(vehicle.capacity) {
        return None;
    }
    let mut parts = Vec::new();
    if after.weight_grams > vehicle.capacity.weight_grams {
        parts.push(format!("{} g", after.weight_grams - vehicle.capacity.weight_grams));
    }
    if after.volume_cm3 > vehicle.capacity.volume_cm3 {
        parts.push(format!("{} cm³", after.volume_cm3 - vehicle.capacity.volume_cm3));
    }
    Some(parts.join(", "))
}

/// How many held-back vehicles a refusal names.
const NAMED_HELD_BACK: usize = 5;

/// The vehicle the rules choose for `task` among `vehicles`: active, of a kind that suits
/// the task's mode, with room for its load beside what it already carries, roadworthy at
/// `now` (no upkeep overdue) and, with a `driver`, one their licence covers. Among those,
/// one based at the task's origin depot (case-insensitive) first, then the best fit (least
/// room left after loading: weight, then volume), then the smallest id, so the choice is
/// deterministic. `NoVehicleWithRoom` if no vehicle has room; `NoEligibleVehicle`, naming
/// why, if every one with room is held back by upkeep or the driver's licence.
pub fn choose_vehicle<'a>(
    task: &Task,
    vehicles: impl IntoIterator<Item = &'a Vehicle>,
    now: Timestamp,
    driver: Option<&Driver>,
) -> Result<&'a Vehicle, Rejection> {
    let load = task.plan.load;
    let with_room: Vec<&Vehicle> = vehicles
        .into_iter()
        .filter(|vehicle| !vehicle.retired && suits(vehicle.kind, task.plan.mode))
        .filter(|vehicle| shortfall(vehicle, load).is_none())
        .collect();
    if with_room.is_empty() {
        return Err(Rejection::NoVehicleWithRoom { load, mode: task.plan.mode });
    }
    let eligible = |vehicle: &Vehicle| {
        roadworthy(vehicle, now)?;
        driver.map_or(Ok(()), |driver| may_drive(driver, vehicle))
    };
    let mut held_back = Vec::new();
    let chosen = with_room
        .into_iter()
        .filter(|vehicle| match eligible(vehicle) {
            Ok(()) => true,
            Err(why) => {
                held_back.push(why.to_string());
                false
            }
        })
        .min_by_key(|vehicle| {
            let after = vehicle.load().plus(load);
            let elsewhere = !same_place(&vehicle.depot, &task.plan.origin_depot);
            let room = (
                vehicle.capacity.weight_grams.saturating_sub(after.weight_grams),
                vehicle.capacity.volume_cm3.saturating_sub(after.volume_cm3),
            );
            (elsewhere, room, vehicle.id)
        });
    chosen.ok_or_else(|| {
        let more = held_back.len().saturating_sub(NAMED_HELD_BACK);
        held_back.truncate(NAMED_HELD_BACK);
        if more > 0 {
            held_back.push(format!("and {more} more"));
        }
        Rejection::NoEligibleVehicle { held_back }
    })
}
