import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { tick } from 'svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { LedgerPage, LedgerPayment } from '../lib/api';

const backend = vi.hoisted(() => ({
  paymentsPage: vi.fn(),
  exportPaymentsCsv: vi.fn(),
  onPaymentChanged: vi.fn(),
}));
vi.mock('../lib/api', () => backend);
const desktop = vi.hoisted(() => ({
  copyText: vi.fn(),
  openInBrowser: vi.fn(),
  chooseCsvPath: vi.fn(),
  showInFolder: vi.fn(),
}));
vi.mock('../lib/desktop', () => desktop);

import Payments from './Payments.svelte';
import { setLocale } from '../lib/i18n/index.svelte';
import { session } from '../lib/session.svelte';

const TOTAL = 100_000;

function payment(id: number, patch: Partial<LedgerPayment> = {}): LedgerPayment {
  return {
    id,
    paymentId: `pay_${id}`,
    status: 'pending',
    amount: '1200',
    currency: 'JPY',
    charge: null,
    net: null,
    custom: `ORD-${id}`,
    customerEmail: `buyer${id}@example.jp`,
    details: null,
    checkoutUrl: `http://127.0.0.1:4000/checkout/pay_${id}`,
    transaction: null,
    lastError: null,
    createdAt: new Date(Date.UTC(2026, 10, 24, 10) - (TOTAL - id) * 1000).toISOString(),
    paidAt: null,
    ...patch,
  };
}

/** A ledger of 100 000 payments, newest first, served a page at a time like the backend. */
function ledger(cursor: string | null, limit: number): LedgerPage {
  const start = cursor ? Number(cursor) : 0;
  const rows = Array.from({ length: Math.min(limit, TOTAL - start) }, (_, i) => payment(TOTAL - start - i));
  const end = start + rows.length;
  return { rows, next: end < TOTAL ? String(end) : null, total: cursor ? null : TOTAL };
}

describe('Payments', () => {
  let announce: (profileId: string, payment: LedgerPayment) => void = () => {};

  beforeEach(() => {
    setLocale('en');
    vi.clearAllMocks();
    session.activeId = 'p1';
    backend.paymentsPage.mockImplementation(async (_filter, cursor: string | null, limit: number) => ledger(cursor, limit));
    backend.onPaymentChanged.mockImplementation(async (handler: typeof announce) => {
      announce = handler;
      return () => {};
    });
  });

  const rows = () => screen.getByTestId('payments-list').querySelectorAll('[data-testid="payment-row"]');

  it('lists 100 000 payments newest first, rendering only the rows in view', async () => {
    render(Payments);
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    expect(rows().length).toBeLessThan(40);
    const first = rows()[0] as HTMLElement;
    expect(first).toHaveAttribute('data-payment-id', 'pay_100000');
    expect(first).toHaveAttribute('data-status', 'pending');
    expect(first).toHaveTextContent('¥1,200');
    expect(first).toHaveTextContent('ORD-100000');
    expect(first).toHaveTextContent('buyer100000@example.jp');
    expect(screen.getByText('100,000 payments')).toBeInTheDocument();
    expect(backend.paymentsPage).toHaveBeenCalledTimes(1);
    expect(backend.paymentsPage).toHaveBeenCalledWith(
      { search: null, status: null, currency: null, createdFrom: null, createdTo: null },
      null,
      200,
    );
  });

  it('loads at once when opened, and waits for a pause in typing before searching', async () => {
    render(Payments);
    await tick();
    expect(backend.paymentsPage).toHaveBeenCalledTimes(1);
    await fireEvent.input(screen.getByTestId('payments-search'), { target: { value: 'ORD-4' } });
    await fireEvent.input(screen.getByTestId('payments-search'), { target: { value: 'ORD-42' } });
    await tick();
    expect(backend.paymentsPage).toHaveBeenCalledTimes(1);
    await waitFor(() => expect(backend.paymentsPage).toHaveBeenCalledTimes(2));
    expect(backend.paymentsPage.mock.calls[1]?.[0]).toMatchObject({ search: 'ORD-42' });
  });

  it('fetches the next page with the cursor as the view scrolls towards the end', async () => {
    render(Payments);
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    const viewport = screen.getByTestId('payments-list').querySelector('[role="rowgroup"]') as HTMLElement;
    Object.defineProperty(viewport, 'scrollTop', { value: 150 * 44, configurable: true });
    await fireEvent.scroll(viewport);
    await waitFor(() => expect(backend.paymentsPage).toHaveBeenCalledTimes(2));
    expect(backend.paymentsPage).toHaveBeenLastCalledWith(expect.anything(), '200', 500);
    await waitFor(() => expect(rows()[0]).toHaveAttribute('data-payment-id', `pay_${TOTAL - 140}`));
  });

  it('keeps fetching after a jump far down until the rows in view are loaded', async () => {
    render(Payments);
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    const viewport = screen.getByTestId('payments-list').querySelector('[role="rowgroup"]') as HTMLElement;
    Object.defineProperty(viewport, 'scrollTop', { value: 3000 * 44, configurable: true });
    await fireEvent.scroll(viewport);
    // 200, then 500 a page: 200 + 6 × 500 = 3200 rows cover row 3000 and its neighbours.
    await waitFor(() => expect(rows()[0]).toHaveAttribute('data-payment-id', `pay_${TOTAL - 2990}`));
    expect(backend.paymentsPage).toHaveBeenCalledTimes(7);
  });

  it('sends the search, status, currency and date range to the backend', async () => {
    render(Payments);
    await waitFor(() => expect(backend.paymentsPage).toHaveBeenCalledTimes(1));
    await fireEvent.input(screen.getByTestId('payments-search'), { target: { value: ' buyer7@ ' } });
    await fireEvent.change(screen.getByTestId('payments-filter-status'), { target: { value: 'paid' } });
    await fireEvent.change(screen.getByTestId('payments-filter-currency'), { target: { value: 'USD' } });
    await fireEvent.input(screen.getByLabelText('Created from'), { target: { value: '2026-11-01' } });
    await fireEvent.input(screen.getByLabelText('Created until'), { target: { value: '2026-11-24' } });
    await waitFor(() =>
      expect(backend.paymentsPage).toHaveBeenLastCalledWith(
        {
          search: 'buyer7@',
          status: 'paid',
          currency: 'USD',
          createdFrom: new Date(2026, 10, 1).toISOString(),
          createdTo: new Date(2026, 10, 25).toISOString(),
        },
        null,
        200,
      ),
    );
  });

  it('takes the date range the Japanese way in the Japanese UI', async () => {
    setLocale('ja');
    render(Payments);
    await waitFor(() => expect(backend.paymentsPage).toHaveBeenCalledTimes(1));
    const from = screen.getByTestId('payments-filter-from');
    expect(from).toHaveAttribute('placeholder', 'YYYY/MM/DD');
    await fireEvent.input(from, { target: { value: '2026/11/01' } });
    await fireEvent.input(screen.getByTestId('payments-filter-to'), { target: { value: '２０２６／１１／２４' } });
    await waitFor(() =>
      expect(backend.paymentsPage).toHaveBeenLastCalledWith(
        {
          search: null,
          status: null,
          currency: null,
          createdFrom: new Date(2026, 10, 1).toISOString(),
          createdTo: new Date(2026, 10, 25).toISOString(),
        },
        null,
        200,
      ),
    );
  });

  it('says so when nothing matches the filters', async () => {
    render(Payments);
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    backend.paymentsPage.mockResolvedValue({ rows: [], next: null, total: 0 });
    await fireEvent.input(screen.getByTestId('payments-search'), { target: { value: 'nobody' } });
    expect(await screen.findByText('No payment matches these filters.')).toBeInTheDocument();
  });

  it('updates a row live when the backend says the payment changed, without a reload', async () => {
    render(Payments);
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    announce('p1', payment(TOTAL - 1, { status: 'paid', charge: '36', net: '1164', paidAt: '2026-11-24T10:05:00Z' }));
    await waitFor(() => expect(rows()[1]).toHaveAttribute('data-status', 'paid'));
    expect(rows()[1]).toHaveTextContent('Paid');
    expect(rows()[1]).toHaveClass('changed');
    expect(rows()[2]).not.toHaveClass('changed');
    expect(rows()[1]).toHaveTextContent('¥1,164');
    // Another profile's payment is not this list's business.
    announce('p2', payment(TOTAL, { status: 'expired' }));
    // A new payment goes on top and counts.
    announce('p1', payment(TOTAL + 1, { createdAt: '2026-11-24T11:00:00Z', custom: 'ORD-NEW' }));
    await waitFor(() => expect(rows()[0]).toHaveAttribute('data-payment-id', `pay_${TOTAL + 1}`));
    expect(rows()[1]).toHaveAttribute('data-status', 'pending');
    expect(screen.getByText('100,001 payments')).toBeInTheDocument();
    expect(backend.paymentsPage).toHaveBeenCalledTimes(1);
  });

  it('exports the current filter straight to Downloads, and shows the file in its folder', async () => {
    session.settings = { language: 'en', theme: 'system', askExportPath: false };
    backend.exportPaymentsCsv.mockResolvedValue({ path: '/home/hanako/Downloads/payments-20261124 (2).csv', rows: 1234 });
    render(Payments);
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    await fireEvent.change(screen.getByTestId('payments-filter-status'), { target: { value: 'paid' } });
    await waitFor(() => expect(backend.paymentsPage).toHaveBeenCalledTimes(2));
    await fireEvent.click(screen.getByTestId('payments-export'));
    await waitFor(() =>
      expect(backend.exportPaymentsCsv).toHaveBeenCalledWith(
        { search: null, status: 'paid', currency: null, createdFrom: null, createdTo: null },
        null,
      ),
    );
    expect(desktop.chooseCsvPath).not.toHaveBeenCalled();
    const result = await screen.findByTestId('payments-export-result');
    expect(result).toHaveTextContent('1,234 payments written to /home/hanako/Downloads/payments-20261124 (2).csv.');
    expect(result).toHaveAttribute('data-state', 'ok');
    await fireEvent.click(screen.getByTestId('payments-export-reveal'));
    expect(desktop.showInFolder).toHaveBeenCalledWith('/home/hanako/Downloads/payments-20261124 (2).csv');
  });

  it('asks for a file first when Settings say so', async () => {
    session.settings = { language: 'en', theme: 'system', askExportPath: true };
    desktop.chooseCsvPath.mockResolvedValue('/home/hanako/payments.csv');
    backend.exportPaymentsCsv.mockResolvedValue({ path: '/home/hanako/payments.csv', rows: 3 });
    render(Payments);
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    await fireEvent.click(screen.getByTestId('payments-export'));
    await waitFor(() =>
      expect(backend.exportPaymentsCsv).toHaveBeenCalledWith(expect.anything(), '/home/hanako/payments.csv'),
    );
    expect(desktop.chooseCsvPath.mock.calls[0]?.[0]).toMatch(/^payments-\d{8}\.csv$/);
    expect(await screen.findByTestId('payments-export-result')).toHaveTextContent(
      '3 payments written to /home/hanako/payments.csv.',
    );
  });

  it('writes nothing when the save dialog is cancelled', async () => {
    session.settings = { language: 'en', theme: 'system', askExportPath: true };
    desktop.chooseCsvPath.mockResolvedValue(null);
    render(Payments);
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    await fireEvent.click(screen.getByTestId('payments-export'));
    await waitFor(() => expect(desktop.chooseCsvPath).toHaveBeenCalled());
    expect(backend.exportPaymentsCsv).not.toHaveBeenCalled();
  });

  it('shows a failed export with its reason', async () => {
    session.settings = { language: 'en', theme: 'system', askExportPath: false };
    backend.exportPaymentsCsv.mockRejectedValue(new Error('cannot create /home/hanako/Downloads: read-only'));
    render(Payments);
    await waitFor(() => expect(rows().length).toBeGreaterThan(0));
    await fireEvent.click(screen.getByTestId('payments-export'));
    const result = await screen.findByTestId('payments-export-result');
    expect(result).toHaveAttribute('data-state', 'error');
    expect(result).toHaveTextContent('The export failed: cannot create /home/hanako/Downloads: read-only');
    expect(screen.queryByTestId('payments-export-reveal')).not.toBeInTheDocument();
  });
});
