//! Conversions between wire types (`v1::*`) and domain types (`waybill_types::*`).
//!
//! Wire → domain checks every field and collects *all* problems with their paths
//! (`consignee.address.city`), so a client fixes a request in one round trip. Domain → wire
//! cannot fail.

use chrono::{DateTime, Utc};
use waybill_types::{
    Actor, ActorKind, Address, CargoCategory, CargoLine, Contact, Coordinates, Currency, CustomerId,
    FieldViolation, Money, OrderId, Party, ProofOfDelivery, ServiceLevel, Signature, Timestamp, limits,
};

use crate::v1;

/// The problems found in one request. Build with the checking functions below, then
/// `finish` turns "no problems" into the value.
///
/// The same functions read events back from the log (`for_stored`): there, rules that may
/// tighten over time (the ISO 4217 table, the money ceiling) are not applied again, so a
/// value a past version accepted never stops a replay.
#[derive(Debug, Default)]
pub struct FieldViolations {
    found: Vec<FieldViolation>,
    stored: bool,
}

impl FieldViolations {
    /// For a client's request: every rule applies.
    pub fn new() -> Self {
        Self::default()
    }

    /// For an event already on the log: only what the domain cannot do without.
    pub fn for_stored() -> Self {
        Self { found: Vec::new(), stored: true }
    }

    pub fn push(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.found.push(FieldViolation::new(field, description));
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// `value` when it is there; when not, `field` "is required" and `None`.
    pub fn required<T>(&mut self, field: &str, value: Option<T>) -> Option<T> {
        self.required_as(field, value, "is required")
    }

    /// `value` when it is there; when not, `field` with `description` (a required field's
    /// own wording, e.g. what it must hold) and `None`.
    pub fn required_as<T>(&mut self, field: &str, value: Option<T>, description: &str) -> Option<T> {
        if value.is_none() {
            self.push(field, description);
        }
        value
    }

    pub fn into_vec(self) -> Vec<FieldViolation> {
        self.found
    }

    /// For a command: checks the `request_id` every command carries (its idempotency key)
    /// and starts the violations with what was wrong with it.
    pub fn for_command(value: &str) -> (Self, String) {
        let mut violations = Self::new();
        let request_id = request_id(&mut violations, "request_id", value);
        (violations, request_id)
    }

    /// `Ok(value)` if nothing was wrong; the value is only meaningful then.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Vec<FieldViolation>> {
        if self.found.is_empty() { Ok(value()) } else { Err(self.found) }
    }
}

// ---------------------------------------------------------------------------
// Wire → domain, checked
// ---------------------------------------------------------------------------

/// Free text: at most `limits::MAX_TEXT_CHARS` characters, no control characters;
/// `required` also refuses blank text. Returned trimmed.
pub fn text(violations: &mut FieldViolations, field: &str, value: &str, required: bool) -> String {
    let trimmed = value.trim();
    if required && trimmed.is_empty() {
        violations.push(field, "is required");
    } else if trimmed.chars().count() > limits::MAX_TEXT_CHARS {
        violations.push(field, format!("must be at most {} characters", limits::MAX_TEXT_CHARS));
    } else if trimmed.chars().any(char::is_control) {
        violations.push(field, "must not contain control characters");
    }
    trimmed.to_owned()
}

/// Page size of every list when the client names none, and the most it may ask for.
pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 500;

/// A list request's `page_size`: 0 means [`DEFAULT_PAGE_SIZE`]; more than
/// [`MAX_PAGE_SIZE`] is a violation.
pub fn page_size(violations: &mut FieldViolations, requested: u32) -> usize {
    match usize::try_from(requested).unwrap_or(usize::MAX) {
        0 => DEFAULT_PAGE_SIZE,
        size if size <= MAX_PAGE_SIZE => size,
        _ => {
            violations.push("page_size", format!("must be at most {MAX_PAGE_SIZE}"));
            DEFAULT_PAGE_SIZE
        }
    }
}

/// A text filter of a list: empty means "any"; otherwise checked like the field it
/// filters (`text`), so a filter can never name what no field could hold.
pub fn filter_text(violations: &mut FieldViolations, field: &str, value: &str) -> Option<String> {
    let trimmed = text(violations, field, value, false);
    (!trimmed.is_empty()).then_some(trimmed)
}

/// A client's idempotency key: 1-128 visible ASCII characters (it travels in a NATS header).
pub fn request_id(violations: &mut FieldViolations, field: &str, value: &str) -> String {
    if value.is_empty() {
        violations.push(field, "is required (an idempotency key chosen by the client)");
    } else if value.len() > limits::MAX_REQUEST_ID_CHARS {
        violations.push(field, format!("must be at most {} characters", limits::MAX_REQUEST_ID_CHARS));
    } else if !value.bytes().all(|byte| byte.is_ascii_graphic()) {
        violations.push(field, "must be visible ASCII characters without spaces");
    }
    value.to_owned()
}

pub fn order_id(violations: &mut FieldViolations, field: &str, value: &str) -> Option<OrderId> {
    OrderId::parse(value).map_err(|error| violations.push(field, error.why)).ok()
}

pub fn customer_id(violations: &mut FieldViolations, field: &str, value: &str) -> Option<CustomerId> {
    CustomerId::parse(value).map_err(|error| violations.push(field, error.why)).ok()
}

/// Money that must be present, in a currency in use (ISO 4217), not negative and at most
/// `limits::MAX_MONEY_MINOR`.
pub fn money(violations: &mut FieldViolations, field: &str, value: Option<&v1::Money>) -> Option<Money> {
    let value = violations.required(field, value)?;
    let currency = if violations.stored {
        Currency::from_log(&value.currency)
    } else {
        Currency::parse(&value.currency)
    };
    let currency = currency
        .map_err(|_| {
            violations.push(format!("{field}.currency"), "must be an ISO 4217 code in use, such as EUR")
        })
        .ok();
    if value.amount_minor < 0 {
        violations.push(format!("{field}.amount_minor"), "must not be negative");
        return None;
    }
    if !violations.stored && value.amount_minor > limits::MAX_MONEY_MINOR {
        violations
            .push(format!("{field}.amount_minor"), format!("must be at most {}", limits::MAX_MONEY_MINOR));
        return None;
    }
    currency.map(|currency| Money::new(value.amount_minor, currency))
}

pub fn address(
    violations: &mut FieldViolations,
    field: &str,
    value: Option<&v1::Address>,
) -> Option<Address> {
    let value = violations.required(field, value)?;
    if value.lines.is_empty() || value.lines.iter().all(|line| line.trim().is_empty()) {
        violations.push(format!("{field}.lines"), "needs at least one street line");
    } else if value.lines.len() > limits::MAX_ADDRESS_LINES {
        violations.push(format!("{field}.lines"), format!("at most {} lines", limits::MAX_ADDRESS_LINES));
    }
    let lines = value
        .lines
        .iter()
        .enumerate()
        .map(|(index, line)| text(violations, &format!("{field}.lines[{index}]"), line, false))
        .filter(|line| !line.is_empty())
        .collect();
    let city = text(violations, &format!("{field}.city"), &value.city, true);
    let region = text(violations, &format!("{field}.region"), &value.region, false);
    let postal_code = text(violations, &format!("{field}.postal_code"), &value.postal_code, false);
    let country_code = value.country_code.trim().to_ascii_uppercase();
    if country_code.len() != 2 || !country_code.bytes().all(|byte| byte.is_ascii_uppercase()) {
        violations.push(format!("{field}.country_code"), "must be an ISO 3166-1 alpha-2 code such as DE");
    }
    let coordinates = value
        .coordinates
        .as_ref()
        .and_then(|point| self::coordinates(violations, &format!("{field}.coordinates"), point));
    Some(Address { lines, city, region, postal_code, country_code, coordinates })
}

/// A point on the map: each degree finite and in range, named in the violation.
pub fn coordinates(
    violations: &mut FieldViolations,
    field: &str,
    value: &v1::Coordinates,
) -> Option<Coordinates> {
    let mut valid = true;
    if !value.latitude.is_finite() || !(-90.0..=90.0).contains(&value.latitude) {
        violations.push(format!("{field}.latitude"), "must be a finite number of degrees from -90 to 90");
        valid = false;
    }
    if !value.longitude.is_finite() || !(-180.0..=180.0).contains(&value.longitude) {
        violations.push(format!("{field}.longitude"), "must be a finite number of degrees from -180 to 180");
        valid = false;
    }
    if valid { Coordinates::new(value.latitude, value.longitude) } else { None }
}

pub fn contact(
    violations: &mut FieldViolations,
    field: &str,
    value: Option<&v1::Contact>,
) -> Option<Contact> {
    let value = violations.required(field, value)?;
    let name = text(violations, &format!("{field}.name"), &value.name, true);
    let phone = text(violations, &format!("{field}.phone"), &value.phone, true);
    let email = text(violations, &format!("{field}.email"), &value.email, false);
    if !email.is_empty() && !email.contains('@') {
        violations.push(format!("{field}.email"), "must be an e-mail address");
    }
    Some(Contact { name, phone, email })
}

pub fn party(violations: &mut FieldViolations, field: &str, value: Option<&v1::Party>) -> Option<Party> {
    let value = violations.required(field, value)?;
    let contact = contact(violations, &format!("{field}.contact"), value.contact.as_ref());
    let address = address(violations, &format!("{field}.address"), value.address.as_ref());
    Some(Party { contact: contact?, address: address? })
}

/// A required service level.
pub fn service_level(violations: &mut FieldViolations, field: &str, value: i32) -> Option<ServiceLevel> {
    match v1::ServiceLevel::try_from(value) {
        Ok(v1::ServiceLevel::Standard) => Some(ServiceLevel::Standard),
        Ok(v1::ServiceLevel::Express) => Some(ServiceLevel::Express),
        Ok(v1::ServiceLevel::SameDay) => Some(ServiceLevel::SameDay),
        Ok(v1::ServiceLevel::Unspecified) | Err(_) => {
            violations.push(field, "must be STANDARD, EXPRESS or SAME_DAY");
            None
        }
    }
}

fn cargo_category(violations: &mut FieldViolations, field: &str, value: i32) -> Option<CargoCategory> {
    match v1::CargoCategory::try_from(value) {
        Ok(v1::CargoCategory::General) => Some(CargoCategory::General),
        Ok(v1::CargoCategory::Fragile) => Some(CargoCategory::Fragile),
        Ok(v1::CargoCategory::ColdChain) => Some(CargoCategory::ColdChain),
        Ok(v1::CargoCategory::Hazardous) => Some(CargoCategory::Hazardous),
        Ok(v1::CargoCategory::Unspecified) | Err(_) => {
            violations.push(field, "must be GENERAL, FRAGILE, COLD_CHAIN or HAZARDOUS");
            None
        }
    }
}

fn bounded<T: PartialOrd + Copy + std::fmt::Display>(
    violations: &mut FieldViolations,
    field: String,
    value: T,
    min: T,
    max: T,
) {
    if value < min || value > max {
        violations.push(field, format!("must be between {min} and {max}"));
    }
}

pub fn cargo_line(violations: &mut FieldViolations, field: &str, value: &v1::CargoLine) -> Option<CargoLine> {
    let description = text(violations, &format!("{field}.description"), &value.description, true);
    bounded(violations, format!("{field}.quantity"), value.quantity, 1, limits::MAX_PIECES_PER_LINE);
    bounded(
        violations,
        format!("{field}.weight_grams"),
        value.weight_grams,
        1,
        limits::MAX_PIECE_WEIGHT_GRAMS,
    );
    for (name, side) in
        [("length_cm", value.length_cm), ("width_cm", value.width_cm), ("height_cm", value.height_cm)]
    {
        bounded(violations, format!("{field}.{name}"), side, 1, limits::MAX_PIECE_SIDE_CM);
    }
    let declared_value = money(violations, &format!("{field}.declared_value"), value.declared_value.as_ref());
    if let Some(declared) = declared_value
        && declared.amount_minor > limits::MAX_DECLARED_VALUE_MINOR
    {
        violations.push(
            format!("{field}.declared_value.amount_minor"),
            format!("must be at most {}", limits::MAX_DECLARED_VALUE_MINOR),
        );
    }
    let category = cargo_category(violations, &format!("{field}.category"), value.category);
    let hazard_declaration =
        text(violations, &format!("{field}.hazard_declaration"), &value.hazard_declaration, false);
    Some(CargoLine {
        description,
        quantity: value.quantity,
        weight_grams: value.weight_grams,
        length_cm: value.length_cm,
        width_cm: value.width_cm,
        height_cm: value.height_cm,
        declared_value: declared_value?,
        category: category?,
        hazard_declaration: (!hazard_declaration.is_empty()).then_some(hazard_declaration),
    })
}

/// At least one and at most `limits::MAX_CARGO_LINES` lines.
pub fn cargo_lines(violations: &mut FieldViolations, field: &str, value: &[v1::CargoLine]) -> Vec<CargoLine> {
    if value.is_empty() {
        violations.push(field, "needs at least one cargo line");
    } else if value.len() > limits::MAX_CARGO_LINES {
        violations.push(field, format!("at most {} cargo lines", limits::MAX_CARGO_LINES));
        return Vec::new();
    }
    value
        .iter()
        .enumerate()
        .filter_map(|(index, line)| cargo_line(violations, &format!("{field}[{index}]"), line))
        .collect()
}

pub fn timestamp(
    violations: &mut FieldViolations,
    field: &str,
    value: &prost_types::Timestamp,
) -> Option<Timestamp> {
    // google.protobuf.Timestamp's own range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z,
    // nanos 0 to 999,999,999 (chrono alone would take year -200,000 or a leap second).
    const FIRST_SECOND: i64 = -62_135_596_800;
    const LAST_SECOND: i64 = 253_402_300_799;
    if !(FIRST_SECOND..=LAST_SECOND).contains(&value.seconds) {
        violations.push(field, "must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z");
        return None;
    }
    let parsed = u32::try_from(value.nanos)
        .ok()
        .filter(|nanos| *nanos < 1_000_000_000)
        .and_then(|nanos| DateTime::<Utc>::from_timestamp(value.seconds, nanos));
    if parsed.is_none() {
        violations.push(field, "is not a valid timestamp (nanos must be 0 to 999,999,999)");
    }
    parsed
}

// ---------------------------------------------------------------------------
// Domain → wire
// ---------------------------------------------------------------------------

pub fn timestamp_to_wire(value: Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: value.timestamp(),
        nanos: i32::try_from(value.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// Timestamps stored on the log were checked when written; a broken one reads as the epoch
/// rather than failing a replay.
pub fn timestamp_from_wire(value: Option<&prost_types::Timestamp>) -> Timestamp {
    value
        .and_then(|value| {
            DateTime::<Utc>::from_timestamp(value.seconds, u32::try_from(value.nanos).unwrap_or(0))
        })
        .unwrap_or_default()
}

impl From<&ProofOfDelivery> for v1::ProofOfDelivery {
    fn from(proof: &ProofOfDelivery) -> Self {
        let signature = match &proof.signature {
            Signature::Image(image) => v1::signature::Signature::Image(image.clone()),
            Signature::Stored { digest, storage_ref } => {
                v1::signature::Signature::Stored(v1::StoredSignature {
                    digest: digest.clone(),
                    storage_ref: storage_ref.clone(),
                })
            }
        };
        v1::ProofOfDelivery {
            recipient_name: proof.recipient_name.clone(),
            recipient_relation: proof.recipient_relation.clone(),
            signature: Some(v1::Signature { signature: Some(signature) }),
            photo_ref: proof.photo_ref.clone(),
            location: Some(v1::GeoPoint {
                latitude: proof.location.latitude,
                longitude: proof.location.longitude,
            }),
            delivered_at: Some(timestamp_to_wire(proof.delivered_at)),
            id_checked: proof.id_checked,
            checklist: Some(v1::HandoverChecklist {
                piece_count_matches: proof.checklist.piece_count_matches,
                packaging_intact: proof.checklist.packaging_intact,
                recipient_informed_of_contents: proof.checklist.recipient_informed_of_contents,
            }),
        }
    }
}

impl From<&Money> for v1::Money {
    fn from(value: &Money) -> Self {
        Self { amount_minor: value.amount_minor, currency: value.currency.to_string() }
    }
}

impl From<&Address> for v1::Address {
    fn from(value: &Address) -> Self {
        Self {
            lines: value.lines.clone(),
            city: value.city.clone(),
            region: value.region.clone(),
            postal_code: value.postal_code.clone(),
            country_code: value.country_code.clone(),
            coordinates: value.coordinates.as_ref().map(v1::Coordinates::from),
        }
    }
}

impl From<&Coordinates> for v1::Coordinates {
    fn from(value: &Coordinates) -> Self {
        Self { latitude: value.latitude(), longitude: value.longitude() }
    }
}

impl From<&Contact> for v1::Contact {
    fn from(value: &Contact) -> Self {
        Self { name: value.name.clone(), phone: value.phone.clone(), email: value.email.clone() }
    }
}

impl From<&Party> for v1::Party {
    fn from(value: &Party) -> Self {
        Self { contact: Some((&value.contact).into()), address: Some((&value.address).into()) }
    }
}

impl From<ServiceLevel> for v1::ServiceLevel {
    fn from(value: ServiceLevel) -> Self {
        match value {
            ServiceLevel::Standard => Self::Standard,
            ServiceLevel::Express => Self::Express,
            ServiceLevel::SameDay => Self::SameDay,
        }
    }
}

impl From<CargoCategory> for v1::CargoCategory {
    fn from(value: CargoCategory) -> Self {
        match value {
            CargoCategory::General => Self::General,
            CargoCategory::Fragile => Self::Fragile,
            CargoCategory::ColdChain => Self::ColdChain,
            CargoCategory::Hazardous => Self::Hazardous,
        }
    }
}

impl From<&CargoLine> for v1::CargoLine {
    fn from(value: &CargoLine) -> Self {
        Self {
            description: value.description.clone(),
            quantity: value.quantity,
            weight_grams: value.weight_grams,
            length_cm: value.length_cm,
            width_cm: value.width_cm,
            height_cm: value.height_cm,
            declared_value: Some((&value.declared_value).into()),
            category: v1::CargoCategory::from(value.category).into(),
            hazard_declaration: value.hazard_declaration.clone().unwrap_or_default(),
        }
    }
}

impl From<&Actor> for v1::Actor {
    fn from(value: &Actor) -> Self {
        let kind = match value.kind {
            ActorKind::User => v1::actor::Kind::User,
            ActorKind::System => v1::actor::Kind::System,
            ActorKind::Service => v1::actor::Kind::Service,
        };
        Self { kind: kind.into(), id: value.id.clone() }
    }
}

pub fn actor_from_wire(value: Option<&v1::Actor>) -> Actor {
    let Some(value) = value else { return Actor::system("unknown") };
    let kind = match v1::actor::Kind::try_from(value.kind) {
        Ok(v1::actor::Kind::User) => ActorKind::User,
        Ok(v1::actor::Kind::Service) => ActorKind::Service,
        _ => ActorKind::System,
    };
    Actor { kind, id: value.id.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good_line() -> v1::CargoLine {
        v1::CargoLine {
            description: "books".into(),
            quantity: 2,
            weight_grams: 1_500,
            length_cm: 30,
            width_cm: 20,
            height_cm: 10,
            declared_value: Some(v1::Money { amount_minor: 5_000, currency: "EUR".into() }),
            category: v1::CargoCategory::General.into(),
            hazard_declaration: String::new(),
        }
    }

    #[test]
    fn a_good_cargo_line_converts_and_back() {
        let mut violations = FieldViolations::new();
        let line = cargo_line(&mut violations, "cargo[0]", &good_line()).expect("valid");
        assert!(violations.is_empty());
        assert_eq!(v1::CargoLine::from(&line), good_line());
    }

    #[test]
    fn every_bad_field_is_named_with_its_path() {
        let bad = v1::CargoLine {
            description: " ".into(),
            quantity: 0,
            weight_grams: 0,
            length_cm: 0,
            declared_value: Some(v1::Money { amount_minor: -1, currency: "eur".into() }),
            category: 99,
            ..good_line()
        };
        let mut violations = FieldViolations::new();
        assert!(cargo_line(&mut violations, "cargo[3]", &bad).is_none());
        let fields: Vec<String> =
            violations.into_vec().into_iter().map(|violation| violation.field).collect();
        for expected in [
            "cargo[3].description",
            "cargo[3].quantity",
            "cargo[3].weight_grams",
            "cargo[3].length_cm",
            "cargo[3].declared_value.currency",
            "cargo[3].declared_value.amount_minor",
            "cargo[3].category",
        ] {
            assert!(fields.contains(&expected.to_owned()), "missing {expected} in {fields:?}");
        }
    }

    #[test]
    fn text_longer_than_the_limit_is_refused() {
        let mut violations = FieldViolations::new();
        text(&mut violations, "reason", &"x".repeat(limits::MAX_TEXT_CHARS + 1), false);
        assert!(!violations.is_empty());
    }

    #[test]
    fn request_ids_must_be_header_safe() {
        for bad in ["", "has space", "line\nbreak", &"x".repeat(129)] {
            let mut violations = FieldViolations::new();
            request_id(&mut violations, "request_id", bad);
            assert!(!violations.is_empty(), "{bad:?} should be refused");
        }
    }
}
