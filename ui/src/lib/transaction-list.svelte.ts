import * as api from './api';
import type { TransactionFilter, TransactionPage, TransactionTotals, UserTransaction } from './api';

/** Where the pages come from: the merchant's API (`userTransactions`) or the user's own session. */
export type TransactionPages = (
  userId: string,
  filter: TransactionFilter,
  cursor: string | null,
  limit: number | null,
  loaded: TransactionTotals[],
) => Promise<TransactionPage>;

/**
 * A user's transactions, a server page at a time through the gateway's cursor, as the
 * virtual list scrolls. The gateway counts nothing, so the list is as long as what is
 * loaded, plus one page of placeholders while more exist. The backend adds up what is
 * loaded (`totals`): each page's answer includes the pages before it.
 */
export class TransactionList {
  rows = $state.raw<UserTransaction[]>([]);
  totals = $state.raw<TransactionTotals[]>([]);
  loading = $state(false);
  error = $state<unknown>(null);
  ready = $state(false);
  /** Every page is loaded. */
  done = $state(false);
  pages = $state(0);
  #userId = '';
  #filter: TransactionFilter = {};
  #next: string | null = null;
  #sequence = 0;
  /** The gateway's largest page. */
  readonly pageSize: number;
  readonly #pages: TransactionPages;

  constructor(pageSize = 100, pages: TransactionPages = (...args) => api.userTransactions(...args)) {
    this.pageSize = pageSize;
    this.#pages = pages;
  }

  get filter(): TransactionFilter {
    return this.#filter;
  }

  /** Rows to show: the loaded ones, and placeholders for the next page while one exists. */
  get total(): number {
    return this.done ? this.rows.length : this.rows.length + this.pageSize;
  }

  async reset(userId: string, filter: TransactionFilter): Promise<void> {
    this.#sequence++;
    this.#userId = userId;
    this.#filter = filter;
    this.#next = null;
    this.rows = [];
    this.totals = [];
    this.pages = 0;
    this.done = false;
    this.ready = false;
    this.loading = false;
    this.error = null;
    await this.#fetch();
  }

  async more(): Promise<void> {
    if (this.loading || this.done || !this.ready || this.error) return;
    await this.#fetch();
  }

  /** After a failed page: the same page again. */
  async retry(): Promise<void> {
    this.error = null;
    if (!this.ready) await this.reset(this.#userId, this.#filter);
    else await this.#fetch();
  }

  async #fetch(): Promise<void> {
    const sequence = this.#sequence;
    const cursor = this.#next;
    this.loading = true;
    try {
      const page = await this.#pages(this.#userId, this.#filter, cursor, this.pageSize, this.totals);
      if (sequence !== this.#sequence) return;
      this.rows = cursor ? this.rows.concat(page.items) : page.items;
      this.totals = page.loadedTotals;
      this.pages += 1;
      this.#next = page.nextCursor;
      this.done = page.nextCursor == null;
      this.ready = true;
      this.error = null;
    } catch (error) {
      if (sequence === this.#sequence) this.error = error;
    } finally {
      if (sequence === this.#sequence) this.loading = false;
    }
  }
}
