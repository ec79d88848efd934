//! Requests for the load: the placement and proof of delivery are the system tests' own
//! (`waybill_system_tests::system`), so the bench drives exactly what the tests check.

pub use waybill_fixtures::{Caller, Role, request, request_id};
pub use waybill_system_tests::system::{place_order_request, proof};

pub fn now() -> prost_types::Timestamp {
    let elapsed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    prost_types::Timestamp { seconds: elapsed.as_secs() as i64, nanos: elapsed.subsec_nanos() as i32 }
}
