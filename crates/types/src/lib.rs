//! Domain value types shared by every Waybill service.
//!
//! These are plain Rust types with their invariants checked at construction; the wire
//! (prost) types convert into them at the edge (`waybill-proto`), so a domain never
//! handles an unchecked value.

mod cargo;
mod display;
pub mod duration;
mod ids;
mod money;
mod party;
mod proof;

pub use cargo::{CargoCategory, CargoLine, ServiceLevel, Zone};
pub use ids::{Actor, ActorKind, CustomerId, InvalidId, OrderId};
pub use money::{Currency, InvalidCurrency, Money, MoneyError};
pub use party::{Address, Contact, Coordinates, Party};
pub use proof::{GeoPoint, HandoverChecklist, MAX_SIGNATURE_IMAGE_BYTES, ProofOfDelivery, Signature};

/// A point in time, always UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// Limits on what one request may carry. They keep memory bounded per order and make
/// abuse a clear INVALID_ARGUMENT instead of a slow server.
pub mod limits {
    /// Longest free-text field (names, street lines, reasons), in characters.
    pub const MAX_TEXT_CHARS: usize = 256;
    /// Most street lines in an address.
    pub const MAX_ADDRESS_LINES: usize = 4;
    /// Most cargo lines in one order.
    pub const MAX_CARGO_LINES: usize = 100;
    /// Most pieces on one cargo line.
    pub const MAX_PIECES_PER_LINE: u32 = 10_000;
    /// Heaviest single piece: 30 tonnes, in grams.
    pub const MAX_PIECE_WEIGHT_GRAMS: u64 = 30_000_000;
    /// Longest side of a piece: 20 m, in centimetres.
    pub const MAX_PIECE_SIDE_CM: u32 = 2_000;
    /// Largest declared value of one line, in minor units (10 billion major units).
    pub const MAX_DECLARED_VALUE_MINOR: i64 = 1_000_000_000_000;
    /// Largest amount of money a request may name, in minor units (10 trillion major units
    /// of a two-digit currency): sums of many such amounts stay far from `i64` overflow.
    pub const MAX_MONEY_MINOR: i64 = 1_000_000_000_000_000;
    /// Longest client request id.
    pub const MAX_REQUEST_ID_CHARS: usize = 128;
}

/// One thing wrong with a request, named by its field path (`cargo[2].weight_grams`).
/// Domains return these; the gRPC layer turns them into `google.rpc.BadRequest`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self { field: field.into(), description: description.into() }
    }

    /// `field: description; field: description`, for a rejection's message.
    pub fn describe_all(violations: &[FieldViolation]) -> String {
        let described: Vec<String> = violations
            .iter()
            .map(|violation| format!("{}: {}", violation.field, violation.description))
            .collect();
        described.join("; ")
    }
}
