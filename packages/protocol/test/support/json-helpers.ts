import { ProtocolError } from '@lumenflow/protocol';

/** The ProtocolError `fn` throws, or undefined when it returns; any other error is rethrown. */
export function errorOf(fn: () => unknown): ProtocolError | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    throw error;
  }
  return undefined;
}

/** The code of the ProtocolError `fn` throws, or undefined when it returns. */
export function codeOf(fn: () => unknown): string | undefined {
  return errorOf(fn)?.code;
}

/** True when a parsed value holds an integer JSON cannot carry exactly (the strict parser refuses those). */
export function hasUnsafeInteger(value: unknown): boolean {
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value);
  if (Array.isArray(value)) return value.some(hasUnsafeInteger);
  if (value !== null && typeof value === 'object') return Object.values(value).some(hasUnsafeInteger);
  return false;
}
