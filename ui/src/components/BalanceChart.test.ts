import { render, screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import type uPlot from 'uplot';

// jsdom has no canvas: a stand-in records what the chart hands to uPlot.
const made = vi.hoisted(() => [] as { options: uPlot.Options; data: [number[], number[]]; destroyed: boolean }[]);
vi.mock('uplot', () => {
  class FakePlot {
    static paths = { stepped: () => () => null };
    record: (typeof made)[number];
    constructor(options: uPlot.Options, data: [number[], number[]]) {
      this.record = { options, data, destroyed: false };
      made.push(this.record);
    }
    setSize() {}
    destroy() {
      this.record.destroyed = true;
    }
  }
  return { default: FakePlot };
});

import BalanceChart, { withUsableLanguage } from './BalanceChart.svelte';

const POINTS = [
  { at: '2026-11-01T00:00:00Z', available: '0.00' },
  { at: '2026-11-02T09:30:00Z', available: '100.10' },
  { at: '2026-11-03T12:00:00Z', available: '2500.00' },
];

describe('BalanceChart', () => {
  it('plots exact minor units against Unix seconds and labels them as money', async () => {
    made.length = 0;
    render(BalanceChart, { points: POINTS, currency: 'USD', locale: 'en', summary: 'USD balance' });
    await waitFor(() => expect(made).toHaveLength(1));
    const { options, data } = made[0]!;
    expect(data[0]).toEqual([Date.UTC(2026, 10, 1) / 1000, Date.UTC(2026, 10, 2, 9, 30) / 1000, Date.UTC(2026, 10, 3, 12) / 1000]);
    expect(data[1]).toEqual([0, 10010, 250000]);
    const yAxis = options.axes?.[1];
    const labels = (yAxis?.values as (u: unknown, splits: number[]) => string[])(null, [0, 10010, 250000]);
    expect(labels).toEqual(['$0.00', '$100.10', '$2,500.00']);
    expect(yAxis?.incrs).toContain(1);
    expect(yAxis?.incrs).not.toContain(0.5);
    const value = options.series[1]?.value as (u: unknown, v: number | null) => string;
    expect(value(null, 10010)).toBe('$100.10');
    expect(options.series[1]?.label).toBe('USD');
    expect(screen.getByTestId('balance-chart')).toHaveAttribute('aria-label', 'USD balance');
  });

  it('formats yen in Japanese and drops points it cannot read', async () => {
    made.length = 0;
    render(BalanceChart, {
      points: [
        { at: '2026-11-01T00:00:00Z', available: '1200' },
        { at: 'not a time', available: '5' },
        { at: '2026-11-02T00:00:00Z', available: 'abc' },
      ],
      currency: 'JPY',
      locale: 'ja',
      summary: 'JPY',
    });
    await waitFor(() => expect(made).toHaveLength(1));
    expect(made[0]!.data).toEqual([[Date.UTC(2026, 10, 1) / 1000], [1200]]);
    const value = made[0]!.options.series[1]?.value as (u: unknown, v: number | null) => string;
    expect(value(null, 1200)).toBe('￥1,200');
    expect(screen.getByTestId('balance-chart')).toHaveAttribute('data-points', '1');
  });

  it('draws again for another currency and lets the old chart go', async () => {
    made.length = 0;
    const view = render(BalanceChart, { points: POINTS, currency: 'USD', locale: 'en', summary: 'x' });
    await waitFor(() => expect(made).toHaveLength(1));
    await view.rerender({ points: [{ at: '2026-11-01T00:00:00Z', available: '5' }], currency: 'JPY', locale: 'en', summary: 'x' });
    await waitFor(() => expect(made).toHaveLength(2));
    expect(made[0]!.destroyed).toBe(true);
    expect(made[1]!.data[1]).toEqual([5]);
    view.unmount();
    expect(made[1]!.destroyed).toBe(true);
  });

  it('loads uPlot even where the system language is the POSIX "C", which Intl refuses', async () => {
    const system = Object.getOwnPropertyDescriptor(navigator, 'language');
    Object.defineProperty(navigator, 'language', { value: 'C', configurable: true });
    try {
      let seen = '';
      await withUsableLanguage('ja', async () => {
        seen = navigator.language;
        new Intl.NumberFormat(navigator.language);
      });
      expect(seen).toBe('ja');
      expect(navigator.language).not.toBe('ja');
    } finally {
      if (system) Object.defineProperty(navigator, 'language', system);
      else delete (navigator as { language?: string }).language;
    }
    let untouched = '';
    await withUsableLanguage('ja', async () => void (untouched = navigator.language));
    expect(untouched).toBe(navigator.language);
  });
});
