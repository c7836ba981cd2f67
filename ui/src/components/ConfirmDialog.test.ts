import { fireEvent, render, screen } from '@testing-library/svelte';
import { beforeEach, describe, expect, it } from 'vitest';
import ConfirmDialog from './ConfirmDialog.svelte';
import { ask } from '../lib/confirm.svelte';
import { setLocale } from '../lib/i18n/index.svelte';

describe('ConfirmDialog', () => {
  beforeEach(() => setLocale('en'));

  it('answers true on confirm and closes', async () => {
    render(ConfirmDialog);
    const answer = ask('Remove the profile “Shop”?', 'Remove');
    const dialog = await screen.findByRole('alertdialog');
    expect(dialog).toHaveAccessibleDescription('Remove the profile “Shop”?');
    expect(screen.getByTestId('confirm-cancel')).toHaveFocus();
    await fireEvent.click(screen.getByRole('button', { name: 'Remove' }));
    expect(await answer).toBe(true);
    expect(screen.queryByRole('alertdialog')).toBeNull();
  });

  it('answers false on Escape', async () => {
    render(ConfirmDialog);
    const answer = ask('Clear?', 'Clear log');
    await fireEvent.keyDown(await screen.findByRole('alertdialog'), { key: 'Escape' });
    expect(await answer).toBe(false);
  });
});
