import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { LedgerPayment, ListenerStatus, WebhookLogEntry } from '../lib/api';

const backend = vi.hoisted(() => ({
  webhookEvents: vi.fn(),
  webhookListener: vi.fn(),
  saveWebhookListener: vi.fn(),
  replayWebhookEvent: vi.fn(),
  forwardWebhookEvent: vi.fn(),
  onWebhookReceived: vi.fn(),
  onWebhookListenerChanged: vi.fn(),
}));
vi.mock('../lib/api', () => backend);

import Webhooks from './Webhooks.svelte';
import { ApiError } from '../lib/errors';
import { setLocale } from '../lib/i18n/index.svelte';
import { session } from '../lib/session.svelte';

const BODY = '{"payment_id":"pay_7Q","status":"paid","amount":"1200","currency":"JPY","custom":"ORD-7"}';

function entry(id: number, patch: Partial<WebhookLogEntry> = {}): WebhookLogEntry {
  return {
    id,
    profileId: 'p1',
    receivedAt: '2026-11-24T10:00:00Z',
    remoteAddr: '127.0.0.1:51234',
    headers: [
      { name: 'content-type', value: 'application/json' },
      { name: 'x-ito-signature', value: 't=1795000000,v1=ab12' },
    ],
    body: BODY,
    verification: 'verified',
    reason: null,
    deliveryId: `dlv_${id}`,
    attempt: 1,
    paymentId: 'pay_7Q',
    ledgerId: 7,
    answered: 200,
    forwardedTo: null,
    forwardStatus: null,
    forwardError: null,
    ...patch,
  };
}

const running: ListenerStatus = {
  settings: { bind: '127.0.0.1', port: 47800, forwardTo: null },
  baseUrl: 'http://127.0.0.1:47800',
  error: null,
  loopbackOnly: true,
};

describe('Webhooks', () => {
  let announce: (entry: WebhookLogEntry) => void = () => {};
  let announceListener: (status: ListenerStatus) => void = () => {};

  beforeEach(() => {
    setLocale('en');
    vi.clearAllMocks();
    session.activeId = 'p1';
    backend.webhookListener.mockResolvedValue(running);
    backend.webhookEvents.mockResolvedValue([
      entry(2),
      entry(1, { verification: 'bad_signature', reason: 'the signature does not match the body', answered: 403 }),
    ]);
    backend.onWebhookReceived.mockImplementation(async (handler: typeof announce) => {
      announce = handler;
      return () => {};
    });
    backend.onWebhookListenerChanged.mockImplementation(async (handler: typeof announceListener) => {
      announceListener = handler;
      return () => {};
    });
  });

  const eventRows = () => screen.getByTestId('webhook-events').querySelectorAll('[data-testid="webhook-event"]');

  it('shows the listener’s address, state and the note about tunnels', async () => {
    render(Webhooks);
    expect(await screen.findByTestId('webhook-listener-address')).toHaveTextContent('http://127.0.0.1:47800');
    expect(screen.getByTestId('webhook-listener-state')).toHaveAttribute('data-state', 'running');
    expect(screen.getByTestId('webhook-listener-note')).toHaveTextContent('use a tunnel');
    announceListener({ ...running, baseUrl: null, error: 'address already in use' });
    await waitFor(() => expect(screen.getByTestId('webhook-listener-state')).toHaveAttribute('data-state', 'stopped'));
    expect(screen.getByRole('alert')).toHaveTextContent('It could not start: address already in use');
  });

  it('lists deliveries with their verification result, reason and answer', async () => {
    render(Webhooks);
    await waitFor(() => expect(eventRows()).toHaveLength(2));
    expect(backend.webhookEvents).toHaveBeenCalledWith({ verification: null, paymentId: null, beforeId: null, limit: 100 });
    const [good, forged] = [...eventRows()] as HTMLElement[];
    expect(good).toHaveAttribute('data-verification', 'verified');
    expect(good).toHaveTextContent('Verified');
    expect(forged).toHaveTextContent('Bad signature');
    expect(forged).toHaveTextContent('the signature does not match the body');
    expect(forged).toHaveTextContent('403');
  });

  it('links a delivery to the payment in the ledger, when the app created it', async () => {
    backend.webhookEvents.mockResolvedValue([entry(2), entry(1, { ledgerId: null, paymentId: 'pay_elsewhere' })]);
    render(Webhooks);
    await waitFor(() => expect(eventRows()).toHaveLength(2));
    const [ours, theirs] = [...eventRows()] as HTMLElement[];
    expect(within(ours!).getByTestId('webhook-payment-link')).toHaveAttribute('href', '#/payments/7');
    expect(within(theirs!).queryByTestId('webhook-payment-link')).not.toBeInTheDocument();
    expect(theirs).toHaveTextContent('pay_elsewhere');
  });

  it('opens an event with its headers, raw body and reason', async () => {
    render(Webhooks);
    await waitFor(() => expect(eventRows()).toHaveLength(2));
    await fireEvent.click(within(eventRows()[1] as HTMLElement).getByRole('button'));
    const detail = screen.getByTestId('webhook-event-detail');
    expect(detail).toHaveTextContent('x-ito-signature');
    expect(detail).toHaveTextContent('t=1795000000,v1=ab12');
    expect(screen.getByTestId('webhook-event-reason')).toHaveTextContent('the signature does not match the body');
    expect(screen.getByTestId('webhook-event-body').textContent).toBe(JSON.stringify(JSON.parse(BODY), null, 2));
    expect(detail).toHaveTextContent('dlv_1');
  });

  it('filters by verification result and payment', async () => {
    render(Webhooks);
    await waitFor(() => expect(backend.webhookEvents).toHaveBeenCalledTimes(1));
    await fireEvent.change(screen.getByTestId('webhook-filter-verification'), { target: { value: 'stale' } });
    await fireEvent.input(screen.getByTestId('webhook-filter-payment'), { target: { value: ' pay_7Q ' } });
    await waitFor(() =>
      expect(backend.webhookEvents).toHaveBeenLastCalledWith({
        verification: 'stale',
        paymentId: 'pay_7Q',
        beforeId: null,
        limit: 100,
      }),
    );
  });

  it('replays an event to the ledger and forwards one to a URL', async () => {
    backend.replayWebhookEvent.mockResolvedValue({ id: 7, status: 'paid' } as LedgerPayment);
    backend.forwardWebhookEvent.mockResolvedValue(
      entry(2, { forwardedTo: 'http://localhost:3000/hooks', forwardStatus: 204 }),
    );
    render(Webhooks);
    await waitFor(() => expect(eventRows()).toHaveLength(2));
    await fireEvent.click(within(eventRows()[0] as HTMLElement).getByRole('button'));
    await fireEvent.click(screen.getByTestId('webhook-replay'));
    expect(backend.replayWebhookEvent).toHaveBeenCalledWith(2);
    expect(await screen.findByTestId('webhook-action-result')).toHaveTextContent(
      'Applied to the ledger: the payment is now Paid.',
    );

    await fireEvent.input(screen.getByTestId('webhook-forward-url'), {
      target: { value: 'http://localhost:3000/hooks' },
    });
    await fireEvent.click(screen.getByTestId('webhook-forward'));
    expect(backend.forwardWebhookEvent).toHaveBeenCalledWith(2, 'http://localhost:3000/hooks');
    await waitFor(() =>
      expect(screen.getByTestId('webhook-action-result')).toHaveTextContent(
        'Forwarded to http://localhost:3000/hooks: answered 204.',
      ),
    );
  });

  it('shows the backend’s reason when forwarding is refused', async () => {
    backend.forwardWebhookEvent.mockRejectedValue(
      new ApiError({
        kind: 'validation',
        message: 'No forward URL is configured.',
        fields: { url: ['No forward URL is configured.'] },
        status: null,
        requestId: null,
      }),
    );
    render(Webhooks);
    await waitFor(() => expect(eventRows()).toHaveLength(2));
    await fireEvent.click(within(eventRows()[0] as HTMLElement).getByRole('button'));
    await fireEvent.click(screen.getByTestId('webhook-forward'));
    expect(backend.forwardWebhookEvent).toHaveBeenCalledWith(2, null);
    expect(await screen.findByTestId('webhook-action-result')).toHaveTextContent('No forward URL is configured.');
  });

  it('puts deliveries on top as they arrive', async () => {
    render(Webhooks);
    await waitFor(() => expect(eventRows()).toHaveLength(2));
    announce(entry(3, { verification: 'stale', reason: 'timestamp outside the tolerance', answered: 403 }));
    announce(entry(9, { profileId: 'p2' }));
    await waitFor(() => expect(eventRows()).toHaveLength(3));
    expect(eventRows()[0]).toHaveAttribute('data-event-id', '3');
    expect(eventRows()[0]).toHaveTextContent('Stale timestamp');
  });

  it('saves the listener’s address and port, and refuses a bad port', async () => {
    backend.saveWebhookListener.mockResolvedValue({
      ...running,
      settings: { bind: '0.0.0.0', port: 48000, forwardTo: null },
      baseUrl: 'http://0.0.0.0:48000',
      loopbackOnly: false,
    });
    render(Webhooks);
    await screen.findByTestId('webhook-listener-address');
    await fireEvent.input(screen.getByTestId('webhook-listener-port'), { target: { value: '70000' } });
    await fireEvent.click(screen.getByTestId('webhook-listener-save'));
    expect(await screen.findByText('Enter a port from 0 to 65535.')).toBeInTheDocument();
    expect(backend.saveWebhookListener).not.toHaveBeenCalled();

    await fireEvent.input(screen.getByTestId('webhook-listener-bind'), { target: { value: '0.0.0.0' } });
    await fireEvent.input(screen.getByTestId('webhook-listener-port'), { target: { value: '48000' } });
    await fireEvent.click(screen.getByTestId('webhook-listener-save'));
    expect(backend.saveWebhookListener).toHaveBeenCalledWith({ bind: '0.0.0.0', port: 48000, forwardTo: null });
    await waitFor(() => expect(screen.getByTestId('webhook-listener-note')).toHaveTextContent('It listens on 0.0.0.0'));
  });

  it('opens an event linked from a payment’s timeline, even one older than the first page', async () => {
    backend.webhookEvents.mockImplementation(async (filter: { beforeId: number | null; limit: number }) =>
      filter.limit === 1 ? [entry(40, { verification: 'duplicate' })] : [entry(90), entry(89)],
    );
    render(Webhooks, { params: ['40'] });
    await waitFor(() => expect(screen.getByTestId('webhook-event-detail')).toHaveTextContent('dlv_40'));
    expect(backend.webhookEvents).toHaveBeenCalledWith({ verification: null, paymentId: null, beforeId: 41, limit: 1 });
    await waitFor(() => expect(eventRows()).toHaveLength(3));
    expect(screen.getByTestId('webhook-event-detail')).toHaveTextContent('Duplicate');
  });
});
