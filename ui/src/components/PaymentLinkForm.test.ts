import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { CommandError, LedgerPayment, PaymentLinkCreated, Profile } from '../lib/api';

const backend = vi.hoisted(() => ({
  paymentLinkDefaults: vi.fn(),
  createPaymentLink: vi.fn(),
  retryPaymentLink: vi.fn(),
  paymentsPage: vi.fn(),
  savePaymentLinkDefaults: vi.fn(),
}));
vi.mock('../lib/api', () => backend);
const desktop = vi.hoisted(() => ({ copyText: vi.fn(), openInBrowser: vi.fn(), chooseCsvPath: vi.fn() }));
vi.mock('../lib/desktop', () => desktop);

import PaymentLinkForm from './PaymentLinkForm.svelte';
import { pending } from '../lib/confirm.svelte';
import { ApiError } from '../lib/errors';
import { setLocale } from '../lib/i18n/index.svelte';
import { session } from '../lib/session.svelte';

const LISTENER = 'http://127.0.0.1:47800/webhooks/p1';
const CHECKOUT = 'http://127.0.0.1:4000/checkout/pay_7Q';

function profile(mode: Profile['mode']): Profile {
  return { id: 'p1', name: 'Shop', mode } as Profile;
}

function payment(patch: Partial<LedgerPayment> = {}): LedgerPayment {
  return {
    id: 7,
    paymentId: 'pay_7Q',
    status: 'pending',
    amount: '1200',
    currency: 'JPY',
    charge: null,
    net: null,
    custom: 'ORD-20261124-K7P2QX',
    customerEmail: 'buyer@example.jp',
    details: null,
    checkoutUrl: CHECKOUT,
    transaction: null,
    lastError: null,
    createdAt: '2026-11-24T10:00:00Z',
    paidAt: null,
    ...patch,
  };
}

const created = (replayed = false): PaymentLinkCreated => ({ payment: payment(), checkoutUrl: CHECKOUT, replayed });

function failure(kind: CommandError['kind'], fields: Record<string, string[]> = {}): ApiError {
  return new ApiError({ kind, message: `${kind} failure`, fields, status: kind === 'validation' ? 422 : null, requestId: null });
}

async function fill(values: { amount?: string; currency?: string; email?: string; details?: string } = {}) {
  await screen.findByDisplayValue('ORD-20261124-K7P2QX');
  if (values.currency) await fireEvent.change(screen.getByTestId('payment-currency'), { target: { value: values.currency } });
  await fireEvent.input(screen.getByTestId('payment-amount'), { target: { value: values.amount ?? '1200' } });
  await fireEvent.input(screen.getByTestId('payment-email'), { target: { value: values.email ?? 'buyer@example.jp' } });
  if (values.details !== undefined) {
    await fireEvent.input(screen.getByTestId('payment-details'), { target: { value: values.details } });
  }
}

describe('PaymentLinkForm', () => {
  beforeEach(() => {
    setLocale('en');
    vi.clearAllMocks();
    pending.request = null;
    session.profiles = [profile('test')];
    session.activeId = 'p1';
    backend.paymentLinkDefaults.mockResolvedValue({
      custom: 'ORD-20261124-K7P2QX',
      successUrl: 'https://shop.example/thanks',
      cancelUrl: 'https://shop.example/cancel',
      webhookUrl: LISTENER,
      listenerUrl: LISTENER,
      standInSuccessUrl: null,
      standInCancelUrl: null,
    });
  });

  it('starts from the proposed order reference, the profile’s URLs and the app’s listener', async () => {
    render(PaymentLinkForm);
    expect(await screen.findByTestId('payment-custom')).toHaveValue('ORD-20261124-K7P2QX');
    expect(screen.getByTestId('payment-success-url')).toHaveValue('https://shop.example/thanks');
    expect(screen.getByTestId('payment-webhook-url')).toHaveValue(LISTENER);
    expect(screen.getByTestId('payment-currency')).toHaveValue('JPY');
  });

  it('keeps the amount within the currency’s decimals as it is typed', async () => {
    render(PaymentLinkForm);
    await fill({ amount: '¥1,200.00' });
    expect(screen.getByTestId('payment-amount')).toHaveValue('1200');
    await fireEvent.change(screen.getByTestId('payment-currency'), { target: { value: 'USD' } });
    await fireEvent.input(screen.getByTestId('payment-amount'), { target: { value: '280.005' } });
    expect(screen.getByTestId('payment-amount')).toHaveValue('280.00');
  });

  it('counts the details up to 255 and refuses more before sending', async () => {
    render(PaymentLinkForm);
    await fill({ details: 'あ'.repeat(256) });
    const counter = screen.getByTestId('payment-details-counter');
    expect(counter).toHaveTextContent('256 / 255');
    expect(counter).toHaveClass('over');
    await fireEvent.click(screen.getByTestId('payment-submit'));
    expect(await screen.findByText('At most 255 characters.')).toBeInTheDocument();
    expect(screen.getByTestId('payment-details')).toHaveAttribute('aria-invalid', 'true');
    expect(backend.createPaymentLink).not.toHaveBeenCalled();
  });

  it('shows every problem inline before sending anything', async () => {
    render(PaymentLinkForm);
    await fill({ currency: 'USD', amount: '0', email: 'buyer@' });
    await fireEvent.input(screen.getByTestId('payment-cancel-url'), { target: { value: 'shop.example/cancel' } });
    await fireEvent.click(screen.getByTestId('payment-submit'));
    expect(await screen.findByText('The amount must be greater than 0.')).toBeInTheDocument();
    expect(screen.getByText('Enter a valid email address.')).toBeInTheDocument();
    expect(screen.getByText('Enter an http:// or https:// URL.')).toBeInTheDocument();
    expect(screen.getByTestId('payment-email')).toHaveAttribute('aria-invalid', 'true');
    expect(backend.createPaymentLink).not.toHaveBeenCalled();
  });

  it('shows the gateway’s 422 field errors on the fields', async () => {
    backend.createPaymentLink.mockRejectedValue(
      failure('validation', {
        customer_email: ['The customer email must be a valid email address.'],
        webhookUrl: ['The web hook must be a valid URL.'],
      }),
    );
    render(PaymentLinkForm);
    await fill();
    await fireEvent.click(screen.getByTestId('payment-submit'));
    expect(await screen.findByText('The customer email must be a valid email address.')).toBeInTheDocument();
    expect(screen.getByTestId('payment-email')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByText('The web hook must be a valid URL.')).toBeInTheDocument();
    expect(screen.getByTestId('payment-form-error')).toHaveTextContent('Some fields need attention.');
  });

  it('sends once on a double click, then shows the checkout URL with Copy, Open and a QR code', async () => {
    let answer: (value: PaymentLinkCreated) => void = () => {};
    backend.createPaymentLink.mockImplementation(() => new Promise((resolve) => (answer = resolve)));
    render(PaymentLinkForm);
    await fill({ details: '抹茶セット' });
    const submit = screen.getByTestId('payment-submit');
    await fireEvent.click(submit);
    await fireEvent.click(submit);
    expect(submit).toBeDisabled();
    expect(backend.createPaymentLink).toHaveBeenCalledTimes(1);
    expect(backend.createPaymentLink).toHaveBeenCalledWith({
      amount: '1200',
      currency: 'JPY',
      details: '抹茶セット',
      customerEmail: 'buyer@example.jp',
      custom: 'ORD-20261124-K7P2QX',
      successUrl: 'https://shop.example/thanks',
      cancelUrl: 'https://shop.example/cancel',
      webhookUrl: LISTENER,
      confirmActive: false,
    });
    answer(created());
    expect(await screen.findByTestId('payment-checkout-url')).toHaveValue(CHECKOUT);
    expect(screen.getByTestId('payment-qr').querySelector('path')?.getAttribute('d')).toMatch(/^M\d+ \d+h1v1h-1z/);
    await fireEvent.click(screen.getByTestId('payment-copy'));
    expect(desktop.copyText).toHaveBeenCalledWith(CHECKOUT);
    expect(await screen.findByText('Copied')).toBeInTheDocument();
    await fireEvent.click(screen.getByTestId('payment-open'));
    expect(desktop.openInBrowser).toHaveBeenCalledWith(CHECKOUT);
  });

  it('retries after a network error with the retry command, which reuses the idempotency key', async () => {
    backend.createPaymentLink.mockRejectedValueOnce(failure('network'));
    backend.paymentsPage.mockResolvedValue({
      rows: [payment({ id: 41, status: 'unconfirmed', paymentId: null, checkoutUrl: null })],
      next: null,
      total: 1,
    });
    backend.retryPaymentLink.mockResolvedValue(created(true));
    render(PaymentLinkForm);
    await fill();
    await fireEvent.click(screen.getByTestId('payment-submit'));
    expect(await screen.findByTestId('payment-form-error')).toHaveTextContent('never creates a second payment');
    expect(backend.paymentsPage).toHaveBeenCalledWith({ search: 'ORD-20261124-K7P2QX', status: 'unconfirmed' }, null, 5);
    const retry = await screen.findByTestId('payment-retry');
    await fireEvent.click(retry);
    await fireEvent.click(retry);
    expect(await screen.findByTestId('payment-checkout-url')).toHaveValue(CHECKOUT);
    expect(backend.retryPaymentLink).toHaveBeenCalledTimes(1);
    expect(backend.retryPaymentLink).toHaveBeenCalledWith(41);
    expect(backend.createPaymentLink).toHaveBeenCalledTimes(1);
    expect(screen.getByText(/already created this payment/)).toBeInTheDocument();
  });

  it('asks before a live link, naming the amount and the live mode', async () => {
    session.profiles = [profile('active')];
    backend.createPaymentLink.mockResolvedValue(created());
    render(PaymentLinkForm);
    await fill({ currency: 'USD', amount: '280' });
    await fireEvent.click(screen.getByTestId('payment-submit'));
    await waitFor(() => expect(pending.request).not.toBeNull());
    expect(pending.request?.message).toBe(
      'Create a LIVE payment link for $280.00? The customer will be charged real money.',
    );
    pending.request?.answer(false);
    await waitFor(() => expect(screen.getByTestId('payment-submit')).not.toBeDisabled());
    expect(backend.createPaymentLink).not.toHaveBeenCalled();

    await fireEvent.click(screen.getByTestId('payment-submit'));
    await waitFor(() => expect(pending.request).not.toBeNull());
    pending.request?.answer(true);
    await waitFor(() => expect(backend.createPaymentLink).toHaveBeenCalledTimes(1));
    expect(backend.createPaymentLink.mock.calls[0]?.[0]).toMatchObject({ amount: '280', currency: 'USD', confirmActive: true });
  });
});
