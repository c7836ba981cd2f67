import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { LedgerPayment, PaymentDetail as Detail, WebhookLogEntry } from '../lib/api';

const backend = vi.hoisted(() => ({
  paymentDetail: vi.fn(),
  verifyPayment: vi.fn(),
  simulatePayment: vi.fn(),
  retryPaymentLink: vi.fn(),
  onPaymentChanged: vi.fn(),
  onWebhookReceived: vi.fn(),
}));
vi.mock('../lib/api', () => backend);
const desktop = vi.hoisted(() => ({ copyText: vi.fn(), openInBrowser: vi.fn(), chooseCsvPath: vi.fn() }));
vi.mock('../lib/desktop', () => desktop);

import PaymentDetail from './PaymentDetail.svelte';
import { setLocale } from '../lib/i18n/index.svelte';
import { session } from '../lib/session.svelte';

function payment(patch: Partial<LedgerPayment> = {}): LedgerPayment {
  return {
    id: 7,
    paymentId: 'pay_7Q',
    status: 'pending',
    amount: '280.00',
    currency: 'USD',
    charge: null,
    net: null,
    custom: 'ORD-7',
    customerEmail: 'buyer@example.jp',
    details: 'Tea set',
    checkoutUrl: 'http://127.0.0.1:4000/checkout/pay_7Q',
    transaction: null,
    lastError: null,
    createdAt: '2026-11-24T10:00:00Z',
    paidAt: null,
    ...patch,
  };
}

function detail(testMode: boolean, patch: Partial<LedgerPayment> = {}): Detail {
  const refused = {
    id: 3,
    verification: 'bad_signature',
    reason: 'the signature does not match the body',
    answered: 403,
    receivedAt: '2026-11-24T10:02:00Z',
  } as WebhookLogEntry;
  return {
    payment: payment(patch),
    testMode,
    timeline: [
      { at: '2026-11-24T10:00:00Z', kind: 'created', detail: 'Payment link created', webhookEventId: null },
      { at: '2026-11-24T10:02:00Z', kind: 'webhook_refused', detail: 'Bad signature', webhookEventId: 3 },
      { at: '2026-11-24T10:03:00Z', kind: 'validity_check', detail: 'The gateway says: pending', webhookEventId: null },
    ],
    webhookEvents: [refused],
  };
}

describe('PaymentDetail', () => {
  let announce: (profileId: string, payment: LedgerPayment) => void = () => {};

  beforeEach(() => {
    setLocale('en');
    vi.clearAllMocks();
    session.activeId = 'p1';
    backend.onPaymentChanged.mockImplementation(async (handler: typeof announce) => {
      announce = handler;
      return () => {};
    });
    backend.onWebhookReceived.mockResolvedValue(() => {});
  });

  it('shows the payment and its whole timeline, with links to the webhook events', async () => {
    backend.paymentDetail.mockResolvedValue(detail(true));
    render(PaymentDetail, { id: 7 });
    expect(await screen.findByTestId('payment-detail')).toHaveTextContent('$280.00');
    const timeline = screen.getByTestId('payment-timeline');
    expect(timeline.querySelectorAll('li')).toHaveLength(3);
    expect(timeline).toHaveTextContent('Webhook refused');
    expect(timeline).toHaveTextContent('Validity check');
    expect(screen.getByRole('link', { name: 'Open the event' })).toHaveAttribute('href', '#/webhooks/3');
    expect(screen.getByTestId('payment-webhooks')).toHaveTextContent('Bad signature');
    expect(backend.paymentDetail).toHaveBeenCalledWith(7);
  });

  it('verifies now and simulates in test mode', async () => {
    backend.paymentDetail.mockResolvedValue(detail(true));
    backend.verifyPayment.mockResolvedValue(payment());
    backend.simulatePayment.mockResolvedValue(payment({ status: 'paid' }));
    render(PaymentDetail, { id: 7 });
    await fireEvent.click(await screen.findByTestId('payment-verify'));
    expect(backend.verifyPayment).toHaveBeenCalledWith(7);
    await waitFor(() => expect(backend.paymentDetail).toHaveBeenCalledTimes(2));
    backend.paymentDetail.mockResolvedValue(detail(true, { status: 'paid', charge: '8.40', net: '271.60' }));
    await fireEvent.click(screen.getByTestId('payment-simulate-pay'));
    expect(backend.simulatePayment).toHaveBeenCalledWith(7, 'pay');
    await waitFor(() => expect(screen.getByTestId('payment-detail')).toHaveAttribute('data-status', 'paid'));
    expect(screen.getByTestId('payment-detail')).toHaveTextContent('$271.60');
    await fireEvent.click(screen.getByTestId('payment-simulate-redeliver'));
    expect(backend.simulatePayment).toHaveBeenLastCalledWith(7, 'redeliver_webhook');
  });

  it('offers no simulation in active mode', async () => {
    backend.paymentDetail.mockResolvedValue(detail(false));
    render(PaymentDetail, { id: 7 });
    await screen.findByTestId('payment-verify');
    expect(screen.queryByTestId('payment-simulate-pay')).toBeNull();
  });

  it('reloads when the backend says this payment changed', async () => {
    backend.paymentDetail.mockResolvedValue(detail(true));
    render(PaymentDetail, { id: 7 });
    await screen.findByTestId('payment-detail');
    backend.paymentDetail.mockResolvedValue(detail(true, { status: 'expired' }));
    announce('p1', payment({ id: 8, status: 'paid' }));
    announce('p1', payment({ status: 'expired' }));
    await waitFor(() => expect(screen.getByTestId('payment-detail')).toHaveAttribute('data-status', 'expired'));
    expect(backend.paymentDetail).toHaveBeenCalledTimes(2);
  });

  it('sends an unconfirmed payment again instead of verifying it', async () => {
    backend.paymentDetail.mockResolvedValue(
      detail(true, { status: 'unconfirmed', paymentId: null, checkoutUrl: null, lastError: 'connection reset' }),
    );
    backend.retryPaymentLink.mockResolvedValue({ payment: payment(), checkoutUrl: 'x', replayed: true });
    render(PaymentDetail, { id: 7 });
    await fireEvent.click(await screen.findByTestId('payment-retry'));
    expect(backend.retryPaymentLink).toHaveBeenCalledWith(7);
    expect(screen.queryByTestId('payment-verify')).toBeNull();
    expect(screen.getByTestId('payment-detail')).toHaveTextContent('connection reset');
  });
});
