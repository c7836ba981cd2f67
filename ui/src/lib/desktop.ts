// The few desktop plugins the payment screens use (clipboard, browser, file manager, save dialog),
// behind one module so tests replace them and no screen imports a plugin directly.
import { writeText } from '@tauri-apps/plugin-clipboard-manager';
import { save } from '@tauri-apps/plugin-dialog';
import { openUrl, revealItemInDir } from '@tauri-apps/plugin-opener';

export const copyText = (text: string): Promise<void> => writeText(text);

/** Opens a checkout page in the user's browser, never inside the app's webview. */
export const openInBrowser = (url: string): Promise<void> => openUrl(url);

/** Asks where to write a CSV file; null when the user cancels. */
export function chooseCsvPath(defaultName: string, filterName: string): Promise<string | null> {
  return save({ defaultPath: defaultName, filters: [{ name: filterName, extensions: ['csv'] }] });
}

/** Shows a written file selected in the system's file manager. */
export const showInFolder = (path: string): Promise<void> => revealItemInDir(path);
