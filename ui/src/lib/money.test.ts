import { describe, expect, it } from 'vitest';
import { formatMoney, fromMinorUnits, sumAmounts, toMinorUnits } from './money';

describe('formatMoney', () => {
  it('formats yen without decimals in English', () => {
    expect(formatMoney('1200', 'JPY', 'en')).toBe('¥1,200');
  });

  it('formats dollars with two decimals in English', () => {
    expect(formatMoney('280.00', 'USD', 'en')).toBe('$280.00');
    expect(formatMoney('280', 'USD', 'en')).toBe('$280.00');
    expect(formatMoney('5.5', 'USD', 'en')).toBe('$5.50');
  });

  it('uses the Japanese yen sign in Japanese', () => {
    expect(formatMoney('1200', 'JPY', 'ja')).toBe('￥1,200');
    expect(formatMoney('1234567.89', 'USD', 'ja')).toBe('$1,234,567.89');
  });

  it('keeps every digit of amounts beyond float precision', () => {
    expect(formatMoney('12345678901234567890.12', 'USD', 'en')).toBe('$12,345,678,901,234,567,890.12');
    expect(formatMoney('0.10', 'USD', 'en')).toBe('$0.10');
  });

  it('keeps the sign of negative amounts, also below one unit', () => {
    expect(formatMoney('-1200', 'JPY', 'en')).toBe('-¥1,200');
    expect(formatMoney('-0.50', 'USD', 'en')).toBe('-$0.50');
  });

  it('shows the code of the gateway point currency instead of a dollar sign', () => {
    expect(formatMoney('1000.5', 'SGP-USD', 'en')).toBe('SGP-USD\u00a01,000.50');
  });

  it('never rounds away significant digits', () => {
    expect(formatMoney('1.005', 'USD', 'en')).toBe('$1.005');
    expect(formatMoney('1.500', 'USD', 'en')).toBe('$1.50');
  });

  it('returns malformed input unchanged rather than guessing', () => {
    expect(formatMoney('1e3', 'USD', 'en')).toBe('1e3 USD');
  });
});

describe('toMinorUnits', () => {
  it('converts exactly to the smallest unit', () => {
    expect(toMinorUnits('280.00', 'USD')).toBe(28000n);
    expect(toMinorUnits('1200', 'JPY')).toBe(1200n);
    expect(toMinorUnits('-0.07', 'USD')).toBe(-7n);
    expect(toMinorUnits('abc', 'USD')).toBeNull();
  });
});

describe('fromMinorUnits and sumAmounts', () => {
  it('turns minor units back into the currency’s decimal string', () => {
    expect(fromMinorUnits(120000n, 'JPY')).toBe('120000');
    expect(fromMinorUnits(28000n, 'USD')).toBe('280.00');
    expect(fromMinorUnits(5n, 'USD')).toBe('0.05');
    expect(fromMinorUnits(-50n, 'SGP-USD')).toBe('-0.50');
    expect(fromMinorUnits(0n, 'USD')).toBe('0.00');
  });

  it('round-trips through toMinorUnits beyond float precision', () => {
    const amount = '12345678901234567890.12';
    expect(fromMinorUnits(toMinorUnits(amount, 'USD') as bigint, 'USD')).toBe(amount);
  });

  it('adds amounts exactly, where floats would not', () => {
    expect(sumAmounts(['0.10', '0.20'], 'USD')).toBe('0.30');
    expect(sumAmounts(['1200', '-300', '5'], 'JPY')).toBe('905');
    expect(sumAmounts([], 'USD')).toBe('0.00');
  });
});
