// The KYC form's data sources, the checks its schema publishes, and the queue that sends
// its edits. The form knows nothing of who fills it in: staff through the merchant's API,
// or staff signed in as the user through the user's own session (issue 13).
import * as api from './api';
import type {
  DraftStatus,
  FormField,
  FormSection,
  KycForm,
  KycReview,
  KycState,
  LocalizedText,
  Resolution,
} from './api';
import { isCountryCode } from './countries';
import type { Locale } from './i18n/index.svelte';
import { characterCount, validEmail, type FieldProblem } from './payments';
import { session } from './session.svelte';
import { validPhone } from './user-form';

/** Something changed behind the open form: its save state, or its review status. */
export interface KycChange {
  status?: KycState;
  /** Absent when only the status is known to have changed. */
  draft?: DraftStatus;
}

export interface KycSource {
  load(): Promise<KycForm>;
  /** Commits one field's whole value; an empty one clears it. */
  edit(field: string, value: string): Promise<DraftStatus>;
  resolve(choices: Resolution[]): Promise<KycForm>;
  discard(): Promise<KycForm>;
  saveComplete(): Promise<KycForm>;
  submit(): Promise<KycForm>;
  /** Absent where the source cannot review (no Approve or Reject then). */
  review?: (review: KycReview) => Promise<KycForm>;
  /** Returns the function that stops listening. */
  onChange(handler: (change: KycChange) => void): () => void;
}

/** Listens to several events at once; stopping before a listener is in place stops it once it is. */
function listening(started: Promise<api.Unlisten>[]): () => void {
  let stopped = false;
  const stops: api.Unlisten[] = [];
  for (const start of started) {
    start.then(
      (stop) => (stopped ? stop() : stops.push(stop)),
      () => {},
    );
  }
  return () => {
    stopped = true;
    stops.splice(0).forEach((stop) => stop());
  };
}

/** The changes of `userId`'s form on the active profile, whichever side made them: both share one copy. */
function onFormChange(userId: string, handler: (change: KycChange) => void): () => void {
  const mine = (profileId: string) => profileId === session.activeId;
  return listening([
    api.onKycFormChanged((change) => {
      if (mine(change.profileId) && change.userId === userId) {
        handler({ status: change.status, draft: change.draft });
      }
    }),
    // A review or a submission elsewhere changes the directory's row.
    api.onUsersChanged((profileId, users) => {
      const user = users.find((u) => u.userId === userId);
      if (mine(profileId) && user) handler({ status: user.kycStatus });
    }),
  ]);
}

/** A user's form as the merchant's staff see it, through the desk's KYC service. */
export function merchantKycSource(userId: string): KycSource {
  return {
    load: () => api.kycForm(userId),
    edit: (field, value) => api.kycEdit(userId, field, value),
    resolve: (choices) => api.kycResolve(userId, choices),
    discard: () => api.kycDiscard(userId),
    saveComplete: () => api.kycSaveComplete(userId),
    submit: () => api.kycSubmit(userId),
    review: (review) => api.kycReview(userId, review),
    onChange: (handler) => onFormChange(userId, handler),
  };
}

/**
 * The same form through the user's own session, for staff signed in as the user. A user
 * does not review their own form, so there is no `review`.
 */
export function userKycSource(userId: string): KycSource {
  return {
    load: () => api.userKycForm(userId),
    edit: (field, value) => api.userKycEdit(userId, field, value),
    resolve: (choices) => api.userKycResolve(userId, choices),
    discard: () => api.userKycDiscard(userId),
    saveComplete: () => api.userKycSaveComplete(userId),
    submit: () => api.userKycSubmit(userId),
    onChange: (handler) => onFormChange(userId, handler),
  };
}

export const localized = (text: LocalizedText, locale: Locale): string => text[locale] || text.en || text.ja;

export const formFields = (sections: readonly FormSection[]): FormField[] => sections.flatMap((s) => s.fields);

const filled = (value: string | undefined): boolean => Boolean(value?.trim());

/** Required fields still empty, in the form's order. */
export const missingFields = (sections: readonly FormSection[], values: Record<string, string>): string[] =>
  formFields(sections)
    .filter((f) => f.required && !filled(values[f.id]))
    .map((f) => f.id);

export function requiredProgress(
  sections: readonly FormSection[],
  values: Record<string, string>,
): { done: number; total: number } {
  const required = formFields(sections).filter((f) => f.required);
  return { done: required.filter((f) => filled(values[f.id])).length, total: required.length };
}

const matchers = new Map<string, RegExp | null>();

/**
 * The gateway's pattern must match the whole value. One that does not compile here is
 * left to the gateway to check.
 */
export function patternMatcher(pattern: string): RegExp | null {
  if (!matchers.has(pattern)) {
    const source = pattern.startsWith('^') && pattern.endsWith('$') ? pattern : `^(?:${pattern})$`;
    try {
      matchers.set(pattern, new RegExp(source, 'u'));
    } catch {
      matchers.set(pattern, null);
    }
  }
  return matchers.get(pattern) ?? null;
}

/** `yyyy-mm-dd`, and a day that exists. */
export function validDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/**
 * What the schema says about a value, before the gateway is asked: required, length in
 * characters, pattern, then the field's kind. The gateway still judges every value.
 */
export function fieldProblem(field: FormField, raw: string | undefined): FieldProblem | undefined {
  const value = (raw ?? '').trim();
  if (!value) return field.required ? { key: 'validation.required' } : undefined;
  if (field.maxLength != null && characterCount(value) > field.maxLength) {
    return { key: 'validation.too_long', params: { max: field.maxLength } };
  }
  const matcher = field.pattern ? patternMatcher(field.pattern) : null;
  if (matcher && !matcher.test(value)) return { key: 'kyc.validation.pattern' };
  switch (field.kind) {
    case 'email':
      return validEmail(value) ? undefined : { key: 'validation.email' };
    case 'date':
      return validDate(value) ? undefined : { key: 'kyc.validation.date' };
    case 'country':
      return isCountryCode(value.toUpperCase()) ? undefined : { key: 'users.form.country_format' };
    case 'phone':
      return validPhone(value) ? undefined : { key: 'users.form.phone_format' };
    case 'select':
      return field.options.length === 0 || field.options.some((o) => o.value === value)
        ? undefined
        : { key: 'kyc.validation.option' };
    default:
      return undefined;
  }
}

export interface EditQueueHandlers {
  sent(field: string, status: DraftStatus): void;
  failed(field: string, value: string, error: unknown): void;
  /** The fields with edits not answered yet, whenever that changes. */
  busy(fields: string[]): void;
}

/**
 * Sends edits one field at a time, in order: while a field's edit is on its way, the
 * next waits, and a newer one replaces it (each edit is the field's whole value, so the
 * last one is what counts). Nothing typed is dropped: the last value always goes.
 */
export class EditQueue {
  #send: (field: string, value: string) => Promise<DraftStatus>;
  #on: EditQueueHandlers;
  #lanes = new Map<string, { waiting: { value: string } | null; done: Promise<void> }>();

  constructor(send: (field: string, value: string) => Promise<DraftStatus>, on: EditQueueHandlers) {
    this.#send = send;
    this.#on = on;
  }

  push(field: string, value: string): void {
    const lane = this.#lanes.get(field);
    if (lane) {
      lane.waiting = { value };
      return;
    }
    const fresh = { waiting: null, done: Promise.resolve() };
    this.#lanes.set(field, fresh);
    this.#on.busy(this.fields);
    fresh.done = this.#run(field, value, fresh);
  }

  get fields(): string[] {
    return [...this.#lanes.keys()];
  }

  /** Resolves once every edit pushed so far has been answered. */
  async settled(): Promise<void> {
    while (this.#lanes.size) await Promise.all([...this.#lanes.values()].map((lane) => lane.done));
  }

  async #run(field: string, first: string, lane: { waiting: { value: string } | null }): Promise<void> {
    let next: { value: string } | null = { value: first };
    while (next) {
      const { value } = next;
      try {
        this.#on.sent(field, await this.#send(field, value));
      } catch (error) {
        this.#on.failed(field, value, error);
      }
      next = lane.waiting;
      lane.waiting = null;
    }
    this.#lanes.delete(field);
    this.#on.busy(this.fields);
  }
}
