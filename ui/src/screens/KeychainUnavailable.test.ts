import { fireEvent, render, screen } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import KeychainUnavailable from './KeychainUnavailable.svelte';
import { setLocale } from '../lib/i18n/index.svelte';

describe('KeychainUnavailable', () => {
  beforeEach(() => setLocale('en'));

  it('says what is wrong, how to fix it on each OS, and that the sandbox still runs', async () => {
    const onretry = vi.fn();
    render(KeychainUnavailable, {
      problem: 'locked',
      detail: 'NoStorageAccess: the collection is locked',
      onretry,
      oncontinue: vi.fn(),
    });
    const screenEl = screen.getByTestId('keychain-unavailable');
    expect(screenEl).toHaveTextContent('The keychain is locked, or access to it was denied.');
    expect(screenEl).toHaveTextContent('NoStorageAccess: the collection is locked');
    expect(screenEl).toHaveTextContent('gnome-keyring');
    expect(screenEl).toHaveTextContent('KeePassXC');
    expect(screenEl).toHaveTextContent('“login” keychain');
    expect(screenEl).toHaveTextContent('Credential Manager');
    expect(screenEl).toHaveTextContent('held in memory only');
    await fireEvent.click(screen.getByRole('button', { name: 'Check again' }));
    expect(onretry).toHaveBeenCalledOnce();
  });
});
