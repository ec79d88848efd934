//! Choosing a vehicle for a task: capacity first, then the origin depot, then the best fit.

use super::{Load, Task, Vehicle, same_place, suits};

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

/// The vehicle the rules choose for `task` among `vehicles`: active, of a kind that suits
/// the task's mode, with room for its load beside what it already carries. Among those,
/// one based at the task's origin depot (case-insensitive) first, then the best fit (least
/// room left after loading: weight, then volume), then the smallest id, so the choice is
/// deterministic. `None` if no vehicle has room.
pub fn choose_vehicle<'a>(
    task: &Task,
    vehicles: impl IntoIterator<Item = &'a Vehicle>,
) -> Option<&'a Vehicle> {
    let load = task.plan.load;
    vehicles
        .into_iter()
        .filter(|vehicle| !vehicle.retired && suits(vehicle.kind, task.plan.mode))
        .filter(|vehicle| shortfall(vehicle, load).is_none())
        .min_by_key(|vehicle| {
            let after = vehicle.load().plus(load);
            let elsewhere = !same_place(&vehicle.depot, &task.plan.origin_depot);
            let room = (
                vehicle.capacity.weight_grams.saturating_sub(after.weight_grams),
                vehicle.capacity.volume_cm3.saturating_sub(after.volume_cm3),
            );
            (elsewhere, room, vehicle.id)
        })
}
