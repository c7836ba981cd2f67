/**
 * One screen's data: loading state, the last value and the last error. A newer `load()`
 * wins over a slower older one, so switching profile never shows the previous profile's data.
 */
export class Resource<T> {
  data = $state<T | undefined>();
  error = $state<unknown>();
  loading = $state(false);
  #fetch: () => Promise<T>;
  #sequence = 0;

  constructor(fetch: () => Promise<T>) {
    this.#fetch = fetch;
  }

  async load(): Promise<void> {
    const sequence = ++this.#sequence;
    this.loading = true;
    try {
      const value = await this.#fetch();
      if (sequence !== this.#sequence) return;
      this.data = value;
      this.error = undefined;
    } catch (error) {
      if (sequence !== this.#sequence) return;
      this.error = error;
    } finally {
      if (sequence === this.#sequence) this.loading = false;
    }
  }

  /** Forgets the previous profile's data so it is never shown under the new one. */
  reset(): void {
    this.#sequence++;
    this.data = undefined;
    this.error = undefined;
    this.loading = false;
  }
}
