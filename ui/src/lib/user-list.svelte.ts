import * as api from './api';
import type { DirectoryUser, TabCounts, UserFilter, UserSort } from './api';

/**
 * The Users list's rows, fetched a page at a time from the local directory as the virtual
 * list scrolls. The first page brings the total and the status tabs' counts, so the scroll
 * bar has its full length and the tabs their numbers at once.
 */
export class UserList {
  rows = $state.raw<DirectoryUser[]>([]);
  total = $state(0);
  counts = $state.raw<TabCounts | null>(null);
  loading = $state(false);
  error = $state<unknown>(null);
  /** The first page of the current filter has arrived. */
  ready = $state(false);
  #filter: UserFilter | null = null;
  #sort: UserSort = { by: 'created_at', descending: true };
  #next: string | null = null;
  #done = false;
  #sequence = 0;
  readonly firstPage: number;
  readonly nextPages: number;

  constructor(firstPage = 200, nextPages = 500) {
    this.firstPage = firstPage;
    this.nextPages = nextPages;
  }

  get filter(): UserFilter | null {
    return this.#filter;
  }

  /** Starts over with a new filter or sort (or the same, after a profile switch). */
  async reset(filter: UserFilter, sort: UserSort): Promise<void> {
    this.#sequence++;
    this.#filter = filter;
    this.#sort = sort;
    this.#next = null;
    this.#done = false;
    this.rows = [];
    this.total = 0;
    this.ready = false;
    this.loading = false;
    await this.#fetch();
  }

  /** The same filter again (users added or removed), keeping the rows until the answer replaces them. */
  async reload(): Promise<void> {
    if (!this.#filter) return;
    this.#sequence++;
    this.#next = null;
    this.#done = false;
    await this.#fetch();
  }

  /** The next page, unless one is on its way or everything is loaded. */
  async more(): Promise<void> {
    if (this.loading || this.#done || !this.ready) return;
    await this.#fetch();
  }

  async #fetch(): Promise<void> {
    const filter = this.#filter;
    if (!filter) return;
    const sequence = this.#sequence;
    const cursor = this.#next;
    this.loading = true;
    try {
      const page = await api.usersPage(filter, this.#sort, cursor, cursor ? this.nextPages : this.firstPage);
      if (sequence !== this.#sequence) return;
      this.rows = cursor ? this.rows.concat(page.rows) : page.rows;
      if (page.total != null) this.total = page.total;
      if (page.tabs) this.counts = page.tabs;
      this.#next = page.next;
      this.#done = page.next == null;
      this.total = this.#done ? this.rows.length : Math.max(this.total, this.rows.length);
      this.ready = true;
      this.error = null;
    } catch (error) {
      if (sequence === this.#sequence) this.error = error;
    } finally {
      if (sequence === this.#sequence) this.loading = false;
    }
  }

  /** Rows changed at the backend (balances fetched, profile edited, found gone): replaced where they are. */
  apply(users: readonly DirectoryUser[]): void {
    const byId: Record<string, DirectoryUser> = Object.fromEntries(users.map((user) => [user.userId, user]));
    let changed = false;
    const rows = this.rows.map((row) => {
      const fresh = byId[row.userId];
      if (!fresh) return row;
      changed = true;
      return fresh;
    });
    if (changed) this.rows = rows;
  }
}
