import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { UserCreated } from '../lib/api';

const backend = vi.hoisted(() => ({ createUser: vi.fn() }));
vi.mock('../lib/api', () => backend);

import UserForm from './UserForm.svelte';
import { ApiError } from '../lib/errors';
import { setLocale } from '../lib/i18n/index.svelte';

const created: UserCreated = {
  replayed: false,
  user: {
    userId: 'usr_new',
    name: '山田 花子',
    email: 'hanako@example.jp',
    phone: '+81312345678',
    country: 'JP',
    kycStatus: 'not_started',
    createdAt: '2026-11-24T10:00:00Z',
    balances: [],
    balancesFetchedAt: null,
    gone: false,
  },
};

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

async function fill(values: Partial<Record<'name' | 'email' | 'phone', string>> & { country?: string }) {
  for (const [field, value] of Object.entries(values)) {
    const element = screen.getByTestId(`user-${field}`);
    if (field === 'country') await fireEvent.change(element, { target: { value } });
    else await fireEvent.input(element, { target: { value } });
  }
}

const apiError = (kind: string, message: string, fields: Record<string, string[]> = {}, status = 422) =>
  new ApiError({ kind: kind as never, message, fields, status, requestId: 'req_1' });

describe('UserForm', () => {
  beforeEach(() => {
    setLocale('en');
    vi.clearAllMocks();
    location.hash = '#/users/new';
  });

  it('shows every problem inline before sending anything', async () => {
    render(UserForm);
    await fill({ name: '', email: 'not-an-email', phone: '03-1234-5678' });
    await fireEvent.click(screen.getByTestId('user-submit'));
    expect(screen.getByTestId('user-name-error')).toHaveTextContent('Required.');
    expect(screen.getByTestId('user-email-error')).toHaveTextContent('Enter a valid email address.');
    expect(screen.getByTestId('user-phone-error')).toHaveTextContent('international form');
    expect(screen.getByTestId('user-email')).toHaveAttribute('aria-invalid', 'true');
    expect(backend.createUser).not.toHaveBeenCalled();
  });

  it('creates the user with clean values and opens its page', async () => {
    backend.createUser.mockResolvedValue(created);
    render(UserForm);
    await fill({ name: ' 山田 花子 ', email: 'Hanako@Example.jp', phone: '+81 3-1234-5678', country: 'JP' });
    await fireEvent.click(screen.getByTestId('user-submit'));
    await waitFor(() => expect(location.hash).toBe('#/users/usr_new'));
    expect(backend.createUser).toHaveBeenCalledWith({
      name: '山田 花子',
      email: 'hanako@example.jp',
      phone: '+81312345678',
      country: 'JP',
    });
  });

  it('sends once on a double click and disables the button while sending', async () => {
    const answer = deferred<UserCreated>();
    backend.createUser.mockReturnValue(answer.promise);
    render(UserForm);
    await fill({ name: 'Hanako', email: 'hanako@example.jp' });
    const submit = screen.getByTestId('user-submit');
    await fireEvent.click(submit);
    await fireEvent.click(submit);
    expect(submit).toBeDisabled();
    expect(submit).toHaveTextContent('Creating…');
    answer.resolve(created);
    await waitFor(() => expect(location.hash).toBe('#/users/usr_new'));
    expect(backend.createUser).toHaveBeenCalledTimes(1);
  });

  it('puts a duplicate email’s 409 on the email field', async () => {
    backend.createUser.mockRejectedValue(
      apiError('conflict', 'A user with this email already exists.', {}, 409),
    );
    render(UserForm);
    await fill({ name: 'Hanako', email: 'taken@example.jp' });
    await fireEvent.click(screen.getByTestId('user-submit'));
    expect(await screen.findByTestId('user-email-error')).toHaveTextContent('A user with this email already exists.');
    expect(screen.queryByTestId('user-form-error')).toBeNull();
    // Editing the email clears the gateway's complaint about it.
    await fill({ email: 'other@example.jp' });
    expect(screen.queryByTestId('user-email-error')).toBeNull();
  });

  it('puts the gateway’s 422 field errors on their fields', async () => {
    backend.createUser.mockRejectedValue(
      apiError('validation', 'Invalid', {
        phone: ['The phone must be in E.164 form, such as +81312345678.'],
        country: ['The country must be an ISO 3166-1 alpha-2 code, such as JP.'],
      }),
    );
    render(UserForm);
    await fill({ name: 'Hanako', email: 'hanako@example.jp', phone: '+81312345678' });
    await fireEvent.click(screen.getByTestId('user-submit'));
    expect(await screen.findByTestId('user-phone-error')).toHaveTextContent('E.164');
    expect(screen.getByTestId('user-country-error')).toHaveTextContent('ISO 3166-1');
    expect(screen.getByTestId('user-form-error')).toHaveTextContent('Some fields need attention.');
  });

  it('says when the gateway did not answer, and sends the same request again on the next submit', async () => {
    backend.createUser.mockRejectedValueOnce(apiError('timeout', 'The gateway did not answer in time.', {}, 0));
    render(UserForm);
    await fill({ name: 'Hanako', email: 'hanako@example.jp' });
    await fireEvent.click(screen.getByTestId('user-submit'));
    expect(await screen.findByTestId('user-form-error')).toHaveTextContent('did not answer in time');
    // The backend recorded the attempt: the retry finds the user instead of creating a second.
    backend.createUser.mockResolvedValueOnce({ ...created, replayed: true });
    await fireEvent.click(screen.getByTestId('user-submit'));
    await waitFor(() => expect(location.hash).toBe('#/users/usr_new'));
    expect(backend.createUser.mock.calls[1]).toEqual(backend.createUser.mock.calls[0]);
  });
});
