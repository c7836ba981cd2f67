import { fireEvent, render, screen } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const backend = vi.hoisted(() => ({ saveSettings: vi.fn() }));
vi.mock('../lib/api', () => backend);

import LanguageSwitch from './LanguageSwitch.svelte';
import { getLocale, setLocale } from '../lib/i18n/index.svelte';
import { session } from '../lib/session.svelte';

describe('LanguageSwitch', () => {
  beforeEach(() => {
    setLocale('en');
    session.settings = { language: null, theme: 'system', askExportPath: false };
    backend.saveSettings.mockImplementation(async (settings) => settings);
  });

  it('switches the language at once and remembers the choice', async () => {
    render(LanguageSwitch);
    const select = screen.getByTestId('language-switch');
    expect(select).toHaveAccessibleName('Language');
    await fireEvent.change(select, { target: { value: 'ja' } });
    expect(getLocale()).toBe('ja');
    expect(document.documentElement.lang).toBe('ja');
    expect(await screen.findByText('言語')).toBeInTheDocument();
    expect(backend.saveSettings).toHaveBeenCalledWith({ language: 'ja', theme: 'system', askExportPath: false });
  });
});
