// Child process for the atomic-write tests: writes one bundle with a large
// artifact and reports the outcome as one JSON line. The parent runs it under a
// file-size limit so the write fails (or the process dies) part-way through.
import { generateSigningKeyPem, parseSigningKeyPem, VerifierError, writeBundle } from '@lumenflow/verifier';
import { sampleHappyArtifacts } from './sample-artifacts.js';

const [outDir, runId, bigBytes] = process.argv.slice(2);
try {
  const artifacts: Record<string, string | Uint8Array> = { ...sampleHappyArtifacts(), 'file-diff.patch': new Uint8Array(Number(bigBytes)).fill(0x61) };
  await writeBundle({
    outDir: outDir ?? '',
    runId: runId ?? '',
    mode: 'happy',
    createdAt: '2026-11-23T10:00:00.000Z',
    artifacts,
    signingKey: parseSigningKeyPem(generateSigningKeyPem()),
  });
  process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ ok: false, code: error instanceof VerifierError ? error.code : 'OTHER' })}\n`);
}
