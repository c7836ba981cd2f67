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
  BalanceRefreshProgress_Serialize,
  DirectoryInfo_Serialize,
  DirectoryUser_Serialize,
  NewUserInput_Deserialize,
  Simulated_Serialize,
  SimulatedTransaction_Deserialize,
  TransactionFilter_Deserialize,
  TransactionPage_Serialize,
  UserCard_Serialize,
  UserCreated_Serialize,
  UserDetail_Serialize,
  UserFieldChange_Serialize,
  UserFilter_Deserialize,
  UserPage_Serialize,
  UserProfileChanges_Deserialize,
  UserProfilePreview_Serialize,
  UserProfileSaved_Serialize,
  UserSort_Deserialize,
  BalanceHistory,
  ImportReport,
  RefreshStarted,
  TransactionExportProgress,
  TransactionTotals,
  TransactionsExport,
  DraftStatus_Serialize,
  FieldConflict_Serialize,
  FormField_Serialize,
  FormSection_Serialize,
  KycForm_Serialize,
  KycFormChanged_Serialize,
  KycQueue_Serialize,
  KycReview,
  QueueGroup_Serialize,
  QueueUser_Serialize,
  Resolution,
  CardAccess,
  CardCopied,
  CardField,
  CardIssue,
  RevealedCard,
  UserSessionChanged_Serialize,
  UserSessionInfo_Serialize,
  UserView_Serialize,
  ViewedUser_Serialize,
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
  BalanceHistory,
  BalancePoint,
  BalanceSeries,
  CardState,
  ImportReport,
  KycState,
  RefreshStarted,
  SettlementStatus,
  TabCounts,
  TransactionExportProgress,
  TransactionKind,
  TransactionTotals,
  TransactionsExport,
  UserField,
  UserSortBy,
  UserTab,
  UserTransaction,
  FieldKind,
  FieldOption,
  Keep,
  KycCount,
  KycReview,
  LocalizedText,
  Resolution,
  SaveState,
  CardAccess,
  CardAction,
  CardCopied,
  CardField,
  CardIssue,
  RevealedCard,
  SessionEndReason,
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
export type BalanceRefreshProgress = BalanceRefreshProgress_Serialize;
export type DirectoryInfo = DirectoryInfo_Serialize;
export type DirectoryUser = DirectoryUser_Serialize;
export type NewUserInput = NewUserInput_Deserialize;
export type Simulated = Simulated_Serialize;
export type SimulatedTransaction = SimulatedTransaction_Deserialize;
export type TransactionFilter = TransactionFilter_Deserialize;
export type TransactionPage = TransactionPage_Serialize;
export type UserCard = UserCard_Serialize;
export type UserCreated = UserCreated_Serialize;
export type UserDetail = UserDetail_Serialize;
export type UserFieldChange = UserFieldChange_Serialize;
export type UserFilter = UserFilter_Deserialize;
export type UserPage = UserPage_Serialize;
export type UserProfileChanges = UserProfileChanges_Deserialize;
export type UserProfilePreview = UserProfilePreview_Serialize;
export type UserProfileSaved = UserProfileSaved_Serialize;
export type UserSort = UserSort_Deserialize;
export type DraftStatus = DraftStatus_Serialize;
export type FieldConflict = FieldConflict_Serialize;
export type FormField = FormField_Serialize;
export type FormSection = FormSection_Serialize;
export type KycForm = KycForm_Serialize;
export type KycFormChanged = KycFormChanged_Serialize;
export type KycQueue = KycQueue_Serialize;
export type QueueGroup = QueueGroup_Serialize;
export type QueueUser = QueueUser_Serialize;
export type UserSessionChanged = UserSessionChanged_Serialize;
export type UserSessionInfo = UserSessionInfo_Serialize;
export type UserView = UserView_Serialize;
export type ViewedUser = ViewedUser_Serialize;

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

// Users (issue 11).
/** What the directory holds, the countries its filter offers, and whether the profile is in test mode. */
export const userDirectoryInfo = (): Promise<DirectoryInfo> => unwrap(commands.userDirectoryInfo());
/** One page of the local directory; the first (no cursor) brings the total and the tabs' counts. */
export const usersPage = (
  filter: UserFilter,
  sort: UserSort,
  cursor: string | null,
  limit: number | null,
): Promise<UserPage> => unwrap(commands.usersPage(filter, sort, cursor, limit));
/** Test mode only: the sandbox's users of this merchant into the directory. */
export const importUsersFromSandbox = (): Promise<ImportReport> => unwrap(commands.importUsersFromSandbox());
/** An existing user, after the gateway confirms it is this merchant's (`not_found` otherwise). */
export const addUserById = (userId: string): Promise<DirectoryUser> => unwrap(commands.addUserById(userId));
/** From the directory only; nothing changes at the gateway. */
export const removeUserFromDirectory = (userId: string): Promise<null> =>
  unwrap(commands.removeUserFromDirectory(userId));
/** Submitting the same email again never creates a second user. */
export const createUser = (input: NewUserInput): Promise<UserCreated> => unwrap(commands.createUser(input));
/** What saving would change, against the gateway's current profile. */
export const previewUserProfile = (userId: string, changes: UserProfileChanges): Promise<UserProfilePreview> =>
  unwrap(commands.previewUserProfile(userId, changes));
/** Sends only the fields that differ (`PATCH …/profile`). */
export const updateUserProfile = (userId: string, changes: UserProfileChanges): Promise<UserProfileSaved> =>
  unwrap(commands.updateUserProfile(userId, changes));
/** Profile, balances and cards read afresh; `user_gone` when the gateway answers 404. */
export const userDetail = (userId: string): Promise<UserDetail> => unwrap(commands.userDetail(userId));
export const userBalanceHistory = (userId: string): Promise<BalanceHistory> =>
  unwrap(commands.userBalanceHistory(userId));
/** One page through the gateway's cursor; `loaded` is the totals so far, which the answer's include. */
export const userTransactions = (
  userId: string,
  filter: TransactionFilter,
  cursor: string | null,
  limit: number | null,
  loaded: TransactionTotals[],
): Promise<TransactionPage> => unwrap(commands.userTransactions(userId, filter, cursor, limit, loaded));
/** Every page of the filter as CSV; progress comes as events under `exportId`. */
export const exportUserTransactionsCsv = (
  exportId: string,
  userId: string,
  filter: TransactionFilter,
  path: string | null,
): Promise<TransactionsExport> => unwrap(commands.exportUserTransactionsCsv(exportId, userId, filter, path));
export const cancelUserExport = (exportId: string): Promise<boolean> => unwrap(commands.cancelUserExport(exportId));
/** In the background: of these users, or of all (null). */
export const refreshUserBalances = (userIds: string[] | null): Promise<RefreshStarted> =>
  unwrap(commands.refreshUserBalances(userIds));
/** Test mode only: a top-up, spending, refund or fee through the sandbox's control API. */
export const simulateUserTransaction = (userId: string, input: SimulatedTransaction): Promise<Simulated> =>
  unwrap(commands.simulateUserTransaction(userId, input));

// KYC (issue 12).
/** The form as the gateway holds it with any unsent edits; the copy on this computer (`offline`) when it cannot be reached. */
export const kycForm = (userId: string): Promise<KycForm> => unwrap(commands.kycForm(userId));
/** One edit, committed on this computer before the answer and sent after a short pause; empty clears the field. */
export const kycEdit = (userId: string, field: string, value: string): Promise<DraftStatus> =>
  unwrap(commands.kycEdit(userId, field, value));
/** Staff's choice (theirs or yours) for every conflicting field. */
export const kycResolve = (userId: string, choices: Resolution[]): Promise<KycForm> =>
  unwrap(commands.kycResolve(userId, choices));
/** Drops the unsent edits. */
export const kycDiscard = (userId: string): Promise<KycForm> => unwrap(commands.kycDiscard(userId));
/** The whole form (`PUT`); an incomplete one is refused naming every missing field. */
export const kycSaveComplete = (userId: string): Promise<KycForm> => unwrap(commands.kycSaveComplete(userId));
/** Locks the form for review; refused while edits are unsent. */
export const kycSubmit = (userId: string): Promise<KycForm> => unwrap(commands.kycSubmit(userId));
/** Test mode only: approves or rejects through the sandbox. */
export const kycReview = (userId: string, review: KycReview): Promise<KycForm> =>
  unwrap(commands.kycReview(userId, review));
/** The profile's users by what KYC needs from staff, with counts. */
export const kycQueue = (): Promise<KycQueue> => unwrap(commands.kycQueue());
// The same form through the user's own session, for staff signed in as the user (issue 13).
// Refused (`unauthorized`) when they are not; the edits' later sends use the session too.
export const userKycForm = (userId: string): Promise<KycForm> => unwrap(commands.userKycForm(userId));
export const userKycEdit = (userId: string, field: string, value: string): Promise<DraftStatus> =>
  unwrap(commands.userKycEdit(userId, field, value));
export const userKycResolve = (userId: string, choices: Resolution[]): Promise<KycForm> =>
  unwrap(commands.userKycResolve(userId, choices));
export const userKycDiscard = (userId: string): Promise<KycForm> => unwrap(commands.userKycDiscard(userId));
export const userKycSaveComplete = (userId: string): Promise<KycForm> => unwrap(commands.userKycSaveComplete(userId));
export const userKycSubmit = (userId: string): Promise<KycForm> => unwrap(commands.userKycSubmit(userId));

// Signing in as a user, the user's own view and their cards (issue 13).
/**
 * Opens the gateway's sign-in page in the system browser and waits (5 minutes at most)
 * for the user to finish there; `sign_in_failed`, `timeout`, `validation` or
 * `keychain_unavailable` otherwise.
 */
export const signInAsUser = (userId: string): Promise<UserSessionInfo> => unwrap(commands.signInAsUser(userId));
/** Stops a sign-in waiting for the browser (it then fails with `sign_in_failed`); false when none was. */
export const cancelUserSignIn = (userId: string): Promise<boolean> => unwrap(commands.cancelUserSignIn(userId));
/** The users signed in on the active profile, the latest first. */
export const userSessions = (): Promise<UserSessionInfo[]> => unwrap(commands.userSessions());
export const signOutUser = (userId: string): Promise<null> => unwrap(commands.signOutUser(userId));
/** The user's profile, balances and cards through their own session; `session_ended` when there is none. */
export const userView = (userId: string): Promise<UserView> => unwrap(commands.userView(userId));
/** One page of the user's own transactions, as `userTransactions` reads the merchant's. */
export const userViewTransactions = (
  userId: string,
  filter: TransactionFilter,
  cursor: string | null,
  limit: number | null,
  loaded: TransactionTotals[],
): Promise<TransactionPage> => unwrap(commands.userViewTransactions(userId, filter, cursor, limit, loaded));
/** Refused unless the user's KYC is approved, and in active mode unless `liveConfirmed`. */
export const issueCard = (userId: string, issue: CardIssue): Promise<UserCard> =>
  unwrap(commands.issueCard(userId, issue));
/** The full number and CVV, recorded; `confirmed` is staff's explicit yes. */
export const revealCard = (userId: string, cardId: string, confirmed: boolean): Promise<RevealedCard> =>
  unwrap(commands.revealCard(userId, cardId, confirmed));
/** The window stopped showing a reveal: the backend forgets it. */
export const hideCard = (revealId: string): Promise<null> => unwrap(commands.hideCard(revealId));
/** Copies through the backend, which clears the clipboard after `clearsInSeconds`. */
export const copyCardField = (revealId: string, field: CardField): Promise<CardCopied> =>
  unwrap(commands.copyCardField(revealId, field));
/** The card's latest reveals and copies on this computer. */
export const cardAccess = (cardId: string): Promise<CardAccess[]> => unwrap(commands.cardAccess(cardId));

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

/** Rows of the directory changed (balances fetched, profile edited, found gone): update them in place. */
export const onUsersChanged = (handler: (profileId: string, users: DirectoryUser[]) => void): Promise<Unlisten> =>
  events.usersChanged.listen((event) => handler(event.payload.profileId, event.payload.users));

/** Users were added to or removed from the directory: reload the list. */
export const onUserDirectoryChanged = (handler: (profileId: string) => void): Promise<Unlisten> =>
  events.userDirectoryChanged.listen((event) => handler(event.payload.profileId));

/** How a background balance refresh is going, and when it ended. */
export const onUserBalanceRefresh = (handler: (progress: BalanceRefreshProgress) => void): Promise<Unlisten> =>
  events.userBalanceRefresh.listen((event) => handler(event.payload.progress));

/** How a transactions export is going (pages, rows, rate). */
export const onUserExportProgress = (handler: (progress: TransactionExportProgress) => void): Promise<Unlisten> =>
  events.userExportProgress.listen((event) => handler(event.payload.progress));

/** A KYC form's save state changed (sent, offline, conflict, values refused). */
export const onKycFormChanged = (handler: (change: KycFormChanged) => void): Promise<Unlisten> =>
  events.kycFormChanged.listen((event) => handler(event.payload));

/** A user's session started, renewed, could not be saved, or ended. */
export const onUserSessionChanged = (handler: (change: UserSessionChanged) => void): Promise<Unlisten> =>
  events.userSessionChanged.listen((event) => handler(event.payload));
