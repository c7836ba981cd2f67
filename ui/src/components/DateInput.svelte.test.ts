import { fireEvent, render, screen } from '@testing-library/svelte';
import { tick } from 'svelte';
import { beforeEach, describe, expect, it } from 'vitest';
import DateInput from './DateInput.svelte';
import { setLocale } from '../lib/i18n/index.svelte';

/** A field bound to `bound.value`, as a filter bar binds it (a `.svelte.test.ts` file, for `$state`). */
function field(initial = '') {
  const bound = $state({ value: initial, invalid: false });
  render(DateInput, {
    id: 'day',
    testid: 'day',
    get value() {
      return bound.value;
    },
    set value(next: string) {
      bound.value = next;
    },
    get invalid() {
      return bound.invalid;
    },
  });
  return { bound, input: screen.getByTestId('day') as HTMLInputElement };
}

async function type(input: HTMLInputElement, text: string) {
  await fireEvent.input(input, { target: { value: text } });
}

/** What leaving the field does. */
async function leave(input: HTMLInputElement) {
  await fireEvent.change(input);
}

describe('DateInput', () => {
  beforeEach(() => setLocale('ja'));

  it('shows the bound day the Japanese way, with a matching placeholder', () => {
    const { input } = field('2026-11-24');
    expect(input).toHaveValue('2026/11/24');
    expect(input).toHaveAttribute('placeholder', 'YYYY/MM/DD');
    expect(input).toHaveAttribute('type', 'text');
  });

  it('shows it the ISO way in English', () => {
    setLocale('en');
    const { input } = field('2026-11-24');
    expect(input).toHaveValue('2026-11-24');
    expect(input).toHaveAttribute('placeholder', 'YYYY-MM-DD');
  });

  it('binds what is typed as an ISO day, Japanese or ISO', async () => {
    const { bound, input } = field();
    await type(input, '2026/11/24');
    expect(bound.value).toBe('2026-11-24');
    await type(input, '2026-11-01');
    expect(bound.value).toBe('2026-11-01');
  });

  it('leaves the text alone while it is typed, and tidies it on leaving', async () => {
    const { bound, input } = field();
    await type(input, '2026/1/5');
    expect(bound.value).toBe('2026-01-05');
    expect(input).toHaveValue('2026/1/5');
    await leave(input);
    expect(input).toHaveValue('2026/01/05');
  });

  it('binds no day while the text is not one, and says so on leaving, in Japanese', async () => {
    const { bound, input } = field('2026-11-24');
    await type(input, '2026/11/31');
    expect(bound.value).toBe('');
    expect(screen.queryByRole('alert')).toBeNull();
    await leave(input);
    const problem = screen.getByRole('alert');
    expect(problem).toHaveTextContent('有効な日付ではありません。YYYY/MM/DD の形式で入力してください。');
    expect(input).toHaveAttribute('aria-invalid', 'true');
    expect(input).toHaveAttribute('aria-describedby', problem.id);
    expect(input).toHaveValue('2026/11/31');
  });

  it('says so in English too', async () => {
    setLocale('en');
    const { input } = field();
    await type(input, '11/24/2026');
    await leave(input);
    expect(screen.getByTestId('day-problem')).toHaveTextContent('Not a valid date. Enter it as YYYY-MM-DD.');
  });

  it('drops the complaint once the text is a day again, or empty', async () => {
    const { bound, input } = field();
    await type(input, '2026/11/');
    await leave(input);
    expect(screen.getByRole('alert')).toBeInTheDocument();
    await type(input, '2026/11/2');
    expect(screen.queryByRole('alert')).toBeNull();
    expect(input).not.toHaveAttribute('aria-invalid');
    expect(bound.value).toBe('2026-11-02');
    await type(input, 'x');
    await leave(input);
    await type(input, '');
    expect(screen.queryByRole('alert')).toBeNull();
    expect(bound.value).toBe('');
  });

  it('follows a day set from outside, such as Clear filters', async () => {
    const { bound, input } = field('2026-11-24');
    bound.value = '';
    await tick();
    expect(input).toHaveValue('');
    bound.value = '2026-03-09';
    await tick();
    expect(input).toHaveValue('2026/03/09');
  });

  it('rewrites the day when the language changes', async () => {
    const { input } = field('2026-11-24');
    setLocale('en');
    await tick();
    expect(input).toHaveValue('2026-11-24');
    setLocale('ja');
    await tick();
    expect(input).toHaveValue('2026/11/24');
  });

  it('is marked wrong for a reason found outside it', async () => {
    const { bound, input } = field('2026-11-24');
    expect(input).not.toHaveAttribute('aria-invalid');
    bound.invalid = true;
    await tick();
    expect(input).toHaveAttribute('aria-invalid', 'true');
    expect(screen.queryByRole('alert')).toBeNull();
  });
});
