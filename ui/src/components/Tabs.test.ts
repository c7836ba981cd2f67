import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import Tabs from './Tabs.svelte';

const TABS = [
  { id: 'all', label: 'All', count: '12', testid: 'tab-all' },
  { id: 'waiting', label: 'Waiting', count: '3', testid: 'tab-waiting' },
  { id: 'done', label: 'Done', testid: 'tab-done' },
];

describe('Tabs', () => {
  it('marks the selected tab, shows counts and gives one tab stop', () => {
    render(Tabs, { tabs: TABS, selected: 'waiting', onselect: () => {}, label: 'Status', idPrefix: 't' });
    const waiting = screen.getByTestId('tab-waiting');
    expect(screen.getByRole('tablist', { name: 'Status' })).toBeInTheDocument();
    expect(waiting).toHaveAttribute('aria-selected', 'true');
    expect(waiting).toHaveAttribute('tabindex', '0');
    expect(waiting).toHaveTextContent('Waiting 3');
    expect(waiting).toHaveAttribute('aria-controls', 't-panel');
    expect(screen.getByTestId('tab-all')).toHaveAttribute('tabindex', '-1');
    expect(screen.getByTestId('tab-done').querySelector('.count')).toBeNull();
  });

  it('selects by click and by arrows, Home and End', async () => {
    const onselect = vi.fn();
    render(Tabs, { tabs: TABS, selected: 'all', onselect, label: 'Status', idPrefix: 't' });
    await fireEvent.click(screen.getByTestId('tab-done'));
    expect(onselect).toHaveBeenLastCalledWith('done');
    const list = screen.getByRole('tablist');
    await fireEvent.keyDown(list, { key: 'ArrowRight' });
    expect(onselect).toHaveBeenLastCalledWith('waiting');
    await fireEvent.keyDown(list, { key: 'ArrowLeft' });
    expect(onselect).toHaveBeenLastCalledWith('done');
    await fireEvent.keyDown(list, { key: 'End' });
    expect(onselect).toHaveBeenLastCalledWith('done');
    await fireEvent.keyDown(list, { key: 'Home' });
    expect(onselect).toHaveBeenLastCalledWith('all');
  });
});
