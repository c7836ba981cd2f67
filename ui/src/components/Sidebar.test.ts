import { render, screen } from '@testing-library/svelte';
import { beforeEach, describe, expect, it } from 'vitest';
import Sidebar from './Sidebar.svelte';
import { setLocale } from '../lib/i18n/index.svelte';

const IDS = [
  'nav-overview',
  'nav-payments',
  'nav-users',
  'nav-kyc',
  'nav-webhooks',
  'nav-request-log',
  'nav-settings',
];

describe('Sidebar', () => {
  beforeEach(() => setLocale('en'));

  it('links every screen in order, each with its stable test id', () => {
    render(Sidebar, { current: 'overview' });
    const links = screen.getAllByRole('link');
    expect(links.map((a) => a.dataset.testid)).toEqual(IDS);
    expect(screen.getByTestId('nav-request-log')).toHaveAttribute('href', '#/request-log');
  });

  it('marks the current screen for assistive technology', () => {
    render(Sidebar, { current: 'settings' });
    expect(screen.getByTestId('nav-settings')).toHaveAttribute('aria-current', 'page');
    expect(screen.getByTestId('nav-overview')).not.toHaveAttribute('aria-current');
  });

  it('is a labelled navigation landmark of plain links, so Tab reaches every entry', () => {
    render(Sidebar, { current: 'overview' });
    const nav = screen.getByRole('navigation', { name: 'Main navigation' });
    expect(nav.querySelectorAll('a[href]')).toHaveLength(IDS.length);
  });

  it('translates its labels', () => {
    setLocale('ja');
    render(Sidebar, { current: 'overview' });
    expect(screen.getByTestId('nav-payments')).toHaveTextContent('決済');
    expect(screen.getByTestId('nav-request-log')).toHaveTextContent('リクエストログ');
  });
});
