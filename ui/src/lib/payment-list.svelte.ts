import { SvelteSet } from 'svelte/reactivity';
import * as api from './api';
import type { LedgerFilter, LedgerPayment } from './api';
import { matchesFilter } from './payments';

/**
 * The Payments list's rows, fetched page by page (keyset cursors, newest first) as the
 * virtual list scrolls towards the end of what is loaded. `total` comes with the first
 * page, so the scroll bar has its full length from the start.
 */
export class PaymentList {
  rows = $state.raw<LedgerPayment[]>([]);
  total = $state(0);
  loading = $state(false);
  error = $state<unknown>(null);
  /** The first page of the current filter has arrived. */
  ready = $state(false);
  /** Rows changed live in the last moments, which the list highlights. */
  readonly changed = new SvelteSet<number>();
  #filter: LedgerFilter = {};
  #next: string | null = null;
  #done = false;
  #sequence = 0;
  /** The first page is small so rows show at once; later ones are bigger so a jump far down catches up fast. */
  readonly firstPage: number;
  readonly nextPages: number;

  constructor(firstPage = 200, nextPages = 500) {
    this.firstPage = firstPage;
    this.nextPages = nextPages;
  }

  get filter(): LedgerFilter {
    return this.#filter;
  }

  /** Starts over with a new filter (or the same one, after a profile switch). */
  async reset(filter: LedgerFilter): Promise<void> {
    this.#sequence++;
    this.#filter = filter;
    this.#next = null;
    this.#done = false;
    this.rows = [];
    this.total = 0;
    this.ready = false;
    this.loading = false;
    await this.#fetch();
  }

  /** The next page, unless one is on its way or everything is loaded. */
  async more(): Promise<void> {
    if (this.loading || this.#done || !this.ready) return;
    await this.#fetch();
  }

  async #fetch(): Promise<void> {
    const sequence = this.#sequence;
    const cursor = this.#next;
    this.loading = true;
    try {
      const page = await api.paymentsPage(this.#filter, cursor, cursor ? this.nextPages : this.firstPage);
      if (sequence !== this.#sequence) return;
      this.rows = cursor ? this.rows.concat(page.rows) : page.rows;
      if (page.total != null) this.total = page.total;
      this.#next = page.next;
      this.#done = page.next == null;
      // Rows added or removed since the first page was counted: the last page settles it.
      this.total = this.#done ? this.rows.length : Math.max(this.total, this.rows.length);
      this.ready = true;
      this.error = null;
    } catch (error) {
      if (sequence === this.#sequence) this.error = error;
    } finally {
      if (sequence === this.#sequence) this.loading = false;
    }
  }

  /**
   * A payment changed at the backend: its row is replaced where it is, and a new one that
   * belongs under the filter goes on top (it is the newest).
   */
  apply(payment: LedgerPayment): void {
    const index = this.rows.findIndex((row) => row.id === payment.id);
    if (index >= 0) {
      const rows = this.rows.slice();
      rows[index] = payment;
      this.rows = rows;
      this.#highlight(payment.id);
      return;
    }
    if (!this.ready || !matchesFilter(payment, this.#filter)) return;
    const newest = this.rows[0];
    if (newest && Date.parse(payment.createdAt) < Date.parse(newest.createdAt)) return;
    this.rows = [payment, ...this.rows];
    this.total += 1;
    this.#highlight(payment.id);
  }

  #highlight(id: number): void {
    this.changed.add(id);
    setTimeout(() => this.changed.delete(id), 2500);
  }
}
