import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import ConfirmDialog from './ConfirmDialog.svelte';
import ProfileForm from './ProfileForm.svelte';
import type { Profile, ProfileInput } from '../lib/api';
import { ApiError } from '../lib/errors';
import { setLocale } from '../lib/i18n/index.svelte';

const stored: Profile = {
  id: 'p1',
  name: 'Shop',
  mode: 'test',
  baseUrl: 'https://payment.example.jp',
  embedded: false,
  accessKey: '••••8883',
  secretKey: '••••3883',
  clientId: 'client-1',
  clientSecret: '••••abcd',
  publicClientId: 'public-1',
  secretsIn: 'keychain',
  merchantId: null,
  createdAt: '2026-11-24T10:00:00Z',
  updatedAt: '2026-11-24T10:00:00Z',
};

function setup(profile: Profile | null, overrides: Partial<Record<'onsave' | 'ontest', unknown>> = {}) {
  const onsave = (overrides.onsave as (input: ProfileInput) => Promise<void>) ?? vi.fn(async () => {});
  const ontest = (overrides.ontest as () => Promise<string>) ?? vi.fn(async () => 'https://x answered in 12 ms.');
  render(ProfileForm, { profile, onsave, ontest, onremove: vi.fn(async () => {}), oncancel: vi.fn() });
  return { onsave, ontest };
}

async function type(testid: string, value: string) {
  await fireEvent.input(screen.getByTestId(testid), { target: { value } });
}

describe('ProfileForm', () => {
  beforeEach(() => setLocale('en'));

  it('refuses to save a new profile with missing fields and says which', async () => {
    const { onsave } = setup(null);
    await type('profile-base-url', 'ftp://nope');
    await fireEvent.click(screen.getByTestId('profile-save'));
    expect(onsave).not.toHaveBeenCalled();
    expect(screen.getByTestId('profile-name')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByTestId('profile-base-url')).toHaveAccessibleDescription(
      'Enter an http:// or https:// URL.',
    );
    expect(screen.getByTestId('profile-secret-key')).toHaveAttribute('aria-invalid', 'true');
  });

  it('asks for https:// in active mode, as the backend does', async () => {
    const { onsave } = setup(stored);
    await fireEvent.change(screen.getByTestId('profile-mode'), { target: { value: 'active' } });
    await type('profile-base-url', 'http://payment.example.jp');
    await fireEvent.click(screen.getByTestId('profile-save'));
    expect(onsave).not.toHaveBeenCalled();
    expect(screen.getByTestId('profile-base-url')).toHaveAccessibleDescription(
      'Active mode moves real money: use an https:// URL.',
    );
  });

  it('keeps the embedded sandbox’s address and mode fixed', () => {
    setup({ ...stored, embedded: true, baseUrl: 'http://127.0.0.1:41823' });
    expect(screen.getByTestId('profile-base-url')).toHaveAttribute('readonly');
    expect(screen.getByTestId('profile-mode')).toBeDisabled();
    expect(screen.queryByTestId('profile-remove')).toBeNull();
  });

  it('sends every typed credential of a new profile', async () => {
    const { onsave } = setup(null);
    await type('profile-name', ' Tokyo shop ');
    await fireEvent.change(screen.getByTestId('profile-mode'), { target: { value: 'active' } });
    await type('profile-base-url', 'https://payment.example.jp');
    await type('profile-access-key', 'ak');
    await type('profile-secret-key', 'sk');
    await type('profile-client-id', 'cid');
    await type('profile-client-secret', 'cs');
    await fireEvent.click(screen.getByTestId('profile-save'));
    expect(onsave).toHaveBeenCalledWith({
      name: 'Tokyo shop',
      mode: 'active',
      baseUrl: 'https://payment.example.jp',
      accessKey: 'ak',
      secretKey: 'sk',
      clientId: 'cid',
      clientSecret: 'cs',
      publicClientId: '',
    });
  });

  it('shows stored secrets only masked and never pre-fills them', () => {
    setup(stored);
    const secret = screen.getByTestId('profile-secret-key') as HTMLInputElement;
    expect(secret.type).toBe('password');
    expect(secret.value).toBe('');
    expect(secret.placeholder).toBe('••••3883');
    expect(screen.getByText('Stored: ••••3883. Leave blank to keep it.')).toBeInTheDocument();
  });

  it('sends a secret only when a new one was typed', async () => {
    const { onsave } = setup(stored);
    await type('profile-secret-key', 'new-secret');
    await fireEvent.click(screen.getByTestId('profile-save'));
    expect(onsave).toHaveBeenCalledWith(
      expect.objectContaining({ accessKey: null, secretKey: 'new-secret', clientSecret: null }),
    );
    await waitFor(() => expect(screen.getByText('Profile saved.')).toBeInTheDocument());
    expect((screen.getByTestId('profile-secret-key') as HTMLInputElement).value).toBe('');
  });

  it('shows the backend’s per-field validation messages on the fields', async () => {
    const onsave = vi.fn(async () => {
      throw new ApiError({
        kind: 'validation',
        message: 'invalid profile',
        fields: { base_url: ['The host does not answer.'] },
        status: null,
        requestId: null,
      });
    });
    setup(stored, { onsave });
    await fireEvent.click(screen.getByTestId('profile-save'));
    await waitFor(() =>
      expect(screen.getByTestId('profile-base-url')).toHaveAccessibleDescription('The host does not answer.'),
    );
  });

  it('reports the exact success and failure of Test connection', async () => {
    const ontest = vi
      .fn<() => Promise<string>>()
      .mockResolvedValueOnce('https://payment.example.jp answered in 42 ms.')
      .mockRejectedValueOnce(
        new ApiError({
          kind: 'unauthorized',
          message: 'Invalid API credentials.',
          fields: {},
          status: 401,
          requestId: 'req_1',
        }),
      );
    setup(stored, { ontest });
    await fireEvent.click(screen.getByTestId('profile-test'));
    await waitFor(() =>
      expect(screen.getByTestId('profile-test-result')).toHaveTextContent(
        'Connection OK: an OAuth token was obtained. https://payment.example.jp answered in 42 ms.',
      ),
    );
    expect(screen.getByTestId('profile-test-result')).toHaveAttribute('data-state', 'ok');
    await fireEvent.click(screen.getByTestId('profile-test'));
    await waitFor(() =>
      expect(screen.getByTestId('profile-test-result')).toHaveTextContent(
        'Connection failed: Invalid API credentials.',
      ),
    );
    expect(screen.getByTestId('profile-test-result')).toHaveAttribute('data-state', 'failed');
  });

  it('removes a profile only after the user confirms', async () => {
    const onremove = vi.fn(async () => {});
    render(ConfirmDialog);
    render(ProfileForm, { profile: stored, onsave: vi.fn(), ontest: vi.fn(), onremove, oncancel: vi.fn() });
    await fireEvent.click(screen.getByTestId('profile-remove'));
    await fireEvent.click(await screen.findByTestId('confirm-cancel'));
    expect(onremove).not.toHaveBeenCalled();
    await fireEvent.click(screen.getByTestId('profile-remove'));
    await fireEvent.click(await screen.findByTestId('confirm-accept'));
    await waitFor(() => expect(onremove).toHaveBeenCalledOnce());
  });

  it('offers Test connection and Remove only for a saved profile', () => {
    setup(null);
    expect(screen.queryByTestId('profile-test')).toBeNull();
    expect(screen.queryByTestId('profile-remove')).toBeNull();
  });
});
