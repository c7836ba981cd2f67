import { describe, expect, it } from 'vitest';
import { ApiError, errorMessage, fieldErrors } from './errors';

const validation = new ApiError({
  kind: 'validation',
  message: 'invalid',
  fields: { base_url: ['Not a URL.', 'Too long.'], name: ['Required.'] },
  status: null,
  requestId: null,
});

describe('errors', () => {
  it('maps per-field messages to the form’s camelCase names', () => {
    expect(fieldErrors(validation)).toEqual({ baseUrl: 'Not a URL. Too long.', name: 'Required.' });
  });

  it('has no field messages for other kinds', () => {
    const network = new ApiError({ kind: 'network', message: 'offline', fields: {}, status: null, requestId: null });
    expect(fieldErrors(network)).toEqual({});
    expect(fieldErrors(new Error('x'))).toEqual({});
  });

  it('shows the backend’s message as is', () => {
    expect(errorMessage(validation)).toBe('invalid');
    expect(errorMessage('plain')).toBe('plain');
  });
});
