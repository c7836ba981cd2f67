import { render, screen, waitFor, within } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { DirectoryUser, KycQueue, KycState, QueueUser } from '../lib/api';

const backend = vi.hoisted(() => ({
  kycQueue: vi.fn(),
  onUsersChanged: vi.fn(),
  onKycFormChanged: vi.fn(),
}));
vi.mock('../lib/api', () => backend);

import Kyc from './Kyc.svelte';
import { setLocale } from '../lib/i18n/index.svelte';
import { session } from '../lib/session.svelte';

const HOUR = 3_600_000;

function entry(id: string, kycStatus: KycState, patch: Partial<QueueUser> = {}): QueueUser {
  const user: DirectoryUser = {
    userId: id,
    name: `山田 ${id}`,
    email: `${id}@example.jp`,
    phone: null,
    country: 'JP',
    kycStatus,
    createdAt: '2026-11-24T10:00:00Z',
    balances: [],
    balancesFetchedAt: null,
    gone: false,
  };
  return { user, submittedAt: null, unsent: false, ...patch };
}

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

function queue(): KycQueue {
  return {
    needsAction: {
      total: 250,
      users: [
        entry('usr_rejected', 'rejected'),
        entry('usr_draft', 'draft', { unsent: true }),
        entry('usr_new', 'not_started'),
      ],
    },
    waiting: {
      total: 3,
      users: [
        entry('usr_oldest', 'submitted', { submittedAt: ago(3 * 24 * HOUR + HOUR) }),
        entry('usr_recent', 'submitted', { submittedAt: ago(5 * HOUR + 60_000) }),
        entry('usr_unknown', 'submitted'),
      ],
    },
    approved: { total: 1, users: [entry('usr_ok', 'approved')] },
    counts: [
      { status: 'not_started', count: 200 },
      { status: 'draft', count: 40 },
      { status: 'submitted', count: 3 },
      { status: 'approved', count: 1 },
      { status: 'rejected', count: 10 },
    ],
  };
}

describe('the KYC queue', () => {
  let usersChanged: (profileId: string, users: DirectoryUser[]) => void = () => {};
  let formChanged: (change: { profileId: string; userId: string }) => void = () => {};

  beforeEach(() => {
    setLocale('en');
    vi.clearAllMocks();
    session.activeId = 'p1';
    backend.kycQueue.mockImplementation(async () => queue());
    backend.onUsersChanged.mockImplementation(async (handler: typeof usersChanged) => {
      usersChanged = handler;
      return () => {};
    });
    backend.onKycFormChanged.mockImplementation(async (handler: typeof formChanged) => {
      formChanged = handler;
      return () => {};
    });
  });

  const group = (name: string) => screen.getByTestId(`kyc-queue-group-${name}`);
  const users = (name: string) =>
    within(group(name))
      .getAllByTestId('kyc-queue-user')
      .map((row) => row.dataset.userId);

  it('groups the users, each group with its total and those needing action by status', async () => {
    render(Kyc);
    await screen.findByTestId('kyc-queue');
    expect(within(group('needs_action')).getByRole('heading')).toHaveTextContent('Needs action');
    expect(screen.getByTestId('kyc-queue-total-needs_action')).toHaveTextContent('250');
    expect(screen.getByTestId('kyc-queue-total-waiting')).toHaveTextContent('3');
    expect(screen.getByTestId('kyc-queue-total-approved')).toHaveTextContent('1');
    expect(screen.getByTestId('kyc-queue-count-rejected')).toHaveTextContent('Rejected 10');
    expect(screen.getByTestId('kyc-queue-count-draft')).toHaveTextContent('Draft 40');
    expect(screen.getByTestId('kyc-queue-count-not_started')).toHaveTextContent('Not started 200');
    expect(users('needs_action')).toEqual(['usr_rejected', 'usr_draft', 'usr_new']);
    expect(users('approved')).toEqual(['usr_ok']);
  });

  it('lists those waiting oldest first, with how long each has waited', async () => {
    render(Kyc);
    await screen.findByTestId('kyc-queue');
    expect(users('waiting')).toEqual(['usr_oldest', 'usr_recent', 'usr_unknown']);
    const waited = within(group('waiting')).getAllByTestId('kyc-queue-waited');
    expect(waited.map((w) => w.textContent?.trim())).toEqual([
      'Waiting 3 days',
      'Waiting 5 hours',
      'Waiting time unknown',
    ]);
    expect(waited[0]!.title).toMatch(/^Submitted /);
    setLocale('ja');
    await waitFor(() => expect(waited[0]).toHaveTextContent('3 日待機中'));
  });

  it('links each user to their KYC tab, and a cut group to the Users list’s tab', async () => {
    render(Kyc);
    await screen.findByTestId('kyc-queue');
    const first = within(group('needs_action')).getAllByTestId('kyc-queue-user')[0]!;
    expect(within(first).getByRole('link')).toHaveAttribute('href', '#/users/usr_rejected/kyc');
    expect(within(first).getByRole('link')).toHaveTextContent('山田 usr_rejected');
    const more = screen.getByTestId('kyc-queue-more-needs_action');
    expect(more).toHaveTextContent('Showing 3 of 250.');
    expect(within(more).getByRole('link')).toHaveAttribute('href', '#/users/status/needs_action');
    expect(screen.queryByTestId('kyc-queue-more-waiting')).toBeNull();
  });

  it('marks a form with edits not yet on the gateway', async () => {
    render(Kyc);
    await screen.findByTestId('kyc-queue');
    const rows = within(group('needs_action')).getAllByTestId('kyc-queue-user');
    expect(within(rows[1]!).getByTestId('kyc-queue-unsent')).toHaveTextContent('Unsent edits');
    expect(within(rows[0]!).queryByTestId('kyc-queue-unsent')).toBeNull();
  });

  it('reads the queue again when a status or a form changes, or the profile switches', async () => {
    render(Kyc);
    await screen.findByTestId('kyc-queue');
    expect(backend.kycQueue).toHaveBeenCalledTimes(1);
    usersChanged('p2', []);
    formChanged({ profileId: 'p1', userId: 'usr_draft' });
    usersChanged('p1', []);
    await waitFor(() => expect(backend.kycQueue).toHaveBeenCalledTimes(2));
    session.generation++;
    await waitFor(() => expect(backend.kycQueue).toHaveBeenCalledTimes(3));
  });

  it('says so when the directory has nobody', async () => {
    const none = { total: 0, users: [] };
    backend.kycQueue.mockResolvedValue({
      needsAction: none,
      waiting: none,
      approved: none,
      counts: queue().counts.map((c) => ({ ...c, count: 0 })),
    });
    render(Kyc);
    expect(await screen.findByText('No KYC submissions yet')).toBeInTheDocument();
  });
});
