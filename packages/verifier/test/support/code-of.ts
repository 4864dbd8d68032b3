import { VerifierError } from '@lumenflow/verifier';

/** The code of the VerifierError `promise` rejects with, or undefined when it resolves; any other error is rethrown. */
export async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof VerifierError) return error.code;
    throw error;
  }
  return undefined;
}
