import { fireEvent, render, screen } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const licences = vi.hoisted(() => ({ loadLicences: vi.fn() }));
vi.mock('../lib/licenses', () => licences);

import About from './About.svelte';
import { BUILD_COMMIT } from '../lib/build';
import { setLocale } from '../lib/i18n/index.svelte';
import { session } from '../lib/session.svelte';

const LIST = {
  rust: [
    { licence: 'Apache-2.0 OR MIT', text: 'Permission is hereby granted…', components: ['serde 1.0.0', 'tokio 1.0.0'] },
    { licence: 'Unicode-3.0', text: 'UNICODE LICENSE V3', components: ['icu_normalizer 2.0.0'] },
  ],
  npm: [{ licence: 'MIT', text: 'Copyright (c) Svelte contributors', components: ['svelte 5.0.0'] }],
};

describe('About', () => {
  beforeEach(() => {
    setLocale('en');
    vi.clearAllMocks();
    session.version = '0.1.0';
  });

  it('shows the version from the backend and the commit the UI was built from', () => {
    render(About);
    expect(screen.getByTestId('about-version')).toHaveTextContent('0.1.0');
    expect(screen.getByTestId('about-commit')).toHaveTextContent(BUILD_COMMIT);
    // The build's commit, or "unknown" outside git: never empty.
    expect(BUILD_COMMIT).toMatch(/^([0-9a-f]{7,}|unknown)$/);
  });

  it('loads the licences only when asked, and opens a text on demand', async () => {
    licences.loadLicences.mockResolvedValue(LIST);
    render(About);
    expect(licences.loadLicences).not.toHaveBeenCalled();
    await fireEvent.click(screen.getByTestId('about-licences-show'));
    const rust = await screen.findByTestId('about-licences-rust');
    expect(rust).toHaveAttribute('data-components', '3');
    expect(rust).toHaveTextContent('3 components');
    expect(rust).toHaveTextContent('serde 1.0.0, tokio 1.0.0');
    expect(screen.getByTestId('about-licences-npm')).toHaveTextContent('1 component');
    expect(screen.queryByText('UNICODE LICENSE V3')).toBeNull();

    const details = screen.getByText('Unicode-3.0').closest('details');
    if (!details) throw new Error('no details element');
    details.open = true;
    await fireEvent(details, new Event('toggle'));
    expect(await screen.findByText('UNICODE LICENSE V3')).toBeInTheDocument();
  });

  it('says why the list could not be loaded, and tries again', async () => {
    licences.loadLicences.mockRejectedValueOnce(new Error('module not found')).mockResolvedValueOnce(LIST);
    render(About);
    await fireEvent.click(screen.getByTestId('about-licences-show'));
    expect(await screen.findByText(/module not found/)).toBeInTheDocument();
    await fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
    expect(await screen.findByTestId('about-licences-npm')).toBeInTheDocument();
  });

  it('speaks Japanese', () => {
    setLocale('ja');
    render(About);
    expect(screen.getByRole('heading', { name: 'このアプリについて' })).toBeInTheDocument();
    expect(screen.getByTestId('about-licences-show')).toHaveTextContent('ライセンスを表示');
  });
});
