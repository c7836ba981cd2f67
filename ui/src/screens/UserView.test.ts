import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { tick } from 'svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type {
  CardAccess,
  KycForm as Form,
  RevealedCard,
  TransactionPage,
  UserCard,
  UserSessionChanged,
  UserSessionInfo,
  UserView as View,
} from '../lib/api';

const backend = vi.hoisted(() => ({
  userView: vi.fn(),
  userViewTransactions: vi.fn(),
  userTransactions: vi.fn(),
  userBalanceHistory: vi.fn(),
  issueCard: vi.fn(),
  revealCard: vi.fn(),
  hideCard: vi.fn(),
  copyCardField: vi.fn(),
  cardAccess: vi.fn(),
  userSessions: vi.fn(),
  signInAsUser: vi.fn(),
  cancelUserSignIn: vi.fn(),
  signOutUser: vi.fn(),
  onUserSessionChanged: vi.fn(),
  onProfileSwitched: vi.fn(),
  onUserExportProgress: vi.fn(async () => () => {}),
  exportUserTransactionsCsv: vi.fn(),
  cancelUserExport: vi.fn(),
  kycForm: vi.fn(),
  kycEdit: vi.fn(),
  userKycForm: vi.fn(),
  userKycEdit: vi.fn(),
  onKycFormChanged: vi.fn(async () => () => {}),
  onUsersChanged: vi.fn(async () => () => {}),
}));
vi.mock('../lib/api', () => backend);

import ConfirmDialog from '../components/ConfirmDialog.svelte';
import UserView from './UserView.svelte';
import { ApiError } from '../lib/errors';
import { setLocale } from '../lib/i18n/index.svelte';
import { session } from '../lib/session.svelte';
import { resetUserSessions } from '../lib/user-sessions.svelte';

const NUMBER = '4242424242424242';
const CVV = '737';

const signedIn: UserSessionInfo = {
  profileId: 'p1',
  userId: 'usr_hanako',
  expiresAt: '2026-11-24T11:00:00Z',
  scope: null,
  signedInAt: '2026-11-24T10:00:00Z',
};

const visa: UserCard = {
  cardId: 'card_1',
  brand: 'Visa',
  last4: '4242',
  expMonth: 3,
  expYear: 2029,
  status: 'active',
  currency: 'JPY',
};

const view = (patch: Partial<View> = {}, kycStatus: View['user']['kycStatus'] = 'approved'): View => ({
  user: {
    userId: 'usr_hanako',
    name: '山田 花子',
    email: 'hanako@example.jp',
    phone: null,
    country: 'JP',
    kycStatus,
    createdAt: '2026-11-01T10:00:00Z',
  },
  balances: [{ currency: 'JPY', available: '12000', pending: '500' }],
  cards: [visa],
  session: signedIn,
  mode: 'test',
  ...patch,
});

const access = (action: CardAccess['action'], at: string): CardAccess => ({
  cardId: 'card_1',
  action,
  staff: 'tanaka',
  at,
});

const revealed = (revealId = 'rev_1'): RevealedCard => ({
  revealId,
  cardId: 'card_1',
  last4: '4242',
  expMonth: 3,
  expYear: 2029,
  number: NUMBER,
  cvv: CVV,
  shownForSeconds: 30,
  access: [access('revealed', '2026-11-24T10:05:00Z')],
});

const failure = (kind: string, message: string) =>
  new ApiError({ kind: kind as never, message, fields: {}, status: null, requestId: null });

/** Lets the mocked backend's answers and the DOM updates after them land. */
async function settle() {
  for (let i = 0; i < 10; i++) await Promise.resolve();
  await tick();
}

describe('UserView', () => {
  let switched: () => void = () => {};
  let changed: (change: UserSessionChanged) => void = () => {};

  beforeEach(() => {
    setLocale('en');
    vi.clearAllMocks();
    resetUserSessions();
    localStorage.clear();
    sessionStorage.clear();
    location.hash = '#/users/usr_hanako/as-user';
    session.activeId = 'p1';
    session.settings = { language: 'en', theme: 'system', askExportPath: false };
    backend.userView.mockResolvedValue(view());
    backend.userSessions.mockResolvedValue([signedIn]);
    backend.cardAccess.mockResolvedValue([]);
    backend.hideCard.mockResolvedValue(null);
    backend.onProfileSwitched.mockImplementation(async (handler: () => void) => {
      switched = handler;
      return () => {};
    });
    backend.onUserSessionChanged.mockImplementation(async (handler: typeof changed) => {
      changed = handler;
      return () => {};
    });
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('says plainly whose view it is, in which mode, with the user’s own tabs', async () => {
    render(UserView, { id: 'usr_hanako' });
    const root = await screen.findByTestId('user-view');
    expect(root).toHaveAttribute('data-user-id', 'usr_hanako');
    const banner = await screen.findByTestId('viewing-as');
    await waitFor(() => expect(banner).toHaveTextContent('Viewing as 山田 花子'));
    expect(banner).toHaveTextContent('not the merchant’s view');
    expect(banner).toHaveAttribute('data-mode', 'test');
    expect(banner).toHaveTextContent('TEST MODE');
    expect(backend.userView).toHaveBeenCalledWith('usr_hanako');
    expect(screen.getByTestId('tab-me')).toHaveAttribute('aria-selected', 'true');
    expect(screen.getByTestId('user-view-profile')).toHaveTextContent('hanako@example.jp');
    expect(screen.getByTestId('user-view-session')).toHaveAttribute('data-expires-at', '2026-11-24T11:00:00Z');
    await fireEvent.click(screen.getByTestId('tab-cards'));
    expect(location.hash).toBe('#/users/usr_hanako/as-user/cards');
    await fireEvent.click(screen.getByTestId('tab-me'));
    expect(location.hash).toBe('#/users/usr_hanako/as-user');
  });

  it('marks live mode in the banner', async () => {
    backend.userView.mockResolvedValue(view({ mode: 'active' }));
    render(UserView, { id: 'usr_hanako' });
    const banner = await screen.findByTestId('viewing-as');
    await waitFor(() => expect(banner).toHaveAttribute('data-mode', 'active'));
    expect(banner).toHaveTextContent('LIVE MODE');
  });

  it('reads balances and transactions through the user’s session, with no merchant export', async () => {
    const page: TransactionPage = {
      items: [
        {
          id: 'txn_1',
          kind: 'top_up',
          amount: '5000',
          currency: 'JPY',
          status: 'completed',
          description: 'Top-up',
          createdAt: '2026-11-24T10:00:00Z',
        },
      ],
      nextCursor: null,
      loadedTotals: [{ currency: 'JPY', count: 1, credits: '5000', debits: '0', net: '5000' }],
    };
    backend.userViewTransactions.mockResolvedValue(page);
    const balances = render(UserView, { id: 'usr_hanako', tab: 'balances' });
    expect(await screen.findByTestId('user-balance')).toHaveTextContent('JPY¥12,000¥500');
    expect(backend.userBalanceHistory).not.toHaveBeenCalled();
    balances.unmount();
    render(UserView, { id: 'usr_hanako', tab: 'transactions' });
    await waitFor(() => expect(screen.getByTestId('user-transactions')).toHaveAttribute('data-loaded', '1'));
    expect(backend.userViewTransactions).toHaveBeenCalledTimes(1);
    expect(backend.userViewTransactions).toHaveBeenCalledWith(
      'usr_hanako',
      { kind: null, currency: null, from: null, to: null },
      null,
      100,
      [],
    );
    expect(backend.userView).toHaveBeenCalledTimes(2);
    expect(backend.userTransactions).not.toHaveBeenCalled();
    expect(screen.queryByTestId('transactions-export')).toBeNull();
  });

  it('keeps Issue card disabled with the reason shown until KYC is approved', async () => {
    backend.userView.mockResolvedValue(view({}, 'submitted'));
    render(UserView, { id: 'usr_hanako', tab: 'cards' });
    const issue = await screen.findByTestId('issue-card');
    expect(issue).toBeDisabled();
    const reason = screen.getByTestId('issue-card-reason');
    expect(reason).toHaveTextContent('once KYC is approved');
    expect(reason).toHaveTextContent('waiting for review');
    expect(issue).toHaveAttribute('aria-describedby', reason.id);
    setLocale('ja');
    await tick();
    expect(reason).toHaveTextContent('審査待ち');
  });

  it('in active mode, asks before issuing a live card and names the user; the card then appears', async () => {
    backend.userView.mockResolvedValue(view({ mode: 'active' }));
    const issued: UserCard = { ...visa, cardId: 'card_2', last4: '1881', currency: 'USD' };
    backend.issueCard.mockResolvedValue(issued);
    render(ConfirmDialog);
    render(UserView, { id: 'usr_hanako', tab: 'cards' });
    await fireEvent.click(await screen.findByTestId('issue-card'));
    await fireEvent.change(screen.getByTestId('issue-card-currency'), { target: { value: 'USD' } });
    await fireEvent.click(screen.getByTestId('issue-card-submit'));
    const dialog = await screen.findByRole('alertdialog');
    expect(dialog).toHaveTextContent('Issue a real USD card to 山田 花子?');
    expect(dialog).toHaveTextContent('live mode');
    await fireEvent.click(screen.getByTestId('confirm-cancel'));
    expect(backend.issueCard).not.toHaveBeenCalled();

    await fireEvent.click(screen.getByTestId('issue-card-submit'));
    await fireEvent.click(await screen.findByTestId('confirm-accept'));
    await waitFor(() =>
      expect(backend.issueCard).toHaveBeenCalledWith('usr_hanako', { currency: 'USD', liveConfirmed: true }),
    );
    await waitFor(() => expect(screen.getAllByTestId('card-row')).toHaveLength(2));
    expect(screen.getAllByTestId('card-row')[1]).toHaveAttribute('data-card-id', 'card_2');
    expect(screen.getByTestId('issue-card-done')).toHaveTextContent('•••• 1881');
  });

  it('in test mode, issues without the live confirmation and shows a refusal', async () => {
    backend.issueCard.mockRejectedValue(failure('validation', 'The gateway refused the currency.'));
    render(ConfirmDialog);
    render(UserView, { id: 'usr_hanako', tab: 'cards' });
    await fireEvent.click(await screen.findByTestId('issue-card'));
    await fireEvent.click(screen.getByTestId('issue-card-submit'));
    await waitFor(() =>
      expect(backend.issueCard).toHaveBeenCalledWith('usr_hanako', { currency: 'USD', liveConfirmed: false }),
    );
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(await screen.findByText('The gateway refused the currency.')).toBeInTheDocument();
  });

  it('reveals after confirmation, counts down, hides at 0 and tells the backend', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    backend.revealCard.mockResolvedValueOnce(revealed('rev_1')).mockResolvedValueOnce(revealed('rev_2'));
    const log = vi.spyOn(console, 'log');
    render(ConfirmDialog);
    render(UserView, { id: 'usr_hanako', tab: 'cards' });
    const row = await screen.findByTestId('card-row');
    expect(row).toHaveAttribute('data-card-id', 'card_1');
    expect(row).toHaveTextContent('•••• 4242');
    expect(screen.queryByTestId('card-number')).toBeNull();

    await fireEvent.click(within(row).getByTestId('card-reveal'));
    const dialog = await screen.findByRole('alertdialog');
    expect(dialog).toHaveTextContent('山田 花子’s card •••• 4242');
    await fireEvent.click(screen.getByTestId('confirm-cancel'));
    expect(backend.revealCard).not.toHaveBeenCalled();

    await fireEvent.click(within(row).getByTestId('card-reveal'));
    await fireEvent.click(await screen.findByTestId('confirm-accept'));
    expect(await within(row).findByTestId('card-number')).toHaveTextContent('4242 4242 4242 4242');
    expect(backend.revealCard).toHaveBeenCalledWith('usr_hanako', 'card_1', true);
    expect(within(row).getByTestId('card-cvv')).toHaveTextContent(CVV);
    const countdown = within(row).getByTestId('card-countdown');
    expect(countdown).toHaveAttribute('data-seconds', '30');
    expect(countdown).toHaveTextContent('30');
    expect(within(row).getAllByTestId('card-access-row')[0]).toHaveTextContent('Revealed');

    // Nowhere but on screen: not stored, not in the address, not logged.
    expect(localStorage.length + sessionStorage.length).toBe(0);
    expect(location.href).not.toContain(NUMBER);
    expect(log).not.toHaveBeenCalled();

    vi.advanceTimersByTime(10_000);
    await settle();
    expect(within(row).getByTestId('card-countdown')).toHaveAttribute('data-seconds', '20');
    expect(within(row).getByTestId('card-countdown')).toHaveTextContent('20');
    expect(backend.hideCard).not.toHaveBeenCalled();

    vi.advanceTimersByTime(20_000);
    await settle();
    expect(within(row).queryByTestId('card-number')).toBeNull();
    expect(within(row).queryByTestId('card-cvv')).toBeNull();
    expect(row).not.toHaveTextContent(NUMBER.slice(4, 12));
    expect(backend.hideCard).toHaveBeenCalledWith('rev_1');

    // Test mode: the same card again in this view needs no second confirmation.
    await fireEvent.click(within(row).getByTestId('card-reveal'));
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(await within(row).findByTestId('card-number')).toBeInTheDocument();
    expect(backend.revealCard).toHaveBeenCalledTimes(2);
    log.mockRestore();
  });

  it('asks every time in active mode', async () => {
    backend.userView.mockResolvedValue(view({ mode: 'active' }));
    backend.revealCard.mockResolvedValue(revealed());
    render(ConfirmDialog);
    render(UserView, { id: 'usr_hanako', tab: 'cards' });
    for (let round = 0; round < 2; round++) {
      await fireEvent.click(await screen.findByTestId('card-reveal'));
      expect(await screen.findByRole('alertdialog')).toHaveTextContent('Live mode');
      await fireEvent.click(screen.getByTestId('confirm-accept'));
      await screen.findByTestId('card-number');
      await fireEvent.click(screen.getByTestId('card-hide'));
      expect(screen.queryByTestId('card-number')).toBeNull();
    }
    expect(backend.revealCard).toHaveBeenCalledTimes(2);
    expect(backend.hideCard).toHaveBeenCalledTimes(2);
  });

  async function revealFirstCard() {
    render(ConfirmDialog);
    const rendered = render(UserView, { id: 'usr_hanako', tab: 'cards' });
    await fireEvent.click(await screen.findByTestId('card-reveal'));
    await fireEvent.click(await screen.findByTestId('confirm-accept'));
    await screen.findByTestId('card-number');
    return rendered;
  }

  it('hides when the window loses focus', async () => {
    backend.revealCard.mockResolvedValue(revealed('rev_blur'));
    await revealFirstCard();
    await fireEvent.blur(window);
    expect(screen.queryByTestId('card-number')).toBeNull();
    expect(backend.hideCard).toHaveBeenCalledWith('rev_blur');
  });

  it('hides on a profile switch', async () => {
    backend.revealCard.mockResolvedValue(revealed('rev_switch'));
    await revealFirstCard();
    switched();
    await tick();
    expect(screen.queryByTestId('card-number')).toBeNull();
    expect(backend.hideCard).toHaveBeenCalledWith('rev_switch');
  });

  it('never shows a reveal answered after the window lost focus', async () => {
    let answer!: (card: RevealedCard) => void;
    backend.revealCard.mockReturnValue(new Promise((resolve) => (answer = resolve)));
    render(ConfirmDialog);
    render(UserView, { id: 'usr_hanako', tab: 'cards' });
    await fireEvent.click(await screen.findByTestId('card-reveal'));
    await fireEvent.click(await screen.findByTestId('confirm-accept'));
    await waitFor(() => expect(backend.revealCard).toHaveBeenCalled());
    await fireEvent.blur(window);
    answer(revealed('rev_late'));
    await waitFor(() => expect(backend.hideCard).toHaveBeenCalledWith('rev_late'));
    expect(screen.queryByTestId('card-number')).toBeNull();
  });

  it('hides when the view goes away', async () => {
    backend.revealCard.mockResolvedValue(revealed('rev_leave'));
    const { unmount } = await revealFirstCard();
    unmount();
    expect(backend.hideCard).toHaveBeenCalledWith('rev_leave');
  });

  it('copies through the backend only, and counts down to the clipboard clearing', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    const writeText = vi.fn();
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    backend.revealCard.mockResolvedValue(revealed('rev_copy'));
    backend.copyCardField.mockResolvedValue({
      clearsInSeconds: 30,
      access: [access('copied_number', '2026-11-24T10:06:00Z'), access('revealed', '2026-11-24T10:05:00Z')],
    });
    await revealFirstCard();
    await fireEvent.click(screen.getByTestId('copy-card-number'));
    expect(backend.copyCardField).toHaveBeenCalledWith('rev_copy', 'number');
    const copied = await screen.findByTestId('card-copied');
    expect(copied).toHaveTextContent('Number copied — the clipboard clears in 30 s');
    const rows = screen.getAllByTestId('card-access-row');
    expect(rows.map((r) => r.dataset.action)).toEqual(['copied_number', 'revealed']);
    expect(rows[0]).toHaveTextContent('tanaka');

    vi.advanceTimersByTime(5_000);
    await settle();
    expect(screen.getByTestId('card-copied')).toHaveTextContent('clears in 25 s');

    await fireEvent.click(screen.getByTestId('copy-card-cvv'));
    expect(backend.copyCardField).toHaveBeenLastCalledWith('rev_copy', 'cvv');
    await waitFor(() => expect(screen.getByTestId('card-copied')).toHaveTextContent('CVV copied'));
    expect(writeText).not.toHaveBeenCalled();
    Reflect.deleteProperty(navigator, 'clipboard');
  });

  it('shows the card’s access record from the backend', async () => {
    backend.cardAccess.mockResolvedValue([access('copied_cvv', '2026-11-23T09:00:00Z')]);
    render(UserView, { id: 'usr_hanako', tab: 'cards' });
    const row = await screen.findByTestId('card-access-row');
    expect(row).toHaveTextContent('Copied CVV');
    expect(row).toHaveTextContent('tanaka');
    expect(backend.cardAccess).toHaveBeenCalledWith('card_1');
  });

  it('when the session ended, says why and offers signing in again, then reads the view afresh', async () => {
    backend.userSessions.mockResolvedValue([]);
    backend.userView.mockRejectedValueOnce(failure('session_ended', 'You are not signed in as usr_hanako.'));
    backend.signInAsUser.mockResolvedValue({ ...signedIn, signedInAt: '2026-11-24T10:30:00Z' });
    backend.userView.mockResolvedValue(view({ session: { ...signedIn, signedInAt: '2026-11-24T10:30:00Z' } }));
    render(UserView, { id: 'usr_hanako' });
    const ended = await screen.findByTestId('user-view-ended');
    expect(ended).toHaveTextContent('You are not signed in as usr_hanako.');
    expect(screen.getByTestId('viewing-as')).toBeInTheDocument();
    const again = within(ended).getByTestId('sign-in-as-user');
    expect(again).toHaveTextContent('Sign in again');
    await fireEvent.click(again);
    await waitFor(() => expect(backend.signInAsUser).toHaveBeenCalledWith('usr_hanako'));
    expect(await screen.findByTestId('user-view-profile')).toBeInTheDocument();
    expect(screen.queryByTestId('user-view-ended')).toBeNull();
    expect(backend.userView).toHaveBeenCalledTimes(2);
  });

  it('a revocation while a card is shown hides it and shows the backend’s message', async () => {
    backend.revealCard.mockResolvedValue(revealed('rev_revoked'));
    await revealFirstCard();
    await waitFor(() => expect(backend.onUserSessionChanged).toHaveBeenCalled());
    changed({
      profileId: 'p1',
      userId: 'usr_hanako',
      session: null,
      ended: 'revoked',
      message: 'The gateway revoked the sign-in of usr_hanako.',
    });
    expect(await screen.findByTestId('user-view-ended')).toHaveTextContent(
      'The gateway revoked the sign-in of usr_hanako.',
    );
    expect(screen.queryByTestId('card-number')).toBeNull();
    expect(backend.hideCard).toHaveBeenCalledWith('rev_revoked');
  });

  it('a call answered `session_ended` ends the view the same way', async () => {
    backend.revealCard.mockRejectedValue(failure('session_ended', 'The user’s session has ended.'));
    render(ConfirmDialog);
    render(UserView, { id: 'usr_hanako', tab: 'cards' });
    await fireEvent.click(await screen.findByTestId('card-reveal'));
    await fireEvent.click(await screen.findByTestId('confirm-accept'));
    expect(await screen.findByTestId('user-view-ended')).toHaveTextContent('The user’s session has ended.');
    expect(screen.getByTestId('sign-in-as-user')).toHaveTextContent('Sign in again');
  });
  it('the KYC tab is the user’s own form: read and edited through their session', async () => {
    const form: Form = {
      userId: 'usr_hanako',
      status: 'draft',
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
              maxLength: null,
              pattern: null,
              options: [],
            },
          ],
        },
      ],
      values: {},
      missing: ['legal_name'],
      rejectionReason: null,
      updatedAt: '2026-11-24T10:00:00Z',
      submittedAt: null,
      reviewedAt: null,
      locked: false,
      draft: { state: 'saved', unsent: [], conflicts: [], fieldErrors: {}, message: null },
      testMode: true,
      offline: false,
    };
    backend.userKycForm.mockResolvedValue(form);
    backend.userKycEdit.mockResolvedValue({ ...form.draft, state: 'pending', unsent: ['legal_name'] });
    render(UserView, { id: 'usr_hanako', tab: 'kyc' });
    const input = (await screen.findByTestId('kyc-field-legal_name')) as HTMLInputElement;
    await fireEvent.input(input, { target: { value: '山田 花子' } });
    await waitFor(() => expect(backend.userKycEdit).toHaveBeenCalledWith('usr_hanako', 'legal_name', '山田 花子'));
    expect(backend.userKycForm).toHaveBeenCalledWith('usr_hanako');
    expect(backend.kycForm).not.toHaveBeenCalled();
    expect(backend.kycEdit).not.toHaveBeenCalled();
  });
});
