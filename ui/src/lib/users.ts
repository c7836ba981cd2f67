// The Users screens' vocabulary: KYC badges, the status tabs, the sort menu, transaction
// kinds, and the filter bars as the backend's filters.
import type {
  CardState,
  Currency,
  KycState,
  TabCounts,
  TransactionFilter,
  TransactionKind,
  UserFilter,
  UserSort,
  UserTab,
} from './api';
import type { MessageKey } from './i18n/index.svelte';
import { localMidnight } from './payments';

export const KYC_STATUSES: readonly KycState[] = ['not_started', 'draft', 'submitted', 'approved', 'rejected'];

export const KYC_LABELS: Record<KycState, MessageKey> = {
  not_started: 'kyc.status.not_started',
  draft: 'kyc.status.draft',
  submitted: 'kyc.status.submitted',
  approved: 'kyc.status.approved',
  rejected: 'kyc.status.rejected',
};

export const KYC_TONES: Record<KycState, string> = {
  not_started: '',
  draft: 'warning',
  submitted: 'accent',
  approved: 'success',
  rejected: 'danger',
};

export const CARD_LABELS: Record<CardState, MessageKey> = {
  active: 'user.cards.status.active',
  frozen: 'user.cards.status.frozen',
  cancelled: 'user.cards.status.cancelled',
};

export const CARD_TONES: Record<CardState, string> = { active: 'success', frozen: 'warning', cancelled: '' };

export const TRANSACTION_KINDS: readonly TransactionKind[] = ['top_up', 'card_spend', 'refund', 'fee'];

export const TRANSACTION_LABELS: Record<TransactionKind, MessageKey> = {
  top_up: 'user.transactions.type.top_up',
  card_spend: 'user.transactions.type.card_spend',
  refund: 'user.transactions.type.refund',
  fee: 'user.transactions.type.fee',
};

/** Money in (to the user's wallet) or out; the gateway's amounts are never signed. */
export const isCredit = (kind: TransactionKind): boolean => kind === 'top_up' || kind === 'refund';

/** The status tabs; `all` is no tab at all. */
export type ListTab = 'all' | UserTab;
export const USER_TABS: readonly ListTab[] = ['all', 'needs_action', 'waiting', 'approved'];

export const USER_TAB_LABELS: Record<ListTab, MessageKey> = {
  all: 'users.tab.all',
  needs_action: 'users.tab.needs_action',
  waiting: 'users.tab.waiting',
  approved: 'users.tab.approved',
};

/** How many users a tab lists, from the counts that come with the list's first page. */
export function tabCount(counts: TabCounts, tab: ListTab): number {
  return { all: counts.all, needs_action: counts.needsAction, waiting: counts.waiting, approved: counts.approved }[tab];
}

/** The sort menu's choices. */
export type SortChoice = 'created_desc' | 'created_asc' | 'name' | 'balance_desc';
export const USER_SORTS: readonly SortChoice[] = ['created_desc', 'created_asc', 'name', 'balance_desc'];

export const USER_SORT_LABELS: Record<SortChoice, MessageKey> = {
  created_desc: 'users.sort.created_desc',
  created_asc: 'users.sort.created_asc',
  name: 'users.sort.name',
  balance_desc: 'users.sort.balance_desc',
};

/** The list's filter bar (the tab is in the address). */
export interface UserFilters {
  search: string;
  kyc: KycState | '';
  country: string;
  currency: Currency | '';
  sort: SortChoice;
}

export const NO_USER_FILTERS: UserFilters = { search: '', kyc: '', country: '', currency: '', sort: 'created_desc' };

/** The backend's filter; its tab counts come with the first page. */
export function userFilter(filters: UserFilters, tab: ListTab): UserFilter {
  return {
    search: filters.search.trim() || null,
    tab: tab === 'all' ? null : tab,
    kycStatus: filters.kyc || null,
    country: filters.country || null,
    currency: filters.currency || null,
  };
}

/** A balance sort is by the currency filtered on (the backend's default, JPY, otherwise). */
export function userSort(filters: UserFilters): UserSort {
  const currency = filters.currency || null;
  switch (filters.sort) {
    case 'created_asc':
      return { by: 'created_at', currency, descending: false };
    case 'name':
      return { by: 'name', currency, descending: false };
    case 'balance_desc':
      return { by: 'balance', currency, descending: true };
    default:
      return { by: 'created_at', currency, descending: true };
  }
}

export const isUserFiltered = (filters: UserFilters): boolean =>
  Boolean(filters.search.trim() || filters.kyc || filters.country || filters.currency);

/** The Transactions tab's filter bar; dates are local calendar days (`YYYY-MM-DD`). */
export interface TransactionFilters {
  kind: TransactionKind | '';
  currency: Currency | '';
  from: string;
  to: string;
}

export const NO_TRANSACTION_FILTERS: TransactionFilters = { kind: '', currency: '', from: '', to: '' };

/** The backend's filter: from the start of the first local day to the end of the last. */
export function transactionFilter(filters: TransactionFilters): TransactionFilter {
  return {
    kind: filters.kind || null,
    currency: filters.currency || null,
    from: localMidnight(filters.from),
    to: localMidnight(filters.to, 1),
  };
}
