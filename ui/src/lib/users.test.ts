import { describe, expect, it } from 'vitest';
import {
  NO_TRANSACTION_FILTERS,
  NO_USER_FILTERS,
  isCredit,
  isUserFiltered,
  tabCount,
  transactionFilter,
  userFilter,
  userSort,
} from './users';

describe('userFilter and userSort', () => {
  it('send nothing for an empty bar, and no tab for All', () => {
    expect(userFilter(NO_USER_FILTERS, 'all')).toEqual({
      search: null,
      tab: null,
      kycStatus: null,
      country: null,
      currency: null,
    });
    expect(userSort(NO_USER_FILTERS)).toEqual({ by: 'created_at', currency: null, descending: true });
    expect(isUserFiltered(NO_USER_FILTERS)).toBe(false);
  });

  it('trim the search, keep the tab, and sort balances in the currency filtered on', () => {
    const filters = { ...NO_USER_FILTERS, search: '  090-1234 ', currency: 'USD' as const, sort: 'balance_desc' as const };
    expect(userFilter(filters, 'waiting')).toMatchObject({ search: '090-1234', tab: 'waiting', currency: 'USD' });
    expect(userSort(filters)).toEqual({ by: 'balance', currency: 'USD', descending: true });
    expect(userSort({ ...filters, sort: 'name' })).toMatchObject({ by: 'name', descending: false });
    expect(userSort({ ...filters, sort: 'created_asc' })).toMatchObject({ by: 'created_at', descending: false });
    expect(isUserFiltered(filters)).toBe(true);
  });

  it('read each tab’s count', () => {
    const counts = { all: 10, needsAction: 5, waiting: 3, approved: 2 };
    expect(['all', 'needs_action', 'waiting', 'approved'].map((tab) => tabCount(counts, tab as never))).toEqual([
      10, 5, 3, 2,
    ]);
  });
});

describe('transactionFilter', () => {
  it('turns local calendar days into the instants that bound them', () => {
    expect(transactionFilter({ kind: 'refund', currency: 'JPY', from: '2026-11-01', to: '2026-11-30' })).toEqual({
      kind: 'refund',
      currency: 'JPY',
      from: new Date(2026, 10, 1).toISOString(),
      to: new Date(2026, 11, 1).toISOString(),
    });
    expect(transactionFilter(NO_TRANSACTION_FILTERS)).toEqual({ kind: null, currency: null, from: null, to: null });
  });

  it('knows which kinds bring money in', () => {
    expect(['top_up', 'card_spend', 'refund', 'fee'].filter((kind) => isCredit(kind as never))).toEqual([
      'top_up',
      'refund',
    ]);
  });
});
