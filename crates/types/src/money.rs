//! Money in integer minor units. Never a float.

use std::fmt;

/// A currency code: three ASCII upper-case letters. New input must name a currency in
/// use ([`Currency::parse`]: ISO 4217, from the `iso_currency` crate's table, so the list
/// is maintained with the standard rather than by hand); values already on the log are
/// read with [`Currency::from_log`], which keeps whatever a past rule accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("currency must be an ISO 4217 code in use, such as EUR, got {0:?}")]
pub struct InvalidCurrency(pub String);

impl Currency {
    /// A currency people pay in: an ISO 4217 code that is neither superseded (`HRK`),
    /// a fund (`USN`), nor special (`XXX` "no currency", `XTS` testing, `XAU` gold).
    pub fn parse(code: &str) -> Result<Self, InvalidCurrency> {
        let in_use = iso_currency::Currency::from_code(code).is_some_and(|currency| {
            !currency.is_fund() && !currency.is_special() && currency.is_superseded().is_none()
        });
        match Self::from_log(code) {
            Ok(currency) if in_use => Ok(currency),
            _ => Err(InvalidCurrency(code.to_owned())),
        }
    }

    /// A code as stored: three upper-case letters, the rule every past version enforced.
    /// Replaying the log must not fail because today's rule is stricter than yesterday's.
    pub fn from_log(code: &str) -> Result<Self, InvalidCurrency> {
        match code.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|byte| byte.is_ascii_uppercase()) => Ok(Self([*a, *b, *c])),
            _ => Err(InvalidCurrency(code.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters get in.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// Digits after the decimal point (ISO 4217): 2 for most currencies, 0 for e.g. JPY,
    /// 3 for e.g. KWD; 2 for a code the table does not know. Only for showing amounts to
    /// people; arithmetic stays in minor units.
    pub fn minor_digits(&self) -> u32 {
        iso_currency::Currency::from_code(self.as_str())
            .and_then(iso_currency::Currency::exponent)
            .map_or(2, u32::from)
    }
}

crate::display_as_str!(Currency);

/// An amount of money: integer minor units of one currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount overflows")]
    Overflow,
}

impl Money {
    pub fn new(amount_minor: i64, currency: Currency) -> Self {
        Self { amount_minor, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    pub fn is_negative(&self) -> bool {
        self.amount_minor < 0
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        let amount_minor = self.amount_minor.checked_add(other.amount_minor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount_minor, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        let amount_minor = self.amount_minor.checked_sub(other.amount_minor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount_minor, self.currency))
    }

    /// `self × basis_points / 10 000`, rounded up to the next minor unit (a price never
    /// rounds in the payer's favour below the tariff).
    pub fn basis_points_ceil(self, basis_points: u32) -> Result<Money, MoneyError> {
        let product = i128::from(self.amount_minor) * i128::from(basis_points);
        let amount = (product + 9_999).div_euclid(10_000);
        let amount_minor = i64::try_from(amount).map_err(|_| MoneyError::Overflow)?;
        Ok(Money::new(amount_minor, self.currency))
    }
}

/// For people: `20.00 EUR`, `1500 JPY`, `-0.05 EUR`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.currency.minor_digits();
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        let magnitude = self.amount_minor.unsigned_abs();
        if digits == 0 {
            return write!(f, "{sign}{magnitude} {}", self.currency);
        }
        let scale = 10u64.pow(digits);
        let (major, minor) = (magnitude / scale, magnitude % scale);
        write!(f, "{sign}{major}.{minor:0width$} {}", self.currency, width = digits as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(amount: i64) -> Money {
        Money::new(amount, Currency::parse("EUR").expect("valid"))
    }

    #[test]
    fn currency_accepts_only_iso_4217_codes_in_use() {
        for good in ["EUR", "USD", "JPY", "KWD", "CNY"] {
            assert!(Currency::parse(good).is_ok(), "{good} should be accepted");
        }
        // Not a code; not ISO 4217; no currency; testing; gold; superseded by EUR; a fund.
        for bad in ["eur", "EU", "EURO", "", "E1R", "€UR", "ZZZ", "XXX", "XTS", "XAU", "HRK", "USN"] {
            assert!(Currency::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn the_log_keeps_what_a_past_rule_accepted() {
        assert_eq!(Currency::from_log("ZZZ").map(|code| code.to_string()), Ok("ZZZ".to_owned()));
        assert!(Currency::from_log("zzz").is_err());
        assert_eq!(Currency::from_log("ZZZ").map(|code| code.minor_digits()), Ok(2));
    }

    #[test]
    fn adding_different_currencies_is_refused() {
        let cny = Money::new(1, Currency::parse("CNY").expect("valid"));
        assert!(matches!(eur(1).checked_add(cny), Err(MoneyError::CurrencyMismatch(..))));
    }

    #[test]
    fn basis_points_round_up() {
        assert_eq!(eur(1_000).basis_points_ceil(50).expect("fits"), eur(5));
        assert_eq!(eur(1_001).basis_points_ceil(50).expect("fits"), eur(6));
        assert_eq!(eur(0).basis_points_ceil(50).expect("fits"), eur(0));
    }

    #[test]
    fn amounts_show_in_major_units_with_the_currencys_digits() -> Result<(), InvalidCurrency> {
        let eur = Currency::parse("EUR")?;
        assert_eq!(Money::new(2_000, eur).to_string(), "20.00 EUR");
        assert_eq!(Money::new(-5, eur).to_string(), "-0.05 EUR");
        assert_eq!(Money::new(1_500, Currency::parse("JPY")?).to_string(), "1500 JPY");
        assert_eq!(Money::new(1_234, Currency::parse("KWD")?).to_string(), "1.234 KWD");
        assert_eq!(Money::new(i64::MIN, eur).to_string(), "-92233720368547758.08 EUR");
        Ok(())
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert_eq!(eur(i64::MAX).checked_add(eur(1)), Err(MoneyError::Overflow));
    }
}
