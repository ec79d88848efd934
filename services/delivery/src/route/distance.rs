//! How far and how long between two points when no routing engine is configured: the
//! great-circle (haversine) distance on a sphere of the Earth's mean radius, times a road
//! factor (roads are not straight; 1.3 is the usual figure for European towns), driven at
//! an average speed. Rounded to whole metres and seconds so plans are reproducible.

use waybill_types::Coordinates;

/// The mean Earth radius (IUGG), in metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// How travel is estimated from coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Travel {
    /// Road distance as a percentage of the great-circle distance (130 = ×1.3).
    pub road_factor_percent: u32,
    /// Average driving speed between stops, km/h (at least 1).
    pub speed_kmh: u32,
}

impl Default for Travel {
    fn default() -> Self {
        Self { road_factor_percent: 130, speed_kmh: 25 }
    }
}

impl Travel {
    /// Road metres from `from` to `to`.
    pub fn metres(&self, from: Coordinates, to: Coordinates) -> u64 {
        let road = great_circle_m(from, to) * f64::from(self.road_factor_percent) / 100.0;
        road.round() as u64
    }

    /// Seconds to drive `metres`.
    pub fn seconds(&self, metres: u64) -> u64 {
        let metres_per_second = f64::from(self.speed_kmh.max(1)) / 3.6;
        (metres as f64 / metres_per_second).round() as u64
    }
}

/// Haversine distance in metres.
pub fn great_circle_m(from: Coordinates, to: Coordinates) -> f64 {
    let (lat1, lat2) = (from.latitude().to_radians(), to.latitude().to_radians());
    let dlat = lat2 - lat1;
    let dlon = (to.longitude() - from.longitude()).to_radians();
    let a = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(latitude: f64, longitude: f64) -> Coordinates {
        Coordinates::new(latitude, longitude).expect("on the map")
    }

    #[test]
    fn munich_to_berlin_is_about_504_km_as_the_crow_flies() {
        let (munich, berlin) = (at(48.1372, 11.5756), at(52.5200, 13.4050));
        let km = great_circle_m(munich, berlin) / 1000.0;
        assert!((km - 504.0).abs() < 3.0, "{km}");
        // The road factor and the speed apply on top.
        let travel = Travel::default();
        assert_eq!(travel.metres(munich, berlin), (great_circle_m(munich, berlin) * 1.3).round() as u64);
        assert_eq!(travel.seconds(25_000), 3600);
    }

    #[test]
    fn across_the_date_line_is_short() {
        assert!(great_circle_m(at(0.0, 179.9), at(0.0, -179.9)) < 25_000.0);
    }
}
