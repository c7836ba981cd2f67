import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { UserSessionChanged, UserSessionInfo } from '../lib/api';

const backend = vi.hoisted(() => ({
  signInAsUser: vi.fn(),
  cancelUserSignIn: vi.fn(),
  userSessions: vi.fn(),
  signOutUser: vi.fn(),
  onUserSessionChanged: vi.fn(),
}));
vi.mock('../lib/api', () => backend);

import SignedInUsers from './SignedInUsers.svelte';
import UserSignIn from './UserSignIn.svelte';
import { ApiError } from '../lib/errors';
import { setLocale } from '../lib/i18n/index.svelte';
import { session } from '../lib/session.svelte';
import { resetUserSessions } from '../lib/user-sessions.svelte';

const hanako: UserSessionInfo = {
  profileId: 'p1',
  userId: 'usr_hanako',
  expiresAt: '2026-11-24T11:00:00Z',
  scope: 'profile cards',
  signedInAt: '2026-11-24T10:00:00Z',
};

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const failure = (kind: string, message: string) =>
  new ApiError({ kind: kind as never, message, fields: {}, status: null, requestId: null });

describe('UserSignIn', () => {
  let changed: (change: UserSessionChanged) => void = () => {};

  beforeEach(() => {
    setLocale('en');
    vi.clearAllMocks();
    resetUserSessions();
    session.activeId = 'p1';
    backend.userSessions.mockResolvedValue([]);
    backend.onUserSessionChanged.mockImplementation(async (handler: typeof changed) => {
      changed = handler;
      return () => {};
    });
  });

  it('waits for the browser with the 5-minute limit stated, and Cancel ends the wait with its message', async () => {
    const pending = deferred<UserSessionInfo>();
    backend.signInAsUser.mockReturnValue(pending.promise);
    backend.cancelUserSignIn.mockImplementation(async () => {
      pending.reject(failure('sign_in_failed', 'The sign-in was cancelled.'));
      return true;
    });
    render(UserSignIn, { userId: 'usr_hanako' });
    await fireEvent.click(await screen.findByTestId('sign-in-as-user'));
    expect(backend.signInAsUser).toHaveBeenCalledWith('usr_hanako');
    const waiting = await screen.findByTestId('sign-in-waiting');
    expect(waiting).toHaveTextContent('Waiting for the browser… finish signing in there.');
    expect(waiting).toHaveTextContent('5 minutes');
    expect(screen.queryByTestId('sign-in-as-user')).toBeNull();
    await fireEvent.click(screen.getByTestId('sign-in-cancel'));
    expect(backend.cancelUserSignIn).toHaveBeenCalledWith('usr_hanako');
    expect(await screen.findByTestId('sign-in-error')).toHaveTextContent('The sign-in was cancelled.');
    expect(screen.queryByTestId('sign-in-waiting')).toBeNull();
    expect(screen.getByTestId('sign-in-as-user')).toBeEnabled();
    expect(screen.queryByTestId('user-session')).toBeNull();
  });

  it('shows a failure’s message and changes nothing else', async () => {
    backend.signInAsUser.mockRejectedValue(failure('timeout', 'Nobody finished signing in within 5 minutes.'));
    render(UserSignIn, { userId: 'usr_hanako' });
    await fireEvent.click(await screen.findByTestId('sign-in-as-user'));
    expect(await screen.findByTestId('sign-in-error')).toHaveTextContent(
      'Nobody finished signing in within 5 minutes.',
    );
    expect(screen.queryByTestId('user-session')).toBeNull();
    expect(screen.queryByTestId('open-user-view')).toBeNull();
  });

  it('once signed in, shows the session with its expiry, the way to the view and Sign out', async () => {
    backend.signInAsUser.mockResolvedValue(hanako);
    backend.signOutUser.mockResolvedValue(null);
    render(UserSignIn, { userId: 'usr_hanako' });
    await fireEvent.click(await screen.findByTestId('sign-in-as-user'));
    const block = await screen.findByTestId('user-session');
    expect(block).toHaveAttribute('data-expires-at', '2026-11-24T11:00:00Z');
    expect(block).toHaveTextContent('Signed in');
    expect(block).toHaveTextContent('Expires');
    expect(block).toHaveTextContent('renews itself');
    expect(screen.getByTestId('open-user-view')).toHaveAttribute('href', '#/users/usr_hanako/as-user');
    await fireEvent.click(screen.getByTestId('sign-out-user'));
    await waitFor(() => expect(backend.signOutUser).toHaveBeenCalledWith('usr_hanako'));
    expect(await screen.findByTestId('sign-in-as-user')).toBeInTheDocument();
    expect(screen.queryByTestId('user-session')).toBeNull();
  });

  it('follows the backend: a refresh moves the expiry, a revocation shows its message', async () => {
    backend.userSessions.mockResolvedValue([hanako]);
    render(UserSignIn, { userId: 'usr_hanako' });
    expect(await screen.findByTestId('user-session')).toHaveAttribute('data-expires-at', '2026-11-24T11:00:00Z');
    await waitFor(() => expect(backend.onUserSessionChanged).toHaveBeenCalled());
    changed({
      profileId: 'p1',
      userId: 'usr_hanako',
      session: { ...hanako, expiresAt: '2026-11-24T12:00:00Z' },
      ended: null,
      message: null,
    });
    await waitFor(() =>
      expect(screen.getByTestId('user-session')).toHaveAttribute('data-expires-at', '2026-11-24T12:00:00Z'),
    );
    // Another profile's news is not this page's.
    changed({ profileId: 'p2', userId: 'usr_hanako', session: null, ended: 'revoked', message: 'Elsewhere.' });
    expect(screen.getByTestId('user-session')).toBeInTheDocument();
    changed({
      profileId: 'p1',
      userId: 'usr_hanako',
      session: null,
      ended: 'revoked',
      message: 'The gateway revoked the sign-in of usr_hanako.',
    });
    expect(await screen.findByTestId('user-session-ended')).toHaveTextContent(
      'The gateway revoked the sign-in of usr_hanako.',
    );
    expect(screen.queryByTestId('user-session')).toBeNull();
    expect(screen.getByTestId('sign-in-as-user')).toHaveTextContent('Sign in again');
  });

  it('lists every signed-in user with expiry and Sign out', async () => {
    const taro = { ...hanako, userId: 'usr_taro', signedInAt: '2026-11-24T10:30:00Z' };
    backend.userSessions.mockResolvedValue([taro, hanako]);
    backend.signOutUser.mockResolvedValue(null);
    render(SignedInUsers);
    const rows = await screen.findAllByTestId('signed-in-user');
    expect(rows.map((row) => row.dataset.userId)).toEqual(['usr_taro', 'usr_hanako']);
    expect(rows[1]).toHaveAttribute('data-expires-at', '2026-11-24T11:00:00Z');
    await fireEvent.click(within(rows[0]!).getByTestId('signed-in-user-sign-out'));
    await waitFor(() => expect(backend.signOutUser).toHaveBeenCalledWith('usr_taro'));
    await waitFor(() => expect(screen.getAllByTestId('signed-in-user')).toHaveLength(1));
  });

  it('shows no list while nobody is signed in', async () => {
    render(SignedInUsers);
    await waitFor(() => expect(backend.userSessions).toHaveBeenCalled());
    expect(screen.queryByTestId('signed-in-users')).toBeNull();
  });
});
