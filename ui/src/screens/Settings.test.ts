import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const backend = vi.hoisted(() => ({
  paymentLinkDefaults: vi.fn(),
  savePaymentLinkDefaults: vi.fn(),
  saveSettings: vi.fn(),
}));
vi.mock('../lib/api', () => backend);

import Settings from './Settings.svelte';
import { setLocale } from '../lib/i18n/index.svelte';
import { session } from '../lib/session.svelte';

describe('Settings', () => {
  beforeEach(() => {
    setLocale('en');
    vi.clearAllMocks();
    session.profiles = [];
    session.settings = { language: 'en', theme: 'system', askExportPath: false };
    backend.paymentLinkDefaults.mockResolvedValue({
      custom: 'ORD-1',
      successUrl: null,
      cancelUrl: null,
      webhookUrl: null,
      listenerUrl: null,
      standInSuccessUrl: null,
      standInCancelUrl: null,
    });
    backend.saveSettings.mockImplementation(async (settings) => settings);
  });

  it('exports to Downloads until asked to offer a file each time, and keeps the choice', async () => {
    render(Settings);
    const ask = screen.getByTestId('settings-export-ask');
    expect(ask).not.toBeChecked();
    expect(screen.getByText(/saved straight to your Downloads folder/)).toBeInTheDocument();
    await fireEvent.click(ask);
    await waitFor(() =>
      expect(backend.saveSettings).toHaveBeenCalledWith({ language: 'en', theme: 'system', askExportPath: true }),
    );
    expect(session.settings?.askExportPath).toBe(true);
    expect(ask).toBeChecked();
  });

  it('shows why a setting could not be saved', async () => {
    backend.saveSettings.mockRejectedValue(new Error('local database: disk full'));
    render(Settings);
    await fireEvent.click(screen.getByTestId('settings-export-ask'));
    expect(await screen.findByText(/disk full/)).toBeInTheDocument();
    expect(screen.getByTestId('settings-export-ask')).not.toBeChecked();
  });
});
