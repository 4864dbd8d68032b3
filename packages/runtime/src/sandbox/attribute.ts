import type { PolicyDecision } from '@lumenflow/policy';
import { RuntimeError } from '../errors.js';
import { diffSnapshots, sameEntry } from './snapshot.js';
import type { Snapshot, SnapshotChange, SnapshotEntry, Snapshotter } from './snapshot.js';

/** One workspace change a tool process made, with the Rules decision on it. */
export interface AttributedChange extends SnapshotChange {
  decision: PolicyDecision;
  /** True when the change was undone because the decision was not allow. */
  reverted: boolean;
}

/** Most changes one tool call may make; past this every change is reverted and one deny says why. */
export const MAX_ATTRIBUTED_CHANGES = 1000;

/**
 * Compares the workspace with its state before a tool process ran, judges each
 * changed path as an `fs.write` by that call, and reverts every change that
 * is not allowed. The result is checked: a denied path that is not back to
 * its earlier state fails the call rather than reach the diff.
 *
 * @param judge the Rules decision on an fs.write of a workspace path.
 * @param inspect a second look at a file Rules allowed to be added or modified,
 *   by its new content: a decision to put in place of the allow (a deny, and
 *   the change is reverted), or undefined to keep it (secrets: ADR 0035).
 * @param tooMany the decision recorded when a call changed more than {@link MAX_ATTRIBUTED_CHANGES} paths.
 * @throws {RuntimeError} ATTRIBUTION_FAILED when a revert did not hold.
 */
export async function attributeChanges(opts: {
  snapshotter: Snapshotter;
  before: Snapshot;
  judge: (path: string) => PolicyDecision;
  inspect?: (path: string) => Promise<PolicyDecision | undefined>;
  tooMany: (count: number, firstPath: string) => PolicyDecision;
}): Promise<{ changes: AttributedChange[]; after: Snapshot }> {
  const { snapshotter, before } = opts;
  const seen = await snapshotter.take();
  const raw = diffSnapshots(before, seen);
  if (raw.length === 0) return { changes: [], after: seen };
  let changes: AttributedChange[];
  if (raw.length > MAX_ATTRIBUTED_CHANGES) {
    const first = raw[0] as SnapshotChange;
    changes = [{ ...first, decision: opts.tooMany(raw.length, first.path), reverted: true }];
    await revert(snapshotter, before, raw);
  } else {
    const judged = (change: SnapshotChange): AttributedChange => {
      const decision = opts.judge(change.path);
      return { ...change, decision, reverted: decision.effect !== 'allow' };
    };
    // A new directory is judged only on its own: git tracks no directories, so
    // one that leads to an allowed file is part of that write, not a change of its own.
    const isNewDir = (c: SnapshotChange): boolean => c.change === 'added' && seen.get(c.path)?.type === 'dir';
    const files = raw.filter((c) => !isNewDir(c)).map(judged);
    for (const [i, file] of files.entries()) {
      if (file.reverted || file.change === 'deleted' || seen.get(file.path)?.type !== 'file' || opts.inspect === undefined) continue;
      const second = await opts.inspect(file.path);
      if (second !== undefined && second.effect !== 'allow') files[i] = { ...file, decision: second, reverted: true };
    }
    const allowed = files.filter((c) => !c.reverted).map((c) => c.path);
    const dirs = raw.filter(isNewDir).filter((d) => !allowed.some((p) => p.startsWith(`${d.path}/`))).map(judged);
    changes = [...files, ...dirs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    await revert(snapshotter, before, changes.filter((c) => c.reverted));
  }
  const after = await snapshotter.take();
  const undone = raw.length > MAX_ATTRIBUTED_CHANGES ? raw : changes.filter((c) => c.reverted);
  for (const { path } of undone) {
    if (!sameOrAbsent(before.get(path), after.get(path))) throw new RuntimeError('ATTRIBUTION_FAILED', `a change to ${path} that Rules did not allow could not be reverted`);
  }
  return { changes, after };
}

// Added paths go deepest first (a directory empties before it goes); earlier
// entries come back shallowest first (a directory exists before its files).
async function revert(snapshotter: Snapshotter, before: Snapshot, changes: readonly SnapshotChange[]): Promise<void> {
  const depth = (path: string): number => path.split('/').length;
  const added = changes.filter((c) => !before.has(c.path)).sort((a, b) => depth(b.path) - depth(a.path));
  const earlier = changes.filter((c) => before.has(c.path)).sort((a, b) => depth(a.path) - depth(b.path));
  for (const { path } of added) await snapshotter.restore(path, undefined);
  for (const { path } of earlier) await snapshotter.restore(path, before.get(path));
}

function sameOrAbsent(a: SnapshotEntry | undefined, b: SnapshotEntry | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return sameEntry(a, b);
}
