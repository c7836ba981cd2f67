// A card's sensitive data as the reveal shows it, and the words for its access record.
// Nothing here keeps a number: it only formats what a component holds for a moment.
import type { CardAction, KycState } from './api';
import type { MessageKey } from './i18n/index.svelte';

/** `4242424242424242` as `4242 4242 4242 4242`, whatever spacing it came with. */
export function groupCardNumber(number: string): string {
  const digits = number.replace(/\s+/g, '');
  return digits.match(/.{1,4}/g)?.join(' ') ?? '';
}

export const CARD_ACCESS_LABELS: Record<CardAction, MessageKey> = {
  revealed: 'user.cards.access.revealed',
  copied_number: 'user.cards.access.copied_number',
  copied_cvv: 'user.cards.access.copied_cvv',
};

/** Why a card cannot be issued yet, by the user's KYC status; approved has no reason. */
export const ISSUE_BLOCKED: Record<Exclude<KycState, 'approved'>, MessageKey> = {
  not_started: 'user.cards.issue.blocked.not_started',
  draft: 'user.cards.issue.blocked.draft',
  submitted: 'user.cards.issue.blocked.submitted',
  rejected: 'user.cards.issue.blocked.rejected',
};
