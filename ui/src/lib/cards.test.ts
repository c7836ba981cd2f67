import { describe, expect, it } from 'vitest';
import { groupCardNumber } from './cards';

describe('groupCardNumber', () => {
  it('groups the digits in fours', () => {
    expect(groupCardNumber('4242424242424242')).toBe('4242 4242 4242 4242');
    expect(groupCardNumber('4242 4242 4242 4242')).toBe('4242 4242 4242 4242');
  });

  it('leaves a shorter last group', () => {
    expect(groupCardNumber('378282246310005')).toBe('3782 8224 6310 005');
    expect(groupCardNumber('')).toBe('');
  });
});
