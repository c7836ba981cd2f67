// Confirmation asked inside the page: the webviews Tauri uses do not reliably show
// `window.confirm` (WKWebView returns false without a dialog), so destructive or
// money-moving actions ask through this instead.

export interface ConfirmRequest {
  message: string;
  confirmLabel: string;
  /** Styles the confirm button as destructive. */
  danger: boolean;
  answer: (confirmed: boolean) => void;
}

export const pending = $state<{ request: ConfirmRequest | null }>({ request: null });

export function ask(message: string, confirmLabel: string, danger = true): Promise<boolean> {
  // A second question replaces an unanswered first one, which counts as cancelled.
  pending.request?.answer(false);
  return new Promise((resolve) => {
    pending.request = {
      message,
      confirmLabel,
      danger,
      answer: (confirmed) => {
        pending.request = null;
        resolve(confirmed);
      },
    };
  });
}
