import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { tick } from 'svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type {
  TransactionExportProgress,
  TransactionPage,
  TransactionTotals,
  TransactionsExport,
  UserTransaction,
} from '../lib/api';

const backend = vi.hoisted(() => ({
  userTransactions: vi.fn(),
  exportUserTransactionsCsv: vi.fn(),
  cancelUserExport: vi.fn(),
  onUserExportProgress: vi.fn(),
}));
vi.mock('../lib/api', () => backend);
const desktop = vi.hoisted(() => ({ chooseCsvPath: vi.fn(), showInFolder: vi.fn() }));
vi.mock('../lib/desktop', () => desktop);

import UserTransactions from './UserTransactions.svelte';
import { setLocale } from '../lib/i18n/index.svelte';
import { session } from '../lib/session.svelte';

const PAGE = 100;
const TOTAL = 250;

function transaction(n: number): UserTransaction {
  const kinds = ['top_up', 'card_spend', 'refund', 'fee'] as const;
  return {
    id: `txn_${n}`,
    kind: kinds[n % 4]!,
    amount: n % 4 === 0 ? '100.10' : '0.10',
    currency: 'USD',
    status: n % 5 === 0 ? 'pending' : 'completed',
    description: `Entry ${n}`,
    createdAt: new Date(Date.UTC(2026, 10, 24, 10) - n * 60_000).toISOString(),
  };
}

/** What the backend answers for the totals: a stand-in that counts what it was given. */
const totals = (count: number): TransactionTotals[] => [
  { currency: 'USD', count, credits: `${count}.00`, debits: '0.00', net: `${count}.00` },
];

/** 250 transactions, newest first, behind the gateway's opaque cursor. */
function pages(
  _user: string,
  _filter: unknown,
  cursor: string | null,
  limit: number,
  loaded: TransactionTotals[],
): TransactionPage {
  const start = cursor ? Number(cursor.slice(1)) : 0;
  const items = Array.from({ length: Math.min(limit, TOTAL - start) }, (_, i) => transaction(start + i));
  const end = start + items.length;
  return { items, nextCursor: end < TOTAL ? `c${end}` : null, loadedTotals: totals((loaded[0]?.count ?? 0) + items.length) };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('UserTransactions', () => {
  let progress: (event: TransactionExportProgress) => void = () => {};

  beforeEach(() => {
    setLocale('en');
    vi.clearAllMocks();
    session.settings = { language: 'en', theme: 'system', askExportPath: false };
    backend.userTransactions.mockImplementation(async (...args: Parameters<typeof pages>) => pages(...args));
    backend.onUserExportProgress.mockImplementation(async (handler: typeof progress) => {
      progress = handler;
      return () => {};
    });
  });

  const list = () => screen.getByTestId('user-transactions');
  const rows = () => list().querySelectorAll<HTMLElement>('[data-testid="transaction-row"]');

  it('shows the first server page, newest first, with signed amounts', async () => {
    render(UserTransactions, { userId: 'usr_1' });
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    expect(backend.userTransactions).toHaveBeenCalledWith(
      'usr_1',
      { kind: null, currency: null, from: null, to: null },
      null,
      PAGE,
      [],
    );
    const first = rows()[0]!;
    expect(first).toHaveAttribute('data-transaction-id', 'txn_0');
    expect(first).toHaveTextContent('Top-up');
    expect(first).toHaveTextContent('+$100.10');
    expect(rows()[1]).toHaveTextContent('−$0.10');
    expect(list()).toHaveAttribute('data-loaded', '100');
  });

  it('loads the next page through the cursor as the user scrolls, until the last', async () => {
    render(UserTransactions, { userId: 'usr_1' });
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    const viewport = list().querySelector('[role="rowgroup"]') as HTMLElement;
    Object.defineProperty(viewport, 'scrollTop', { value: 80 * 44, configurable: true, writable: true });
    await fireEvent.scroll(viewport);
    await waitFor(() => expect(list()).toHaveAttribute('data-loaded', '200'));
    // The totals of what is loaded go back, so the answer's totals include every page.
    expect(backend.userTransactions).toHaveBeenLastCalledWith('usr_1', expect.anything(), 'c100', PAGE, totals(100));
    expect(screen.getByTestId('transactions-totals')).toHaveTextContent('Totals of the 200 transactions loaded so far');
    Object.defineProperty(viewport, 'scrollTop', { value: 190 * 44, configurable: true, writable: true });
    await fireEvent.scroll(viewport);
    await waitFor(() => expect(list()).toHaveAttribute('data-done', 'true'));
    expect(list()).toHaveAttribute('data-loaded', '250');
    expect(backend.userTransactions).toHaveBeenCalledTimes(3);
    await fireEvent.scroll(viewport);
    await tick();
    expect(backend.userTransactions).toHaveBeenCalledTimes(3);
  });

  it('shows the backend’s totals of what is loaded, as money', async () => {
    backend.userTransactions.mockResolvedValueOnce({
      items: [transaction(0), transaction(1)],
      nextCursor: null,
      loadedTotals: [
        { currency: 'USD', count: 2, credits: '2505.00', debits: '5.00', net: '2500.00' },
        { currency: 'JPY', count: 1, credits: '0', debits: '1200', net: '-1200' },
      ],
    });
    render(UserTransactions, { userId: 'usr_1' });
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    const box = screen.getByTestId('transactions-totals');
    expect(box).toHaveTextContent('Totals of all 2 transactions');
    const usd = box.querySelector('[data-currency="USD"]');
    expect(usd).toHaveTextContent('In $2,505.00');
    expect(usd).toHaveTextContent('Out $5.00');
    expect(usd).toHaveTextContent('Net $2,500.00');
    expect(box.querySelector('[data-currency="JPY"]')).toHaveTextContent('Net -¥1,200');
  });

  it('sends kind, currency and the local days’ bounds to the backend and starts over', async () => {
    render(UserTransactions, { userId: 'usr_1' });
    await waitFor(() => expect(backend.userTransactions).toHaveBeenCalledTimes(1));
    await fireEvent.change(screen.getByTestId('transactions-filter-type'), { target: { value: 'fee' } });
    await fireEvent.change(screen.getByTestId('transactions-filter-currency'), { target: { value: 'JPY' } });
    await fireEvent.input(screen.getByTestId('transactions-filter-from'), { target: { value: '2026-11-01' } });
    await fireEvent.input(screen.getByTestId('transactions-filter-to'), { target: { value: '2026-11-24' } });
    await waitFor(() =>
      expect(backend.userTransactions).toHaveBeenLastCalledWith(
        'usr_1',
        {
          kind: 'fee',
          currency: 'JPY',
          from: new Date(2026, 10, 1).toISOString(),
          to: new Date(2026, 10, 25).toISOString(),
        },
        null,
        PAGE,
        [],
      ),
    );
  });

  it('refuses a range that ends before it starts without asking the gateway', async () => {
    render(UserTransactions, { userId: 'usr_1' });
    await waitFor(() => expect(backend.userTransactions).toHaveBeenCalledTimes(1));
    await fireEvent.input(screen.getByTestId('transactions-filter-from'), { target: { value: '2026-11-24' } });
    await fireEvent.input(screen.getByTestId('transactions-filter-to'), { target: { value: '2026-11-01' } });
    expect(await screen.findByText('The start date is after the end date.')).toBeInTheDocument();
    // Only the "from" change went out.
    expect(backend.userTransactions).toHaveBeenCalledTimes(2);
  });

  it('exports with progress (pages, rows, rate), then offers the file', async () => {
    const answer = deferred<TransactionsExport>();
    backend.exportUserTransactionsCsv.mockReturnValue(answer.promise);
    render(UserTransactions, { userId: 'usr_1' });
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    await fireEvent.click(screen.getByTestId('transactions-export'));
    const bar = await screen.findByTestId('transactions-export-progress');
    expect(screen.getByTestId('transactions-export')).toBeDisabled();
    const [exportId, ...rest] = backend.exportUserTransactionsCsv.mock.calls[0]!;
    expect(rest).toEqual(['usr_1', { kind: null, currency: null, from: null, to: null }, null]);
    // Another export's progress is not this one's.
    progress({ exportId: 'another', userId: 'usr_1', pages: 9, rows: 900, rowsPerSecond: 1, finished: false });
    progress({ exportId, userId: 'usr_1', pages: 3, rows: 300, rowsPerSecond: 1500, finished: false });
    await waitFor(() => expect(bar).toHaveTextContent('3 pages · 300 rows · 1,500 rows/s'));
    answer.resolve({ outcome: 'written', path: '/home/u/Downloads/transactions-usr_1.csv', rows: 250, pages: 3 });
    const result = await screen.findByTestId('transactions-export-result');
    expect(result).toHaveAttribute('data-state', 'ok');
    expect(result).toHaveAttribute('data-path', '/home/u/Downloads/transactions-usr_1.csv');
    expect(result).toHaveTextContent('250 transactions written to /home/u/Downloads/transactions-usr_1.csv.');
    expect(screen.queryByTestId('transactions-export-progress')).toBeNull();
    await fireEvent.click(screen.getByTestId('transactions-export-reveal'));
    expect(desktop.showInFolder).toHaveBeenCalledWith('/home/u/Downloads/transactions-usr_1.csv');
  });

  it('cancels an export, which leaves no file', async () => {
    const answer = deferred<TransactionsExport>();
    backend.exportUserTransactionsCsv.mockReturnValue(answer.promise);
    backend.cancelUserExport.mockImplementation(async () => {
      answer.resolve({ outcome: 'cancelled', rows: 100, pages: 1 });
      return true;
    });
    render(UserTransactions, { userId: 'usr_1' });
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    await fireEvent.click(screen.getByTestId('transactions-export'));
    await fireEvent.click(await screen.findByTestId('transactions-export-progress-cancel'));
    const result = await screen.findByTestId('transactions-export-result');
    expect(result).toHaveAttribute('data-state', 'cancelled');
    expect(result).not.toHaveAttribute('data-path');
    expect(backend.cancelUserExport).toHaveBeenCalledTimes(1);
    expect(backend.cancelUserExport).toHaveBeenCalledWith(backend.exportUserTransactionsCsv.mock.calls[0]![0]);
  });

  it('asks where to save when Settings say so, and does nothing if the dialog is closed', async () => {
    session.settings = { language: 'en', theme: 'system', askExportPath: true };
    desktop.chooseCsvPath.mockResolvedValue(null);
    render(UserTransactions, { userId: 'usr_1' });
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    await fireEvent.click(screen.getByTestId('transactions-export'));
    await waitFor(() => expect(desktop.chooseCsvPath).toHaveBeenCalled());
    expect(desktop.chooseCsvPath.mock.calls[0]?.[0]).toMatch(/^transactions-usr_1-\d{8}\.csv$/);
    expect(backend.exportUserTransactionsCsv).not.toHaveBeenCalled();
  });

  it('shows a page’s failure with Retry, which asks for the same page again', async () => {
    backend.userTransactions.mockRejectedValueOnce(new Error('The gateway is unavailable (503).'));
    render(UserTransactions, { userId: 'usr_1' });
    expect(await screen.findByRole('alert')).toHaveTextContent('503');
    await fireEvent.click(screen.getByText('Retry'));
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
  });

  it('says so when the user has no transaction', async () => {
    backend.userTransactions.mockResolvedValue({ items: [], nextCursor: null, loadedTotals: [] });
    render(UserTransactions, { userId: 'usr_1' });
    expect(await screen.findByText('No transaction yet.')).toBeInTheDocument();
    expect(screen.getByTestId('transactions-export')).toBeDisabled();
  });
});
