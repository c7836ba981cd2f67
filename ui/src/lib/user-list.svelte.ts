import * as api from './api';
import type { DirectoryUser, TabCounts, UserFilter, UserSort } from './api';

/**
 * The Users list's rows, fetched a page at a time from the local directory as the virtual
 * list scrolls. The first page brings the total and the status tabs' counts, so the scroll
 * bar has its full length and the tabs their numbers at once.
 *
 * A new filter keeps the last answer on screen, marked loading, until its own first page
 * replaces it: the list never flashes empty nor counts "0 users" while a search runs.
 */
export class UserList {
  rows = $state.raw<DirectoryUser[]>([]);
  total = $state(0);
  counts = $state.raw<TabCounts | null>(null);
  /** A first page is on its way (a new filter, or the same one reloaded); not the next pages. */
  loading = $state(false);
  error = $state<unknown>(null);
  /** The first page of the current filter has arrived. */
  ready = $state(false);
  /** Counts the new lists shown (not reloads, nor next pages), for the view to start at the top. */
  generation = $state(0);
  #filter: UserFilter | null = null;
  #sort: UserSort = { by: 'created_at', descending: true };
  #next: string | null = null;
  #done = false;
  #fetching = false;
  #sequence = 0;
  // A screenful with room to scroll: every row more in a first page is IPC time before
  // anything shows. The rest come in larger pages while the view scrolls.
  readonly firstPage: number;
  readonly nextPages: number;

  constructor(firstPage = 80, nextPages = 400) {
    this.firstPage = firstPage;
    this.nextPages = nextPages;
  }

  get filter(): UserFilter | null {
    return this.#filter;
  }

  /** Starts over with a new filter or sort (or the same, after a profile switch), at the top. */
  async reset(filter: UserFilter, sort: UserSort): Promise<void> {
    this.#filter = filter;
    this.#sort = sort;
    this.ready = false;
    await this.#first(true);
  }

  /** The same filter again (users added or removed), where the view is. */
  async reload(): Promise<void> {
    if (this.#filter) await this.#first(false);
  }

  async #first(fresh: boolean): Promise<void> {
    this.#sequence++;
    this.#next = null;
    this.#done = false;
    this.loading = true;
    await this.#fetch(fresh);
  }

  /** The next page, unless a page is on its way or everything is loaded. */
  async more(): Promise<void> {
    if (this.#fetching || this.#done || !this.ready) return;
    await this.#fetch(false);
  }

  async #fetch(fresh: boolean): Promise<void> {
    const filter = this.#filter;
    if (!filter) return;
    const sequence = this.#sequence;
    const cursor = this.#next;
    this.#fetching = true;
    try {
      const page = await api.usersPage(filter, this.#sort, cursor, cursor ? this.nextPages : this.firstPage);
      if (sequence !== this.#sequence) return;
      this.rows = cursor ? this.rows.concat(page.rows) : page.rows;
      if (fresh) this.generation++;
      if (page.total != null) this.total = page.total;
      if (page.tabs) this.counts = page.tabs;
      this.#next = page.next;
      this.#done = page.next == null;
      this.total = this.#done ? this.rows.length : Math.max(this.total, this.rows.length);
      this.ready = true;
      this.error = null;
    } catch (error) {
      if (sequence !== this.#sequence) return;
      this.error = error;
      // The last filter's rows must not stand for this one's.
      if (fresh) {
        this.rows = [];
        this.total = 0;
      }
    } finally {
      if (sequence === this.#sequence) {
        this.#fetching = false;
        this.loading = false;
      }
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
