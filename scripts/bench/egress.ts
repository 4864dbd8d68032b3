// pnpm bench:egress — the cost of an agent's egress proxy on this host: the
// time to open a CONNECT tunnel through it to a listed TCP echo target on
// 127.0.0.1 (p50, p99), against a direct TCP connection, and the throughput of
// one tunnel against a direct connection. No sandbox: the proxy's own cost
// (the forwarder in the sandbox adds one more relay of the same kind).
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startEgressProxy } from '@lumenflow/runtime';

const WARMUP = 100;
const OPENS = 1000;
const BYTES = 256 * 1024 * 1024;

const dir = await mkdtemp(join(tmpdir(), 'lumenflow-bench-egress-'));
const echo = createServer((socket) => socket.on('error', () => undefined).pipe(socket));
await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
const port = (echo.address() as AddressInfo).port;
const socketPath = join(dir, 'proxy.sock');
const proxy = await startEgressProxy({ socketPath, allow: { allow: [`127.0.0.1:${port}`] }, testOnlyPermitLoopback: true, limits: { connections: 64 } });

function openTunnel(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let head = '';
    socket.once('error', reject);
    socket.on('data', function onData(chunk: Buffer) {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (!head.startsWith('HTTP/1.1 200')) reject(new Error(head.split('\r\n')[0]));
      else resolve(socket);
    });
    socket.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  });
}

function openDirect(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('error', reject).once('connect', () => resolve(socket));
  });
}

async function timeOpens(open: () => Promise<Socket>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < WARMUP + OPENS; i++) {
    const start = performance.now();
    const socket = await open();
    if (i >= WARMUP) times.push(performance.now() - start);
    socket.destroy();
  }
  return times.sort((a, b) => a - b);
}

async function throughput(open: () => Promise<Socket>): Promise<number> {
  const socket = await open();
  const chunk = Buffer.alloc(64 * 1024, 7);
  const start = performance.now();
  await new Promise<void>((resolve) => {
    let received = 0;
    socket.on('data', (data: Buffer) => {
      received += data.length;
      if (received >= BYTES) resolve();
    });
    let sent = 0;
    const pump = (): void => {
      while (sent < BYTES) {
        sent += chunk.length;
        if (!socket.write(chunk)) return void socket.once('drain', pump);
      }
    };
    pump();
  });
  const seconds = (performance.now() - start) / 1000;
  socket.destroy();
  return BYTES / 1024 / 1024 / seconds;
}

const pct = (sorted: number[], p: number): string => (sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0).toFixed(3);
const direct = await timeOpens(openDirect);
const tunnel = await timeOpens(openTunnel);
console.log(`open, ${OPENS} after ${WARMUP} warm-up: direct p50 ${pct(direct, 50)} ms p99 ${pct(direct, 99)} ms; through the proxy p50 ${pct(tunnel, 50)} ms p99 ${pct(tunnel, 99)} ms`);
console.log(`echo throughput, ${BYTES / 1024 / 1024} MiB each way: direct ${(await throughput(openDirect)).toFixed(0)} MiB/s; through the proxy ${(await throughput(openTunnel)).toFixed(0)} MiB/s`);
const record = await proxy.close();
console.log(`proxy record: ${record.allowed} tunnels allowed, ${record.denied} denied, ${(record.bytesOut / 1024 / 1024).toFixed(0)} MiB out, ${(record.bytesIn / 1024 / 1024).toFixed(0)} MiB in`);
echo.close();
await rm(dir, { recursive: true, force: true });
