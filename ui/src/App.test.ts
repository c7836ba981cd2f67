import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeskState, KeychainStatus, Overview, Profile } from './lib/api';

const backend = vi.hoisted(() => ({
  deskState: vi.fn(),
  overview: vi.fn(),
  recheckKeychain: vi.fn(),
  onProfileSwitched: vi.fn(async () => () => {}),
  onProfilesChanged: vi.fn(async () => () => {}),
  userDirectoryInfo: vi.fn(),
  usersPage: vi.fn(),
  onUsersChanged: vi.fn(async () => () => {}),
  onUserDirectoryChanged: vi.fn(async () => () => {}),
  onUserBalanceRefresh: vi.fn(async () => () => {}),
  kycQueue: vi.fn(),
  onKycFormChanged: vi.fn(async () => () => {}),
  // The sign-in block / signed-in list (issue 13): nobody is signed in as a user here.
  userSessions: vi.fn(async () => []),
  onUserSessionChanged: vi.fn(async () => () => {}),
}));
vi.mock('./lib/api', () => backend);

import App from './App.svelte';
import { setLocale } from './lib/i18n/index.svelte';
import { session } from './lib/session.svelte';

const sandbox: Profile = {
  id: 'p1',
  name: 'Sandbox',
  mode: 'test',
  baseUrl: 'http://127.0.0.1:4000',
  embedded: true,
  accessKey: '••••8883',
  secretKey: '••••3883',
  clientId: 'c',
  clientSecret: '••••abcd',
  publicClientId: '',
  secretsIn: 'memory',
  merchantId: null,
  createdAt: '2026-11-24T10:00:00Z',
  updatedAt: '2026-11-24T10:00:00Z',
};

function desk(keychain: KeychainStatus): DeskState {
  return {
    profiles: [sandbox],
    activeProfileId: 'p1',
    keychain,
    embeddedSandboxUrl: sandbox.baseUrl,
    settings: { language: 'en', theme: 'system', askExportPath: false },
    version: '0.1.0',
  };
}

const empty: Overview = {
  profileId: 'p1',
  coverage: { users: true, payments: true },
  userCount: 0,
  balances: [],
  paymentsByStatus: [],
  kycWaiting: [],
  kycWaitingCount: 0,
  recentWebhooks: [],
  volumeByDay: [],
  generatedAt: '2026-11-24T10:00:00Z',
};

describe('App', () => {
  beforeEach(() => {
    setLocale('en');
    session.ready = false;
    session.keychainAcknowledged = false;
    location.hash = '#/overview';
    backend.overview.mockResolvedValue(empty);
  });

  it('explains a missing keychain, then goes on with the in-memory sandbox', async () => {
    backend.deskState.mockResolvedValue(
      desk({ state: 'unavailable', problem: 'not_available', detail: 'no org.freedesktop.secrets' }),
    );
    render(App);
    const explanation = await screen.findByTestId('keychain-unavailable');
    expect(explanation).toHaveTextContent('no org.freedesktop.secrets');
    expect(screen.getByTestId('mode-banner')).toHaveAttribute('data-mode', 'test');

    await fireEvent.click(screen.getByRole('button', { name: 'Continue with the sandbox' }));
    expect(await screen.findByTestId('overview-balances')).toBeInTheDocument();
    expect(screen.queryByTestId('keychain-unavailable')).toBeNull();
    expect(screen.getByText('Keychain unavailable: credentials held in memory only')).toBeInTheDocument();
  });

  it('opens on the Overview with a skip link to the content', async () => {
    backend.deskState.mockResolvedValue(desk({ state: 'available', backend: 'Secret Service' }));
    render(App);
    expect(await screen.findByTestId('overview-balances')).toBeInTheDocument();
    expect(screen.getByTestId('profile-switcher')).toHaveValue('p1');

    const skip = screen.getByRole('link', { name: 'Skip to main content' });
    await fireEvent.click(skip);
    expect(document.activeElement).toBe(screen.getByRole('main'));
    expect(location.hash).toBe('#/overview');
  });

  it('opens the Users screen on its own chunk', async () => {
    backend.deskState.mockResolvedValue(desk({ state: 'available', backend: 'Secret Service' }));
    backend.userDirectoryInfo.mockResolvedValue({ total: 0, countries: [], importedAt: null, testMode: true });
    backend.usersPage.mockResolvedValue({
      rows: [],
      next: null,
      total: 0,
      tabs: { all: 0, needsAction: 0, waiting: 0, approved: 0 },
    });
    location.hash = '#/users';
    render(App);
    expect(await screen.findByText('No users yet')).toBeInTheDocument();
    expect(screen.getByTestId('users-import')).toBeInTheDocument();
    await waitFor(() => expect(document.title).toBe('Users · ITO Merchant Desk'));
  });

  it('opens the KYC queue on its own chunk, empty while the directory is', async () => {
    backend.deskState.mockResolvedValue(desk({ state: 'available', backend: 'Secret Service' }));
    const group = { total: 0, users: [] };
    backend.kycQueue.mockResolvedValue({
      needsAction: group,
      waiting: group,
      approved: group,
      counts: (['not_started', 'draft', 'submitted', 'approved', 'rejected'] as const).map((status) => ({
        status,
        count: 0,
      })),
    });
    location.hash = '#/kyc';
    render(App);
    expect(await screen.findByText('No KYC submissions yet')).toBeInTheDocument();
    await waitFor(() => expect(document.title).toBe('KYC · ITO Merchant Desk'));
  });
});
