#!/usr/bin/env node
// `lumenflow-cloud <args>` is `lumenflow cloud <args>`: the one CLI lives in the workspace's
// scripts/lumenflow.ts (it wires several packages, and packages never import each other).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../../scripts/lumenflow.ts', import.meta.url));
const tsx = createRequire(import.meta.url).resolve('tsx');
const child = spawn(process.execPath, ['--import', tsx, cli, 'cloud', ...process.argv.slice(2)], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal === 'SIGINT' ? 130 : 1);
});
