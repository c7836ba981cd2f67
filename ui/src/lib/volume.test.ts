import { describe, expect, it } from 'vitest';
import type { DayVolume } from './api';
import { chartCurrencies, chartPoints, peak } from './volume';

const days: DayVolume[] = [
  { day: '2026-11-22', currency: 'JPY', amount: '1200', count: 1 },
  { day: '2026-11-22', currency: 'USD', amount: '280.00', count: 3 },
  { day: '2026-11-23', currency: 'USD', amount: '0.50', count: 1 },
  { day: '2026-11-24', currency: 'JPY', amount: '98000', count: 2 },
];

describe('chart data', () => {
  it('orders currencies by number of payments', () => {
    expect(chartCurrencies(days)).toEqual(['USD', 'JPY']);
  });

  it('has one bar per day, zero where the currency had nothing', () => {
    const points = chartPoints(days, 'JPY', 'en');
    expect(points.map((p) => p.label)).toEqual(['Nov 22', 'Nov 23', 'Nov 24']);
    expect(points.map((p) => p.minor)).toEqual([1200n, 0n, 98000n]);
    expect(points[2]?.display).toBe('¥98,000');
  });

  it('finds the peak day exactly', () => {
    expect(peak(chartPoints(days, 'USD', 'ja'))?.display).toBe('$280.00');
    expect(peak([])).toBeNull();
  });
});
