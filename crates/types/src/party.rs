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
