//! The evidence of a handover: delivery records it, intake's timeline shows it. Delivery's
//! gRPC edge checks its shape (every field present and well-formed); its decider checks
//! what needs the clock (not in the future).

use crate::Timestamp;

/// Largest signature image carried in the event itself; larger ones are stored elsewhere
/// and referenced by digest (events are capped at 64 KiB).
pub const MAX_SIGNATURE_IMAGE_BYTES: usize = 32 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signature {
    /// The image itself (small).
    Image(Vec<u8>),
    /// `sha256:<64 hex>` of the image and where it is kept.
    Stored { digest: String, storage_ref: String },
}

impl Signature {
    /// True for `sha256:` followed by 64 lower- or upper-case hex digits.
    pub fn is_valid_digest(digest: &str) -> bool {
        digest
            .strip_prefix("sha256:")
            .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|byte| byte.is_ascii_hexdigit()))
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GeoPoint {
    pub latitude: f64,
    pub longitude: f64,
}

impl GeoPoint {
    pub fn is_valid(&self) -> bool {
        self.latitude.is_finite()
            && self.longitude.is_finite()
            && (-90.0..=90.0).contains(&self.latitude)
            && (-180.0..=180.0).contains(&self.longitude)
    }
}

/// What the courier checked at the door; a handover needs all of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandoverChecklist {
    pub piece_count_matches: bool,
    pub packaging_intact: bool,
    pub recipient_informed_of_contents: bool,
}

impl HandoverChecklist {
    /// The items not checked, by their field names.
    pub fn unchecked(&self) -> Vec<&'static str> {
        let mut unchecked = Vec::new();
        if !self.piece_count_matches {
            unchecked.push("piece_count_matches");
        }
        if !self.packaging_intact {
            unchecked.push("packaging_intact");
        }
        if !self.recipient_informed_of_contents {
            unchecked.push("recipient_informed_of_contents");
        }
        unchecked
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ProofOfDelivery {
    pub recipient_name: String,
    /// E.g. "consignee", "neighbour", "reception".
    pub recipient_relation: String,
    pub signature: Signature,
    pub photo_ref: String,
    pub location: GeoPoint,
    pub delivered_at: Timestamp,
    pub id_checked: bool,
    pub checklist: HandoverChecklist,
}
