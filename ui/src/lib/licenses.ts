/** One licence text and the third-party components that ship under it. */
export interface LicenceGroup {
  /** SPDX expression, such as `MIT` or `Apache-2.0 OR MIT`. */
  licence: string;
  text: string;
  /** `name version` of each component. */
  components: string[];
}

/** The third-party components in this build of the app, gathered when it was built. */
export interface ThirdPartyLicences {
  rust: LicenceGroup[];
  npm: LicenceGroup[];
}

/**
 * Where the build writes the list (see `build/licenses.ts`): a module beside the bundle's chunks,
 * so it is loaded only when asked for. A module, not JSON, because the CSP lets the page load
 * its own scripts but not fetch its own files.
 */
export const LICENCES_MODULE = './third-party-licenses.js';

export async function loadLicences(): Promise<ThirdPartyLicences> {
  const module = (await import(/* @vite-ignore */ LICENCES_MODULE)) as { default: ThirdPartyLicences };
  return module.default;
}
