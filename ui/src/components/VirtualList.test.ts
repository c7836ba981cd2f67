import { fireEvent, render, screen } from '@testing-library/svelte';
import { createRawSnippet } from 'svelte';
import { describe, expect, it, vi } from 'vitest';
import VirtualList from './VirtualList.svelte';

interface Item {
  id: number;
}

const TOTAL = 100_000;
const loaded = (n: number): Item[] => Array.from({ length: n }, (_, i) => ({ id: TOTAL - i }));

const row = createRawSnippet((item: () => Item, index: () => number) => ({
  render: () => `<div class="row" data-index="${index()}">${item().id}</div>`,
}));
const placeholder = createRawSnippet((index: () => number) => ({
  render: () => `<div class="placeholder" data-index="${index()}"></div>`,
}));

function scrollTo(viewport: HTMLElement, top: number) {
  Object.defineProperty(viewport, 'scrollTop', { value: top, configurable: true, writable: true });
  return fireEvent.scroll(viewport);
}

describe('VirtualList', () => {
  it('renders only a window of rows out of 100 000', () => {
    render(VirtualList<Item>, {
      items: loaded(200),
      total: TOTAL,
      rowHeight: 40,
      overscan: 5,
      fallbackHeight: 400,
      row,
      placeholder,
      testid: 'list',
    });
    const viewport = screen.getByTestId('list');
    const rows = viewport.querySelectorAll('.row');
    // 400 px of 40 px rows, plus the overscan below (none above the top).
    expect(rows).toHaveLength(15);
    expect(rows[0]).toHaveTextContent(String(TOTAL));
    expect((viewport.firstElementChild as HTMLElement).style.height).toBe(`${TOTAL * 40}px`);
  });

  it('moves the window as the view scrolls, with placeholders for rows not loaded yet', async () => {
    const onneedmore = vi.fn();
    render(VirtualList<Item>, {
      items: loaded(200),
      total: TOTAL,
      rowHeight: 40,
      overscan: 5,
      fallbackHeight: 400,
      onneedmore,
      row,
      placeholder,
      testid: 'list',
    });
    const viewport = screen.getByTestId('list');
    await scrollTo(viewport, 50_000 * 40);
    const shown = viewport.querySelectorAll('[data-index]');
    expect(shown).toHaveLength(20);
    expect(shown[0]).toHaveAttribute('data-index', '49995');
    expect(viewport.querySelectorAll('.placeholder')).toHaveLength(20);
    const window = viewport.querySelector('.window') as HTMLElement;
    expect(window.style.transform).toBe(`translateY(${49_995 * 40}px)`);
    expect(onneedmore).toHaveBeenCalled();
  });

  it('asks for the next page only near the end of what is loaded', async () => {
    const onneedmore = vi.fn();
    render(VirtualList<Item>, {
      items: loaded(200),
      total: TOTAL,
      rowHeight: 40,
      overscan: 5,
      prefetch: 50,
      fallbackHeight: 400,
      onneedmore,
      row,
      testid: 'list',
    });
    const viewport = screen.getByTestId('list');
    expect(onneedmore).not.toHaveBeenCalled();
    await scrollTo(viewport, 100 * 40);
    expect(onneedmore).not.toHaveBeenCalled();
    await scrollTo(viewport, 150 * 40);
    expect(onneedmore).toHaveBeenCalledTimes(1);
  });

  it('stays at the end when the last page comes shorter than the placeholders kept for it', async () => {
    const page = loaded(100);
    const { rerender } = render(VirtualList<Item>, {
      items: page,
      total: 200,
      rowHeight: 40,
      fallbackHeight: 400,
      row,
      placeholder,
      testid: 'list',
    });
    const viewport = screen.getByTestId('list');
    // End: the bottom of the next page's placeholders.
    await scrollTo(viewport, 200 * 40 - 400);
    await rerender({ items: page.concat(loaded(151).slice(100)), total: 151 });
    expect(viewport.scrollTop).toBe(151 * 40 - 400);
    const rows = viewport.querySelectorAll('.row');
    expect(rows[rows.length - 1]).toHaveAttribute('data-index', '150');
  });

  it('starts a new, shorter list at the top', async () => {
    const { rerender } = render(VirtualList<Item>, {
      items: loaded(100),
      total: 200,
      rowHeight: 40,
      fallbackHeight: 400,
      row,
      placeholder,
      testid: 'list',
    });
    const viewport = screen.getByTestId('list');
    await scrollTo(viewport, 200 * 40 - 400);
    await rerender({ items: [], total: 100 });
    expect(viewport.scrollTop).toBe(0);
    expect(viewport.querySelector('[data-index]')).toHaveAttribute('data-index', '0');
  });

  it('asks for nothing once every row is loaded', async () => {
    const onneedmore = vi.fn();
    render(VirtualList<Item>, { items: loaded(30), total: 30, rowHeight: 40, fallbackHeight: 400, onneedmore, row, testid: 'list' });
    await scrollTo(screen.getByTestId('list'), 30 * 40);
    expect(onneedmore).not.toHaveBeenCalled();
    expect(screen.getByTestId('list').querySelectorAll('.row').length).toBeLessThanOrEqual(30);
  });
});
