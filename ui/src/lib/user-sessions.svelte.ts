// Staff signed in as users (issue 13): who is signed in on the active profile, whose
// sign-in is waiting for the browser, and why one failed or ended. Kept here rather than
// in a page so a sign-in still waiting (up to 5 minutes) survives leaving the page.
import * as api from './api';
import type { UserSessionChanged, UserSessionInfo } from './api';
import { ApiError, errorMessage } from './errors';
import { session } from './session.svelte';

export const userSessions = $state({
  /** The active profile's signed-in users, the latest first. */
  list: [] as UserSessionInfo[],
  /** Users whose sign-in waits for the browser. */
  waiting: {} as Record<string, boolean>,
  /** Why the last sign-in of a user failed (the backend's message). */
  failures: {} as Record<string, string>,
  /** Why a user's session ended without staff signing out (revoked). */
  ended: {} as Record<string, string>,
  /** Something staff should read about a live session (its tokens could not be saved). */
  notices: {} as Record<string, string>,
});

/** The user's session; none once it ended, even while a list read before says otherwise. */
export function sessionOf(userId: string): UserSessionInfo | null {
  if (userId in userSessions.ended) return null;
  return userSessions.list.find((s) => s.userId === userId) ?? null;
}

/** The call failed because the user is not signed in (any more). */
export const isSessionEnded = (error: unknown): error is ApiError =>
  error instanceof ApiError && error.kind === 'session_ended';

function put(info: UserSessionInfo): void {
  const others = userSessions.list.filter((s) => s.userId !== info.userId);
  userSessions.list = [info, ...others].sort((a, b) => b.signedInAt.localeCompare(a.signedInAt));
}

function drop(userId: string): void {
  userSessions.list = userSessions.list.filter((s) => s.userId !== userId);
}

let loading = 0;
let generation = 0;

/** Reads the list afresh (on first use and after a profile switch). */
export async function loadUserSessions(): Promise<void> {
  const sequence = ++loading;
  if (generation !== session.generation) {
    // Another profile: what failed or ended on the previous one is not this one's news.
    generation = session.generation;
    userSessions.failures = {};
    userSessions.ended = {};
    userSessions.notices = {};
  }
  try {
    const list = await api.userSessions();
    if (sequence === loading) userSessions.list = list;
  } catch {
    // Without the list, the pages still offer signing in; the next change brings it back.
    if (sequence === loading) userSessions.list = [];
  }
}

export function applySessionChange(change: UserSessionChanged): void {
  if (change.profileId !== session.activeId) return;
  const { userId } = change;
  if (change.session) {
    put(change.session);
    delete userSessions.ended[userId];
    delete userSessions.failures[userId];
  } else if (change.ended) {
    drop(userId);
    delete userSessions.notices[userId];
  }
  if (change.ended === 'revoked') {
    userSessions.ended[userId] = change.message ?? '';
  } else if (change.message && !change.ended) {
    userSessions.notices[userId] = change.message;
  }
}

/** A call through the user's session answered `session_ended`: the pages offer signing in again. */
export function sessionEnded(userId: string, message: string): void {
  drop(userId);
  delete userSessions.notices[userId];
  userSessions.ended[userId] = message;
}

let followers = 0;
let stop: api.Unlisten | null = null;
let stopped = false;

/** Listens to the backend's session changes while any page shows sessions; returns the function that stops. */
export function followUserSessions(): () => void {
  followers++;
  if (followers === 1) {
    stopped = false;
    api.onUserSessionChanged(applySessionChange).then(
      (unlisten) => (stopped ? unlisten() : (stop = unlisten)),
      () => {},
    );
  }
  let done = false;
  return () => {
    if (done) return;
    done = true;
    followers--;
    if (followers === 0) {
      stopped = true;
      stop?.();
      stop = null;
    }
  };
}

/** Resolves once the sign-in ended, either way; the outcome is in `userSessions`. */
export async function signIn(userId: string): Promise<void> {
  if (userSessions.waiting[userId]) return;
  userSessions.waiting[userId] = true;
  delete userSessions.failures[userId];
  try {
    const info = await api.signInAsUser(userId);
    put(info);
    delete userSessions.ended[userId];
    delete userSessions.notices[userId];
  } catch (error) {
    userSessions.failures[userId] = errorMessage(error);
  } finally {
    delete userSessions.waiting[userId];
  }
}

/** The waiting sign-in then fails with the backend's message, which is shown as its outcome. */
export async function cancelSignIn(userId: string): Promise<void> {
  try {
    await api.cancelUserSignIn(userId);
  } catch (error) {
    userSessions.failures[userId] = errorMessage(error);
  }
}

/** Throws the backend's failure for the caller to show. */
export async function signOut(userId: string): Promise<void> {
  await api.signOutUser(userId);
  drop(userId);
  delete userSessions.ended[userId];
  delete userSessions.notices[userId];
}

/** For tests: forget everything. */
export function resetUserSessions(): void {
  generation = session.generation;
  userSessions.list = [];
  userSessions.waiting = {};
  userSessions.failures = {};
  userSessions.ended = {};
  userSessions.notices = {};
}
