//! Choosing how a task travels, and which vehicles can carry it.

use waybill_types::ServiceLevel;
pub use waybill_types::Zone;

use super::{TransportMode, VehicleKind};

/// National and international distances: far enough for air (express) or rail (heavy).
fn is_far(zone: Zone) -> bool {
    matches!(zone, Zone::National | Zone::International)
}

/// Chargeable weight from which a consignment needs a vehicle of its own: 1,000 kg.
pub const HEAVY_GRAMS: u64 = 1_000_000;

/// The transport mode of a task, by these rules, first match wins:
///
/// 1. same-day → road courier (a van, straight there);
/// 2. express over a far zone (national, international) → air;
/// 3. chargeable weight of 1,000 kg or more → rail over a far zone, else road truckload;
/// 4. otherwise → road, less than truckload (consolidated on a van or truck).
pub fn transport_mode(
    service_level: ServiceLevel,
    chargeable_weight_grams: u64,
    zone: Zone,
) -> TransportMode {
    match service_level {
        ServiceLevel::SameDay => TransportMode::RoadCourier,
        ServiceLevel::Express if is_far(zone) => TransportMode::Air,
        _ if chargeable_weight_grams >= HEAVY_GRAMS => {
            if is_far(zone) {
                TransportMode::Rail
            } else {
                TransportMode::RoadTruckload
            }
        }
        _ => TransportMode::RoadLtl,
    }
}

/// Whether a vehicle of `kind` can carry a task travelling by `mode`: couriers go by van,
/// consolidated road freight by van or truck, truckloads by truck, rail by wagon, air by
/// air container.
pub fn suits(kind: VehicleKind, mode: TransportMode) -> bool {
    matches!(
        (mode, kind),
        (TransportMode::RoadCourier, VehicleKind::Van)
            | (TransportMode::RoadLtl, VehicleKind::Van | VehicleKind::Truck)
            | (TransportMode::RoadTruckload, VehicleKind::Truck)
            | (TransportMode::Rail, VehicleKind::RailWagon)
            | (TransportMode::Air, VehicleKind::AirContainer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_pick_the_mode_in_order() {
        use ServiceLevel::*;
        use TransportMode::*;
        assert_eq!(transport_mode(SameDay, 5_000_000, Zone::National), RoadCourier);
        assert_eq!(transport_mode(Express, 1_000, Zone::National), Air);
        assert_eq!(transport_mode(Express, 1_000, Zone::International), Air);
        assert_eq!(transport_mode(Express, 1_000, Zone::Regional), RoadLtl);
        assert_eq!(transport_mode(Standard, HEAVY_GRAMS, Zone::National), Rail);
        assert_eq!(transport_mode(Standard, HEAVY_GRAMS, Zone::Local), RoadTruckload);
        assert_eq!(transport_mode(Express, HEAVY_GRAMS, Zone::Regional), RoadTruckload);
        assert_eq!(transport_mode(Standard, HEAVY_GRAMS - 1, Zone::International), RoadLtl);
        assert_eq!(transport_mode(Standard, 6_000, Zone::National), RoadLtl);
    }

    #[test]
    fn a_van_carries_standard_road_freight_but_not_air() {
        assert!(suits(VehicleKind::Van, TransportMode::RoadLtl));
        assert!(suits(VehicleKind::Truck, TransportMode::RoadLtl));
        assert!(!suits(VehicleKind::Van, TransportMode::Air));
        assert!(!suits(VehicleKind::Van, TransportMode::RoadTruckload));
        assert!(suits(VehicleKind::RailWagon, TransportMode::Rail));
    }
}
