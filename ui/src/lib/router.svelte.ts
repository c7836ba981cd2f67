// A hash router: Tauri serves a single file, and the hash keeps every screen addressable
// (issue 6 adds detail pages such as `#/payments/<id>`).

export const SCREENS = [
  'overview',
  'payments',
  'users',
  'kyc',
  'webhooks',
  'request-log',
  'settings',
] as const;
export type Screen = (typeof SCREENS)[number];

export interface Route {
  screen: Screen;
  /** Path segments after the screen, e.g. a payment id. */
  params: string[];
}

export function parseHash(hash: string): Route {
  const [first, ...rest] = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const screen = SCREENS.find((s) => s === first);
  return screen ? { screen, params: rest.map(decodeURIComponent) } : { screen: 'overview', params: [] };
}

export function href(screen: Screen, ...params: string[]): string {
  return `#/${[screen, ...params.map(encodeURIComponent)].join('/')}`;
}

const state = $state({ route: parseHash(typeof location === 'undefined' ? '' : location.hash) });

if (typeof window !== 'undefined') {
  window.addEventListener('hashchange', () => {
    state.route = parseHash(location.hash);
  });
}

export function currentRoute(): Route {
  return state.route;
}
