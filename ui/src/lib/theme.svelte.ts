import type { Theme } from './api';

// The effective theme is written to <html data-theme>, so CSS has one dark palette whether
// it comes from the OS or from the user's choice in Settings.
const query = typeof matchMedia === 'undefined' ? null : matchMedia('(prefers-color-scheme: dark)');
let preference: Theme = 'system';

function apply() {
  const dark = preference === 'dark' || (preference === 'system' && (query?.matches ?? false));
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
}

query?.addEventListener('change', apply);

export function setTheme(theme: Theme): void {
  preference = theme;
  apply();
}
