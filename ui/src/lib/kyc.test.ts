import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { DirectoryUser, DraftStatus, FormField, FormSection } from './api';

const backend = vi.hoisted(() => ({
  kycForm: vi.fn(),
  kycEdit: vi.fn(),
  kycResolve: vi.fn(),
  kycDiscard: vi.fn(),
  kycSaveComplete: vi.fn(),
  kycSubmit: vi.fn(),
  kycReview: vi.fn(),
  userKycForm: vi.fn(),
  userKycEdit: vi.fn(),
  userKycResolve: vi.fn(),
  userKycDiscard: vi.fn(),
  userKycSaveComplete: vi.fn(),
  userKycSubmit: vi.fn(),
  onKycFormChanged: vi.fn(),
  onUsersChanged: vi.fn(),
}));
vi.mock('./api', () => backend);

import {
  EditQueue,
  fieldProblem,
  localized,
  merchantKycSource,
  missingFields,
  patternMatcher,
  requiredProgress,
  userKycSource,
  validDate,
  type KycChange,
} from './kyc';
import { session } from './session.svelte';

const field = (patch: Partial<FormField> = {}): FormField => ({
  id: 'legal_name',
  label: { en: 'Legal name', ja: '氏名' },
  kind: 'text',
  required: false,
  maxLength: null,
  pattern: null,
  options: [],
  ...patch,
});

const saved: DraftStatus = { state: 'saved', unsent: [], conflicts: [], fieldErrors: {}, message: null };
const pending: DraftStatus = { ...saved, state: 'pending', unsent: ['legal_name'] };

describe('fieldProblem', () => {
  it('asks for a required value, and lets an empty optional one be', () => {
    expect(fieldProblem(field({ required: true }), '  ')).toEqual({ key: 'validation.required' });
    expect(fieldProblem(field({ required: true }), undefined)).toEqual({ key: 'validation.required' });
    expect(fieldProblem(field(), '')).toBeUndefined();
  });

  it('counts the length in characters, as the gateway does', () => {
    const f = field({ maxLength: 3 });
    expect(fieldProblem(f, '𠮷𠮷𠮷')).toBeUndefined();
    expect(fieldProblem(f, '山田花子')).toEqual({ key: 'validation.too_long', params: { max: 3 } });
  });

  it('matches the pattern against the whole value', () => {
    const f = field({ pattern: '[0-9]{3}-[0-9]{4}' });
    expect(fieldProblem(f, '150-0001')).toBeUndefined();
    expect(fieldProblem(f, 'x150-0001')).toEqual({ key: 'kyc.validation.pattern' });
    expect(fieldProblem(f, '150-00012')).toEqual({ key: 'kyc.validation.pattern' });
    // Alternatives stay inside the anchors.
    expect(fieldProblem(field({ pattern: 'a|b' }), 'ab')).toEqual({ key: 'kyc.validation.pattern' });
  });

  it('takes an anchored pattern as given, and leaves one it cannot compile to the gateway', () => {
    expect(patternMatcher('^\\p{Script=Katakana}+$')?.test('ヤマダ')).toBe(true);
    expect(patternMatcher('([')).toBeNull();
    expect(fieldProblem(field({ pattern: '([' }), 'anything')).toBeUndefined();
  });

  it('checks each kind', () => {
    expect(fieldProblem(field({ kind: 'email' }), 'hanako@example')).toEqual({ key: 'validation.email' });
    expect(fieldProblem(field({ kind: 'email' }), 'hanako@example.jp')).toBeUndefined();
    expect(fieldProblem(field({ kind: 'date' }), '2026-02-30')).toEqual({ key: 'kyc.validation.date' });
    expect(fieldProblem(field({ kind: 'date' }), '1990-04-01')).toBeUndefined();
    expect(fieldProblem(field({ kind: 'country' }), 'XX')).toEqual({ key: 'users.form.country_format' });
    expect(fieldProblem(field({ kind: 'country' }), 'JP')).toBeUndefined();
    expect(fieldProblem(field({ kind: 'phone' }), '03-1234-5678')).toEqual({ key: 'users.form.phone_format' });
    expect(fieldProblem(field({ kind: 'phone' }), '+819012345678')).toBeUndefined();
    // E.164 has no separators, and the gateway does not take them out.
    expect(fieldProblem(field({ kind: 'phone' }), '+81 90 1234 5678')).toEqual({ key: 'users.form.phone_format' });
    const select = field({ kind: 'select', options: [{ value: 'passport', label: { en: 'Passport', ja: '旅券' } }] });
    expect(fieldProblem(select, 'passport')).toBeUndefined();
    expect(fieldProblem(select, 'licence')).toEqual({ key: 'kyc.validation.option' });
    // A kind the app does not know is text.
    expect(fieldProblem(field({ kind: 'hologram' as never }), 'anything')).toBeUndefined();
  });

  it('knows real calendar days', () => {
    expect(validDate('2024-02-29')).toBe(true);
    expect(validDate('2025-02-29')).toBe(false);
    expect(validDate('2025-2-1')).toBe(false);
  });
});

describe('the form’s required fields', () => {
  const sections: FormSection[] = [
    {
      id: 'a',
      title: { en: 'A', ja: 'あ' },
      fields: [field({ id: 'x', required: true }), field({ id: 'y' }), field({ id: 'z', required: true })],
    },
  ];

  it('are counted filled when not blank', () => {
    expect(missingFields(sections, { x: ' ', y: 'v' })).toEqual(['x', 'z']);
    expect(requiredProgress(sections, { x: 'v', y: 'v' })).toEqual({ done: 1, total: 2 });
  });

  it('are labelled in the app’s language', () => {
    expect(localized({ en: 'Legal name', ja: '氏名' }, 'ja')).toBe('氏名');
    expect(localized({ en: 'Legal name', ja: '' }, 'ja')).toBe('Legal name');
  });
});

describe('EditQueue', () => {
  function deferred<T>() {
    let resolve!: (value: T) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  }

  it('sends a field’s edits one at a time, in order, the last value always last', async () => {
    const calls: { field: string; value: string; answer: ReturnType<typeof deferred<DraftStatus>> }[] = [];
    const send = vi.fn((field: string, value: string) => {
      const answer = deferred<DraftStatus>();
      calls.push({ field, value, answer });
      return answer.promise;
    });
    const busy = vi.fn();
    const queue = new EditQueue(send, { sent: vi.fn(), failed: vi.fn(), busy });
    queue.push('name', '山');
    queue.push('name', '山田');
    queue.push('name', '山田 花');
    queue.push('city', '渋谷');
    expect(calls.map((c) => [c.field, c.value])).toEqual([
      ['name', '山'],
      ['city', '渋谷'],
    ]);
    expect(busy).toHaveBeenLastCalledWith(['name', 'city']);
    calls[0]!.answer.resolve(pending);
    await vi.waitFor(() => expect(calls).toHaveLength(3));
    // The waiting edit was replaced by the newer one: it holds the whole value.
    expect(calls[2]!.value).toBe('山田 花');
    let settled = false;
    void queue.settled().then(() => (settled = true));
    calls[1]!.answer.resolve(pending);
    calls[2]!.answer.resolve(pending);
    await vi.waitFor(() => expect(settled).toBe(true));
    expect(busy).toHaveBeenLastCalledWith([]);
  });

  it('reports a failed edit and goes on with the next', async () => {
    const send = vi.fn().mockRejectedValueOnce(new Error('disk full')).mockResolvedValue(saved);
    const failed = vi.fn();
    const sent = vi.fn();
    const queue = new EditQueue(send, { sent, failed, busy: vi.fn() });
    queue.push('name', 'a');
    queue.push('name', 'ab');
    await queue.settled();
    expect(failed).toHaveBeenCalledWith('name', 'a', new Error('disk full'));
    expect(sent).toHaveBeenCalledWith('name', saved);
    expect(send.mock.calls).toEqual([
      ['name', 'a'],
      ['name', 'ab'],
    ]);
  });
});

describe('merchantKycSource', () => {
  let formChanged: (change: { profileId: string; userId: string; status: string; draft: DraftStatus }) => void;
  let usersChanged: (profileId: string, users: DirectoryUser[]) => void;
  const unlisten = vi.fn();

  beforeEach(() => {
    vi.clearAllMocks();
    session.activeId = 'p1';
    backend.onKycFormChanged.mockImplementation(async (handler: typeof formChanged) => {
      formChanged = handler;
      return unlisten;
    });
    backend.onUsersChanged.mockImplementation(async (handler: typeof usersChanged) => {
      usersChanged = handler;
      return unlisten;
    });
  });

  it('calls the user’s commands', async () => {
    const source = merchantKycSource('usr_1');
    await source.load();
    await source.edit('legal_name', '山田');
    await source.resolve([{ field: 'legal_name', keep: 'theirs' }]);
    await source.review?.({ decision: 'reject', reason: 'Blurry' });
    expect(backend.kycForm).toHaveBeenCalledWith('usr_1');
    expect(backend.kycEdit).toHaveBeenCalledWith('usr_1', 'legal_name', '山田');
    expect(backend.kycResolve).toHaveBeenCalledWith('usr_1', [{ field: 'legal_name', keep: 'theirs' }]);
    expect(backend.kycReview).toHaveBeenCalledWith('usr_1', { decision: 'reject', reason: 'Blurry' });
  });

  it('passes on the changes of this user of the active profile only, and stops listening', async () => {
    const seen: KycChange[] = [];
    const stop = merchantKycSource('usr_1').onChange((change) => seen.push(change));
    // The listeners are in place once their promises have settled.
    await new Promise((resolve) => setTimeout(resolve, 0));
    formChanged({ profileId: 'p1', userId: 'usr_1', status: 'draft', draft: saved });
    formChanged({ profileId: 'p1', userId: 'usr_2', status: 'draft', draft: saved });
    formChanged({ profileId: 'p2', userId: 'usr_1', status: 'draft', draft: saved });
    usersChanged('p1', [{ userId: 'usr_1', kycStatus: 'approved' } as DirectoryUser]);
    usersChanged('p1', [{ userId: 'usr_3', kycStatus: 'approved' } as DirectoryUser]);
    expect(seen).toEqual([{ status: 'draft', draft: saved }, { status: 'approved' }]);
    stop();
    expect(unlisten).toHaveBeenCalledTimes(2);
  });
});

describe('userKycSource', () => {
  let formChanged: (change: { profileId: string; userId: string; status: string; draft: DraftStatus }) => void;
  let usersChanged: (profileId: string, users: DirectoryUser[]) => void;
  const unlisten = vi.fn();

  beforeEach(() => {
    vi.clearAllMocks();
    session.activeId = 'p1';
    backend.onKycFormChanged.mockImplementation(async (handler: typeof formChanged) => {
      formChanged = handler;
      return unlisten;
    });
    backend.onUsersChanged.mockImplementation(async (handler: typeof usersChanged) => {
      usersChanged = handler;
      return unlisten;
    });
  });

  it('calls the user-side commands only, and offers no review', async () => {
    const source = userKycSource('usr_1');
    await source.load();
    await source.edit('legal_name', '山田');
    await source.resolve([{ field: 'legal_name', keep: 'yours' }]);
    await source.discard();
    await source.saveComplete();
    await source.submit();
    expect(source.review).toBeUndefined();
    expect(backend.userKycForm).toHaveBeenCalledWith('usr_1');
    expect(backend.userKycEdit).toHaveBeenCalledWith('usr_1', 'legal_name', '山田');
    expect(backend.userKycResolve).toHaveBeenCalledWith('usr_1', [{ field: 'legal_name', keep: 'yours' }]);
    expect(backend.userKycDiscard).toHaveBeenCalledWith('usr_1');
    expect(backend.userKycSaveComplete).toHaveBeenCalledWith('usr_1');
    expect(backend.userKycSubmit).toHaveBeenCalledWith('usr_1');
    for (const merchantSide of [
      backend.kycForm,
      backend.kycEdit,
      backend.kycResolve,
      backend.kycDiscard,
      backend.kycSaveComplete,
      backend.kycSubmit,
    ]) {
      expect(merchantSide).not.toHaveBeenCalled();
    }
  });

  it('hears the same events as the merchant’s source: this user of the active profile only', async () => {
    const seen: KycChange[] = [];
    const stop = userKycSource('usr_1').onChange((change) => seen.push(change));
    await new Promise((resolve) => setTimeout(resolve, 0));
    formChanged({ profileId: 'p1', userId: 'usr_1', status: 'draft', draft: pending });
    formChanged({ profileId: 'p1', userId: 'usr_2', status: 'draft', draft: saved });
    formChanged({ profileId: 'p2', userId: 'usr_1', status: 'draft', draft: saved });
    usersChanged('p1', [{ userId: 'usr_1', kycStatus: 'submitted' } as DirectoryUser]);
    usersChanged('p2', [{ userId: 'usr_1', kycStatus: 'approved' } as DirectoryUser]);
    expect(seen).toEqual([{ status: 'draft', draft: pending }, { status: 'submitted' }]);
    stop();
    expect(unlisten).toHaveBeenCalledTimes(2);
  });
});
