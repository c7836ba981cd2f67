import { render, screen } from '@testing-library/svelte';
import { beforeEach, describe, expect, it } from 'vitest';
import ModeBanner from './ModeBanner.svelte';
import { setLocale } from '../lib/i18n/index.svelte';

describe('ModeBanner', () => {
  beforeEach(() => setLocale('en'));

  it('shows a TEST MODE band in test mode', () => {
    render(ModeBanner, { mode: 'test' });
    const banner = screen.getByTestId('mode-banner');
    expect(banner).toHaveAttribute('data-mode', 'test');
    expect(banner).toHaveTextContent('TEST MODE');
    expect(banner).toHaveTextContent('No real money moves');
    expect(banner).toHaveClass('test');
  });

  it('shows a LIVE marker in active mode, with nothing of the test band', () => {
    render(ModeBanner, { mode: 'active' });
    const banner = screen.getByTestId('mode-banner');
    expect(banner).toHaveAttribute('data-mode', 'active');
    expect(banner).toHaveTextContent('LIVE');
    expect(banner).toHaveTextContent('real money');
    expect(banner).not.toHaveTextContent('TEST MODE');
    expect(banner).toHaveClass('live');
    expect(banner).not.toHaveClass('test');
  });

  it('speaks Japanese when the locale is Japanese', () => {
    setLocale('ja');
    render(ModeBanner, { mode: 'test' });
    expect(screen.getByTestId('mode-banner')).toHaveTextContent('テストモード');
  });

  it('says when no profile is selected', () => {
    render(ModeBanner, { mode: null });
    expect(screen.getByTestId('mode-banner')).toHaveAttribute('data-mode', 'none');
  });
});
