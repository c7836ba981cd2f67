import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const backend = vi.hoisted(() => ({ paymentLinkDefaults: vi.fn(), savePaymentLinkDefaults: vi.fn() }));
vi.mock('../lib/api', () => backend);

import PaymentDefaultsForm from './PaymentDefaultsForm.svelte';
import { ApiError } from '../lib/errors';
import { setLocale } from '../lib/i18n/index.svelte';

const LISTENER = 'http://127.0.0.1:47800/webhooks/p1';

describe('PaymentDefaultsForm', () => {
  beforeEach(() => {
    setLocale('en');
    vi.clearAllMocks();
    backend.paymentLinkDefaults.mockResolvedValue({
      custom: 'ORD-1',
      successUrl: 'https://shop.example/thanks',
      cancelUrl: null,
      webhookUrl: LISTENER,
      listenerUrl: LISTENER,
      standInSuccessUrl: null,
      standInCancelUrl: null,
    });
  });

  it('shows the saved URLs, with the app’s listener as the webhook fallback', async () => {
    render(PaymentDefaultsForm);
    await waitFor(() => expect(screen.getByTestId('payment-defaults-successUrl')).toHaveValue('https://shop.example/thanks'));
    expect(screen.getByTestId('payment-defaults-webhookUrl')).toHaveValue('');
    expect(screen.getByTestId('payment-defaults-webhookUrl')).toHaveAttribute('placeholder', LISTENER);
  });

  it('checks the URLs, then saves them', async () => {
    backend.savePaymentLinkDefaults.mockResolvedValue({});
    render(PaymentDefaultsForm);
    await waitFor(() => expect(screen.getByTestId('payment-defaults-successUrl')).toHaveValue('https://shop.example/thanks'));
    await fireEvent.input(screen.getByTestId('payment-defaults-cancelUrl'), { target: { value: 'shop.example/cancel' } });
    await fireEvent.click(screen.getByTestId('payment-defaults-save'));
    expect(await screen.findByText('Enter an http:// or https:// URL.')).toBeInTheDocument();
    expect(backend.savePaymentLinkDefaults).not.toHaveBeenCalled();

    await fireEvent.input(screen.getByTestId('payment-defaults-cancelUrl'), {
      target: { value: 'https://shop.example/cancel' },
    });
    await fireEvent.click(screen.getByTestId('payment-defaults-save'));
    expect(backend.savePaymentLinkDefaults).toHaveBeenCalledWith({
      successUrl: 'https://shop.example/thanks',
      cancelUrl: 'https://shop.example/cancel',
      webhookUrl: '',
    });
    expect(await screen.findByText('Defaults saved.')).toBeInTheDocument();
  });

  it('shows the embedded sandbox’s stand-in return pages as placeholders, not as saved values', async () => {
    const stand = 'http://127.0.0.1:4100/process-checkout/returned';
    backend.paymentLinkDefaults.mockResolvedValue({
      custom: 'ORD-1',
      successUrl: `${stand}/paid`,
      cancelUrl: 'https://shop.example/cart',
      webhookUrl: LISTENER,
      listenerUrl: LISTENER,
      standInSuccessUrl: `${stand}/paid`,
      standInCancelUrl: `${stand}/cancelled`,
    });
    render(PaymentDefaultsForm);
    await waitFor(() => expect(screen.getByTestId('payment-defaults-cancelUrl')).toHaveValue('https://shop.example/cart'));
    expect(screen.getByTestId('payment-defaults-successUrl')).toHaveValue('');
    expect(screen.getByTestId('payment-defaults-successUrl')).toHaveAttribute('placeholder', `${stand}/paid`);
    expect(screen.getByTestId('payment-defaults-cancelUrl')).toHaveAttribute('placeholder', `${stand}/cancelled`);
  });

  it('shows the backend’s field messages inline', async () => {
    backend.savePaymentLinkDefaults.mockRejectedValue(
      new ApiError({
        kind: 'validation',
        message: 'Some fields need attention.',
        fields: { webhookUrl: ['Enter an absolute http:// or https:// URL.'] },
        status: null,
        requestId: null,
      }),
    );
    render(PaymentDefaultsForm);
    await waitFor(() => expect(backend.paymentLinkDefaults).toHaveBeenCalled());
    await fireEvent.click(screen.getByTestId('payment-defaults-save'));
    expect(await screen.findByText('Enter an absolute http:// or https:// URL.')).toBeInTheDocument();
    expect(screen.getByTestId('payment-defaults-webhookUrl')).toHaveAttribute('aria-invalid', 'true');
  });
});
