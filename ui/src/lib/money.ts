// Money arrives from the backend as a decimal string plus a currency code. It is formatted
// without ever becoming a JavaScript number: the integer part goes through Intl as a BigInt
// (exact), and the fraction digits are spliced in as text.

import { numberFormat } from './intl';

interface CurrencyInfo {
  /** Minor-unit digits the gateway enforces for this currency. */
  scale: number;
  /** ISO 4217 code Intl knows, or null for the gateway's own units (SGP-USD). */
  iso: string | null;
}

const CURRENCIES: Record<string, CurrencyInfo> = {
  JPY: { scale: 0, iso: 'JPY' },
  USD: { scale: 2, iso: 'USD' },
  'SGP-USD': { scale: 2, iso: null },
};

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

export interface ParsedDecimal {
  negative: boolean;
  integer: string;
  fraction: string;
}

export function parseDecimal(amount: string): ParsedDecimal | null {
  const match = DECIMAL.exec(amount.trim());
  if (!match) return null;
  return { negative: match[1] === '-', integer: match[2] ?? '0', fraction: match[3] ?? '' };
}

/** Pads to the currency's scale; extra non-zero digits are kept, since rounding money silently would lie. */
function fractionFor(fraction: string, scale: number): string {
  const trimmed = fraction.length > scale ? fraction.replace(/0+$/, '').padEnd(scale, '0') : fraction;
  return trimmed.padEnd(scale, '0');
}

function formatParts(
  parsed: ParsedDecimal,
  fraction: string,
  options: Intl.NumberFormatOptions,
  locale: string,
): string {
  const magnitude = BigInt(parsed.integer);
  // -0.50 has a zero integer part, so a stand-in value carries the sign through Intl.
  const sample = parsed.negative ? -(magnitude === 0n ? 1n : magnitude) : magnitude;
  const formatter = numberFormat(locale, {
    ...options,
    minimumFractionDigits: fraction.length,
    maximumFractionDigits: fraction.length,
  });
  return formatter
    .formatToParts(sample)
    .map((part) => {
      if (part.type === 'integer' && magnitude === 0n) return '0';
      if (part.type === 'fraction') return fraction;
      return part.value;
    })
    .join('');
}

/** `formatMoney('1200', 'JPY', 'en')` → `¥1,200`; `formatMoney('280', 'USD', 'en')` → `$280.00`. */
export function formatMoney(amount: string, currency: string, locale: string): string {
  const parsed = parseDecimal(amount);
  if (!parsed) return `${amount} ${currency}`;
  const info = CURRENCIES[currency];
  const fraction = fractionFor(parsed.fraction, info?.scale ?? parsed.fraction.length);
  if (info?.iso) {
    return formatParts(
      parsed,
      fraction,
      { style: 'currency', currency: info.iso, currencyDisplay: 'narrowSymbol' },
      locale,
    );
  }
  // Not an ISO currency: show the code itself so SGP-USD is never mistaken for dollars.
  return `${currency}\u00a0${formatParts(parsed, fraction, { style: 'decimal' }, locale)}`;
}

/** The amount in minor units as a BigInt, for exact comparison and chart scaling. */
export function toMinorUnits(amount: string, currency: string): bigint | null {
  const parsed = parseDecimal(amount);
  if (!parsed) return null;
  const scale = CURRENCIES[currency]?.scale ?? parsed.fraction.length;
  const fraction = parsed.fraction.slice(0, scale).padEnd(scale, '0');
  const minor = BigInt(parsed.integer + fraction);
  return parsed.negative ? -minor : minor;
}

/** The decimal string of an amount in minor units: `fromMinorUnits(-50n, 'USD')` → `-0.50`. */
export function fromMinorUnits(minor: bigint, currency: string, scale = CURRENCIES[currency]?.scale ?? 0): string {
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(scale + 1, '0');
  const integer = digits.slice(0, digits.length - scale);
  const fraction = scale ? `.${digits.slice(digits.length - scale)}` : '';
  return `${negative ? '-' : ''}${integer}${fraction}`;
}

/** The exact sum of decimal strings of one currency; unreadable amounts count as zero. */
export function sumAmounts(amounts: Iterable<string>, currency: string): string {
  let total = 0n;
  for (const amount of amounts) total += toMinorUnits(amount, currency) ?? 0n;
  return fromMinorUnits(total, currency);
}
