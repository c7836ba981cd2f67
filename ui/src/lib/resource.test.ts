import { describe, expect, it } from 'vitest';
import { Resource } from './resource.svelte';

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('Resource', () => {
  it('keeps the newest answer when an older one arrives late', async () => {
    const slow = deferred<string>();
    const fast = deferred<string>();
    const queue = [slow.promise, fast.promise];
    const resource = new Resource(() => queue.shift()!);

    const first = resource.load();
    const second = resource.load();
    fast.resolve('profile B');
    await second;
    slow.resolve('profile A');
    await first;

    expect(resource.data).toBe('profile B');
    expect(resource.loading).toBe(false);
  });

  it('records an error and clears it on the next success', async () => {
    let fail = true;
    const resource = new Resource(async () => {
      if (fail) throw new Error('offline');
      return 1;
    });
    await resource.load();
    expect((resource.error as Error).message).toBe('offline');
    fail = false;
    await resource.load();
    expect(resource.error).toBeUndefined();
    expect(resource.data).toBe(1);
  });
});
