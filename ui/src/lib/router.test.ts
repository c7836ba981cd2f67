import { describe, expect, it } from 'vitest';
import { href, parseHash } from './router.svelte';

describe('parseHash', () => {
  it('reads the screen and its parameters', () => {
    expect(parseHash('#/request-log')).toEqual({ screen: 'request-log', params: [] });
    expect(parseHash('#/payments/AIY%2Fz')).toEqual({ screen: 'payments', params: ['AIY/z'] });
  });

  it('opens the Overview for an empty or unknown hash', () => {
    expect(parseHash('')).toEqual({ screen: 'overview', params: [] });
    expect(parseHash('#/nowhere')).toEqual({ screen: 'overview', params: [] });
  });

  it('builds links that parse back', () => {
    expect(parseHash(href('payments', 'a b'))).toEqual({ screen: 'payments', params: ['a b'] });
  });
});
