import { render, screen, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Overview as OverviewData } from '../lib/api';

// The backend is replaced at the api module, the one place the UI talks to it.
const backend = vi.hoisted(() => ({
  overview: vi.fn(),
  deskState: vi.fn(),
  onProfileSwitched: vi.fn(),
  onProfilesChanged: vi.fn(),
}));
vi.mock('../lib/api', () => backend);

import Overview from './Overview.svelte';
import { setLocale } from '../lib/i18n/index.svelte';
import { session, start } from '../lib/session.svelte';

function figures(profileId: string, jpy: string): OverviewData {
  return {
    profileId,
    coverage: { users: true, payments: true },
    userCount: 3,
    balances: [
      { currency: 'JPY', available: jpy, pending: '0' },
      { currency: 'USD', available: '280.00', pending: '5.00' },
    ],
    paymentsByStatus: [
      { status: 'paid', count: 4 },
      { status: 'pending', count: 1 },
    ],
    kycWaiting: [{ userId: 'u1', name: 'Hanako', email: 'hanako@example.jp' }],
    kycWaitingCount: 7,
    recentWebhooks: [],
    volumeByDay: [{ day: '2026-11-24', currency: 'JPY', amount: jpy, count: 4 }],
    generatedAt: '2026-11-24T10:00:00Z',
  };
}

describe('Overview', () => {
  beforeEach(() => {
    setLocale('en');
    vi.clearAllMocks();
  });

  it('shows balances, counts, KYC and the chart', async () => {
    backend.overview.mockResolvedValue(figures('p1', '1200'));
    render(Overview);
    await waitFor(() => expect(screen.getByTestId('overview-balances')).toHaveTextContent('¥1,200'));
    expect(screen.getByTestId('overview-balances')).toHaveTextContent('$280.00');
    const counts = screen.getByTestId('overview-payment-counts');
    expect(counts.querySelector('[data-status="paid"]')).toHaveTextContent('Paid 4');
    expect(counts.querySelector('[data-status="expired"]')).toHaveTextContent('Expired 0');
    expect(screen.getByTestId('overview-kyc-pending')).toHaveTextContent('Hanako');
    expect(screen.getByTestId('overview-chart').querySelector('rect')).not.toBeNull();
    expect(screen.getByTestId('overview-webhooks')).toHaveTextContent('No webhook event received yet.');
  });

  it('links its user figures and the KYC waiting list to the users', async () => {
    backend.overview.mockResolvedValue(figures('p1', '1200'));
    render(Overview);
    const users = await screen.findByTestId('overview-users-link');
    expect(users).toHaveTextContent('across 3 users');
    expect(users).toHaveAttribute('href', '#/users');
    const hanako = screen.getByTestId('overview-kyc-user');
    expect(hanako).toHaveAttribute('href', '#/users/u1/kyc');
    expect(hanako).toHaveAttribute('data-user-id', 'u1');
    expect(screen.getByTestId('overview-kyc-all')).toHaveAttribute('href', '#/users/status/waiting');
    // The count is of every user waiting, not only of the newest few listed.
    expect(screen.getByTestId('overview-kyc-pending')).toHaveTextContent('7 waiting');
  });

  it('re-fetches when the backend announces a profile switch', async () => {
    let announceSwitch: () => Promise<void> = async () => {};
    backend.deskState.mockResolvedValue({
      profiles: [],
      activeProfileId: null,
      keychain: { state: 'available', backend: 'test' },
      embeddedSandboxUrl: null,
      settings: { language: null, theme: 'system', askExportPath: false },
      version: '0',
    });
    backend.onProfilesChanged.mockResolvedValue(() => {});
    backend.onProfileSwitched.mockImplementation(async (handler: () => Promise<void>) => {
      announceSwitch = handler;
      return () => {};
    });
    await start();

    backend.overview.mockResolvedValueOnce(figures('p1', '1200')).mockResolvedValueOnce(figures('p2', '99000'));
    render(Overview);
    await waitFor(() => expect(screen.getByTestId('overview-balances')).toHaveTextContent('¥1,200'));

    const before = session.generation;
    await announceSwitch();
    expect(session.generation).toBe(before + 1);
    await waitFor(() => expect(screen.getByTestId('overview-balances')).toHaveTextContent('¥99,000'));
    expect(backend.overview).toHaveBeenCalledTimes(2);
  });

  it('shows the backend’s error message with a retry', async () => {
    backend.overview.mockRejectedValue(new Error('gateway unreachable'));
    render(Overview);
    await waitFor(() => expect(screen.getByRole('alert')).toHaveTextContent('gateway unreachable'));
    expect(screen.getByRole('button', { name: 'Retry' })).toBeInTheDocument();
  });
});
