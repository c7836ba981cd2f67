// The one module that talks to the backend. Types come from the generated bindings;
// this file only picks the direction of each (`_Serialize`: what Rust sends,
// `_Deserialize`: what it accepts), turns command results into values or thrown
// `ApiError`s, and names the calls after what the screens do.
import { commands, events } from './bindings';
import type {
  CommandError_Serialize,
  ConnectionTest,
  ExportedCsv,
  DeskState_Serialize,
  KeychainStatus,
  Overview_Serialize,
  ProfileInput_Deserialize,
  Profile_Serialize,
  RequestLogEntry_Serialize,
  RequestLogFilter_Deserialize,
  Settings_Deserialize,
  Settings_Serialize,
  Simulation,
  LedgerFilter_Deserialize,
  LedgerPage_Serialize,
  LedgerPayment_Serialize,
  ListenerSettings_Deserialize,
  ListenerStatus_Serialize,
  PaymentDefaults_Deserialize,
  PaymentDefaults_Serialize,
  PaymentDetail_Serialize,
  PaymentLinkCreated_Serialize,
  PaymentLinkDefaults_Serialize,
  PaymentLinkInput_Deserialize,
  TimelineEntry_Serialize,
  WebhookEventFilter_Deserialize,
  WebhookLogEntry_Serialize,
} from './bindings';
import { ApiError } from './errors';

export type {
  ConnectionTest,
  Currency,
  ExportedCsv,
  CurrencyBalance,
  DayVolume,
  KeychainProblem,
  KeychainStatus,
  Header,
  Language,
  LedgerStatus,
  Simulation,
  TimelineKind,
  Verification,
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
export type LedgerFilter = LedgerFilter_Deserialize;
export type LedgerPage = LedgerPage_Serialize;
export type LedgerPayment = LedgerPayment_Serialize;
export type ListenerSettings = ListenerSettings_Deserialize;
export type ListenerStatus = ListenerStatus_Serialize;
export type PaymentDefaults = PaymentDefaults_Serialize;
export type PaymentDefaultsInput = PaymentDefaults_Deserialize;
export type PaymentDetail = PaymentDetail_Serialize;
export type PaymentLinkCreated = PaymentLinkCreated_Serialize;
export type PaymentLinkDefaults = PaymentLinkDefaults_Serialize;
export type PaymentLinkInput = PaymentLinkInput_Deserialize;
export type TimelineEntry = TimelineEntry_Serialize;
export type WebhookEventFilter = WebhookEventFilter_Deserialize;
export type WebhookLogEntry = WebhookLogEntry_Serialize;

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

// Payments and webhooks (issue 6).
export const paymentLinkDefaults = (): Promise<PaymentLinkDefaults> => unwrap(commands.paymentLinkDefaults());
export const savePaymentLinkDefaults = (defaults: PaymentDefaultsInput): Promise<PaymentDefaults> =>
  unwrap(commands.setPaymentLinkDefaults(defaults));
/** Submitting the same order reference again reuses its idempotency key. */
export const createPaymentLink = (input: PaymentLinkInput): Promise<PaymentLinkCreated> =>
  unwrap(commands.createPaymentLink(input));
/** Sends an unconfirmed payment again with its stored idempotency key and body. */
export const retryPaymentLink = (id: number): Promise<PaymentLinkCreated> => unwrap(commands.retryPaymentLink(id));
export const paymentsPage = (filter: LedgerFilter, cursor: string | null, limit: number | null): Promise<LedgerPage> =>
  unwrap(commands.paymentsPage(filter, cursor, limit));
export const paymentDetail = (id: number): Promise<PaymentDetail> => unwrap(commands.paymentDetail(id));
export const verifyPayment = (id: number): Promise<LedgerPayment> => unwrap(commands.verifyPayment(id));
export const simulatePayment = (id: number, action: Simulation): Promise<LedgerPayment> =>
  unwrap(commands.simulatePayment(id, action));
/** Resolves with the number of rows written. */
/** `path` is the file chosen in the save dialog; null saves to Downloads under a new name. */
export const exportPaymentsCsv = (filter: LedgerFilter, path: string | null): Promise<ExportedCsv> =>
  unwrap(commands.exportPaymentsCsv(filter, path));
export const webhookEvents = (filter: WebhookEventFilter): Promise<WebhookLogEntry[]> =>
  unwrap(commands.webhookEvents(filter));
export const replayWebhookEvent = (id: number): Promise<LedgerPayment> => unwrap(commands.replayWebhookEvent(id));
export const forwardWebhookEvent = (id: number, url: string | null): Promise<WebhookLogEntry> =>
  unwrap(commands.forwardWebhookEvent(id, url));
export const webhookListener = (): Promise<ListenerStatus> => unwrap(commands.webhookListener());
export const saveWebhookListener = (settings: ListenerSettings): Promise<ListenerStatus> =>
  unwrap(commands.setWebhookListener(settings));

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

/** A ledger row changed (created, paid, verified, simulated): update it where shown. */
export const onPaymentChanged = (handler: (profileId: string, payment: LedgerPayment) => void): Promise<Unlisten> =>
  events.paymentChanged.listen((event) => handler(event.payload.profileId, event.payload.payment));

/** The listener received a delivery, or an event's forward result changed. */
export const onWebhookReceived = (handler: (entry: WebhookLogEntry) => void): Promise<Unlisten> =>
  events.webhookReceived.listen((event) => handler(event.payload.entry));

/** The listener started, stopped or failed to start. */
export const onWebhookListenerChanged = (handler: (status: ListenerStatus) => void): Promise<Unlisten> =>
  events.webhookListenerChanged.listen((event) => handler(event.payload.status));
