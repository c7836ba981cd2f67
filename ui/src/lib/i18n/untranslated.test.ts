import { parse, type AST } from 'svelte/compiler';
import { describe, expect, it } from 'vitest';

// Every word a user reads must come from the catalogues: this walks each component's
// markup and fails on literal text or literal user-facing attributes.
const sources = import.meta.glob('/src/**/*.svelte', { query: '?raw', import: 'default', eager: true }) as Record<
  string,
  string
>;

/** Brand marks, which are the same in every language. */
const ALLOWED = new Set(['ITO']);
const READABLE_ATTRIBUTES = new Set(['aria-label', 'title', 'placeholder', 'alt', 'label']);
const WORD = /\p{L}/u;

function literals(node: unknown, found: string[]): void {
  if (!node || typeof node !== 'object') return;
  const n = node as { type?: string; data?: string; name?: string; value?: unknown };
  if (n.type === 'Text' && typeof n.data === 'string') {
    const text = n.data.trim();
    if (WORD.test(text) && !ALLOWED.has(text)) found.push(text);
  }
  if (n.type === 'Attribute' && n.name && READABLE_ATTRIBUTES.has(n.name) && Array.isArray(n.value)) {
    for (const part of n.value as AST.Text[]) {
      if (part.type === 'Text' && WORD.test(part.data)) found.push(`${n.name}="${part.data}"`);
    }
    return;
  }
  if (n.type === 'Attribute') return;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'parent' || key === 'instance' || key === 'module' || key === 'css') continue;
    if (Array.isArray(value)) value.forEach((child) => literals(child, found));
    else if (value && typeof value === 'object') literals(value, found);
  }
}

function findLiterals(source: string): string[] {
  const found: string[] = [];
  literals(parse(source, { modern: true }).fragment, found);
  return found;
}

describe('the literal-text check', () => {
  it('catches text and readable attributes, and lets expressions through', () => {
    const source = '<p>Hello</p><input placeholder="Name" aria-label={t("x")} /><span>{t("y")} · </span>';
    expect(findLiterals(source)).toEqual(['Hello', 'placeholder="Name"']);
  });
});

describe('components', () => {
  it('are found', () => {
    expect(Object.keys(sources).length).toBeGreaterThan(10);
  });

  for (const [path, source] of Object.entries(sources)) {
    it(`${path} has no untranslated text`, () => {
      expect(findLiterals(source)).toEqual([]);
    });
  }
});
