import type { CommandError_Serialize as CommandError } from './bindings';

/** A command's typed failure, thrown so screens can use ordinary try/catch. */
export class ApiError extends Error {
  readonly detail: CommandError;

  constructor(detail: CommandError) {
    super(detail.message);
    this.name = 'ApiError';
    this.detail = detail;
  }

  get kind(): CommandError['kind'] {
    return this.detail.kind;
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

const snakeToCamel = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Per-field messages of a validation failure, keyed like the form's fields (camelCase),
 * whether the backend named them after the Rust field or the wire field.
 */
export function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError) || error.kind !== 'validation') return {};
  const out: Record<string, string> = {};
  for (const [field, messages] of Object.entries(error.detail.fields)) {
    if (messages && messages.length) out[snakeToCamel(field)] = messages.join(' ');
  }
  return out;
}
