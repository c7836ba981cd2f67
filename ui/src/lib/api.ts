// The one module that talks to the backend. Types come from the generated bindings;
// this file only picks the direction of each (`_Serialize`: what Rust sends,
// `_Deserialize`: what it accepts), turns command results into values or thrown
// `ApiError`s, and names the calls after what the screens do.
import { commands, events } from './bindings';
import type {
  CommandError_Serialize,
  ConnectionTest,
  DeskState_Serialize,
  KeychainStatus,
  Overview_Serialize,
  ProfileInput_Deserialize,
  Profile_Serialize,
  RequestLogEntry_Serialize,
  RequestLogFilter_Deserialize,
  Settings_Deserialize,
  Settings_Serialize,
} from './bindings';
import { ApiError } from './errors';

export type {
  ConnectionTest,
  Currency,
  CurrencyBalance,
  DayVolume,
  KeychainProblem,
  KeychainStatus,
  Language,
  Mode,
  PaymentStatus,
  StatusClass,
  Theme,
} from './bindings';
export type CommandError = CommandError_Serialize;
export type DeskState = DeskState_Serialize;
export type Overview = Overview_Serialize;
export type Profile = Profile_Serialize;
export type ProfileInput = ProfileInput_Deserialize;
export type RequestLogEntry = RequestLogEntry_Serialize;
export type RequestLogFilter = RequestLogFilter_Deserialize;
export type Settings = Settings_Serialize;
export type SettingsInput = Settings_Deserialize;

type Outcome<T> = { status: 'ok'; data: T } | { status: 'error'; error: CommandError };

async function unwrap<T>(call: Promise<Outcome<T>>): Promise<T> {
  const outcome = await call;
  if (outcome.status === 'error') throw new ApiError(outcome.error);
  return outcome.data;
}

export const deskState = (): Promise<DeskState> => unwrap(commands.deskState());
export const createProfile = (input: ProfileInput): Promise<Profile> => unwrap(commands.addProfile(input));
export const updateProfile = (id: string, input: ProfileInput): Promise<Profile> =>
  unwrap(commands.updateProfile(id, input));
export const removeProfile = (id: string): Promise<null> => unwrap(commands.removeProfile(id));
export const switchProfile = (id: string): Promise<Profile> => unwrap(commands.switchProfile(id));
export const testConnection = (id: string): Promise<ConnectionTest> => unwrap(commands.testConnection(id));
export const overview = (): Promise<Overview> => unwrap(commands.overview());
export const requestLog = (filter: RequestLogFilter): Promise<RequestLogEntry[]> =>
  unwrap(commands.requestLog(filter));
export const clearRequestLog = (): Promise<null> => unwrap(commands.clearRequestLog());
export const recheckKeychain = (): Promise<KeychainStatus> => unwrap(commands.recheckKeychain());
export const saveSettings = (settings: SettingsInput): Promise<Settings> => unwrap(commands.setSettings(settings));

export type Unlisten = () => void;

/** The active profile (or its mode) changed: every screen re-fetches. */
export const onProfileSwitched = (handler: () => void): Promise<Unlisten> =>
  events.profileSwitched.listen(() => handler());

/** Profiles were added, edited or removed. */
export const onProfilesChanged = (handler: () => void): Promise<Unlisten> =>
  events.profilesChanged.listen(() => handler());

/** New rows of the request log, as the SDK's observer records them. */
export const onRequestsLogged = (handler: (entries: RequestLogEntry[]) => void): Promise<Unlisten> =>
  events.requestsLogged.listen((event) => handler(event.payload.entries));
