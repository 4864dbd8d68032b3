// noble signs and verifies only with a synchronous SHA-512 set once; the verifier no
// longer does either with noble (ADR 0026), so the tests and the bench that compare
// against it set it here.
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';

ed.hashes.sha512 = sha512;

export { ed };
