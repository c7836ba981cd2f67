import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { DirectoryUser, UserDetail as Detail } from '../lib/api';

const backend = vi.hoisted(() => ({
  userDetail: vi.fn(),
  previewUserProfile: vi.fn(),
  updateUserProfile: vi.fn(),
  removeUserFromDirectory: vi.fn(),
  userBalanceHistory: vi.fn(),
  userTransactions: vi.fn(),
  onUserExportProgress: vi.fn(async () => () => {}),
  simulateUserTransaction: vi.fn(),
  kycForm: vi.fn(),
  kycEdit: vi.fn(),
  onKycFormChanged: vi.fn(async () => () => {}),
  onUsersChanged: vi.fn(async () => () => {}),
  // The sign-in block / signed-in list (issue 13): nobody is signed in as a user here.
  userSessions: vi.fn(async () => []),
  onUserSessionChanged: vi.fn(async () => () => {}),
}));
vi.mock('../lib/api', () => backend);
vi.mock('uplot', () => ({
  default: class {
    static paths = { stepped: () => () => null };
    setSize() {}
    destroy() {}
  },
}));

import ConfirmDialog from '../components/ConfirmDialog.svelte';
import UserDetail from './UserDetail.svelte';
import { ApiError } from '../lib/errors';
import { setLocale } from '../lib/i18n/index.svelte';
import { session } from '../lib/session.svelte';

const hanako: DirectoryUser = {
  userId: 'usr_hanako',
  name: '山田 花子',
  email: 'hanako@example.jp',
  phone: null,
  country: 'JP',
  kycStatus: 'submitted',
  createdAt: '2026-11-24T10:00:00Z',
  balances: [{ currency: 'JPY', available: '12000', pending: '500' }],
  balancesFetchedAt: '2026-11-24T10:05:00Z',
  gone: false,
};

const detail = (patch: Partial<Detail> = {}): Detail => ({
  user: hanako,
  balances: [{ currency: 'JPY', available: '12000', pending: '500' }],
  cards: [],
  testMode: true,
  ...patch,
});

const gatewayError = (kind: string, status: number, fields: Record<string, string[]> = {}) =>
  new ApiError({ kind: kind as never, message: `The gateway answered ${status}.`, fields, status, requestId: 'req_9' });


describe('UserDetail', () => {
  beforeEach(() => {
    setLocale('en');
    vi.clearAllMocks();
    location.hash = '#/users/usr_hanako';
    session.activeId = 'p1';
    backend.userDetail.mockResolvedValue(detail());
  });

  it('opens on the profile, names the user as given and links each tab', async () => {
    render(UserDetail, { id: 'usr_hanako' });
    const page = await screen.findByTestId('user-detail');
    expect(page).toHaveAttribute('data-kyc-status', 'submitted');
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('山田 花子');
    expect(screen.getByTestId('user-tab-profile')).toHaveAttribute('aria-selected', 'true');
    expect(screen.getByTestId('user-profile')).toHaveTextContent('Japan (JP)');
    expect(backend.userDetail).toHaveBeenCalledWith('usr_hanako');
    await fireEvent.click(screen.getByTestId('user-tab-transactions'));
    expect(location.hash).toBe('#/users/usr_hanako/transactions');
  });

  it('edits the phone: shows old → new, checks with the gateway, then sends only that field', async () => {
    const change = { field: 'phone' as const, old: null, new: '+819012345678' };
    backend.previewUserProfile.mockResolvedValue({ user: hanako, changes: [change] });
    backend.updateUserProfile.mockResolvedValue({ user: { ...hanako, phone: '+819012345678' }, changes: [change] });
    render(UserDetail, { id: 'usr_hanako' });
    await fireEvent.click(await screen.findByTestId('user-edit'));
    const save = screen.getByTestId('user-save');
    expect(save).toBeDisabled();
    expect(screen.getByTestId('user-changes')).toHaveTextContent('Nothing changed yet.');
    await fireEvent.input(screen.getByTestId('user-phone-input'), { target: { value: '+81 90 1234 5678' } });
    const row = within(screen.getByTestId('user-changes')).getByRole('row');
    expect(row).toHaveAttribute('data-field', 'phone');
    expect(row).toHaveTextContent('Phone—→+819012345678');
    expect(save).toHaveTextContent('Save 1 change');
    await fireEvent.click(save);
    await waitFor(() =>
      expect(backend.updateUserProfile).toHaveBeenCalledWith('usr_hanako', { phone: '+819012345678' }),
    );
    expect(backend.previewUserProfile).toHaveBeenCalledWith('usr_hanako', { phone: '+819012345678' });
    expect(await screen.findByTestId('user-saved')).toHaveTextContent('Profile saved.');
    expect(screen.getByTestId('user-profile')).toHaveTextContent('+819012345678');
  });

  it('does not overwrite a profile changed at the gateway meanwhile: it shows the fresh diff again', async () => {
    const fresh = { ...hanako, phone: '+819012345678' };
    backend.previewUserProfile.mockResolvedValue({ user: fresh, changes: [] });
    render(UserDetail, { id: 'usr_hanako' });
    await fireEvent.click(await screen.findByTestId('user-edit'));
    await fireEvent.input(screen.getByTestId('user-phone-input'), { target: { value: '+819012345678' } });
    await fireEvent.click(screen.getByTestId('user-save'));
    expect(await screen.findByTestId('user-changed-meanwhile')).toBeInTheDocument();
    expect(backend.updateUserProfile).not.toHaveBeenCalled();
    // Against the fresh profile, the same phone is no change at all.
    expect(screen.getByTestId('user-changes')).toHaveTextContent('Nothing changed yet.');
  });

  it('clears a field by sending it empty, and shows the gateway’s refusal on its field', async () => {
    backend.previewUserProfile.mockResolvedValue({
      user: hanako,
      changes: [
        { field: 'email', old: 'hanako@example.jp', new: 'new@example.jp' },
        { field: 'country', old: 'JP', new: null },
      ],
    });
    backend.updateUserProfile.mockRejectedValue(
      gatewayError('validation', 422, { email: ['The email must be a valid email address.'] }),
    );
    render(UserDetail, { id: 'usr_hanako' });
    await fireEvent.click(await screen.findByTestId('user-edit'));
    await fireEvent.change(screen.getByTestId('user-country-input'), { target: { value: '' } });
    await fireEvent.input(screen.getByTestId('user-email-input'), { target: { value: 'new@example.jp' } });
    await fireEvent.click(screen.getByTestId('user-save'));
    await waitFor(() =>
      expect(backend.updateUserProfile).toHaveBeenCalledWith('usr_hanako', { email: 'new@example.jp', country: '' }),
    );
    expect(await screen.findByText('The email must be a valid email address.')).toBeInTheDocument();
  });

  it('puts a duplicate email’s 409 on the email field', async () => {
    backend.previewUserProfile.mockResolvedValue({
      user: hanako,
      changes: [{ field: 'email', old: 'hanako@example.jp', new: 'taken@example.jp' }],
    });
    backend.updateUserProfile.mockRejectedValue(gatewayError('conflict', 409));
    render(UserDetail, { id: 'usr_hanako' });
    await fireEvent.click(await screen.findByTestId('user-edit'));
    await fireEvent.input(screen.getByTestId('user-email-input'), { target: { value: 'taken@example.jp' } });
    await fireEvent.click(screen.getByTestId('user-save'));
    expect(await screen.findByText('The gateway answered 409.')).toBeInTheDocument();
    expect(screen.getByTestId('user-email-input')).toHaveAttribute('aria-invalid', 'true');
  });

  it('says plainly when the user is no longer the merchant’s, and removes it after asking', async () => {
    backend.userDetail.mockRejectedValue(gatewayError('user_gone', 404));
    backend.removeUserFromDirectory.mockResolvedValue(null);
    render(ConfirmDialog);
    render(UserDetail, { id: 'usr_gone' });
    const gone = await screen.findByTestId('user-gone');
    expect(gone).toHaveTextContent('The gateway answered 404 for usr_gone');
    expect(screen.queryByTestId('user-detail')).toBeNull();
    await fireEvent.click(screen.getByTestId('user-remove'));
    await fireEvent.click(await screen.findByTestId('confirm-accept'));
    await waitFor(() => expect(backend.removeUserFromDirectory).toHaveBeenCalledWith('usr_gone'));
    expect(location.hash).toBe('#/users');
  });

  it('shows another failure as an error with Retry, not as a missing user', async () => {
    backend.userDetail.mockRejectedValueOnce(gatewayError('server', 503));
    render(UserDetail, { id: 'usr_hanako' });
    expect(await screen.findByRole('alert')).toHaveTextContent('The gateway answered 503.');
    expect(screen.queryByTestId('user-gone')).toBeNull();
    await fireEvent.click(screen.getByText('Retry'));
    expect(await screen.findByTestId('user-detail')).toBeInTheDocument();
  });

  it('lists cards with brand, last four, expiry and status only', async () => {
    backend.userDetail.mockResolvedValue(
      detail({
        cards: [
          { cardId: 'card_1', brand: 'Visa', last4: '4242', expMonth: 3, expYear: 2029, status: 'active', currency: 'JPY' },
        ],
      }),
    );
    render(UserDetail, { id: 'usr_hanako', tab: 'cards' });
    const row = await screen.findByTestId('card-row');
    expect(row).toHaveTextContent('Visa•••• 424203/2029Active');
    expect(within(screen.getByTestId('user-cards')).getAllByRole('columnheader')).toHaveLength(4);
  });

  it('never offers revealing, copying or issuing a card on the merchant’s page', async () => {
    backend.userDetail.mockResolvedValue(
      detail({
        cards: [
          { cardId: 'card_1', brand: 'Visa', last4: '4242', expMonth: 3, expYear: 2029, status: 'active', currency: 'JPY' },
        ],
      }),
    );
    render(UserDetail, { id: 'usr_hanako', tab: 'cards' });
    const row = await screen.findByTestId('card-row');
    expect(row).toHaveAttribute('data-card-id', 'card_1');
    for (const testid of ['card-reveal', 'card-number', 'card-cvv', 'copy-card-number', 'copy-card-cvv', 'issue-card']) {
      expect(screen.queryByTestId(testid)).toBeNull();
    }
  });

  it('offers signing in as the user above the tabs', async () => {
    render(UserDetail, { id: 'usr_hanako' });
    await screen.findByTestId('user-detail');
    expect(screen.getByTestId('sign-in-as-user')).toHaveTextContent('Sign in as user');
    expect(screen.queryByTestId('open-user-view')).toBeNull();
  });

  it('shows balances and the chart of the backend’s series', async () => {
    backend.userBalanceHistory.mockResolvedValue({
      series: [
        {
          currency: 'JPY',
          points: [
            { at: '2026-11-01T00:00:00Z', available: '0' },
            { at: '2026-11-02T00:00:00Z', available: '12000' },
          ],
        },
      ],
      complete: true,
    });
    render(UserDetail, { id: 'usr_hanako', tab: 'balances' });
    const row = await screen.findByTestId('user-balance');
    expect(row).toHaveTextContent('JPY¥12,000¥500');
    expect(await screen.findByTestId('balance-chart')).toHaveAttribute('data-points', '2');
    expect(backend.userBalanceHistory).toHaveBeenCalledWith('usr_hanako');
    await fireEvent.click(screen.getByTestId('user-balances-refresh'));
    await waitFor(() => expect(backend.userDetail).toHaveBeenCalledTimes(2));
  });

  it('offers simulations in test mode only, marked as such, and reloads after one', async () => {
    backend.simulateUserTransaction.mockResolvedValue({});
    render(UserDetail, { id: 'usr_hanako' });
    await fireEvent.click(await screen.findByTestId('user-top-up'));
    const form = screen.getByTestId('user-simulate');
    expect(form).toHaveTextContent('Simulation');
    expect(form).toHaveTextContent('No real money moves.');
    await fireEvent.input(screen.getByTestId('user-simulate-amount'), { target: { value: '5000' } });
    await fireEvent.click(screen.getByTestId('user-simulate-submit'));
    await waitFor(() =>
      expect(backend.simulateUserTransaction).toHaveBeenCalledWith('usr_hanako', {
        kind: 'top_up',
        amount: '5000',
        currency: 'JPY',
        description: null,
      }),
    );
    await waitFor(() => expect(backend.userDetail).toHaveBeenCalledTimes(2));
    expect(screen.queryByTestId('user-simulate')).toBeNull();
  });

  it('adds a transaction of the chosen kind, and shows a refused amount on its field', async () => {
    backend.simulateUserTransaction.mockRejectedValue(
      gatewayError('validation', 409, { amount: ['The balance would go below zero.'] }),
    );
    render(UserDetail, { id: 'usr_hanako' });
    await fireEvent.click(await screen.findByTestId('user-add-transaction'));
    await fireEvent.change(screen.getByTestId('user-simulate-type'), { target: { value: 'fee' } });
    await fireEvent.change(screen.getByTestId('user-simulate-currency'), { target: { value: 'USD' } });
    await fireEvent.input(screen.getByTestId('user-simulate-amount'), { target: { value: '1.255' } });
    expect(screen.getByTestId('user-simulate-amount')).toHaveValue('1.25');
    await fireEvent.input(screen.getByTestId('user-simulate-description'), { target: { value: ' Monthly fee ' } });
    await fireEvent.click(screen.getByTestId('user-simulate-submit'));
    await waitFor(() =>
      expect(backend.simulateUserTransaction).toHaveBeenCalledWith('usr_hanako', {
        kind: 'fee',
        amount: '1.25',
        currency: 'USD',
        description: 'Monthly fee',
      }),
    );
    expect(await screen.findByText('The balance would go below zero.')).toBeInTheDocument();
  });

  it('has no simulation in active mode', async () => {
    backend.userDetail.mockResolvedValue(detail({ testMode: false }));
    render(UserDetail, { id: 'usr_hanako' });
    await screen.findByTestId('user-detail');
    expect(screen.queryByTestId('user-top-up')).toBeNull();
    expect(screen.queryByTestId('user-add-transaction')).toBeNull();
  });

  it('draws the user’s KYC form on the KYC tab, and the header follows its status', async () => {
    backend.userDetail.mockResolvedValue(detail({ user: { ...hanako, kycStatus: 'draft' } }));
    backend.kycForm.mockResolvedValue({
      userId: 'usr_hanako',
      status: 'submitted',
      sections: [
        {
          id: 'personal',
          title: { en: 'Personal details', ja: '本人情報' },
          fields: [
            {
              id: 'legal_name',
              label: { en: 'Legal name', ja: '氏名' },
              kind: 'text',
              required: true,
              maxLength: 100,
              pattern: null,
              options: [],
            },
          ],
        },
      ],
      values: { legal_name: '山田 花子' },
      missing: [],
      rejectionReason: null,
      updatedAt: null,
      submittedAt: '2026-11-24T11:00:00Z',
      reviewedAt: null,
      locked: true,
      draft: { state: 'saved', unsent: [], conflicts: [], fieldErrors: {}, message: null },
      testMode: true,
      offline: false,
    });
    render(UserDetail, { id: 'usr_hanako', tab: 'kyc' });
    const form = await screen.findByTestId('kyc-form');
    expect(backend.kycForm).toHaveBeenCalledWith('usr_hanako');
    expect(within(form).getByTestId('kyc-value-legal_name')).toHaveTextContent('山田 花子');
    await waitFor(() => expect(screen.getByTestId('user-kyc')).toHaveAttribute('data-kyc-status', 'submitted'));
    expect(screen.getByTestId('user-kyc-status')).toHaveTextContent('Waiting for review');
  });
});
