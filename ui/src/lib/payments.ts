// The payment-link form's rules (the gateway's, checked before anything is sent), the
// list's filters as the backend's `LedgerFilter`, and the tones of status badges.
import { dateTimeFormat } from './intl';
import type {
  Currency,
  LedgerFilter,
  LedgerPayment,
  LedgerStatus,
  PaymentLinkDefaults,
  PaymentLinkInput,
  Verification,
} from './api';
import type { MessageKey } from './i18n/index.svelte';
import { parseDecimal } from './money';

export const CURRENCIES: readonly Currency[] = ['JPY', 'USD', 'SGP-USD'];
export const STATUSES: readonly LedgerStatus[] = ['pending', 'paid', 'cancelled', 'expired', 'unconfirmed'];

/** Minor-unit digits the gateway accepts per currency. */
export const SCALE: Record<Currency, number> = { JPY: 0, USD: 2, 'SGP-USD': 2 };
/** The gateway's limit on `details` and `custom`, in characters. */
export const MAX_TEXT_CHARS = 255;
/** The gateway's largest amount. */
export const MAX_AMOUNT = 1_000_000_000n;

export const STATUS_LABELS: Record<LedgerStatus, MessageKey> = {
  pending: 'status.pending',
  paid: 'status.paid',
  cancelled: 'status.cancelled',
  expired: 'status.expired',
  unconfirmed: 'status.unconfirmed',
};

export const STATUS_TONES: Record<LedgerStatus, string> = {
  pending: 'accent',
  paid: 'success',
  cancelled: '',
  expired: 'danger',
  unconfirmed: 'warning',
};

export const VERIFICATION_LABELS: Record<Verification, MessageKey> = {
  verified: 'webhooks.verification.verified',
  duplicate: 'webhooks.verification.duplicate',
  bad_signature: 'webhooks.verification.bad_signature',
  stale: 'webhooks.verification.stale',
  malformed: 'webhooks.verification.malformed',
  unknown_profile: 'webhooks.verification.unknown_profile',
};

export const VERIFICATION_TONES: Record<Verification, string> = {
  verified: 'success',
  duplicate: '',
  bad_signature: 'danger',
  stale: 'danger',
  malformed: 'danger',
  unknown_profile: 'warning',
};

/** Characters as the gateway counts them (code points, so `𠮷` is one). */
export const characterCount = (text: string): number => [...text].length;

/**
 * Keeps what the amount field may hold for `currency` while the user types: digits and,
 * when the currency has minor units, one decimal point with at most that many digits.
 */
export function sanitizeAmount(text: string, currency: Currency): string {
  const scale = SCALE[currency];
  const cleaned = text.replace(/[^\d.]/g, '');
  const [integer = '', ...rest] = cleaned.split('.');
  if (scale === 0 || rest.length === 0) return integer;
  return `${integer}.${rest.join('').slice(0, scale)}`;
}

export interface LinkDraft {
  amount: string;
  currency: Currency;
  details: string;
  customerEmail: string;
  custom: string;
  successUrl: string;
  cancelUrl: string;
  webhookUrl: string;
}

export type LinkField = keyof LinkDraft;

export interface FieldProblem {
  key: MessageKey;
  params?: Record<string, string | number>;
}

export function draftFrom(defaults: PaymentLinkDefaults | null, currency: Currency = 'JPY'): LinkDraft {
  return {
    amount: '',
    currency,
    details: '',
    customerEmail: '',
    custom: defaults?.custom ?? '',
    successUrl: defaults?.successUrl ?? '',
    cancelUrl: defaults?.cancelUrl ?? '',
    webhookUrl: defaults?.webhookUrl ?? defaults?.listenerUrl ?? '',
  };
}

// The gateway's address check, mirrored: one `@`, a sane local part, a dotted domain.
const EMAIL = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function validEmail(email: string): boolean {
  return email.length <= 254 && EMAIL.test(email) && (email.split('@')[0] ?? '').length <= 64;
}

export function httpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host !== '';
  } catch {
    return false;
  }
}

export function amountProblem(text: string, currency: Currency): FieldProblem | undefined {
  const amount = text.trim();
  if (!amount) return { key: 'validation.required' };
  const parsed = parseDecimal(amount);
  if (!parsed || parsed.negative) return { key: 'payments.form.amount_format' };
  const scale = SCALE[currency];
  if (parsed.fraction.length > scale) {
    return scale === 0
      ? { key: 'payments.form.amount_whole', params: { currency } }
      : { key: 'payments.form.amount_scale', params: { currency, scale } };
  }
  const minor = BigInt(parsed.integer + parsed.fraction.padEnd(scale, '0'));
  if (minor === 0n) return { key: 'payments.form.amount_positive' };
  if (minor > MAX_AMOUNT * 10n ** BigInt(scale)) {
    return { key: 'payments.form.amount_max', params: { max: MAX_AMOUNT.toString() } };
  }
  return undefined;
}

/** Every problem at once, so the user fixes the form in one pass. */
export function validateLink(draft: LinkDraft): Partial<Record<LinkField, FieldProblem>> {
  const problems: Partial<Record<LinkField, FieldProblem>> = {};
  const amount = amountProblem(draft.amount, draft.currency);
  if (amount) problems.amount = amount;
  if (characterCount(draft.details.trim()) > MAX_TEXT_CHARS) {
    problems.details = { key: 'validation.too_long', params: { max: MAX_TEXT_CHARS } };
  }
  const email = draft.customerEmail.trim();
  if (!email) problems.customerEmail = { key: 'validation.required' };
  else if (!validEmail(email)) problems.customerEmail = { key: 'validation.email' };
  const custom = draft.custom.trim();
  if (!custom) problems.custom = { key: 'validation.required' };
  else if (characterCount(custom) > MAX_TEXT_CHARS) {
    problems.custom = { key: 'validation.too_long', params: { max: MAX_TEXT_CHARS } };
  }
  for (const field of ['successUrl', 'cancelUrl', 'webhookUrl'] as const) {
    const url = draft[field].trim();
    if (!url) problems[field] = { key: 'validation.required' };
    else if (!httpUrl(url)) problems[field] = { key: 'validation.url' };
  }
  return problems;
}

export function linkInput(draft: LinkDraft, confirmActive: boolean): PaymentLinkInput {
  return {
    amount: draft.amount.trim(),
    currency: draft.currency,
    details: draft.details.trim() || null,
    customerEmail: draft.customerEmail.trim(),
    custom: draft.custom.trim(),
    successUrl: draft.successUrl.trim(),
    cancelUrl: draft.cancelUrl.trim(),
    webhookUrl: draft.webhookUrl.trim(),
    confirmActive,
  };
}

/** The list's filter bar. Dates are calendar days (`YYYY-MM-DD`) in the user's time zone. */
export interface PaymentFilters {
  search: string;
  status: LedgerStatus | '';
  currency: Currency | '';
  from: string;
  to: string;
}

export const NO_FILTERS: PaymentFilters = { search: '', status: '', currency: '', from: '', to: '' };

/** Local midnight of a `YYYY-MM-DD` day, `days` later, as RFC 3339 (UTC). */
export function localMidnight(day: string, days = 0): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) return null;
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + days);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** The backend's filter: `from` is inclusive, `to` includes the whole of that day. */
export function ledgerFilter(filters: PaymentFilters): LedgerFilter {
  return {
    search: filters.search.trim() || null,
    status: filters.status || null,
    currency: filters.currency || null,
    createdFrom: localMidnight(filters.from),
    createdTo: localMidnight(filters.to, 1),
  };
}

export const isFiltered = (filters: PaymentFilters): boolean =>
  Boolean(filters.search.trim() || filters.status || filters.currency || filters.from || filters.to);

/** Whether a payment announced live belongs in the list under `filter`. */
export function matchesFilter(payment: LedgerPayment, filter: LedgerFilter): boolean {
  if (filter.status && payment.status !== filter.status) return false;
  if (filter.currency && payment.currency !== filter.currency) return false;
  const created = Date.parse(payment.createdAt);
  if (filter.createdFrom && created < Date.parse(filter.createdFrom)) return false;
  if (filter.createdTo && created >= Date.parse(filter.createdTo)) return false;
  if (filter.search) {
    const needle = filter.search.toLowerCase();
    const haystack = [payment.custom, payment.customerEmail, payment.paymentId ?? ''];
    if (!haystack.some((value) => value.toLowerCase().includes(needle))) return false;
  }
  return true;
}

/** A list cell's time: `Nov 24, 10:05` (the full time is in its tooltip). */
export function shortDateTime(value: string, locale: string, timeZone?: string): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return dateTimeFormat(locale, {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
    timeZone,
  }).format(date);
}
