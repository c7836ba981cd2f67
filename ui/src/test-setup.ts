import '@testing-library/jest-dom/vitest';
import { configure } from '@testing-library/dom';
import { vi } from 'vitest';

// Screens load on first visit (dynamic imports), which the tests compile on first use: on a
// busy two-core machine (builds beside the tests) that alone can take several seconds, past
// testing-library's default 1 s for `findBy…` and Vitest's 5 s per test.
configure({ asyncUtilTimeout: 10_000 });
vi.setConfig({ testTimeout: 30_000 });
