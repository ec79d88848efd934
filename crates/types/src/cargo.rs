//! What is carried, and how fast.

use crate::Money;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServiceLevel {
    Standard,
    Express,
    SameDay,
}

/// How far the goods travel: intake prices by it, dispatch picks a transport mode by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Zone {
    /// Same city (and region, and country).
    Local,
    /// Same region of the same country.
    Regional,
    /// Same country.
    National,
    International,
}

impl Zone {
    pub fn as_str(&self) -> &'static str {
        match self {
            Zone::Local => "local",
            Zone::Regional => "regional",
            Zone::National => "national",
            Zone::International => "international",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CargoCategory {
    General,
    Fragile,
    ColdChain,
    Hazardous,
}

/// `quantity` identical pieces. Weights in grams, sides in centimetres; all non-zero.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CargoLine {
    pub description: String,
    pub quantity: u32,
    pub weight_grams: u64,
    pub length_cm: u32,
    pub width_cm: u32,
    pub height_cm: u32,
    /// Declared value of the whole line (all pieces).
    pub declared_value: Money,
    pub category: CargoCategory,
    pub hazard_declaration: Option<String>,
}

impl CargoLine {
    /// Weight of all pieces of the line, in grams.
    pub fn total_weight_grams(&self) -> u64 {
        self.weight_grams.saturating_mul(u64::from(self.quantity))
    }

    /// Volume of all pieces of the line, in cubic centimetres.
    pub fn total_volume_cm3(&self) -> u64 {
        u64::from(self.length_cm)
            .saturating_mul(u64::from(self.width_cm))
            .saturating_mul(u64::from(self.height_cm))
            .saturating_mul(u64::from(self.quantity))
    }
}
