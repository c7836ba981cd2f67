import { describe, expect, it } from 'vitest';
import type { LedgerPayment } from './api';
import {
  characterCount,
  draftFrom,
  ledgerFilter,
  linkInput,
  matchesFilter,
  sanitizeAmount,
  shortDateTime,
  validEmail,
  validateLink,
  type LinkDraft,
} from './payments';

const draft = (patch: Partial<LinkDraft> = {}): LinkDraft => ({
  amount: '1200',
  currency: 'JPY',
  details: '抹茶セット',
  customerEmail: 'buyer@example.jp',
  custom: 'ORD-20261124-ABC234',
  successUrl: 'https://shop.example/thanks',
  cancelUrl: 'https://shop.example/cancel',
  webhookUrl: 'http://127.0.0.1:47800/webhooks/p1',
  ...patch,
});

const keys = (d: LinkDraft) =>
  Object.fromEntries(Object.entries(validateLink(d)).map(([field, problem]) => [field, problem.key]));

describe('the payment-link form rules', () => {
  it('accept a complete form', () => {
    expect(validateLink(draft())).toEqual({});
    expect(validateLink(draft({ currency: 'USD', amount: '280.00' }))).toEqual({});
    expect(validateLink(draft({ currency: 'SGP-USD', amount: '0.5' }))).toEqual({});
  });

  it('respect each currency’s decimals', () => {
    expect(validateLink(draft({ amount: '1200.5' })).amount).toEqual({
      key: 'payments.form.amount_whole',
      params: { currency: 'JPY' },
    });
    expect(validateLink(draft({ currency: 'USD', amount: '280.001' })).amount).toEqual({
      key: 'payments.form.amount_scale',
      params: { currency: 'USD', scale: 2 },
    });
    expect(keys(draft({ amount: '0' }))).toEqual({ amount: 'payments.form.amount_positive' });
    expect(keys(draft({ currency: 'USD', amount: '0.00' }))).toEqual({ amount: 'payments.form.amount_positive' });
    expect(keys(draft({ amount: '12,00' }))).toEqual({ amount: 'payments.form.amount_format' });
    expect(keys(draft({ amount: '-5' }))).toEqual({ amount: 'payments.form.amount_format' });
    expect(keys(draft({ amount: '1000000001' }))).toEqual({ amount: 'payments.form.amount_max' });
    expect(keys(draft({ amount: '1000000000' }))).toEqual({});
    expect(keys(draft({ amount: '' }))).toEqual({ amount: 'validation.required' });
  });

  it('count details and the order reference in characters, up to 255', () => {
    expect(characterCount('𠮷野家')).toBe(3);
    expect(keys(draft({ details: '𠮷'.repeat(255) }))).toEqual({});
    expect(validateLink(draft({ details: 'あ'.repeat(256) })).details).toEqual({
      key: 'validation.too_long',
      params: { max: 255 },
    });
    expect(keys(draft({ custom: 'x'.repeat(256) }))).toEqual({ custom: 'validation.too_long' });
    expect(keys(draft({ custom: '  ' }))).toEqual({ custom: 'validation.required' });
    expect(keys(draft({ details: '' }))).toEqual({});
  });

  it('check the email address and the three URLs', () => {
    expect(keys(draft({ customerEmail: '' }))).toEqual({ customerEmail: 'validation.required' });
    for (const bad of ['buyer', 'buyer@', '@example.jp', 'buyer@localhost', 'a..b@example.jp', 'a b@example.jp']) {
      expect(validEmail(bad), bad).toBe(false);
    }
    expect(validEmail('taro.yamada+shop@mail.example.co.jp')).toBe(true);
    expect(keys(draft({ successUrl: 'shop.example/thanks', cancelUrl: 'ftp://shop.example/', webhookUrl: '' }))).toEqual({
      successUrl: 'validation.url',
      cancelUrl: 'validation.url',
      webhookUrl: 'validation.required',
    });
  });

  it('type only what the currency allows into the amount', () => {
    expect(sanitizeAmount('1,200円', 'JPY')).toBe('1200');
    // Yen have no minor unit: a pasted `1,200.00` is 1200, never 120000.
    expect(sanitizeAmount('1,200.00', 'JPY')).toBe('1200');
    expect(sanitizeAmount('280.005', 'USD')).toBe('280.00');
    expect(sanitizeAmount('1.2.3', 'USD')).toBe('1.23');
    expect(sanitizeAmount('$ 9.', 'SGP-USD')).toBe('9.');
  });

  it('start from the proposed order reference and the listener', () => {
    const d = draftFrom({
      custom: 'ORD-1',
      successUrl: null,
      cancelUrl: 'https://shop.example/c',
      webhookUrl: null,
      listenerUrl: 'http://127.0.0.1:47800/webhooks/p1',
      standInSuccessUrl: null,
      standInCancelUrl: null,
    });
    expect(d).toMatchObject({ custom: 'ORD-1', cancelUrl: 'https://shop.example/c', successUrl: '' });
    expect(d.webhookUrl).toBe('http://127.0.0.1:47800/webhooks/p1');
  });

  it('send trimmed values, the amount as text, and the live confirmation', () => {
    expect(linkInput(draft({ amount: ' 1200 ', details: '  ', customerEmail: ' b@example.jp ' }), true)).toEqual({
      amount: '1200',
      currency: 'JPY',
      details: null,
      customerEmail: 'b@example.jp',
      custom: 'ORD-20261124-ABC234',
      successUrl: 'https://shop.example/thanks',
      cancelUrl: 'https://shop.example/cancel',
      webhookUrl: 'http://127.0.0.1:47800/webhooks/p1',
      confirmActive: true,
    });
  });
});

describe('the list filters', () => {
  it('become the command’s LedgerFilter, the end day included', () => {
    const filter = ledgerFilter({ search: ' ORD-7 ', status: 'paid', currency: 'USD', from: '2026-11-01', to: '2026-11-24' });
    expect(filter.search).toBe('ORD-7');
    expect(filter.status).toBe('paid');
    expect(filter.currency).toBe('USD');
    // Local midnights: the whole of the 24th is inside, the 25th is not.
    expect(new Date(filter.createdFrom ?? '').getTime()).toBe(new Date(2026, 10, 1).getTime());
    expect(new Date(filter.createdTo ?? '').getTime()).toBe(new Date(2026, 10, 25).getTime());
    expect(ledgerFilter({ search: '', status: '', currency: '', from: '', to: '' })).toEqual({
      search: null,
      status: null,
      currency: null,
      createdFrom: null,
      createdTo: null,
    });
  });

  it('decide whether a payment announced live belongs in the list', () => {
    const payment = {
      id: 1,
      paymentId: 'pay_ABC',
      status: 'paid',
      amount: '1200',
      currency: 'JPY',
      custom: 'ORD-7',
      customerEmail: 'Buyer@Example.jp',
      createdAt: '2026-11-24T03:00:00Z',
    } as LedgerPayment;
    expect(matchesFilter(payment, {})).toBe(true);
    expect(matchesFilter(payment, { search: 'buyer@' })).toBe(true);
    expect(matchesFilter(payment, { search: 'pay_abc' })).toBe(true);
    expect(matchesFilter(payment, { search: 'ORD-8' })).toBe(false);
    expect(matchesFilter(payment, { status: 'pending' })).toBe(false);
    expect(matchesFilter(payment, { currency: 'USD' })).toBe(false);
    expect(matchesFilter(payment, { createdFrom: '2026-11-24T04:00:00Z' })).toBe(false);
    expect(matchesFilter(payment, { createdTo: '2026-11-24T03:00:00Z' })).toBe(false);
  });
});

describe('shortDateTime', () => {
  it('keeps list cells short in both languages', () => {
    expect(shortDateTime('2026-11-24T01:05:09Z', 'en', 'UTC')).toBe('Nov 24, 01:05');
    expect(shortDateTime('2026-11-24T01:05:09Z', 'ja', 'Asia/Tokyo')).toBe('11月24日 10:05');
    expect(shortDateTime('not a date', 'en')).toBe('not a date');
  });
});
