/**
 * The CLI's store of graph facts (runtime/handle.ts GraphFactsStore): a check of a text model
 * reads its graph for the id tables' bounds, and decoding it costs a run that has only just
 * started more than the check's whole comparison (about 20 ms of a 300 ms check of the bundled
 * text embedder on a 2-core VM; bench/RESULTS.md). Kept beside the code cache, one file per model
 * path, under the model file's identity: its device, inode, size, modification and change times
 * in nanoseconds (any write to the file changes the change time), and the identity of the CLI
 * that decoded it (a rebuilt or upgraded CLI may read other facts).
 *
 * A kept file is trusted only whole: a header line (the identity and a checksum of the rest), the
 * bounds of the id tables as JSON on a line of their own, and the graph facts as JSON, made only
 * when asked for (a passing check of a text model needs the bounds only: parsing the graph's
 * 80 KB of JSON, and collecting it, cost that check about 2 ms). Facts are kept only when they
 * come back from JSON exactly as they were (numbers JSON has no word for, NaN, Infinity and -0,
 * are written as tagged strings). An optimisation only: whatever fails, the facts are decoded
 * from the model as without it; NODE_DISABLE_COMPILE_CACHE=1 turns it off with the code cache.
 */
import fs = require('fs');
import path = require('path');
import type * as util from 'util';
import type { GraphFactsStore, KeptFacts } from '../runtime/handle';
import { checksum } from '../kernels/checksum';
import { compileCacheDir, shortTag, writableByOthers } from './compile-cache';

/** Model paths whose facts are kept at most; the oldest go first. */
const KEEP = 32;
const MAGIC = 'batchproof graph facts 2';
/** Marks a number JSON cannot hold, written as a string ('\u0000NaN', '\u0000-0'). */
const TAG = '\u0000';

interface Header { magic: string; file: string; identity: string; sum: string; tagged: boolean }

/**
 * Facts are kept only for a file unchanged for this long: a file system stamps times from a
 * coarse clock (a few ms; a second or two on some), so a file written again within one tick, at
 * the same size, would keep its identity. Kept only once older than any tick, a later write
 * always shows in its times.
 */
const SETTLED_MS = 2000;

export interface FactsStoreOptions {
  /** Where the facts go: the code cache's folder by default. */
  dir?: string;
  /** The file of the code that decodes them (the CLI's bundle): another build keeps its own. */
  code?: string;
  env?: NodeJS.ProcessEnv;
  /** How long a model file must have been unchanged for its facts to be kept. */
  settledMs?: number;
}

/** The CLI's store of graph facts; null when turned off. */
export function diskFactsStore(options: FactsStoreOptions = {}): GraphFactsStore | null {
  const { code = __filename, env = process.env, settledMs = SETTLED_MS } = options;
  if (env.NODE_DISABLE_COMPILE_CACHE) return null;
  const cache = options.dir === undefined ? compileCacheDir(env) : undefined;
  const dir = options.dir ?? (cache ? path.join(cache, 'facts') : null);
  // No home to keep them in: decoded every run.
  if (dir === null) return null;
  let codeIdentity: string | null = null;
  return {
    lookup(file) {
      codeIdentity ??= identityOf(code).id;
      const model = path.resolve(file);
      const { id, changed } = identityOf(model);
      const identity = `${id} ${codeIdentity}`;
      const kept = path.join(dir, `${shortTag(model)}.json`);
      // Facts another user could have written are not read (nor written: compile-cache.ts).
      const facts = writableByOthers(dir) ? null : readKept(kept, model, identity);
      if (facts) return { facts };
      return { keep: (decoded) => Date.now() - changed >= settledMs && keepQuietly(dir, kept, model, identity, decoded) };
    },
  };
}

/** A file's identity (any write to it, or another file at its path, changes it) and when it last changed, in ms. */
function identityOf(file: string): { id: string; changed: number } {
  const s = fs.statSync(file, { bigint: true });
  const changed = s.mtimeNs > s.ctimeNs ? s.mtimeNs : s.ctimeNs;
  return { id: `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`, changed: Number(changed / 1_000_000n) };
}

function readKept(kept: string, model: string, identity: string): KeptFacts | null {
  let file: Buffer;
  try {
    file = fs.readFileSync(kept);
  } catch {
    return null;
  }
  const newline = file.indexOf(10);
  try {
    const header = JSON.parse(file.subarray(0, newline).toString()) as Header;
    const body = file.subarray(newline + 1);
    if (header.magic !== MAGIC || header.file !== model || header.identity !== identity) return null;
    if (checksum(body).toString('hex') !== header.sum) return null;
    const reviver = header.tagged ? revive : undefined;
    const boundsEnd = body.indexOf(10);
    const tableBounds = JSON.parse(body.subarray(0, boundsEnd).toString(), reviver) as KeptFacts['tableBounds'];
    // Checked whole above, and read back equal when it was written: parsed when first asked for.
    let graphFacts: Pick<KeptFacts, 'graph' | 'constants'> | undefined;
    const rest = () => (graphFacts ??= JSON.parse(body.subarray(boundsEnd + 1).toString(), reviver) as Pick<KeptFacts, 'graph' | 'constants'>);
    return {
      tableBounds,
      get graph() {
        return rest().graph;
      },
      get constants() {
        return rest().constants;
      },
    };
  } catch {
    return null;
  }
}

function keepQuietly(dir: string, kept: string, model: string, identity: string, facts: KeptFacts): boolean {
  let tagged = false;
  let representable = true;
  const json = (value: unknown) => JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) {
      tagged = true;
      return `${TAG}${Object.is(v, -0) ? '-0' : String(v)}`;
    }
    if (typeof v === 'string' && v.startsWith(TAG)) representable = false;
    return v;
  });
  const bounds = json(facts.tableBounds);
  const graphFacts = json({ graph: facts.graph, constants: facts.constants });
  // Kept only if it reads back as it is (nothing dropped, nothing rounded).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { isDeepStrictEqual } = require('util') as typeof util;
  const reviver = tagged ? revive : undefined;
  const same = isDeepStrictEqual(JSON.parse(bounds, reviver), facts.tableBounds) && isDeepStrictEqual(JSON.parse(graphFacts, reviver), { graph: facts.graph, constants: facts.constants });
  if (!representable || !same) return false;
  const bytes = Buffer.from(`${bounds}\n${graphFacts}`);
  const header: Header = { magic: MAGIC, file: model, identity, sum: checksum(bytes).toString('hex'), tagged };
  const tmp = `${kept}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (writableByOthers(dir)) return false;
    fs.writeFileSync(tmp, Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), bytes]), { mode: 0o600 });
    // Renamed into place: a parallel run reads the old file or the new one, never half of one.
    fs.renameSync(tmp, kept);
    prune(dir);
    return true;
  } catch {
    // A read-only home or a full disk: the next run decodes the graph again.
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // Nothing was written.
    }
    return false;
  }
}

function revive(_key: string, value: unknown): unknown {
  return typeof value === 'string' && value.startsWith(TAG) ? Number(value.slice(1)) : value;
}

/** The KEEP most recently written files stay; temporaries of killed runs go after a minute. */
function prune(dir: string): void {
  const now = Date.now();
  const entries = fs.readdirSync(dir).map((name) => ({ name, at: fs.statSync(path.join(dir, name)).mtimeMs }));
  const stale = entries.filter((e) => e.name.endsWith('.tmp') && now - e.at > 60_000);
  const kept = entries.filter((e) => e.name.endsWith('.json')).sort((a, b) => b.at - a.at).slice(KEEP);
  for (const e of [...stale, ...kept]) fs.rmSync(path.join(dir, e.name), { force: true });
}
