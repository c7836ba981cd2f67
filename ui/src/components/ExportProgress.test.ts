import { fireEvent, render, screen } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import ExportProgress from './ExportProgress.svelte';
import { setLocale } from '../lib/i18n/index.svelte';

describe('ExportProgress', () => {
  beforeEach(() => setLocale('en'));

  it('shows pages, rows and the rate', () => {
    render(ExportProgress, { pages: 12, rows: 1200, rate: 2400, oncancel: () => {}, testid: 'x' });
    const box = screen.getByTestId('x');
    expect(box).toHaveTextContent('12 pages · 1,200 rows · 2,400 rows/s');
    expect(box).toHaveAttribute('data-rows', '1200');
    // No known end: an indeterminate bar.
    expect(box.querySelector('progress')).not.toHaveAttribute('value');
  });

  it('counts one page and one row in the singular', () => {
    render(ExportProgress, { pages: 1, rows: 1, rate: 0, oncancel: () => {}, testid: 'x' });
    expect(screen.getByTestId('x')).toHaveTextContent('1 page · 1 row · 0 rows/s');
  });

  it('is determinate when the total is known, and cancels once', async () => {
    const oncancel = vi.fn();
    const view = render(ExportProgress, { pages: 2, rows: 50, rate: 50, total: 200, oncancel, testid: 'x' });
    expect(screen.getByTestId('x').querySelector('progress')).toHaveAttribute('value', '50');
    await fireEvent.click(screen.getByTestId('x-cancel'));
    expect(oncancel).toHaveBeenCalledTimes(1);
    await view.rerender({ pages: 2, rows: 50, rate: 50, total: 200, oncancel, testid: 'x', cancelling: true });
    expect(screen.getByTestId('x-cancel')).toBeDisabled();
    expect(screen.getByTestId('x')).toHaveTextContent('Cancelling…');
    setLocale('ja');
    await view.rerender({ pages: 2, rows: 50, rate: 50, oncancel, testid: 'x' });
    expect(screen.getByTestId('x')).toHaveTextContent('2 ページ · 50 行 · 毎秒 50 行');
  });
});
