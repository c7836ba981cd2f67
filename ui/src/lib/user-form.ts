// The rules of the user forms (create, edit), checked before anything is sent: the
// gateway's own (name length, email, E.164 phone, ISO country), so most mistakes show
// on their field at once; the gateway's answers still land on the same fields.
import { characterCount, validEmail, type FieldProblem } from './payments';
import { isCountryCode } from './countries';

/** The gateway's limit on a user's name, in characters. */
export const MAX_USER_NAME_CHARS = 100;

export interface UserDraft {
  name: string;
  email: string;
  phone: string;
  country: string;
}

export type UserField = keyof UserDraft;
export const USER_FIELDS: readonly UserField[] = ['name', 'email', 'phone', 'country'];

export const emptyUserDraft = (): UserDraft => ({ name: '', email: '', phone: '', country: '' });

/** What a profile holds, as the form edits it (absent values are empty). */
export function draftOf(user: {
  name: string;
  email: string;
  phone?: string | null;
  country?: string | null;
}): UserDraft {
  return { name: user.name, email: user.email, phone: user.phone ?? '', country: user.country ?? '' };
}

/** Spaces, dots, hyphens and brackets people type in phone numbers; E.164 has none. */
export const normalizePhone = (phone: string): string => phone.trim().replace(/[\s\-().]/g, '');

/**
 * What is sent: trimmed, the email in small letters (as the gateway keeps it), the phone
 * without separators, the country in capitals.
 */
export function cleanDraft(draft: UserDraft): UserDraft {
  return {
    name: draft.name.trim(),
    email: draft.email.trim().toLowerCase(),
    phone: normalizePhone(draft.phone),
    country: draft.country.trim().toUpperCase(),
  };
}

/** E.164: a plus sign and 8 to 15 digits, the first not zero. */
export const validPhone = (phone: string): boolean => /^\+[1-9]\d{7,14}$/.test(phone);

/** Every problem at once, so the form is fixed in one pass. */
export function validateUser(draft: UserDraft): Partial<Record<UserField, FieldProblem>> {
  const clean = cleanDraft(draft);
  const problems: Partial<Record<UserField, FieldProblem>> = {};
  if (!clean.name) problems.name = { key: 'validation.required' };
  else if (characterCount(clean.name) > MAX_USER_NAME_CHARS) {
    problems.name = { key: 'validation.too_long', params: { max: MAX_USER_NAME_CHARS } };
  } else if (/\p{Cc}/u.test(clean.name)) problems.name = { key: 'users.form.name_control' };
  if (!clean.email) problems.email = { key: 'validation.required' };
  else if (!validEmail(clean.email)) problems.email = { key: 'validation.email' };
  if (clean.phone && !validPhone(clean.phone)) problems.phone = { key: 'users.form.phone_format' };
  if (clean.country && !isCountryCode(clean.country)) problems.country = { key: 'users.form.country_format' };
  return problems;
}

export interface FieldChange {
  field: UserField;
  from: string;
  to: string;
}

/** The fields the edit changes, old → new (an emptied phone or country clears it). */
export function userChanges(original: UserDraft, draft: UserDraft): FieldChange[] {
  const before = cleanDraft(original);
  const after = cleanDraft(draft);
  return USER_FIELDS.filter((field) => before[field] !== after[field]).map((field) => ({
    field,
    from: before[field],
    to: after[field],
  }));
}
