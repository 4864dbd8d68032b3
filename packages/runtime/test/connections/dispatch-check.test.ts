import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SIGNING_PURPOSES, canonicalizeToBytes } from '@lumenflow/protocol';
import type { DispatchBody, EvidenceRecord, WorkItem } from '@lumenflow/protocol';
import { generateSigningKeyPem, parseSigningKeyPem } from '@lumenflow/verifier';
import type { SigningKey } from '@lumenflow/verifier';
import { checkDispatch, openOutbox } from '@lumenflow/runtime';

const cloudKey = parseSigningKeyPem(generateSigningKeyPem());
const ctx = { runtimeId: 'rt-one', cloudKeyId: cloudKey.keyId, cloudPublicKey: cloudKey.publicKey };

function body(overrides: Partial<DispatchBody> = {}): DispatchBody {
  return {
    purpose: SIGNING_PURPOSES.dispatch,
    workId: 'work-1',
    seq: 1,
    runtimeId: 'rt-one',
    claim: { askId: 'ask-one', attempt: 1 },
    issuedAt: '2026-11-23T10:00:00.000Z',
    message: {
      type: 'session.open',
      messageId: 'cmsg-1',
      runId: 'run-1',
      sessionId: 'ses-1',
      runtimeId: 'rt-one',
      ask: {
        schemaVersion: 1,
        askId: 'ask-one',
        operator: { id: 'op.dana', displayName: 'Dana' },
        intent: 'fix the test',
        workspace: { repository: 'lumenflow-demo/calc', baseBranch: 'main' },
        requestedScopes: [{ kind: 'shell.exec', program: 'node', args: ['--test'] }],
        runtimeLabels: ['node'],
        createdAt: '2026-11-23T09:00:00.000Z',
      },
      cloudRules: { fileName: 'cloud.yaml', document: { rules: [] } },
    },
    ...overrides,
  };
}

function seal(b: DispatchBody, key: SigningKey = cloudKey, bytes: Uint8Array = canonicalizeToBytes(b)): WorkItem {
  return {
    workId: b.workId,
    seq: b.seq,
    claim: b.claim,
    payload: Buffer.from(bytes).toString('base64'),
    signature: { keyId: key.keyId, value: Buffer.from(key.sign(bytes)).toString('base64') },
  };
}

describe('checkDispatch', () => {
  it('opens a dispatch signed by the pinned Cloud key and returns the signed message', () => {
    const result = checkDispatch(seal(body()), ctx);
    expect(result.ok).toBe(true);
    expect(result.ok && result.body.message).toEqual(body().message);
  });

  it('refuses any changed byte of the signed payload', () => {
    const item = seal(body());
    const bytes = Buffer.from(item.payload, 'base64');
    fc.assert(
      fc.property(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, flip) => {
        const changed = Buffer.from(bytes);
        changed[index] = (changed[index] as number) ^ flip;
        const result = checkDispatch({ ...item, payload: changed.toString('base64') }, ctx);
        expect(result).toEqual({ ok: false, code: 'DISPATCH_SIGNATURE_INVALID' });
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a dispatch signed by another key, even one that names the pinned key id', () => {
    const other = parseSigningKeyPem(generateSigningKeyPem());
    expect(checkDispatch(seal(body(), other), ctx)).toEqual({ ok: false, code: 'DISPATCH_SIGNATURE_INVALID' });
    const forged = seal(body(), other);
    expect(checkDispatch({ ...forged, signature: { ...forged.signature, keyId: cloudKey.keyId } }, ctx)).toEqual({ ok: false, code: 'DISPATCH_SIGNATURE_INVALID' });
  });

  it('refuses clear routing fields that differ from the signed ones, and dispatches for another runtime', () => {
    const item = seal(body());
    expect(checkDispatch({ ...item, claim: { askId: 'ask-one', attempt: 2 } }, ctx)).toEqual({ ok: false, code: 'DISPATCH_MISMATCH' });
    expect(checkDispatch({ ...item, workId: 'work-2' }, ctx)).toEqual({ ok: false, code: 'DISPATCH_MISMATCH' });
    expect(checkDispatch(seal(body({ runtimeId: 'rt-two' })), ctx)).toEqual({ ok: false, code: 'DISPATCH_MISADDRESSED' });
    // The Ask inside must be the one the claim names.
    expect(checkDispatch(seal(body({ claim: { askId: 'ask-other', attempt: 1 } })), ctx)).toEqual({ ok: false, code: 'DISPATCH_MISMATCH' });
  });

  it('refuses signed bytes that are valid JSON but not the one RFC 8785 form', () => {
    const text = JSON.stringify(body(), null, 2);
    expect(checkDispatch(seal(body(), cloudKey, new TextEncoder().encode(text)), ctx)).toEqual({ ok: false, code: 'DISPATCH_MALFORMED' });
  });
});

describe('openOutbox', () => {
  const record = (id: string): EvidenceRecord => ({
    kind: 'dispatch-refusal',
    recordId: id,
    runtimeId: 'rt-one',
    workId: 'work-1',
    code: 'DISPATCH_MISMATCH',
    payloadSha256: `sha256:${'0'.repeat(64)}`,
    refusedAt: '2026-11-23T10:00:00.000Z',
    signature: { keyId: `sha256:${'0'.repeat(64)}`, value: `${'A'.repeat(86)}==` },
  });

  it('keeps records across a reopen, in order, until acknowledged, and sets aside a damaged file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lf-outbox-'));
    const first = await openOutbox(dir);
    for (const id of ['r-3', 'r-1', 'r-2']) await first.put(record(id));
    await first.ack(['r-1']);
    await writeFile(join(dir, '000000000099-broken.json'), '{"kind":');
    const second = await openOutbox(dir);
    expect(second.peek(10).map((r) => r.recordId)).toEqual(['r-3', 'r-2']);
    expect(await readdir(join(dir, 'rejected'))).toEqual(['000000000099-broken.json']);
    await second.put(record('r-4'));
    await second.reject(['r-2']);
    const third = await openOutbox(dir);
    expect(third.peek(10).map((r) => r.recordId)).toEqual(['r-3', 'r-4']);
  });
});
