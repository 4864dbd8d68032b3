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
