// Keeps the package graph pointing one way. The verifier must stay usable by a
// third party alone, and Cloud and Runtime may only meet through the transport,
// so an import that crosses those lines fails the test command.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const ALLOWED: Record<string, readonly string[]> = {
  protocol: [],
  verifier: ['protocol'],
  policy: ['protocol'],
  runtime: ['protocol', 'policy', 'verifier'],
  replay: ['protocol', 'verifier'],
  cloud: ['protocol', 'policy', 'verifier', 'replay'],
};

const root = resolve(import.meta.dirname, '..');
const problems: string[] = [];

for (const name of readdirSync(join(root, 'packages'))) {
  const dir = join(root, 'packages', name);
  if (!statSync(dir).isDirectory()) continue;
  const allowed = ALLOWED[name];
  if (allowed === undefined) {
    problems.push(`packages/${name}: not in the allowed graph in scripts/check-arrows.ts`);
    continue;
  }
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const declared = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })
    .filter((dep) => dep.startsWith('@lumenflow/'))
    .map((dep) => dep.slice('@lumenflow/'.length));
  for (const dep of declared) {
    if (!allowed.includes(dep)) problems.push(`packages/${name}/package.json: may not depend on @lumenflow/${dep}`);
  }
  for (const file of walk(join(dir, 'src'))) {
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      const spec = match[1] ?? '';
      const where = relative(root, file);
      if (spec.startsWith('@lumenflow/')) {
        const dep = spec.slice('@lumenflow/'.length).split('/')[0] ?? '';
        if (dep !== name && !declared.includes(dep)) problems.push(`${where}: imports ${spec}, not a declared dependency`);
        if (spec.split('/').length > 2) problems.push(`${where}: reaches into ${spec}; import the package entry`);
      } else if (spec.startsWith('.')) {
        const target = resolve(file, '..', spec);
        if (!target.startsWith(dir + '/')) problems.push(`${where}: relative import ${spec} leaves the package`);
      }
    }
  }
}

// Cycles between files: arrows point one way inside a package too. Relative
// imports (`import type` included: a type cycle is a design cycle) of every
// package's src and of scripts/ form a graph; any strongly connected set of
// more than one file is reported.
const graph = new Map<string, string[]>();
for (const base of [...readdirSync(join(root, 'packages')).map((name) => join(root, 'packages', name, 'src')), join(root, 'scripts')]) {
  for (const file of walk(base)) {
    if (file.endsWith('.test.ts')) continue;
    const targets: string[] = [];
    for (const match of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)) {
      const target = resolve(file, '..', (match[1] ?? '').replace(/\.js$/, '.ts'));
      if (target.endsWith('.ts')) targets.push(target);
    }
    graph.set(file, targets);
  }
}
for (const cycle of findCycles(graph)) problems.push(`import cycle: ${cycle.map((f) => relative(root, f)).join(' -> ')}`);

/** Strongly connected sets of more than one file (Tarjan), each sorted, for a stable report. */
function findCycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!edges.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) as number, low.get(next) as number));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node) as number, index.get(next) as number));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      for (let member = stack.pop(); member !== undefined; member = stack.pop()) {
        onStack.delete(member);
        component.push(member);
        if (member === node) break;
      }
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const node of edges.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

function* walk(dir: string): Generator<string> {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* walk(path);
    else if (path.endsWith('.ts')) yield path;
  }
}

if (problems.length > 0) {
  process.stderr.write(`${problems.join('\n')}\n`);
  process.exitCode = 1;
} else {
  process.stdout.write('package arrows ok\n');
}
