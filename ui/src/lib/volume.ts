import type { Currency, DayVolume } from './api';
import { formatDay } from './dates';
import { formatMoney, toMinorUnits } from './money';
import type { ChartPoint } from '../components/VolumeChart.svelte';

/** Currencies that had any volume, most-used first, so the chart opens on the one that matters. */
export function chartCurrencies(days: DayVolume[]): Currency[] {
  const counts = new Map<Currency, number>();
  for (const day of days) counts.set(day.currency, (counts.get(day.currency) ?? 0) + day.count);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([currency]) => currency);
}

/** One bar per day of the window for `currency`, including empty days. */
export function chartPoints(days: DayVolume[], currency: Currency, locale: string): ChartPoint[] {
  const byDay = new Map<string, string>();
  const order: string[] = [];
  for (const day of days) {
    if (!order.includes(day.day)) order.push(day.day);
    if (day.currency === currency) byDay.set(day.day, day.amount);
  }
  return order.map((day) => {
    const amount = byDay.get(day) ?? '0';
    return {
      label: formatDay(day, locale),
      minor: toMinorUnits(amount, currency) ?? 0n,
      display: formatMoney(amount, currency, locale),
    };
  });
}

export function peak(points: ChartPoint[]): ChartPoint | null {
  return points.reduce<ChartPoint | null>((best, p) => (!best || p.minor > best.minor ? p : best), null);
}
