import type { Mode, Profile, ProfileInput } from './api';
import type { MessageKey } from './i18n/index.svelte';

export const SECRET_FIELDS = ['accessKey', 'secretKey', 'clientSecret'] as const;
export type SecretField = (typeof SECRET_FIELDS)[number];

/** What the form edits. Secret fields start empty: the stored secret never comes back. */
export interface ProfileDraft {
  name: string;
  mode: Mode;
  baseUrl: string;
  clientId: string;
  publicClientId: string;
  accessKey: string;
  secretKey: string;
  clientSecret: string;
}

export type DraftField = keyof ProfileDraft;

export interface FieldProblem {
  key: MessageKey;
  params?: Record<string, string | number>;
}

/** Mirrors the backend's limit so the user hears about it before saving. */
export const MAX_NAME_CHARS = 80;

export function draftFrom(profile: Profile | null): ProfileDraft {
  return {
    name: profile?.name ?? '',
    mode: profile?.mode ?? 'test',
    baseUrl: profile?.baseUrl ?? '',
    clientId: profile?.clientId ?? '',
    publicClientId: profile?.publicClientId ?? '',
    accessKey: '',
    secretKey: '',
    clientSecret: '',
  };
}

function parseHttpUrl(value: string): URL | null {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host !== '' ? url : null;
  } catch {
    return null;
  }
}

/**
 * Checks made before anything is sent. A new profile needs every credential that the
 * OAuth token and signed calls use; an existing one keeps its stored secrets when left blank.
 */
export function validateDraft(draft: ProfileDraft, existing: Profile | null): Partial<Record<DraftField, FieldProblem>> {
  const problems: Partial<Record<DraftField, FieldProblem>> = {};
  const name = draft.name.trim();
  if (!name) problems.name = { key: 'validation.required' };
  else if ([...name].length > MAX_NAME_CHARS) {
    problems.name = { key: 'validation.too_long', params: { max: MAX_NAME_CHARS } };
  }
  // The embedded sandbox's address and mode are the backend's to choose.
  if (!existing?.embedded) {
    const url = parseHttpUrl(draft.baseUrl.trim());
    if (!draft.baseUrl.trim()) problems.baseUrl = { key: 'validation.required' };
    else if (!url) problems.baseUrl = { key: 'validation.url' };
    else if (draft.mode === 'active' && url.protocol !== 'https:') {
      problems.baseUrl = { key: 'validation.https_for_active' };
    }
  }
  if (!draft.clientId.trim()) problems.clientId = { key: 'validation.required' };
  if (!existing) {
    for (const field of SECRET_FIELDS) {
      if (!draft[field].trim()) problems[field] = { key: 'validation.required' };
    }
  }
  return problems;
}

/** A secret is sent only when the user typed a new one; `null` keeps the stored value. */
export function inputFrom(draft: ProfileDraft): ProfileInput {
  const secret = (value: string) => (value.trim() ? value.trim() : null);
  return {
    name: draft.name.trim(),
    mode: draft.mode,
    baseUrl: draft.baseUrl.trim(),
    clientId: draft.clientId.trim(),
    publicClientId: draft.publicClientId.trim(),
    accessKey: secret(draft.accessKey),
    secretKey: secret(draft.secretKey),
    clientSecret: secret(draft.clientSecret),
  };
}
