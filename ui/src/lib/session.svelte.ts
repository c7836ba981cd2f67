import * as api from './api';
import type { DeskState, KeychainStatus, Overview, Profile, Settings } from './api';
import { setLocale, type Locale } from './i18n/index.svelte';
import type { Screen } from './router.svelte';
import { setTheme } from './theme.svelte';

/**
 * What every screen depends on: the profiles, the one in use, the keychain's state, and
 * `generation`, which grows each time the profile or its mode changes so screens re-fetch.
 */
export const session = $state({
  ready: false,
  error: null as unknown,
  profiles: [] as Profile[],
  activeId: null as string | null,
  keychain: null as KeychainStatus | null,
  settings: null as Settings | null,
  /** The app's version, from the backend. */
  version: null as string | null,
  /** The user chose to go on with the in-memory sandbox after seeing the keychain screen. */
  keychainAcknowledged: false,
  generation: 0,
});

export function activeProfile(): Profile | null {
  return session.profiles.find((p) => p.id === session.activeId) ?? null;
}

/** Answers asked for by `prefetch`, each used once. */
const early: { state: Promise<DeskState> | null; overview: Promise<Overview> | null } = {
  state: null,
  overview: null,
};

/**
 * Sends the first screen's requests before anything is rendered: the backend answers while the
 * page lays itself out, instead of one request after the other once the shell is on screen.
 */
export function prefetch(firstScreen: Screen): void {
  const state = api.deskState();
  const overview = firstScreen === 'overview' ? api.overview() : null;
  // Whoever takes an answer handles its error; this only keeps an untaken one from being reported.
  state.catch(() => {});
  overview?.catch(() => {});
  early.state = state;
  early.overview = overview;
}

/** The Overview asked for at start: for the first one shown, and only before any profile switch. */
export function takeEarlyOverview(): Promise<Overview> | null {
  const overview = session.generation === 0 ? early.overview : null;
  early.overview = null;
  return overview;
}

export async function refresh(): Promise<void> {
  const pending = early.state ?? api.deskState();
  early.state = null;
  const state = await pending;
  session.profiles = state.profiles;
  session.activeId = state.activeProfileId;
  session.keychain = state.keychain;
  session.settings = state.settings;
  session.version = state.version;
  // An unset language means "follow the OS", which the i18n module already did.
  if (state.settings.language) setLocale(state.settings.language);
  setTheme(state.settings.theme);
}

let listening = false;

export async function start(): Promise<void> {
  session.error = null;
  try {
    await refresh();
    session.ready = true;
    if (listening) return;
    listening = true;
    await api.onProfilesChanged(() => void refresh());
    await api.onProfileSwitched(async () => {
      await refresh();
      session.generation++;
    });
  } catch (error) {
    session.error = error;
  }
}

/** Screens reload when the backend announces the switch, not before it is done. */
export async function switchProfile(id: string): Promise<void> {
  await api.switchProfile(id);
}

export async function recheckKeychain(): Promise<void> {
  session.keychain = await api.recheckKeychain();
}

export async function updateSettings(change: Partial<Settings>): Promise<void> {
  if (!session.settings) return;
  session.settings = await api.saveSettings({ ...session.settings, ...change });
  setTheme(session.settings.theme);
}

export async function changeLanguage(locale: Locale): Promise<void> {
  setLocale(locale);
  await updateSettings({ language: locale });
}
