import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { DraftStatus, FormField, FormSection, KycForm as Form } from '../lib/api';

// The form is given its data source, so no backend module is involved: the source is
// a fake whose calls the tests read.
import ConfirmDialog from './ConfirmDialog.svelte';
import KycForm from './KycForm.svelte';
import { ApiError } from '../lib/errors';
import { setLocale } from '../lib/i18n/index.svelte';
import type { KycChange, KycSource } from '../lib/kyc';

const text = (en: string, ja: string) => ({ en, ja });

const field = (id: string, en: string, ja: string, patch: Partial<FormField> = {}): FormField => ({
  id,
  label: text(en, ja),
  kind: 'text',
  required: true,
  maxLength: null,
  pattern: null,
  options: [],
  ...patch,
});

/** A schema like the sandbox's: every kind, required and optional fields, limits and patterns. */
const SECTIONS: FormSection[] = [
  {
    id: 'personal',
    title: text('Personal details', '本人情報'),
    fields: [
      field('legal_name', 'Legal name', '氏名', { maxLength: 10 }),
      field('name_kana', 'Name in katakana', '氏名（カナ）', { pattern: '[\\p{Script=Katakana}ー 　]+' }),
      field('birth_date', 'Date of birth', '生年月日', { kind: 'date' }),
      field('contact_email', 'Email', 'メールアドレス', { kind: 'email', required: false }),
      field('phone', 'Phone', '電話番号', { kind: 'phone' }),
    ],
  },
  {
    id: 'address',
    title: text('Address', '住所'),
    fields: [
      field('country', 'Country', '国', { kind: 'country' }),
      field('postal_code', 'Postal code', '郵便番号', { pattern: '[0-9]{3}-[0-9]{4}' }),
      field('document_type', 'Identity document', '本人確認書類', {
        kind: 'select',
        options: [
          { value: 'passport', label: text('Passport', 'パスポート') },
          { value: 'drivers_licence', label: text('Driver’s licence', '運転免許証') },
        ],
      }),
    ],
  },
];

const COMPLETE = {
  legal_name: '山田 花子',
  name_kana: 'ヤマダ ハナコ',
  birth_date: '1990-04-01',
  phone: '+819012345678',
  country: 'JP',
  postal_code: '150-0001',
  document_type: 'passport',
};

const saved: DraftStatus = { state: 'saved', unsent: [], conflicts: [], fieldErrors: {}, message: null };

const kycForm = (patch: Partial<Form> = {}): Form => ({
  userId: 'usr_hanako',
  status: 'draft',
  sections: SECTIONS,
  values: { legal_name: '山田 花子' },
  missing: [],
  rejectionReason: null,
  updatedAt: '2026-11-24T10:00:00Z',
  submittedAt: null,
  reviewedAt: null,
  locked: false,
  draft: saved,
  testMode: true,
  offline: false,
  ...patch,
});

function fake(form: Form = kycForm(), patch: Partial<KycSource> = {}) {
  let listener: (change: KycChange) => void = () => {};
  const mocks = {
    load: vi.fn<KycSource['load']>(async () => form),
    edit: vi.fn<KycSource['edit']>(async () => ({ ...saved, state: 'pending' })),
    resolve: vi.fn<KycSource['resolve']>(),
    discard: vi.fn<KycSource['discard']>(),
    saveComplete: vi.fn<KycSource['saveComplete']>(),
    submit: vi.fn<KycSource['submit']>(),
    review: vi.fn<NonNullable<KycSource['review']>>(),
    onChange: vi.fn<KycSource['onChange']>((handler) => {
      listener = handler;
      return () => {};
    }),
  };
  // A patch replaces a mock (or removes `review`); the tests then use what they passed.
  const source = Object.assign(mocks, patch) as typeof mocks;
  return { source, emit: (change: KycChange) => listener(change) };
}

const input = (id: string) => screen.getByTestId(`kyc-field-${id}`) as HTMLInputElement;
const stateLine = () => screen.getByTestId('kyc-save-state');

const validation = (fields: Record<string, string[]>, message = 'Some fields are missing.') =>
  new ApiError({ kind: 'validation', message, fields, status: 422, requestId: 'req_1' });

describe('KycForm', () => {
  beforeEach(() => {
    setLocale('en');
  });

  it('draws every section and field from the schema, by kind, with required marks and limits', async () => {
    const { source } = fake();
    render(KycForm, { source });
    const form = await screen.findByTestId('kyc-form');
    const legends = [...form.querySelectorAll('legend')].map((l) => l.textContent?.trim());
    expect(legends).toEqual(['Personal details', 'Address']);
    expect(screen.getByLabelText(/Legal name/)).toBe(input('legal_name'));
    expect(input('legal_name')).toHaveValue('山田 花子');
    expect(input('legal_name')).toHaveAttribute('maxlength', '10');
    expect(input('legal_name')).toBeRequired();
    expect(input('contact_email')).not.toBeRequired();
    expect(input('contact_email').type).toBe('email');
    // A day is typed the way the app's language writes it, not in the WebView's locale.
    expect(input('birth_date').type).toBe('text');
    expect(input('birth_date').placeholder).toMatch(/YYYY/i);
    expect(input('birth_date')).toBeRequired();
    expect(input('phone').type).toBe('tel');
    expect(input('country').tagName).toBe('SELECT');
    expect(within(input('country')).getByRole('option', { name: 'Japan' })).toHaveValue('JP');
    const documents = within(input('document_type')).getAllByRole('option').map((o) => o.textContent);
    expect(documents).toEqual(['Choose…', 'Passport', 'Driver’s licence']);
    // The required mark, not on the optional field.
    expect(form.querySelector('[data-field="legal_name"] .required')).not.toBeNull();
    expect(form.querySelector('[data-field="contact_email"] .required')).toBeNull();
  });

  it('labels the form in the app’s language', async () => {
    setLocale('ja');
    render(KycForm, { source: fake().source });
    await screen.findByTestId('kyc-form');
    expect(screen.getByText('本人情報')).toBeInTheDocument();
    expect(screen.getByLabelText(/氏名（カナ）/)).toBe(input('name_kana'));
    expect(within(input('document_type')).getByRole('option', { name: '運転免許証' })).toBeInTheDocument();
    expect(within(input('country')).getByRole('option', { name: '日本' })).toBeInTheDocument();
  });

  it('shows a field the gateway adds without a change to the app, and a kind it does not know as text', async () => {
    const extra: FormSection = {
      id: 'preferences',
      title: text('Preferences', '好み'),
      fields: [
        field('favourite_tea', 'Favourite tea', '好きなお茶', { required: false, maxLength: 20 }),
        field('aura', 'Aura', 'オーラ', { kind: 'hologram' as never, required: false }),
      ],
    };
    const { source } = fake(kycForm({ sections: [...SECTIONS, extra], values: { favourite_tea: '煎茶' } }));
    render(KycForm, { source });
    await screen.findByTestId('kyc-form');
    expect(screen.getByText('Preferences')).toBeInTheDocument();
    expect(screen.getByLabelText('Favourite tea')).toHaveValue('煎茶');
    expect(input('aura').tagName).toBe('INPUT');
    expect(input('aura').type).toBe('text');
    await fireEvent.input(input('favourite_tea'), { target: { value: '玉露' } });
    expect(source.edit).toHaveBeenCalledWith('favourite_tea', '玉露');
  });

  it('shows and takes a day the way the app\'s language writes it, and sends it as ISO', async () => {
    setLocale('ja');
    const { source } = fake(kycForm({ values: { birth_date: '1990-04-01' } }));
    render(KycForm, { source });
    await screen.findByTestId('kyc-form');
    expect(input('birth_date')).toHaveValue('1990/04/01');
    await fireEvent.input(input('birth_date'), { target: { value: '1991年5月2日' } });
    expect(source.edit).toHaveBeenCalledWith('birth_date', '1991-05-02');
  });

  it('commits every edit through the source, in order', async () => {
    const { source } = fake();
    render(KycForm, { source });
    await screen.findByTestId('kyc-form');
    for (const value of ['ヤ', 'ヤマ', 'ヤマダ']) {
      await fireEvent.input(input('name_kana'), { target: { value } });
      await waitFor(() => expect(source.edit).toHaveBeenLastCalledWith('name_kana', value));
    }
    await fireEvent.change(input('document_type'), { target: { value: 'passport' } });
    await fireEvent.input(input('legal_name'), { target: { value: '' } });
    await waitFor(() => expect(source.edit).toHaveBeenCalledTimes(5));
    expect(source.edit.mock.calls).toEqual([
      ['name_kana', 'ヤ'],
      ['name_kana', 'ヤマ'],
      ['name_kana', 'ヤマダ'],
      ['document_type', 'passport'],
      ['legal_name', ''],
    ]);
  });

  it('never loses the last value typed while an edit is on its way', async () => {
    let answer: (status: DraftStatus) => void = () => {};
    const edit = vi.fn(
      () =>
        new Promise<DraftStatus>((resolve) => {
          answer = resolve;
        }),
    );
    const { source } = fake(kycForm(), { edit });
    render(KycForm, { source });
    await screen.findByTestId('kyc-form');
    await fireEvent.input(input('postal_code'), { target: { value: '1' } });
    expect(stateLine()).toHaveAttribute('data-state', 'pending');
    await fireEvent.input(input('postal_code'), { target: { value: '15' } });
    await fireEvent.input(input('postal_code'), { target: { value: '150' } });
    answer({ ...saved, state: 'pending' });
    await waitFor(() => expect(edit).toHaveBeenCalledTimes(2));
    expect(edit).toHaveBeenLastCalledWith('postal_code', '150');
    answer(saved);
    await waitFor(() => expect(stateLine()).toHaveAttribute('data-state', 'saved'));
  });

  it('checks a field when it is left, not while it is first typed in, in either language', async () => {
    const { source } = fake();
    render(KycForm, { source });
    await screen.findByTestId('kyc-form');
    await fireEvent.input(input('postal_code'), { target: { value: '15' } });
    expect(screen.queryByTestId('kyc-field-error-postal_code')).toBeNull();
    await fireEvent.blur(input('postal_code'));
    expect(screen.getByTestId('kyc-field-error-postal_code')).toHaveTextContent(
      'This value is not in the expected format.',
    );
    expect(input('postal_code')).toHaveAttribute('aria-invalid', 'true');
    // Once left, it is checked as it changes.
    await fireEvent.input(input('postal_code'), { target: { value: '150-0001' } });
    expect(screen.queryByTestId('kyc-field-error-postal_code')).toBeNull();

    await fireEvent.input(input('legal_name'), { target: { value: '' } });
    await fireEvent.blur(input('legal_name'));
    expect(screen.getByTestId('kyc-field-error-legal_name')).toHaveTextContent('Required.');
    await fireEvent.input(input('legal_name'), { target: { value: '山田 花子 ヤマダ ハナコ' } });
    expect(screen.getByTestId('kyc-field-error-legal_name')).toHaveTextContent('At most 10 characters.');

    setLocale('ja');
    await waitFor(() =>
      expect(screen.getByTestId('kyc-field-error-legal_name')).toHaveTextContent('10 文字以内で入力してください。'),
    );
    await fireEvent.input(input('name_kana'), { target: { value: 'やまだ' } });
    await fireEvent.blur(input('name_kana'));
    expect(screen.getByTestId('kyc-field-error-name_kana')).toHaveTextContent('形式が正しくありません。');
    await fireEvent.input(input('name_kana'), { target: { value: '' } });
    expect(screen.getByTestId('kyc-field-error-name_kana')).toHaveTextContent('必須項目です。');
  });

  it('shows the values the gateway refused on their fields', async () => {
    const draft: DraftStatus = {
      state: 'invalid',
      unsent: ['phone'],
      conflicts: [],
      fieldErrors: { phone: ['The phone number must be in E.164 format.'] },
      message: 'The gateway refused some values.',
    };
    const { source } = fake(kycForm({ values: { ...COMPLETE, phone: '0312345678' }, draft }));
    render(KycForm, { source });
    await screen.findByTestId('kyc-form');
    expect(screen.getByTestId('kyc-field-error-phone')).toHaveTextContent('The phone number must be in E.164 format.');
    expect(stateLine()).toHaveAttribute('data-state', 'invalid');
    expect(stateLine()).toHaveTextContent('Some values were refused');
  });

  it('says how saving stands, in both languages', async () => {
    const { source, emit } = fake();
    render(KycForm, { source });
    await screen.findByTestId('kyc-form');
    const expected = [
      ['saved', 'Saved', '保存済み'],
      ['pending', 'Saving…', '保存中…'],
      ['offline', 'Offline — saved on this computer', 'オフライン — このコンピューターに保存済み'],
      ['invalid', 'Some values were refused', '受け付けられなかった値があります'],
    ] as const;
    for (const [state, en, ja] of expected) {
      setLocale('en');
      emit({ status: 'draft', draft: { ...saved, state } });
      await waitFor(() => expect(stateLine()).toHaveAttribute('data-state', state));
      expect(stateLine()).toHaveTextContent(en);
      setLocale('ja');
      await waitFor(() => expect(stateLine()).toHaveTextContent(ja));
    }
    // A conflict reads the form again, for the merged values.
    const conflict: DraftStatus = {
      ...saved,
      state: 'conflict',
      conflicts: [{ field: 'legal_name', yours: '山田 花子', theirs: '山田 華子' }],
    };
    source.load.mockResolvedValue(kycForm({ draft: conflict }));
    emit({ status: 'draft', draft: conflict });
    await waitFor(() => expect(stateLine()).toHaveTextContent('競合'));
    expect(source.load).toHaveBeenCalledTimes(2);
    expect(stateLine()).toHaveAttribute('data-state', 'conflict');
  });

  it('lets staff choose per conflicting field, then resolves', async () => {
    const draft: DraftStatus = {
      state: 'conflict',
      unsent: ['legal_name', 'document_type'],
      conflicts: [
        { field: 'legal_name', yours: '山田 花子', theirs: '山田 華子' },
        { field: 'document_type', yours: 'passport', theirs: null },
      ],
      fieldErrors: {},
      message: null,
    };
    const { source } = fake(kycForm({ draft }));
    source.resolve.mockResolvedValue(kycForm({ values: { legal_name: '山田 華子', document_type: 'passport' } }));
    render(KycForm, { source });
    const name = await screen.findByTestId('kyc-conflict-legal_name');
    expect(name).toHaveTextContent('Legal name');
    expect(name).toHaveTextContent('Yours 山田 花子');
    expect(name).toHaveTextContent('On the gateway 山田 華子');
    const documentType = screen.getByTestId('kyc-conflict-document_type');
    expect(documentType).toHaveTextContent('Yours Passport');
    expect(documentType).toHaveTextContent('On the gateway (empty)');
    const resolve = screen.getByTestId('kyc-resolve');
    expect(resolve).toBeDisabled();
    await fireEvent.click(screen.getByTestId('kyc-conflict-legal_name-theirs'));
    expect(resolve).toBeDisabled();
    await fireEvent.click(screen.getByTestId('kyc-conflict-document_type-yours'));
    await fireEvent.click(resolve);
    await waitFor(() =>
      expect(source.resolve).toHaveBeenCalledWith([
        { field: 'legal_name', keep: 'theirs' },
        { field: 'document_type', keep: 'yours' },
      ]),
    );
    await waitFor(() => expect(screen.queryByTestId('kyc-conflicts')).toBeNull());
    expect(input('legal_name')).toHaveValue('山田 華子');
    expect(stateLine()).toHaveAttribute('data-state', 'saved');
  });

  it('offers to discard edits the gateway can no longer take', async () => {
    const message =
      'This KYC form is submitted and locked for review; it can be edited again only if the review rejects it.';
    const draft: DraftStatus = { state: 'conflict', unsent: ['phone'], conflicts: [], fieldErrors: {}, message };
    const { source } = fake(kycForm({ status: 'submitted', locked: true, draft, values: COMPLETE }));
    source.discard.mockResolvedValue(kycForm({ status: 'submitted', locked: true, values: COMPLETE }));
    render(ConfirmDialog);
    render(KycForm, { source });
    expect(await screen.findByTestId('kyc-stuck')).toHaveTextContent(message);
    expect(stateLine()).toHaveAttribute('data-state', 'conflict');
    await fireEvent.click(screen.getByTestId('kyc-discard'));
    await fireEvent.click(await screen.findByTestId('confirm-accept'));
    await waitFor(() => expect(source.discard).toHaveBeenCalled());
    await waitFor(() => expect(screen.queryByTestId('kyc-stuck')).toBeNull());
  });

  it('puts a refused complete save on its fields and in a summary whose links focus them', async () => {
    const { source } = fake();
    source.saveComplete.mockRejectedValue(
      validation({
        birth_date: ['Date of birth is required.'],
        postal_code: ['Postal code is required.'],
        document_id: ['The document could not be read.'],
      }),
    );
    render(KycForm, { source });
    await screen.findByTestId('kyc-form');
    await fireEvent.click(screen.getByTestId('kyc-save-complete'));
    const summary = await screen.findByTestId('kyc-error-summary');
    expect(summary).toHaveAttribute('role', 'alert');
    expect(source.saveComplete).toHaveBeenCalled();
    // The gateway's words on the fields it named; the form's own checks on the rest.
    expect(screen.getByTestId('kyc-field-error-phone')).toHaveTextContent('Required.');
    expect(screen.getByTestId('kyc-field-error-country')).toHaveTextContent('Required.');
    expect(screen.getByTestId('kyc-field-error-name_kana')).toHaveTextContent('Required.');
    expect(summary).toHaveTextContent('7 fields need attention');
    expect(summary).toHaveTextContent('The document could not be read.');
    const links = within(summary).getAllByRole('link');
    expect(links.map((l) => l.textContent)).toEqual([
      'Name in katakana',
      'Date of birth',
      'Phone',
      'Country',
      'Postal code',
      'Identity document',
    ]);
    await fireEvent.click(links[4]!);
    expect(document.activeElement).toBe(input('postal_code'));
    // Fixing a field takes it out of the summary.
    await fireEvent.input(input('postal_code'), { target: { value: '150-0001' } });
    expect(within(summary).getAllByRole('link')).toHaveLength(5);
  });

  it('says when the gateway accepts the complete form', async () => {
    const { source } = fake(kycForm({ values: COMPLETE }));
    source.saveComplete.mockResolvedValue(kycForm({ values: COMPLETE }));
    render(KycForm, { source });
    await screen.findByTestId('kyc-form');
    await fireEvent.click(screen.getByTestId('kyc-save-complete'));
    expect(await screen.findByTestId('kyc-notice')).toHaveTextContent('The gateway accepted the complete form.');
    expect(screen.queryByTestId('kyc-error-summary')).toBeNull();
  });

  it('counts the required fields filled in', async () => {
    const { source } = fake();
    render(KycForm, { source });
    await screen.findByTestId('kyc-form');
    const bar = screen.getByTestId('kyc-progress');
    expect(bar).toHaveAttribute('role', 'progressbar');
    expect(bar).toHaveAttribute('aria-valuenow', '1');
    expect(bar).toHaveAttribute('aria-valuemax', '7');
    expect(bar).toHaveAttribute('aria-valuetext', '1 of 7 required fields');
    await fireEvent.input(input('phone'), { target: { value: '+819012345678' } });
    expect(bar).toHaveAttribute('aria-valuenow', '2');
    // An optional field does not count.
    await fireEvent.input(input('contact_email'), { target: { value: 'hanako@example.jp' } });
    expect(bar).toHaveAttribute('aria-valuenow', '2');
    setLocale('ja');
    await waitFor(() => expect(bar).toHaveAttribute('aria-valuetext', '必須項目 7 件中 2 件入力済み'));
  });

  it('submits only a complete, saved form, after saying it locks; then shows it read-only', async () => {
    const { source, emit } = fake(kycForm({ values: { ...COMPLETE, phone: '' } }));
    const submitted = kycForm({
      status: 'submitted',
      locked: true,
      values: COMPLETE,
      submittedAt: '2026-11-24T11:00:00Z',
    });
    source.submit.mockResolvedValue(submitted);
    const onstatus = vi.fn();
    render(ConfirmDialog);
    render(KycForm, { source, onstatus });
    await screen.findByTestId('kyc-form');
    const submit = screen.getByTestId('kyc-submit');
    expect(submit).toBeDisabled();
    await fireEvent.input(input('phone'), { target: { value: '+819012345678' } });
    // Complete, but the edit is not on the gateway yet.
    emit({ status: 'draft', draft: { ...saved, state: 'pending', unsent: ['phone'] } });
    await waitFor(() => expect(stateLine()).toHaveAttribute('data-state', 'pending'));
    expect(submit).toBeDisabled();
    emit({ status: 'draft', draft: saved });
    await waitFor(() => expect(submit).toBeEnabled());

    await fireEvent.click(submit);
    const dialog = await screen.findByRole('alertdialog');
    expect(dialog).toHaveTextContent('It is locked until the review ends');
    await fireEvent.click(screen.getByTestId('confirm-cancel'));
    expect(source.submit).not.toHaveBeenCalled();

    await fireEvent.click(submit);
    await fireEvent.click(await screen.findByTestId('confirm-accept'));
    await waitFor(() => expect(source.submit).toHaveBeenCalled());
    const status = await screen.findByTestId('kyc-status');
    await waitFor(() => expect(status).toHaveAttribute('data-status', 'submitted'));
    expect(status).toHaveTextContent('Waiting for review');
    expect(onstatus).toHaveBeenLastCalledWith('submitted');
    // Read-only: the values as text, no input, no submit.
    expect(screen.queryByTestId('kyc-field-legal_name')).toBeNull();
    expect(screen.queryByTestId('kyc-submit')).toBeNull();
    expect(screen.getByTestId('kyc-value-country')).toHaveTextContent('Japan (JP)');
    expect(screen.getByTestId('kyc-value-document_type')).toHaveTextContent('Passport');
    expect(screen.getByTestId('kyc-value-contact_email')).toHaveTextContent('—');
    expect(screen.getByTestId('kyc-form')).toHaveTextContent('the form is locked until the review ends');
  });

  it('shows a refused submission on its fields', async () => {
    const { source } = fake(kycForm({ values: COMPLETE }));
    source.submit.mockRejectedValue(validation({ phone: ['This number cannot receive SMS.'] }));
    render(ConfirmDialog);
    render(KycForm, { source });
    await screen.findByTestId('kyc-form');
    await fireEvent.click(screen.getByTestId('kyc-submit'));
    await fireEvent.click(await screen.findByTestId('confirm-accept'));
    expect(await screen.findByTestId('kyc-field-error-phone')).toHaveTextContent('This number cannot receive SMS.');
    expect(screen.getByTestId('kyc-error-summary')).toHaveTextContent('Phone: This number cannot receive SMS.');
  });

  it('shows a rejected form’s reason at the top, and lets it be edited again', async () => {
    const { source, emit } = fake(
      kycForm({
        status: 'rejected',
        values: COMPLETE,
        rejectionReason: 'The passport photo is blurred.',
        reviewedAt: '2026-11-25T09:00:00Z',
      }),
    );
    render(KycForm, { source });
    expect(await screen.findByTestId('kyc-rejection-reason')).toHaveTextContent('The passport photo is blurred.');
    expect(screen.getByTestId('kyc-status')).toHaveAttribute('data-status', 'rejected');
    expect(input('legal_name')).toBeEnabled();
    expect(screen.getByTestId('kyc-submit')).toBeEnabled();
    // The first edit makes it a draft again, and the gateway forgets the reason: it stays here.
    await fireEvent.input(input('postal_code'), { target: { value: '150-0002' } });
    source.load.mockResolvedValue(kycForm({ status: 'draft', values: { ...COMPLETE, postal_code: '150-0002' } }));
    emit({ status: 'draft' });
    await waitFor(() => expect(screen.getByTestId('kyc-status')).toHaveAttribute('data-status', 'draft'));
    expect(screen.getByTestId('kyc-rejection-reason')).toHaveTextContent('The passport photo is blurred.');
    expect(input('postal_code')).toHaveValue('150-0002');
  });

  it('reviews a submitted form in test mode; rejecting needs a reason', async () => {
    const submitted = kycForm({ status: 'submitted', locked: true, values: COMPLETE });
    const { source } = fake(submitted);
    source.review.mockResolvedValue(kycForm({ status: 'rejected', values: COMPLETE, rejectionReason: 'Blurred' }));
    render(KycForm, { source });
    await fireEvent.click(await screen.findByTestId('kyc-reject'));
    expect(source.review).not.toHaveBeenCalled();
    expect(screen.getByTestId('kyc-reject-reason-error')).toHaveTextContent('Required.');
    expect(document.activeElement).toBe(screen.getByTestId('kyc-reject-reason'));
    await fireEvent.input(screen.getByTestId('kyc-reject-reason'), { target: { value: ' Blurred ' } });
    await fireEvent.click(screen.getByTestId('kyc-reject'));
    await waitFor(() => expect(source.review).toHaveBeenCalledWith({ decision: 'reject', reason: 'Blurred' }));
    expect(await screen.findByTestId('kyc-rejection-reason')).toHaveTextContent('Blurred');
    expect(screen.queryByTestId('kyc-approve')).toBeNull();
  });

  it('approves a submitted form in test mode', async () => {
    const { source } = fake(kycForm({ status: 'submitted', locked: true, values: COMPLETE }));
    source.review.mockResolvedValue(kycForm({ status: 'approved', locked: true, values: COMPLETE }));
    render(KycForm, { source });
    await fireEvent.click(await screen.findByTestId('kyc-approve'));
    expect(source.review).toHaveBeenCalledWith({ decision: 'approve' });
    await waitFor(() => expect(screen.getByTestId('kyc-status')).toHaveAttribute('data-status', 'approved'));
    expect(screen.getByTestId('kyc-form')).toHaveTextContent('the form can no longer be changed');
  });

  it('offers no review outside test mode, nor through a source that cannot review', async () => {
    const submitted = kycForm({ status: 'submitted', locked: true, values: COMPLETE });
    const live = render(KycForm, { source: fake({ ...submitted, testMode: false }).source });
    await screen.findByTestId('kyc-form');
    expect(screen.queryByTestId('kyc-approve')).toBeNull();
    live.unmount();
    render(KycForm, { source: fake(submitted, { review: undefined }).source });
    await screen.findByTestId('kyc-form');
    expect(screen.queryByTestId('kyc-reject')).toBeNull();
  });

  it('says when the form shown is the copy kept on this computer', async () => {
    const { source } = fake(kycForm({ offline: true, values: COMPLETE, draft: { ...saved, state: 'offline' } }));
    render(KycForm, { source });
    expect(await screen.findByTestId('kyc-offline')).toHaveTextContent('this is the copy saved on this computer');
    expect(stateLine()).toHaveTextContent('Offline — saved on this computer');
    expect(screen.getByTestId('kyc-submit')).toBeDisabled();
  });

  it('reads the form again when its review status changes elsewhere', async () => {
    const { source, emit } = fake();
    render(KycForm, { source });
    await screen.findByTestId('kyc-form');
    source.load.mockResolvedValue(kycForm({ status: 'approved', locked: true, values: COMPLETE }));
    emit({ status: 'approved' });
    await waitFor(() => expect(screen.getByTestId('kyc-status')).toHaveAttribute('data-status', 'approved'));
  });

  it('shows a failure to load with Retry', async () => {
    const { source } = fake();
    source.load.mockRejectedValueOnce(
      new ApiError({ kind: 'network', message: 'The gateway cannot be reached.', fields: {}, status: null, requestId: null }),
    );
    render(KycForm, { source });
    expect(await screen.findByRole('alert')).toHaveTextContent('The gateway cannot be reached.');
    await fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
    expect(await screen.findByTestId('kyc-form')).toBeInTheDocument();
  });
});
