//! Currencies, amount parsing at each currency's scale, display, and the fee schedule.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Currency {
    Usd,
    Jpy,
    SgpUsd,
}

/// The largest amount one payment may carry, in the currency's major unit.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

impl Currency {
    pub const ALL: [Currency; 3] = [Currency::Usd, Currency::Jpy, Currency::SgpUsd];

    pub fn code(self) -> &'static str {
        match self {
            Self::Usd => "USD",
            Self::Jpy => "JPY",
            Self::SgpUsd => "SGP-USD",
        }
    }

    /// Decimal places an amount may carry.
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

    /// The documented fee schedule: a percentage plus a fixed part, rounded half up
    /// to the currency's scale. USD: 4.5 % + 0.50 (so 100.00 costs 5.00, as in the
    /// gateway's documentation); JPY: 3.6 %; SGP-USD: 3.0 % + 0.30.
    pub fn charge(self, amount: Decimal) -> Decimal {
        let (percent, fixed) = match self {
            Self::Usd => (Decimal::new(45, 1), Decimal::new(50, 2)),
            Self::Jpy => (Decimal::new(36, 1), Decimal::ZERO),
            Self::SgpUsd => (Decimal::new(30, 1), Decimal::new(30, 2)),
        };
        let fee = amount * percent / Decimal::ONE_HUNDRED + fixed;
        self.rescale(fee.min(amount))
    }

    /// `amount` written with exactly this currency's number of decimals.
    pub fn rescale(self, amount: Decimal) -> Decimal {
        let mut a =
            amount.round_dp_with_strategy(self.scale(), RoundingStrategy::MidpointAwayFromZero);
        a.rescale(self.scale());
        a
    }

    /// `¥1,200`, `$280.00`.
    pub fn format(self, amount: Decimal) -> String {
        let text = self.rescale(amount).to_string();
        let (int, frac) = text
            .split_once('.')
            .map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
        let mut grouped = String::new();
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        match frac {
            Some(f) => format!("{}{grouped}.{f}", self.symbol()),
            None => format!("{}{grouped}", self.symbol()),
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::ALL
            .into_iter()
            .find(|c| c.code() == s)
            .ok_or_else(|| "The currency code must be one of USD, JPY, SGP-USD.".to_owned())
    }
}

/// Parses a plain decimal (`"280"`, `"10.100"`, and from JSON numbers also `2.8e2`)
/// and checks it is positive, bounded and fits `currency`'s scale once trailing
/// zeros are dropped. Returns the amount rescaled to the currency.
pub fn parse_amount(
    text: &str,
    allow_exponent: bool,
    currency: Currency,
) -> Result<Decimal, String> {
    let plain = {
        let (int, frac) = text.split_once('.').unwrap_or((text, "0"));
        let int = int.strip_prefix('-').unwrap_or(int);
        !int.is_empty()
            && !frac.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit())
    };
    let parsed = if plain {
        Decimal::from_str(text).ok()
    } else if allow_exponent && text.contains(['e', 'E']) {
        Decimal::from_scientific(text).ok()
    } else {
        None
    };
    let amount = parsed.ok_or_else(|| "The amount must be a decimal number.".to_owned())?;
    if amount <= Decimal::ZERO {
        return Err("The amount must be greater than 0.".into());
    }
    if amount > MAX_AMOUNT {
        return Err(format!("The amount may not be greater than {MAX_AMOUNT}."));
    }
    if amount.normalize().scale() > currency.scale() {
        return Err(match currency.scale() {
            0 => format!("The amount must be a whole number in {currency}."),
            n => format!("The amount may have at most {n} decimal places in {currency}."),
        });
    }
    Ok(currency.rescale(amount))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn scale_ignores_trailing_zeros() {
        assert_eq!(
            parse_amount("280.0", true, Currency::Usd)
                .unwrap()
                .to_string(),
            "280.00"
        );
        assert_eq!(
            parse_amount("10.100", false, Currency::Usd)
                .unwrap()
                .to_string(),
            "10.10"
        );
        assert_eq!(
            parse_amount("1200.0", true, Currency::Jpy)
                .unwrap()
                .to_string(),
            "1200"
        );
        assert!(parse_amount("1200.5", true, Currency::Jpy).is_err());
        assert!(parse_amount("1.001", true, Currency::SgpUsd).is_err());
        assert_eq!(
            parse_amount("2.8e2", true, Currency::Usd)
                .unwrap()
                .to_string(),
            "280.00"
        );
    }

    #[test]
    fn refuses_non_positive_and_junk() {
        for bad in [
            "0",
            "-1",
            "0.00",
            "",
            "1e2",
            " 1",
            "1_000",
            "abc",
            "1.",
            ".5",
            "1000000001",
        ] {
            assert!(parse_amount(bad, false, Currency::Usd).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn formats_like_the_gateway() {
        assert_eq!(Currency::Jpy.format(Decimal::new(1200, 0)), "¥1,200");
        assert_eq!(Currency::Usd.format(Decimal::new(280, 0)), "$280.00");
        assert_eq!(
            Currency::Usd.format(Decimal::new(123456789, 2)),
            "$1,234,567.89"
        );
    }

    #[test]
    fn fee_schedule_matches_the_documented_example() {
        assert_eq!(
            Currency::Usd.charge(Decimal::new(10000, 2)).to_string(),
            "5.00"
        );
        assert_eq!(
            Currency::Jpy.charge(Decimal::new(1200, 0)).to_string(),
            "43"
        );
        assert_eq!(
            Currency::SgpUsd.charge(Decimal::new(1000, 2)).to_string(),
            "0.60"
        );
        // Never more than the amount itself.
        assert_eq!(Currency::Usd.charge(Decimal::new(1, 2)).to_string(), "0.01");
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,40}") {
            for c in Currency::ALL {
                let _ = parse_amount(&s, true, c);
            }
        }

        #[test]
        fn valid_amounts_round_trip(cents in 1u64..100_000_000_000) {
            let d = Decimal::new(cents as i64, 2);
            let parsed = parse_amount(&d.to_string(), false, Currency::Usd).unwrap();
            prop_assert_eq!(parsed, d);
        }
    }
}
