declare const __BUILD_COMMIT__: string;

/** The commit the UI was built from (`git rev-parse --short HEAD`), set by vite.config.ts. */
export const BUILD_COMMIT: string = __BUILD_COMMIT__;
