import { outputKeyer } from './row-identity';
import type { OutputLayout, ProbeRow } from './run';

/**
 * A stable batch-size class: (size, position) pairs where every probe's outputs are bitwise
 * identical. `positions` is 'all' when the class holds every probed position of its sizes.
 */
export interface BatchClass {
  sizes: number[];
  positions: 'all' | number[];
  /** Every (size, position) pair in the class. */
  members: [number, number][];
}

interface Pending {
  members: [number, number][];
  /** probe -> output key seen in this class */
  keys: Map<number, string>;
}

/**
 * Groups (size, position) pairs whose probe outputs are bitwise identical. Uses only rows the
 * check already ran (reference, batch, mates, permuted): no extra inference; only meaningful
 * without leakage, where the batch-mates do not matter. Pairs join a class when
 * they share at least one probe with it and agree on every shared probe.
 */
/** The runs classes are made of: a probe at a size and position, with ordinary batch-mates. */
export function classRun(purpose: ProbeRow['purpose']): boolean {
  return purpose === 'reference' || purpose === 'batch' || purpose === 'mates' || purpose === 'permuted';
}

export function stableClasses(rows: readonly ProbeRow[], layouts: readonly OutputLayout[]): BatchClass[] {
  const byPair = new Map<string, { size: number; position: number; keys: Map<number, string> }>();
  const keyOf = outputKeyer(layouts);
  for (const row of rows) {
    if (!classRun(row.purpose)) continue;
    const id = `${row.size}:${row.position}`;
    const pair = byPair.get(id) ?? { size: row.size, position: row.position, keys: new Map() };
    pair.keys.set(row.probe, keyOf(row));
    byPair.set(id, pair);
  }
  const pairs = [...byPair.values()].sort((a, b) => a.size - b.size || a.position - b.position);
  const classes = linkByProbe(pairs) ?? greedy(pairs);
  const positionsOf = (size: number) => pairs.filter((p) => p.size === size).map((p) => p.position);
  return classes.map((c) => {
    const sizes = [...new Set(c.members.map(([s]) => s))];
    const every = sizes.every((s) => positionsOf(s).every((pos) => c.members.some(([ms, mp]) => ms === s && mp === pos)));
    return {
      sizes,
      positions: every ? 'all' : [...new Set(c.members.map(([, p]) => p))].sort((a, b) => a - b),
      members: c.members,
    };
  });
}

type Pair = { size: number; position: number; keys: Map<number, string> };

/**
 * Pairs are linked when one probe gave the same bits at both (union-find), so a pair that saw
 * only one probe still finds its class through other pairs. Returns null when a linked group
 * disagrees on some probe: those outputs are not a function of (size, position) alone.
 */
function linkByProbe(pairs: readonly Pair[]): Pending[] | null {
  const parent = pairs.map((_, i) => i);
  const root = (i: number): number => (parent[i] === i ? i : (parent[i] = root(parent[i])));
  const firstWith = new Map<string, number>();
  pairs.forEach((pair, i) => {
    for (const [probe, key] of pair.keys) {
      const id = `${probe}|${key}`;
      const seen = firstWith.get(id);
      if (seen === undefined) firstWith.set(id, i);
      else parent[root(i)] = root(seen);
    }
  });
  const groups = new Map<number, Pending>();
  for (let i = 0; i < pairs.length; i++) {
    const group = groups.get(root(i)) ?? { members: [], keys: new Map<number, string>() };
    groups.set(root(i), group);
    group.members.push([pairs[i].size, pairs[i].position]);
    for (const [probe, key] of pairs[i].keys) {
      if (group.keys.has(probe) && group.keys.get(probe) !== key) return null;
      group.keys.set(probe, key);
    }
  }
  return [...groups.values()];
}

/** The fallback: each pair joins the first class it shares a probe with and agrees with. */
function greedy(pairs: readonly Pair[]): Pending[] {
  const classes: Pending[] = [];
  for (const pair of pairs) {
    const home = classes.find((c) => {
      let shared = 0;
      for (const [probe, key] of pair.keys) {
        const seen = c.keys.get(probe);
        if (seen === undefined) continue;
        if (seen !== key) return false;
        shared++;
      }
      return shared > 0;
    });
    const target: Pending = home ?? { members: [], keys: new Map() };
    if (!home) classes.push(target);
    target.members.push([pair.size, pair.position]);
    for (const [probe, key] of pair.keys) target.keys.set(probe, key);
  }
  return classes;
}

/** "{1} | {2..64, every position}": the classes in one line. */
export function describeClasses(classes: readonly BatchClass[], sweep: readonly number[], formatSizes: (s: number[], sweep: readonly number[]) => string): string {
  return classes
    .map((c) => {
      const where =
        c.positions === 'all'
          ? c.sizes.some((s) => s > 1) ? ', every position' : ''
          : `, positions ${c.members.map(([s, p]) => `${s}@${p}`).join(' ')}`;
      return `{${formatSizes(c.sizes, sweep)}${where}}`;
    })
    .join(' | ');
}

/**
 * True when every probe, alone at the reference size, gets the same outputs though their
 * samples differ: the output does not depend on the sample, so a row handed another sample's
 * answer (rows swapped or mixed in the batch) cannot show. A pass still holds for what it
 * compared, and says so. Equal as numbers, not only as bits: an output of zeros whose signs
 * vary (x * 0) is as blind as one of constant bits.
 */
export function sameAnswerForEveryProbe(rows: readonly ProbeRow[], layouts: readonly OutputLayout[], reference: number): boolean {
  const alone = rows.filter((r) => r.purpose === 'reference' && r.size === reference);
  if (new Set(alone.map((r) => r.probe)).size < 2) return false;
  const keyOf = outputKeyer(layouts);
  if (new Set(alone.map(keyOf)).size === 1) return true;
  return alone.every((row) => layouts.every((l) => sameNumbers(alone[0].outputs[l.name], row.outputs[l.name])));
}

/** Element by element as numbers (+0 equals -0, NaN equals NaN); stops at the first difference. */
function sameNumbers(a: ArrayLike<number | bigint>, b: ArrayLike<number | bigint>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = b[i];
    if (x !== y && !(x !== x && y !== y)) return false;
  }
  return true;
}
