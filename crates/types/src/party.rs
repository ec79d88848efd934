//! Who ships, who receives, and where.

/// A postal address. Checked at the edge: at least one line, a city and a country.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    pub lines: Vec<String>,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country_code: String,
    /// Where it is on the map, if the caller said; courier routes need it.
    pub coordinates: Option<Coordinates>,
}

/// A point on the map in WGS 84 degrees, checked on construction: both finite, latitude
/// within -90..=90, longitude within -180..=180.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coordinates {
    latitude: f64,
    longitude: f64,
}

// Sound: `new` refuses NaN, so equality is reflexive.
impl Eq for Coordinates {}

impl Coordinates {
    pub fn new(latitude: f64, longitude: f64) -> Option<Self> {
        let valid = latitude.is_finite()
            && longitude.is_finite()
            && (-90.0..=90.0).contains(&latitude)
            && (-180.0..=180.0).contains(&longitude);
        valid.then_some(Self { latitude, longitude })
    }

    pub fn latitude(&self) -> f64 {
        self.latitude
    }

    pub fn longitude(&self) -> f64 {
        self.longitude
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    pub name: String,
    pub phone: String,
    pub email: String,
}

/// A shipper or a consignee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Party {
    pub contact: Contact,
    pub address: Address,
}
