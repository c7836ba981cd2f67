import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { tick } from 'svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { BalanceRefreshProgress, DirectoryUser, UserPage } from '../lib/api';

const backend = vi.hoisted(() => ({
  usersPage: vi.fn(),
  userDirectoryInfo: vi.fn(),
  importUsersFromSandbox: vi.fn(),
  addUserById: vi.fn(),
  refreshUserBalances: vi.fn(),
  onUsersChanged: vi.fn(),
  onUserDirectoryChanged: vi.fn(),
  onUserBalanceRefresh: vi.fn(),
  // The sign-in block / signed-in list (issue 13): nobody is signed in as a user here.
  userSessions: vi.fn(async () => [] as unknown[]),
  userView: vi.fn(),
  onUserSessionChanged: vi.fn(async () => () => {}),
}));
vi.mock('../lib/api', () => backend);

import Users from './Users.svelte';
import { ApiError } from '../lib/errors';
import { setLocale } from '../lib/i18n/index.svelte';
import { session } from '../lib/session.svelte';

const TOTAL = 100_000;
const COUNTS = { all: TOTAL, needsAction: 60_000, waiting: 15_000, approved: 25_000 };

function user(n: number, patch: Partial<DirectoryUser> = {}): DirectoryUser {
  return {
    userId: `usr_${String(n).padStart(6, '0')}`,
    name: n % 2 ? `山田 花子 ${n}` : `Hanako Yamada ${n}`,
    email: `user${n}@example.jp`,
    phone: null,
    country: 'JP',
    kycStatus: n % 3 ? 'submitted' : 'approved',
    createdAt: new Date(Date.UTC(2026, 10, 24, 10) - (TOTAL - n) * 1000).toISOString(),
    balances: [
      { currency: 'JPY', available: '12000', pending: '0' },
      { currency: 'USD', available: '5.5', pending: '1.00' },
    ],
    // Built when a page is asked for, after the list read its clock: 20 s to spare keeps
    // it "5 minutes ago" on a loaded machine (at exactly 5 minutes, half a second made it 4).
    balancesFetchedAt: new Date(Date.now() - 5 * 60_000 - 20_000).toISOString(),
    gone: false,
    ...patch,
  };
}

/** A directory of 100 000 users, newest first, served a page at a time like the backend. */
function directory(cursor: string | null, limit: number): UserPage {
  const start = cursor ? Number(cursor) : 0;
  const rows = Array.from({ length: Math.min(limit, TOTAL - start) }, (_, i) => user(TOTAL - start - i));
  const end = start + rows.length;
  return {
    rows,
    next: end < TOTAL ? String(end) : null,
    total: cursor ? null : TOTAL,
    tabs: cursor ? null : COUNTS,
  };
}

const ALL = { search: null, tab: null, kycStatus: null, country: null, currency: null };
const NEWEST = { by: 'created_at', currency: null, descending: true };

describe('Users', () => {
  let changed: (profileId: string, users: DirectoryUser[]) => void = () => {};
  let directoryChanged: (profileId: string) => void = () => {};
  let refreshing: (progress: BalanceRefreshProgress) => void = () => {};

  beforeEach(() => {
    setLocale('en');
    vi.clearAllMocks();
    location.hash = '#/users';
    session.activeId = 'p1';
    backend.userSessions.mockResolvedValue([]);
    backend.userDirectoryInfo.mockResolvedValue({
      total: TOTAL,
      countries: ['US', 'JP', 'SG'],
      importedAt: null,
      testMode: true,
    });
    backend.usersPage.mockImplementation(async (_filter, _sort, cursor: string | null, limit: number) =>
      directory(cursor, limit),
    );
    backend.onUsersChanged.mockImplementation(async (handler: typeof changed) => {
      changed = handler;
      return () => {};
    });
    backend.onUserDirectoryChanged.mockImplementation(async (handler: typeof directoryChanged) => {
      directoryChanged = handler;
      return () => {};
    });
    backend.onUserBalanceRefresh.mockImplementation(async (handler: typeof refreshing) => {
      refreshing = handler;
      return () => {};
    });
  });

  const rows = () => screen.getByTestId('users-list').querySelectorAll<HTMLElement>('[data-testid="user-row"]');

  it('opens the user’s own view at #/users/<id>/as-user, and lists the users signed in as', async () => {
    backend.userSessions.mockResolvedValue([
      {
        profileId: 'p1',
        userId: 'usr_000007',
        expiresAt: '2026-11-24T11:00:00Z',
        scope: null,
        signedInAt: '2026-11-24T10:00:00Z',
      },
    ]);
    backend.userView.mockReturnValue(new Promise(() => {}));
    const view = render(Users, { params: ['usr_000007', 'as-user'] });
    expect(await screen.findByTestId('user-view')).toHaveAttribute('data-user-id', 'usr_000007');
    expect(screen.getByTestId('viewing-as')).toHaveTextContent('Viewing as usr_000007');
    expect(backend.userView).toHaveBeenCalledWith('usr_000007');
    view.unmount();
    render(Users);
    const signedIn = await screen.findByTestId('signed-in-user');
    expect(signedIn).toHaveAttribute('data-user-id', 'usr_000007');
    expect(signedIn).toHaveAttribute('data-expires-at', '2026-11-24T11:00:00Z');
  });

  it('lists 100 000 users, rendering only the rows in view', async () => {
    render(Users);
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    expect(rows().length).toBeLessThan(40);
    const first = rows()[0]!;
    expect(first).toHaveAttribute('data-user-id', 'usr_100000');
    expect(first).toHaveAttribute('data-kyc-status', 'submitted');
    expect(first).toHaveTextContent('Hanako Yamada 100000');
    expect(first).toHaveTextContent('user100000@example.jp');
    expect(first).toHaveTextContent('Waiting for review');
    // Every currency held, formatted as money, never through a float.
    expect(first).toHaveTextContent('¥12,000 · $5.50');
    expect(first).toHaveTextContent('5 minutes ago');
    expect(screen.getByText('100,000 users')).toBeInTheDocument();
    expect(backend.usersPage).toHaveBeenCalledTimes(1);
    expect(backend.usersPage).toHaveBeenCalledWith(ALL, NEWEST, null, 80);
  });

  it('keeps Japanese names as given and shows the created time in UTC on hover', async () => {
    render(Users);
    await waitFor(() => expect(rows().length).toBeGreaterThan(1));
    const second = rows()[1]!;
    expect(second).toHaveTextContent('山田 花子 99999');
    const created = second.querySelector('[role="cell"]:last-child') as HTMLElement;
    expect(created.title).toMatch(/UTC$/);
  });

  it('shows the status tabs with their counts; a tab goes in the address', async () => {
    render(Users);
    await waitFor(() => expect(screen.getByTestId('users-tab-waiting')).toHaveTextContent('Waiting for review 15,000'));
    expect(screen.getByTestId('users-tab-all')).toHaveAttribute('aria-selected', 'true');
    expect(screen.getByTestId('users-tab-needs_action')).toHaveTextContent('KYC needs action 60,000');
    expect(screen.getByTestId('users-tab-approved')).toHaveTextContent('25,000');
    await fireEvent.click(screen.getByTestId('users-tab-waiting'));
    expect(location.hash).toBe('#/users/status/waiting');
  });

  it('opens on the tab named in the address', async () => {
    render(Users, { params: ['status', 'approved'] });
    await waitFor(() => expect(backend.usersPage).toHaveBeenCalled());
    expect(backend.usersPage).toHaveBeenLastCalledWith({ ...ALL, tab: 'approved' }, NEWEST, null, 80);
    expect(screen.getByTestId('users-tab-approved')).toHaveAttribute('aria-selected', 'true');
  });

  it('waits for a pause in typing, then searches; filters and sort go to the backend', async () => {
    render(Users);
    await tick();
    expect(backend.usersPage).toHaveBeenCalledTimes(1);
    await fireEvent.input(screen.getByTestId('users-search'), { target: { value: '山' } });
    await fireEvent.input(screen.getByTestId('users-search'), { target: { value: ' 山田 ' } });
    await tick();
    expect(backend.usersPage).toHaveBeenCalledTimes(1);
    await waitFor(() => expect(backend.usersPage).toHaveBeenCalledTimes(2));
    expect(backend.usersPage.mock.calls[1]?.[0]).toMatchObject({ search: '山田' });
    await fireEvent.change(screen.getByTestId('users-filter-kyc'), { target: { value: 'rejected' } });
    await waitFor(() => expect(screen.getByTestId('users-filter-country')).toHaveTextContent('Japan'));
    await fireEvent.change(screen.getByTestId('users-filter-country'), { target: { value: 'JP' } });
    await fireEvent.change(screen.getByTestId('users-filter-currency'), { target: { value: 'USD' } });
    await fireEvent.change(screen.getByTestId('users-sort'), { target: { value: 'balance_desc' } });
    await waitFor(() =>
      expect(backend.usersPage).toHaveBeenLastCalledWith(
        { search: '山田', tab: null, kycStatus: 'rejected', country: 'JP', currency: 'USD' },
        { by: 'balance', currency: 'USD', descending: true },
        null,
        80,
      ),
    );
  });

  it('offers the countries the directory holds, by name', async () => {
    render(Users);
    await waitFor(() => expect(screen.getByTestId('users-filter-country')).toHaveTextContent('Japan'));
    const options = [...screen.getByTestId('users-filter-country').querySelectorAll('option')].map((o) => o.value);
    expect(options).toEqual(['', 'JP', 'SG', 'US']);
  });

  it('fetches the next page with the cursor as the view scrolls towards the end, without marking the list busy', async () => {
    render(Users);
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    let answer: (page: UserPage) => void = () => {};
    backend.usersPage.mockReturnValueOnce(new Promise<UserPage>((resolve) => (answer = resolve)));
    const viewport = screen.getByTestId('users-list').querySelector('[role="rowgroup"]') as HTMLElement;
    Object.defineProperty(viewport, 'scrollTop', { value: 160 * 48, configurable: true });
    await fireEvent.scroll(viewport);
    await waitFor(() => expect(backend.usersPage).toHaveBeenCalledTimes(2));
    expect(backend.usersPage).toHaveBeenLastCalledWith(ALL, NEWEST, '80', 400);
    expect(screen.getByTestId('users-list')).toHaveAttribute('aria-busy', 'false');
    answer(directory('80', 400));
    await waitFor(() => expect(rows()[0]).toHaveAttribute('data-user-id', user(TOTAL - 150).userId));
  });

  it('keeps the last answer on screen while a search runs, then shows the new one from the top', async () => {
    render(Users);
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    const list = screen.getByTestId('users-list');
    const viewport = list.querySelector('[role="rowgroup"]') as HTMLElement;
    Object.defineProperty(viewport, 'scrollTop', { value: 30 * 48, configurable: true, writable: true });
    await fireEvent.scroll(viewport);
    await waitFor(() => expect(rows()[0]).toHaveAttribute('data-user-id', user(TOTAL - 20).userId));
    let answer: (page: UserPage) => void = () => {};
    backend.usersPage.mockReturnValueOnce(new Promise<UserPage>((resolve) => (answer = resolve)));
    await fireEvent.input(screen.getByTestId('users-search'), { target: { value: '山田' } });
    await waitFor(() => expect(list).toHaveAttribute('aria-busy', 'true'));
    // No flash of an empty list, and no "0 users", while the search runs.
    expect(rows()[0]).toHaveAttribute('data-user-id', user(TOTAL - 20).userId);
    expect(screen.getByTestId('users-count')).toHaveTextContent('100,000 users');
    // Long enough that the view, 30 rows down, is not past its end: only a new list moves it.
    const found = Array.from({ length: 80 }, (_, i) => user(5000 - i));
    answer({ rows: found, next: '80', total: 5000, tabs: COUNTS });
    await waitFor(() => expect(rows()[0]).toHaveAttribute('data-user-id', user(5000).userId));
    expect(viewport.scrollTop).toBe(0);
    expect(list).toHaveAttribute('aria-busy', 'false');
    expect(screen.getByTestId('users-count')).toHaveTextContent('5,000 users');
  });

  it('clears the last answer when a search fails, so that its rows never stand for the new one', async () => {
    render(Users);
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    backend.usersPage.mockRejectedValueOnce(new ApiError({ kind: 'storage', message: 'disk I/O error', fields: {}, status: null, requestId: null }));
    await fireEvent.input(screen.getByTestId('users-search'), { target: { value: '山田' } });
    await waitFor(() => expect(rows()).toHaveLength(0));
    expect(screen.getByRole('alert')).toBeInTheDocument();
  });

  it('updates rows in place as balances are fetched, and marks a user the gateway no longer knows', async () => {
    render(Users);
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    changed('p1', [user(TOTAL, { balances: [{ currency: 'JPY', available: '99000', pending: '0' }] })]);
    await waitFor(() => expect(rows()[0]).toHaveTextContent('¥99,000'));
    changed('other profile', [user(TOTAL, { balances: [] })]);
    await tick();
    expect(rows()[0]).toHaveTextContent('¥99,000');
    changed('p1', [user(TOTAL, { gone: true })]);
    await waitFor(() => expect(rows()[0]).toHaveAttribute('data-gone', 'true'));
    expect(rows()[0]).toHaveTextContent('Gone');
  });

  it('reloads when users are added or removed elsewhere', async () => {
    render(Users);
    await waitFor(() => expect(backend.usersPage).toHaveBeenCalledTimes(1));
    directoryChanged('p1');
    await waitFor(() => expect(backend.usersPage).toHaveBeenCalledTimes(2));
  });

  it('refreshes balances in the background and says how far it got, and when it was paused', async () => {
    backend.refreshUserBalances.mockResolvedValue({ total: 100000, alreadyRunning: false });
    render(Users);
    await fireEvent.click(screen.getByTestId('users-refresh'));
    expect(backend.refreshUserBalances).toHaveBeenCalledWith(null);
    const status = await screen.findByTestId('users-refresh-status');
    expect(status).toHaveTextContent('Fetching balances: 0 of 100,000 users.');
    expect(screen.getByTestId('users-refresh')).toBeDisabled();
    refreshing({
      profileId: 'p1',
      total: 100000,
      done: 4200,
      failed: 0,
      gone: 0,
      pausedUntil: '2026-11-24T10:05:00Z',
      finished: false,
      error: null,
    });
    await waitFor(() => expect(status).toHaveTextContent('4,200 of 100,000'));
    expect(status).toHaveTextContent('paused until');
    refreshing({
      profileId: 'p1',
      total: 100000,
      done: 99998,
      failed: 1,
      gone: 1,
      pausedUntil: null,
      finished: true,
      error: null,
    });
    await waitFor(() => expect(status).toHaveTextContent('Balances fetched for 99,998 of 100,000 users.'));
    expect(status).toHaveTextContent('1 could not be fetched. 1 is no longer this merchant’s.');
    expect(screen.getByTestId('users-refresh')).not.toBeDisabled();
  });

  it('shows an empty state with import and create when the directory is empty', async () => {
    backend.usersPage.mockResolvedValue({
      rows: [],
      next: null,
      total: 0,
      tabs: { all: 0, needsAction: 0, waiting: 0, approved: 0 },
    });
    render(Users);
    expect(await screen.findByText('No users yet')).toBeInTheDocument();
    expect(screen.queryByTestId('users-list')).toBeNull();
  });

  it('says so when nothing matches, and shows an error with Retry', async () => {
    render(Users);
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    backend.usersPage.mockResolvedValue({ rows: [], next: null, total: 0, tabs: null });
    await fireEvent.change(screen.getByTestId('users-filter-kyc'), { target: { value: 'rejected' } });
    expect(await screen.findByText('No user matches these filters.')).toBeInTheDocument();
    backend.usersPage.mockRejectedValue(new Error('database is locked'));
    await fireEvent.change(screen.getByTestId('users-filter-kyc'), { target: { value: 'draft' } });
    expect(await screen.findByRole('alert')).toHaveTextContent('database is locked');
  });

  it('imports the sandbox’s users in test mode and lists them', async () => {
    backend.importUsersFromSandbox.mockResolvedValue({ users: 12, added: 10 });
    render(Users);
    await waitFor(() => expect(backend.usersPage).toHaveBeenCalledTimes(1));
    await fireEvent.click(await screen.findByTestId('users-import'));
    expect(await screen.findByText('10 new users from the sandbox (12 there in all).')).toBeInTheDocument();
    expect(backend.usersPage).toHaveBeenCalledTimes(2);
  });

  it('offers no sandbox import in active mode', async () => {
    backend.userDirectoryInfo.mockResolvedValue({ total: TOTAL, countries: [], importedAt: null, testMode: false });
    render(Users);
    await waitFor(() => expect(backend.userDirectoryInfo).toHaveBeenCalled());
    await waitFor(() => expect(backend.usersPage).toHaveBeenCalled());
    expect(screen.queryByTestId('users-import')).toBeNull();
  });

  it('adds a user by id, and says plainly when the gateway does not know it', async () => {
    render(Users);
    await fireEvent.click(screen.getByTestId('users-add-by-id'));
    backend.addUserById.mockRejectedValueOnce(
      new ApiError({ kind: 'not_found', message: 'Not found', fields: {}, status: 404, requestId: null }),
    );
    await fireEvent.input(screen.getByTestId('users-add-id'), { target: { value: ' usr_foreign ' } });
    await fireEvent.click(screen.getByTestId('users-add-submit'));
    expect(await screen.findByText('The gateway has no user usr_foreign for this merchant.')).toBeInTheDocument();
    expect(backend.addUserById).toHaveBeenCalledWith('usr_foreign');
    backend.addUserById.mockResolvedValueOnce(user(7));
    await fireEvent.input(screen.getByTestId('users-add-id'), { target: { value: 'usr_000007' } });
    await fireEvent.click(screen.getByTestId('users-add-submit'));
    await waitFor(() => expect(location.hash).toBe('#/users/usr_000007'));
  });
});
