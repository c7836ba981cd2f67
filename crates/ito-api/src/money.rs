//! Money: a `Decimal` amount paired with its `Currency`, at the currency's scale.
//!
//! Amounts never pass through a float: text in, text out.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The gateway's currencies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Currency {
    #[serde(rename = "USD")]
    Usd,
    #[serde(rename = "JPY")]
    Jpy,
    /// SAKURAGUAMPOINT-USD.
    #[serde(rename = "SGP-USD")]
    SgpUsd,
}

impl Currency {
    pub const ALL: [Currency; 3] = [Currency::Usd, Currency::Jpy, Currency::SgpUsd];

    /// The wire code: `USD`, `JPY`, `SGP-USD`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Usd => "USD",
            Self::Jpy => "JPY",
            Self::SgpUsd => "SGP-USD",
        }
    }

    /// Decimal places an amount carries: JPY 0, USD and SGP-USD 2.
    pub fn scale(self) -> u32 {
        match self {
            Self::Jpy => 0,
            Self::Usd | Self::SgpUsd => 2,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Self::Jpy => "¥",
            Self::Usd | Self::SgpUsd => "$",
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, MoneyError> {
        Currency::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| MoneyError::UnknownCurrency(s.to_owned()))
    }
}

/// Why an amount was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("{0:?} is not a decimal number")]
    NotADecimal(String),
    #[error("{currency} amounts have at most {} decimal places", currency.scale())]
    Scale { currency: Currency },
    #[error("unknown currency {0:?}: expected USD, JPY or SGP-USD")]
    UnknownCurrency(String),
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount out of range")]
    Overflow,
}

/// An amount in a currency, always held at that currency's scale (`280.00`, `1200`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// Checks that `amount` fits the currency's scale (trailing zeros do not count:
    /// `280.0` is fine in USD, `1200.5` is not in JPY) and rescales it.
    pub fn new(amount: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        if amount.normalize().scale() > currency.scale() {
            return Err(MoneyError::Scale { currency });
        }
        let mut amount = amount;
        amount.rescale(currency.scale());
        // rescale keeps a smaller scale when the digits would not fit (28 or 29 of them).
        if amount.scale() != currency.scale() {
            return Err(MoneyError::Overflow);
        }
        Ok(Self { amount, currency })
    }

    /// Parses plain decimal text (`"1200"`, `"-5.5"`, `"10.100"`); no exponents, no
    /// grouping, no spaces, so what a form field holds is exactly what is sent.
    pub fn parse(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        Self::new(parse_decimal(text)?, currency)
    }

    /// From an integer count of minor units (cents; yen).
    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        Self {
            amount: Decimal::new(minor, currency.scale()),
            currency,
        }
    }

    /// For results of arithmetic on amounts already at `currency`'s scale.
    pub(crate) fn at_scale(mut amount: Decimal, currency: Currency) -> Self {
        amount.rescale(currency.scale());
        Self { amount, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Self::from_minor(0, currency)
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn is_positive(&self) -> bool {
        self.amount > Decimal::ZERO
    }

    /// Sum of two amounts of the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        let sum = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Money::new(sum, self.currency)
    }

    /// The amount as the wire writes it: `280.00`, `1200`, `-5.00`.
    pub fn to_decimal_string(&self) -> String {
        self.amount.to_string()
    }

    /// For people: `¥1,200`, `$280.00`, `-$1,234.50`.
    pub fn format(&self) -> String {
        let text = self.amount.abs().to_string();
        let (int, frac) = text.split_once('.').unwrap_or((text.as_str(), ""));
        let mut out = String::with_capacity(text.len() + 8);
        if self.amount.is_sign_negative() && !self.amount.is_zero() {
            out.push('-');
        }
        out.push_str(self.currency.symbol());
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        out
    }
}

/// Plain decimal text to a `Decimal`, refusing exponents, signs other than a leading
/// `-`, blanks and anything `Decimal` would silently round.
pub(crate) fn parse_decimal(text: &str) -> Result<Decimal, MoneyError> {
    let bad = || MoneyError::NotADecimal(text.to_owned());
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    let plain = !int.is_empty()
        && !frac.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    if !plain {
        return Err(bad());
    }
    Decimal::from_str_exact(text).map_err(|_| bad())
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format())
    }
}

/// What the UI receives: `{"amount":"280.00","currency":"USD"}`.
#[derive(Serialize, Deserialize)]
struct MoneyText<'a> {
    #[serde(borrow)]
    amount: std::borrow::Cow<'a, str>,
    currency: Currency,
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        MoneyText {
            amount: self.to_decimal_string().into(),
            currency: self.currency,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = MoneyText::deserialize(d)?;
        Money::parse(&t.amount, t.currency).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn scale_is_checked_per_currency() {
        assert_eq!(
            Money::parse("280.0", Currency::Usd)
                .unwrap()
                .to_decimal_string(),
            "280.00"
        );
        assert_eq!(
            Money::parse("10.100", Currency::SgpUsd)
                .unwrap()
                .to_decimal_string(),
            "10.10"
        );
        assert_eq!(
            Money::parse("1200.00", Currency::Jpy)
                .unwrap()
                .to_decimal_string(),
            "1200"
        );
        assert_eq!(
            Money::parse("1200.5", Currency::Jpy),
            Err(MoneyError::Scale {
                currency: Currency::Jpy
            })
        );
        assert!(Money::parse("1.001", Currency::Usd).is_err());
        for junk in [
            "", "1e3", " 1", "1,000", "1.", ".5", "+1", "--1", "abc", "１",
        ] {
            assert!(Money::parse(junk, Currency::Usd).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn formats_like_the_checkout_page() {
        assert_eq!(Money::from_minor(1200, Currency::Jpy).format(), "¥1,200");
        assert_eq!(Money::from_minor(28000, Currency::Usd).format(), "$280.00");
        assert_eq!(
            Money::from_minor(-123_456_789, Currency::SgpUsd).format(),
            "-$1,234,567.89"
        );
        assert_eq!(Money::zero(Currency::Usd).format(), "$0.00");
    }

    #[test]
    fn serialises_as_decimal_text() {
        let m = Money::from_minor(28000, Currency::Usd);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"amount":"280.00","currency":"USD"}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
        assert!(serde_json::from_str::<Money>(r#"{"amount":"1.5","currency":"JPY"}"#).is_err());
        assert_eq!("sgp-usd".parse::<Currency>().unwrap(), Currency::SgpUsd);
    }

    #[test]
    fn sums_only_one_currency() {
        let a = Money::from_minor(150, Currency::Usd);
        assert_eq!(a.checked_add(a).unwrap().format(), "$3.00");
        assert!(a.checked_add(Money::from_minor(1, Currency::Jpy)).is_err());
    }

    /// Regression (fuzz_money_parsing): an amount of 28-29 digits came back at scale 0
    /// in USD, since rescaling could not fit it, breaking "always at the currency's scale".
    #[test]
    fn amounts_too_long_for_the_scale_are_refused() {
        for text in [
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "7922816251426433759354395033.5",
        ] {
            assert_eq!(Money::parse(text, Currency::Usd), Err(MoneyError::Overflow));
        }
        let yen = Money::parse("79228162514264337593543950335", Currency::Jpy).unwrap();
        assert_eq!(yen.amount().scale(), 0);
    }

    fn currency() -> impl Strategy<Value = Currency> {
        prop::sample::select(Currency::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn parse_then_print_round_trips(minor in -1_000_000_000_000i64..1_000_000_000_000, c in currency()) {
            let m = Money::from_minor(minor, c);
            let back = Money::parse(&m.to_decimal_string(), c).unwrap();
            prop_assert_eq!(back, m);
            let json = serde_json::to_string(&m).unwrap();
            prop_assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
        }

        #[test]
        fn formatting_keeps_every_digit(minor in 0i64..1_000_000_000_000, c in currency()) {
            let m = Money::from_minor(minor, c);
            let shown = m.format();
            prop_assert!(shown.starts_with(c.symbol()));
            let digits: String = shown.chars().filter(char::is_ascii_digit).collect();
            let plain: String = m.to_decimal_string().chars().filter(char::is_ascii_digit).collect();
            prop_assert_eq!(digits, plain);
        }

        #[test]
        fn parse_never_panics(s in ".{0,40}", c in currency()) {
            let _ = Money::parse(&s, c);
        }

        #[test]
        fn extra_decimals_are_refused(minor in 1i64..1_000_000, extra in 1u32..6, c in currency()) {
            // A non-zero digit past the currency's scale can never be accepted.
            let d = Decimal::new(minor * 10i64.pow(extra) + 1, c.scale() + extra);
            prop_assert!(Money::new(d, c).is_err());
        }
    }
}
