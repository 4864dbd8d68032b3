// Connected runtimes without a workspace: each has its own Ed25519 key, enrolls
// with a one-time token, signs every request and record, and follows the chain's
// protocol (handshake, claim, accepted, policy decisions, end). Used where many
// runtimes are needed at once (the two-Cloud test, bench:connections) and a real
// runtime's git and tool processes would only measure the machine.
// Run as a process: `node --import tsx sim-runtimes.ts <spec.json>`; it prints
// `ready` once all are enrolled, one JSON line per claim it made and one per
// lease Cloud refused to renew (that session is stopped, the runtime goes on).
import { readFile } from 'node:fs/promises';
import { WorkResponseSchema, canonicalizeToBytes, systemClock } from '@lumenflow/protocol';
import type { PolicyDecisionRecord, RuntimeToCloudMessage, UnsignedRuntimeMessage } from '@lumenflow/protocol';
import { checkDispatch, createConnectionsClient, postEnrollment } from '@lumenflow/runtime';
import type { ConnectionsClient } from '@lumenflow/runtime';
import { generateSigningKeyPem, parsePublicKeyPem, parseSigningKeyPem } from '@lumenflow/verifier';
import type { SigningKey } from '@lumenflow/verifier';

export interface SimSpec {
  /** Cloud URLs; runtime i enrolls with and polls Cloud i % n, and moves to the next when its Cloud is gone. */
  urls: string[];
  tokens: string[];
  /** Index of the first runtime (ids of records are unique across processes). */
  offset: number;
  labels: string[];
  /** Policy-decision records per session, besides accepted and ended. */
  records: number;
  batch: number;
  /** `handshake`: send runtime.enroll so a chain Cloud learns the runtime (cloud serve); `bare`: skip it (the bench). */
  mode: 'handshake' | 'bare';
}

const HOST = { os: 'linux', arch: 'x64', nodeVersion: process.version, hostnameHash: `sha256:${'0'.repeat(64)}` };

function sign(message: UnsignedRuntimeMessage, key: SigningKey): RuntimeToCloudMessage {
  return { ...message, signature: { keyId: key.keyId, value: Buffer.from(key.sign(canonicalizeToBytes(message))).toString('base64') } } as RuntimeToCloudMessage;
}

async function runOne(spec: SimSpec, index: number, token: string, onReady: () => void, report: (line: unknown) => void): Promise<void> {
  const key = parseSigningKeyPem(generateSigningKeyPem());
  let urlIndex = index % spec.urls.length;
  const enrolled = await postEnrollment(spec.urls[urlIndex] as string, { token, publicKeyPem: key.publicKeyPem, labels: spec.labels, version: '0.1.0', host: HOST });
  if (enrolled.status !== 201) throw new Error(`enroll ${index}: HTTP ${enrolled.status} ${JSON.stringify(enrolled.body)}`);
  const info = enrolled.body as { runtimeId: string; cloudPublicKeyPem: string; cloudKeyId: string; leaseMs: number };
  const cloudPublicKey = parsePublicKeyPem(info.cloudPublicKeyPem);
  let client: ConnectionsClient = createConnectionsClient({ baseUrl: spec.urls[urlIndex] as string, runtimeId: info.runtimeId, signingKey: key, clock: systemClock });
  let n = 0;
  const id = (): string => `rmsg-${index}-${++n}`;
  // A Cloud that is gone (connection refused after the client's retries): the same request goes to the next one.
  const request = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    for (let tries = 0; ; tries++) {
      try {
        return await client.request(method, path, body);
      } catch (error) {
        if (tries >= spec.urls.length * 3) throw error;
        urlIndex = (urlIndex + 1) % spec.urls.length;
        client = createConnectionsClient({ baseUrl: spec.urls[urlIndex] as string, runtimeId: info.runtimeId, signingKey: key, clock: systemClock });
      }
    }
  };
  const post = async (messages: RuntimeToCloudMessage[]): Promise<void> => {
    for (let i = 0; i < messages.length; i += spec.batch) {
      const records = messages.slice(i, i + spec.batch).map((m) => ({ kind: 'runtime-message' as const, recordId: m.messageId, message: m }));
      const ack = await request('POST', '/v1/evidence', { records });
      if (ack.status !== 200) throw new Error(`evidence HTTP ${ack.status}`);
      report({ posted: records.map((r) => r.recordId), runtimeId: info.runtimeId });
    }
  };
  if (spec.mode === 'handshake') {
    await post([sign({ type: 'runtime.enroll', messageId: id(), runtimeId: info.runtimeId, publicKeyPem: key.publicKeyPem, labels: spec.labels, version: '0.1.0', host: HOST }, key)]);
  }
  onReady();
  let after = 0;
  const sessions = new Map<string, { runId: string; askId: string; renew: NodeJS.Timeout }>();
  for (;;) {
    const reply = await request('GET', `/v1/work?after=${after}&wait=25000`);
    const work = WorkResponseSchema.parse(reply.body);
    for (const item of work.items) {
      after = item.seq;
      const checked = checkDispatch(item, { runtimeId: info.runtimeId, cloudKeyId: info.cloudKeyId, cloudPublicKey });
      if (!checked.ok) throw new Error(`dispatch refused: ${checked.code}`);
      const { message, claim } = checked.body;
      if (message.type === 'session.open' && claim !== null) {
        const claimed = await request('POST', '/v1/claims', { workId: item.workId, ...claim });
        report({ claim: claim.askId, attempt: claim.attempt, status: claimed.status, runtimeId: info.runtimeId });
        if (claimed.status !== 201 && claimed.status !== 200) continue;
        // As a real runtime does: renew the lease every third of it until the session ends, and stop
        // the session (only that one) when Cloud refuses a renewal: another run of its Ask took over.
        const leaseId = (claimed.body as { leaseId: string }).leaseId;
        const { sessionId, runId } = message;
        const renew = setInterval(() => {
          void request('POST', '/v1/leases', { askId: claim.askId, attempt: claim.attempt, leaseId })
            .then(async (reply) => {
              if (reply.status !== 409 || !sessions.has(sessionId)) return;
              sessions.delete(sessionId);
              clearInterval(renew);
              report({ leaseLost: claim.askId, attempt: claim.attempt, runtimeId: info.runtimeId });
              await post([ended(runId, sessionId, 'halted', 'LEASE_LOST')]);
            })
            .catch(() => undefined);
        }, Math.max(100, Math.floor(info.leaseMs / 3)));
        sessions.set(sessionId, { runId, askId: claim.askId, renew });
        const accepted = sign({ type: 'session.accepted', messageId: id(), runId: message.runId, sessionId: message.sessionId, startedAt: new Date().toISOString(), sandbox: { kind: 'bubblewrap', version: '0.8.0', profileDigest: `sha256:${'b'.repeat(64)}` }, baselineCommit: '0'.repeat(40) }, key);
        if (spec.mode === 'bare') {
          // No chain behind the bench's dispatch: the whole session goes at once.
          await post([accepted, ...decisions(message.runId, message.sessionId, claim.askId), ended(message.runId, message.sessionId, 'completed')]);
          clearInterval(renew);
          sessions.delete(message.sessionId);
        } else {
          await post([accepted]);
        }
      } else if (message.type === 'session.start') {
        const s = sessions.get(message.sessionId);
        if (s === undefined) continue;
        sessions.delete(message.sessionId);
        await post([...decisions(s.runId, message.sessionId, s.askId), ended(s.runId, message.sessionId, 'completed')]);
        clearInterval(s.renew);
      } else if (message.type === 'session.halt') {
        const s = sessions.get(message.sessionId);
        if (s === undefined) continue;
        sessions.delete(message.sessionId);
        await post([ended(s.runId, message.sessionId, 'halted')]);
        clearInterval(s.renew);
      }
    }
  }

  function decisions(runId: string, sessionId: string, askId: string): RuntimeToCloudMessage[] {
    return Array.from({ length: spec.records }, (_, r) => {
      const record: PolicyDecisionRecord = {
        schemaVersion: 1,
        decisionId: `dec-${index}-${n}-${r}`,
        timestamp: new Date().toISOString(),
        runId,
        askId,
        evaluatedAt: 'runtime',
        scope: { kind: 'fs.read', target: 'src/calc.js' },
        effect: 'allow',
        matchedRuleIds: ['sim.allow'],
        decidingRuleId: 'sim.allow',
        reason: 'simulated',
        policyDigest: `sha256:${'1'.repeat(64)}`,
        warnings: [],
      };
      return sign({ type: 'evidence.policy-decision', messageId: id(), runId, sessionId, record }, key);
    });
  }
  function ended(runId: string, sessionId: string, outcome: 'completed' | 'halted', code = 'HALTED'): RuntimeToCloudMessage {
    return sign({ type: 'session.ended', messageId: id(), runId, sessionId, outcome, reason: 'simulated', ...(outcome === 'halted' ? { code } : {}), workspaceUnchanged: true, endedAt: new Date().toISOString() }, key);
  }
}

/** Runs every runtime of `spec` in this process until it is killed. */
export async function runSimRuntimes(spec: SimSpec, write: (line: string) => void): Promise<void> {
  let ready = 0;
  await Promise.all(
    spec.tokens.map((token, i) =>
      runOne(
        spec,
        spec.offset + i,
        token,
        () => {
          if (++ready === spec.tokens.length) write('ready');
        },
        (line) => write(JSON.stringify(line)),
      ),
    ),
  );
}

if (process.argv[1] !== undefined && process.argv[1].endsWith('sim-runtimes.ts') && process.argv[2] !== undefined) {
  process.on('SIGTERM', () => process.exit(0));
  const spec = JSON.parse(await readFile(process.argv[2], 'utf8')) as SimSpec;
  runSimRuntimes(spec, (line) => process.stdout.write(`${line}\n`)).catch((error: unknown) => {
    process.stderr.write(`sim-runtimes: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(3);
  });
}
