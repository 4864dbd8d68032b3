import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { authenticateRequest, createNonceCache } from '@lumenflow/cloud';
import { createKey, signHeaders } from './helpers.js';

const key = createKey();
const NOW = Date.parse('2026-11-23T10:00:00.000Z');
const body = new TextEncoder().encode('{"records":[]}');

function context(nonces = createNonceCache()) {
  return { lookupKey: (id: string) => (id === 'rt-one' ? key.publicKey : undefined), nonces, nowMs: NOW, skewMs: 60_000, notBeforeMs: NOW - 3_600_000 };
}

function signed(overrides: { method?: string; path?: string; body?: Uint8Array; at?: number } = {}) {
  const headers = signHeaders({ runtimeId: 'rt-one', key, method: 'POST', path: '/v1/evidence', body, timestamp: new Date(overrides.at ?? NOW).toISOString() });
  return { method: overrides.method ?? 'POST', path: overrides.path ?? '/v1/evidence', headers, body: overrides.body ?? body };
}

describe('authenticateRequest', () => {
  it('accepts a request signed by the enrolled key, once', () => {
    const ctx = context();
    const request = signed();
    expect(authenticateRequest(request, ctx)).toMatchObject({ ok: true, runtimeId: 'rt-one' });
    expect(authenticateRequest(request, ctx)).toEqual({ ok: false, code: 'REPLAYED_REQUEST', runtimeId: 'rt-one' });
  });

  it('refuses any changed body byte, path or method with BAD_SIGNATURE', () => {
    fc.assert(
      fc.property(fc.nat({ max: body.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, flip) => {
        const changed = Uint8Array.from(body);
        changed[index] = (changed[index] as number) ^ flip;
        const result = authenticateRequest({ ...signed(), body: changed }, context());
        expect(result).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
      }),
      { numRuns: 100 },
    );
    expect(authenticateRequest({ ...signed(), path: '/v1/evidence?x=1' }, context())).toMatchObject({ code: 'BAD_SIGNATURE' });
    expect(authenticateRequest({ ...signed(), method: 'PUT' }, context())).toMatchObject({ code: 'BAD_SIGNATURE' });
  });

  it('refuses a timestamp outside the skew window either way, or before the floor', () => {
    fc.assert(
      fc.property(fc.integer({ min: 60_001, max: 10_000_000 }), fc.boolean(), (offset, ahead) => {
        const at = ahead ? NOW + offset : NOW - offset;
        expect(authenticateRequest(signed({ at }), context())).toMatchObject({ ok: false, code: 'STALE_REQUEST' });
      }),
      { numRuns: 50 },
    );
    expect(authenticateRequest(signed({ at: NOW - 10 }), { ...context(), notBeforeMs: NOW })).toMatchObject({ code: 'STALE_REQUEST' });
  });

  it('refuses missing headers, unknown runtimes, and a bad signature without remembering its nonce', () => {
    const ctx = context();
    const request = signed();
    for (const name of Object.keys(request.headers)) {
      const headers = { ...request.headers };
      delete headers[name];
      expect(authenticateRequest({ ...request, headers }, ctx)).toMatchObject({ ok: false, code: 'UNSIGNED' });
    }
    expect(authenticateRequest({ ...request, headers: { ...request.headers, 'x-lumenflow-runtime': 'rt-two' } }, ctx)).toMatchObject({ code: 'UNKNOWN_RUNTIME' });
    expect(authenticateRequest({ ...request, body: new Uint8Array(0) }, ctx)).toMatchObject({ code: 'BAD_SIGNATURE' });
    expect(ctx.nonces.size()).toBe(0);
    expect(authenticateRequest(request, ctx)).toMatchObject({ ok: true, runtimeId: 'rt-one' });
  });
});

describe('createNonceCache', () => {
  it('forgets nonces after they expire and bounds what one runtime can make it hold', () => {
    const cache = createNonceCache(2);
    expect(cache.remember('rt', 'a', 100, 0)).toBe('new');
    expect(cache.remember('rt', 'a', 100, 50)).toBe('seen');
    expect(cache.remember('rt', 'b', 100, 50)).toBe('new');
    expect(cache.remember('rt', 'c', 100, 50)).toBe('full');
    expect(cache.remember('other', 'c', 100, 50)).toBe('new');
    expect(cache.remember('rt', 'c', 300, 200)).toBe('new');
    expect(cache.size()).toBe(2);
  });
});
