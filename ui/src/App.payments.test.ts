import { render, screen, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeskState, Profile } from './lib/api';

// The routes of issue 6 through the real shell: list, new link, detail, webhooks.
const backend = vi.hoisted(() => ({
  deskState: vi.fn(),
  onProfileSwitched: vi.fn(async () => () => {}),
  onProfilesChanged: vi.fn(async () => () => {}),
  paymentsPage: vi.fn(async () => ({ rows: [], next: null, total: 0 })),
  paymentLinkDefaults: vi.fn(async () => ({
    custom: 'ORD-1',
    successUrl: null,
    cancelUrl: null,
    webhookUrl: null,
    listenerUrl: 'http://127.0.0.1:47800/webhooks/p1',
    standInSuccessUrl: null,
    standInCancelUrl: null,
  })),
  paymentDetail: vi.fn(async () => {
    throw new Error('no such payment');
  }),
  webhookListener: vi.fn(async () => ({
    settings: { bind: '127.0.0.1', port: 47800, forwardTo: null },
    baseUrl: 'http://127.0.0.1:47800',
    error: null,
    loopbackOnly: true,
  })),
  webhookEvents: vi.fn(async () => []),
  onPaymentChanged: vi.fn(async () => () => {}),
  onWebhookReceived: vi.fn(async () => () => {}),
  onWebhookListenerChanged: vi.fn(async () => () => {}),
}));
vi.mock('./lib/api', () => backend);

import App from './App.svelte';
import { setLocale } from './lib/i18n/index.svelte';
import { session } from './lib/session.svelte';

const desk = {
  profiles: [{ id: 'p1', name: 'Sandbox', mode: 'test', embedded: true } as Profile],
  activeProfileId: 'p1',
  keychain: { state: 'available', backend: 'Secret Service' },
  embeddedSandboxUrl: null,
  settings: { language: 'en', theme: 'system', askExportPath: false },
  version: '0.1.0',
} as DeskState;

/** Moves to `hash` and lets the router hear the `hashchange` before the app renders. */
async function go(hash: string) {
  location.hash = hash;
  await new Promise((resolve) => setTimeout(resolve, 0));
}

describe('the payments and webhooks routes', () => {
  beforeEach(() => {
    setLocale('en');
    session.ready = false;
    backend.deskState.mockResolvedValue(desk);
  });

  it('show the empty ledger with a way to create the first link', async () => {
    await go('#/payments');
    render(App);
    expect(await screen.findByText('No payments yet')).toBeInTheDocument();
    expect(screen.getAllByRole('link', { name: 'New payment link' })[0]).toHaveAttribute('href', '#/payments/new');
    await waitFor(() => expect(document.title).toBe('Payments · ITO Merchant Desk'));
  });

  it('open the payment-link form', async () => {
    await go('#/payments/new');
    render(App);
    expect(await screen.findByTestId('payment-custom')).toHaveValue('ORD-1');
    expect(screen.getByTestId('payment-webhook-url')).toHaveValue('http://127.0.0.1:47800/webhooks/p1');
  });

  it('open a payment by its id', async () => {
    await go('#/payments/42');
    render(App);
    expect(await screen.findByText('no such payment')).toBeInTheDocument();
    expect(backend.paymentDetail).toHaveBeenCalledWith(42);
  });

  it('show the webhook listener and its events', async () => {
    await go('#/webhooks');
    render(App);
    expect(await screen.findByTestId('webhook-listener-address')).toHaveTextContent('http://127.0.0.1:47800');
    expect(screen.getByTestId('webhook-events')).toBeInTheDocument();
  });
});
