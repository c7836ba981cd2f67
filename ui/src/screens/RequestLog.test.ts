import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { RequestLogEntry } from '../lib/api';

const backend = vi.hoisted(() => ({
  requestLog: vi.fn(),
  clearRequestLog: vi.fn(),
  onRequestsLogged: vi.fn(),
}));
vi.mock('../lib/api', () => backend);

import RequestLog from './RequestLog.svelte';
import { setLocale } from '../lib/i18n/index.svelte';
import { session } from '../lib/session.svelte';

function entry(id: number, patch: Partial<RequestLogEntry> = {}): RequestLogEntry {
  return {
    id,
    profileId: 'p1',
    at: '2026-11-24T10:00:00Z',
    method: 'POST',
    path: '/payment/process',
    status: 200,
    latencyMs: 42,
    requestId: `req_${id}`,
    error: null,
    ...patch,
  };
}

describe('RequestLog', () => {
  let announce: (entries: RequestLogEntry[]) => void = () => {};

  beforeEach(() => {
    setLocale('en');
    vi.clearAllMocks();
    session.activeId = 'p1';
    backend.onRequestsLogged.mockImplementation(async (handler: typeof announce) => {
      announce = handler;
      return () => {};
    });
  });

  it('lists the calls with time, method, path, status, latency and request id', async () => {
    backend.requestLog.mockResolvedValue([entry(2), entry(1, { status: null, requestId: null, error: 'timeout' })]);
    render(RequestLog);
    const table = await screen.findByTestId('request-log');
    await waitFor(() => expect(table.querySelectorAll('tbody tr')).toHaveLength(2));
    const first = table.querySelectorAll('tbody tr')[0];
    expect(first).toHaveTextContent('POST');
    expect(first).toHaveTextContent('/payment/process');
    expect(first).toHaveTextContent('200');
    expect(first).toHaveTextContent('42 ms');
    expect(first).toHaveTextContent('req_2');
    expect(table.querySelectorAll('tbody tr')[1]).toHaveTextContent('timeout');
  });

  it('sends the filters to the backend', async () => {
    backend.requestLog.mockResolvedValue([]);
    render(RequestLog);
    await waitFor(() => expect(backend.requestLog).toHaveBeenCalledTimes(1));
    await fireEvent.input(screen.getByLabelText('Search'), { target: { value: 'balance' } });
    await fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'client_error' } });
    await waitFor(() =>
      expect(backend.requestLog).toHaveBeenLastCalledWith({
        search: 'balance',
        method: null,
        status: 'client_error',
        beforeId: null,
        limit: 100,
      }),
    );
    expect(await screen.findByText('No call matches these filters.')).toBeInTheDocument();
  });

  it('shows new calls of the active profile as they are logged', async () => {
    backend.requestLog.mockResolvedValue([entry(1)]);
    render(RequestLog);
    const table = await screen.findByTestId('request-log');
    await screen.findByText('req_1');
    announce([entry(3, { profileId: 'other' }), entry(2, { path: '/oauth/token' })]);
    await waitFor(() => expect(table.querySelectorAll('tbody tr')).toHaveLength(2));
    expect(table.querySelector('tbody tr')).toHaveTextContent('/oauth/token');
  });
});
