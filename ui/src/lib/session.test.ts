import { beforeEach, describe, expect, it, vi } from 'vitest';

const backend = vi.hoisted(() => ({ deskState: vi.fn(), overview: vi.fn() }));
vi.mock('./api', () => backend);

import { prefetch, refresh, session, takeEarlyOverview } from './session.svelte';

const STATE = {
  profiles: [],
  activeProfileId: 'p1',
  keychain: { state: 'available', backend: 'Secret Service' },
  settings: { language: 'en', theme: 'system', askExportPath: false },
  version: '0.1.0',
};

describe('prefetch', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    session.generation = 0;
    backend.deskState.mockResolvedValue(STATE);
    backend.overview.mockResolvedValue({ userCount: 3 });
  });

  it('asks once before the first render; the first refresh and Overview take those answers', async () => {
    prefetch('overview');
    expect(backend.deskState).toHaveBeenCalledTimes(1);
    expect(backend.overview).toHaveBeenCalledTimes(1);
    await refresh();
    expect(session.activeId).toBe('p1');
    expect(backend.deskState).toHaveBeenCalledTimes(1);
    await expect(takeEarlyOverview()).resolves.toEqual({ userCount: 3 });
    // Each answer is used once: later loads ask again.
    expect(takeEarlyOverview()).toBeNull();
    await refresh();
    expect(backend.deskState).toHaveBeenCalledTimes(2);
  });

  it('asks for no Overview when the first screen is another, and none survives a profile switch', () => {
    prefetch('payments');
    expect(backend.overview).not.toHaveBeenCalled();
    expect(takeEarlyOverview()).toBeNull();
    prefetch('overview');
    session.generation = 1;
    expect(takeEarlyOverview()).toBeNull();
  });
});
