/**
 * Runs the bundled CLI (one file) from a V8 code cache, so a repeated `batchproof` run skips most
 * of the compilation of its code: about 20 ms of a 200 ms check on the bundled transformer
 * (bench/RESULTS.md). The cache is made at exit, after the run, so it holds every function the
 * run compiled: V8 compiles lazily, and a cache made right after compiling (v8-compile-cache,
 * which gained nothing here) holds little beyond the top level.
 *
 * One cache per command and kind of target (each runs different code: cacheNameFor), refreshed
 * by its first few runs and by any later run that took a code path the cache has not seen
 * (noteCodePath: a text model after a run of plain ones, a violated verdict, HTML output); one per
 * install (bundle path), bundle content, Node version and arch. V8 itself checks only the source's length, so the key
 * is the content hash that scripts/bundle-cli.js writes on the bundle's first line (hashing a
 * megabyte here would cost more than the cache saves); a file without one runs uncached.
 *
 * That line stays as it was when the bundle is edited after the build (patch-package, a fix
 * tried by hand in node_modules), and an edit of the same length (a digit, a word) then ran the
 * old code from the cache, run after run. So a cache also records the bundle file it was made
 * from: its identity (device, inode, size, modification and change times, as the facts cache
 * keeps a model's) and the checksum of its bytes. A bundle of the same identity is the same
 * file (one fstat a run); one of another identity (an edit, a reinstall) is checksummed (about
 * 0.3 ms) and runs from the cache only when its bytes are the same, which then records the new
 * identity at exit.
 *
 * V8 does not verify cached code: a cache with a few bits flipped (a bad disk, a stray write)
 * is run as it is and crashes the process (a V8 check failure, exit 133, or a segfault), on every
 * run until the file goes. So each file starts with a checksum of its bytes (64 bits, by a
 * WebAssembly kernel, src/kernels/checksum.ts: about 0.3 ms for a 500 KB cache), checked before
 * V8 sees them: a mismatch deletes the file and the run compiles as usual, writing a good cache
 * at exit. Neither zlib's CRC-32 nor crypto's hashes: loading either costs every run 3 ms.
 *
 * An optimisation only: whatever fails, the CLI runs as it would without it, and nothing is
 * printed. NODE_DISABLE_COMPILE_CACHE=1 (Node's own switch) turns it off.
 */
import fs = require('fs');
import Module = require('module');
import type * as os from 'os';
import path = require('path');
import vm = require('vm');
import type * as pidModule from '../io/pid';
import { checksum } from '../kernels/checksum';

/** Runs after the first that still add the functions they compiled to the cache. */
const REFRESHES = 3;

/**
 * A cache file: this magic, the checksum of the rest (8 bytes), the checksum of the bundle it was
 * made from (8 bytes), the length of the bundle file's identity (1 byte) and the identity, the V8
 * data. Files of the formats before it (bpc1, SHA-256; bpc2, CRC-32; bpc3, which did not record
 * the bundle) are not trusted: they go, and are written anew.
 */
const MAGIC = Buffer.from('bpc4');
const HEAD = MAGIC.length + 8;

/** The bundle a cache was made from: the checksum of its bytes, and its file's identity ('' for none). */
export interface BundleStamp {
  sum: Buffer;
  identity: string;
}

/** The V8 data with its checksum and the bundle's stamp in front, as a cache file holds it. */
export function sealCache(data: Uint8Array, bundle: BundleStamp): Buffer {
  const identity = Buffer.from(bundle.identity.length <= 255 ? bundle.identity : '', 'latin1');
  const rest = Buffer.concat([bundle.sum, Buffer.from([identity.length]), identity, data]);
  return Buffer.concat([MAGIC, checksum(rest), rest]);
}

/** The V8 data of a cache file and the bundle's stamp, or null when its checksum does not match (then V8 must never see it). */
export function verifiedCache(file: Buffer): { data: Buffer; bundle: BundleStamp } | null {
  if (file.length <= HEAD + 9 || !file.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  const rest = file.subarray(HEAD);
  if (!checksum(rest).equals(file.subarray(MAGIC.length, HEAD))) return null;
  const start = 9 + rest[8];
  if (rest.length <= start) return null;
  return { data: rest.subarray(start), bundle: { sum: rest.subarray(0, 8), identity: rest.subarray(9, start).toString('latin1') } };
}

/**
 * A bundle's identity is recorded only once it has been unchanged this long: a file system stamps
 * times from a coarse clock (a second on some), so an edit of the same size within one tick
 * would keep it. Until then each run checksums the bundle.
 */
const SETTLED_MS = 2000;

/** The identity of the open bundle file, '' while it may still change within a clock tick. */
function identityOf(fd: number): string {
  const s = fs.fstatSync(fd, { bigint: true });
  const changed = s.mtimeNs > s.ctimeNs ? s.mtimeNs : s.ctimeNs;
  return Date.now() - Number(changed / 1_000_000n) >= SETTLED_MS ? `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}` : '';
}

/** Where noteCodePath records, shared by the copy of this module in the bundle and the one outside it. */
const CODE_PATHS = Symbol.for('batchproof.codePaths');
/** At most this many code paths are recorded in a cache's name. */
const MAX_CODE_PATHS = 16;

/**
 * Records that this run took a code path (a word: 'text', 'violated', 'html') whose functions
 * the command's cache may lack: a cache that has not seen it is refreshed at exit. A cache holds
 * only what its runs compiled, so one made by runs on plain models leaves a text model's
 * padding code to compile on every run (about 17 ms of a text check; bench/RESULTS.md).
 */
export function noteCodePath(name: string): void {
  if (!/^[a-z]+(-[a-z]+)*$/.test(name)) return;
  const g = globalThis as { [CODE_PATHS]?: Set<string> };
  (g[CODE_PATHS] ??= new Set()).add(name);
}

function notedCodePaths(): string[] {
  return [...((globalThis as { [CODE_PATHS]?: Set<string> })[CODE_PATHS] ?? [])];
}

/** A short tag of a string (FNV-1a, 32 bits, as 8 hex digits): names an install's caches. */
export function shortTag(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * The user's cache directory (XDG), private to the user: code is read back from it. Null where
 * the user has none: no $HOME and no home in the user database (a container run as a uid that
 * has no passwd entry), where os.homedir() throws; the CLI then runs without its caches.
 */
export function compileCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  // A relative XDG_CACHE_HOME is invalid and to be ignored (XDG base directory spec): taken, it
  // would make a cache folder in whatever directory each run starts in.
  if (env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)) return path.join(env.XDG_CACHE_HOME, 'batchproof');
  let home: string;
  try {
    // os.homedir() is $HOME where there is one: os is not loaded for it (every run asks).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    home = process.platform !== 'win32' && env.HOME ? env.HOME : (require('os') as typeof os).homedir();
  } catch {
    return null;
  }
  return home ? path.join(home, '.cache', 'batchproof') : null;
}

/**
 * Whether someone else could write in `dir`: not the user's own, or open to the group or to all
 * (an XDG_CACHE_HOME on a shared volume, a folder made by another user under /tmp). Code is run
 * from the caches, and temporaries named by pid are opened there: such a folder is neither read
 * nor written (another user could plant code that the checksum, which only catches a bad disk,
 * would pass, or a link that the write would follow). A folder not there yet is made private.
 */
export function writableByOthers(dir: string): boolean {
  if (typeof process.getuid !== 'function') return false;
  let s: fs.Stats;
  try {
    s = fs.statSync(dir);
  } catch {
    return false;
  }
  return s.uid !== process.getuid() || (s.mode & 0o022) !== 0;
}

/**
 * How scripts/bundle-cli.js wraps the bundle: compiled as a script (top-level `this` is the
 * global object), its value is the CommonJS module function, compiled as read (wrapping the
 * source here, Module.wrap, made V8 flatten a second copy of 0.9 MB, about 0.7 ms a run);
 * required as a module (`node dist/cli.js`, `this` is its exports), it runs itself.
 */
export const BUNDLE_HEAD = '(function (run, self) { return self === globalThis ? run : void run.call(exports, exports, require, module, __filename, __dirname); })(function (exports, require, module, __filename, __dirname) {';
export const BUNDLE_TAIL = '\n}, this)';

/**
 * The cache a run uses, from its arguments: one per command, and per kind of target where their
 * code differs: a model, a batch function's module (.js, .mjs, .cjs, .ts), the wasm provider. A cache
 * that runs of all three had added to held 528 KB, against 384 KB for a function's runs alone,
 * and took 1.9 ms against 1.5 to deserialise (V8 reads all of it, used or not), besides reading
 * and checksumming the bytes. A guess from the words only (nothing is read): a wrong one costs
 * that time, never a result.
 */
export function cacheNameFor(args: readonly string[]): string {
  const command = args[0] ?? '';
  // runtime/function.ts's FUNCTION_MODULE, which the bin cannot import (it loads onnxruntime).
  if (args.slice(1).some((a) => !a.startsWith('-') && /\.(mjs|cjs|js|mts|cts|ts)$/i.test(a))) return `${command}-function`;
  if (args.some((a) => a === 'wasm' || a.endsWith('=wasm'))) return `${command}-wasm`;
  return command;
}

/** Runs `file` as a CommonJS module compiled through the cache; false when there is no such file. */
export function runFromCodeCache(file: string, command = '', dir: string | null = compileCacheDir()): boolean {
  let source: string;
  let bytes: Buffer;
  let identity = '';
  try {
    const fd = fs.openSync(file, 'r');
    try {
      // The identity of the file read (a rename over the path in between cannot mix two files).
      identity = identityOf(fd);
      bytes = fs.readFileSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    // The bundle is ASCII (scripts/bundle-cli.js makes it so): latin1 reads it as UTF-8 would, faster.
    source = bytes.toString('latin1');
  } catch {
    return false;
  }
  const hash = /^\/\/ batchproof cli sha1:([0-9a-f]{40})\n/.exec(source)?.[1];
  // import() inside the bundle behaves as usual only with this (Node 20.12+).
  const importDynamically = (vm as { constants?: { USE_MAIN_CONTEXT_DEFAULT_LOADER?: unknown } }).constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  if (process.env.NODE_DISABLE_COMPILE_CACHE || typeof importDynamically !== 'symbol' || !hash || dir === null) {
    require(file);
    return true;
  }
  const wrapped = source.startsWith(BUNDLE_HEAD, source.indexOf('\n') + 1);
  const script = cachedScript(file, wrapped ? source : Module.wrap(source), { bytes, identity }, command, hash, dir, importDynamically);
  const mod = { exports: {}, filename: file, id: file };
  const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
  wrapper.call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
  return true;
}

/** The script compiled from the command's cache where there is a good one, and cached at exit. */
function cachedScript(file: string, code: string, bundle: { bytes: Buffer; identity: string }, command: string, hash: string, dir: string, importDynamically: symbol): vm.Script {
  // One cache per install too (a tag of the bundle's path): an install replaces only its own
  // older caches, so two installs (two projects, two checkouts) run side by side keep theirs
  // instead of evicting each other's on every run, which left every run compiling cold.
  const install = shortTag(path.resolve(file));
  const prefix = `${path.basename(file)}-${/^[a-z][a-z-]*$/.test(command) ? command : 'other'}-${process.version}-${process.arch}-${install}-`;
  const key = `${prefix}${hash.slice(0, 16)}`;
  let cachedData: Buffer | undefined;
  let generation = 0;
  // The code paths the cache has seen, in its name: KEY.GENERATION[.PATH+PATH].v8
  let seen: string[] = [];
  // The checksum of the bundle's bytes, made only when needed: where the cache's identity is not
  // the bundle's, or when a cache is written.
  let sum: Buffer | undefined;
  const bundleSum = () => (sum ??= checksum(bundle.bytes));
  // Made from this bundle as it is now, under another identity (reinstalled): recorded at exit.
  let restamp = false;
  try {
    if (writableByOthers(dir)) throw new Error('not private');
    const found = fs.readdirSync(dir).find((f) => f.startsWith(`${key}.`) && f.endsWith('.v8'));
    if (found) {
      const [count, paths] = found.slice(key.length + 1, -'.v8'.length).split('.');
      generation = Number(count) || 0;
      seen = paths ? paths.split('+') : [];
      const cache = verifiedCache(fs.readFileSync(path.join(dir, found)));
      const same = cache !== null && bundle.identity !== '' && cache.bundle.identity === bundle.identity;
      if (cache && (same || cache.bundle.sum.equals(bundleSum()))) {
        cachedData = cache.data;
        if (same) sum = Buffer.from(cache.bundle.sum);
        else restamp = bundle.identity !== '';
      }
      // A corrupt cache, or one of another bundle, goes now, so no later run reads it even if this one is killed.
      if (!cachedData) fs.rmSync(path.join(dir, found), { force: true });
    }
  } catch {
    // First run of this command and bundle: compiled as usual, cached at exit.
  }
  const script = new vm.Script(code, { filename: file, cachedData, importModuleDynamically: importDynamically as never });
  const fresh = !cachedData || script.cachedDataRejected;
  // A cache holds only what its runs compiled (a quick check skips the recipe's code, say): the
  // next few runs add theirs, and any later run down a path it has not seen. Each such save
  // costs about 3 ms, so the others skip it.
  process.once('exit', () => {
    const paths = [...new Set([...(fresh ? [] : seen), ...notedCodePaths()])].sort().slice(0, MAX_CODE_PATHS);
    const novel = seen.length < MAX_CODE_PATHS && notedCodePaths().some((p) => !seen.includes(p));
    if (!fresh && !novel && !restamp && generation > REFRESHES) return;
    saveQuietly(dir, prefix, path.join(dir, `${key}.${fresh ? 1 : generation + 1}${paths.length > 0 ? `.${paths.join('+')}` : ''}.v8`), script, { sum: bundleSum(), identity: bundle.identity });
  });
  return script;
}

/**
 * Written with its checksum to a temporary file and renamed (parallel runs never read half a
 * cache); older caches of the same command go, and temporaries of runs that were killed.
 */
function saveQuietly(dir: string, prefix: string, cacheFile: string, script: vm.Script, bundle: BundleStamp): void {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (writableByOthers(dir)) return;
    const data = script.createCachedData();
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      // A full disk takes what fits and says so (the next write fails): never rename a cut-short cache.
      const sealed = sealCache(data, bundle);
      for (let at = 0; at < sealed.length; ) at += fs.writeSync(fd, sealed, at);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, cacheFile);
    // Loaded only when a cache is written (io/pid is also what writes of reports use).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { isAlive } = require('../io/pid') as typeof pidModule;
    for (const old of fs.readdirSync(dir)) {
      if (!old.startsWith(prefix)) continue;
      const pid = Number(/\.(\d+)\.tmp$/.exec(old)?.[1]);
      if ((old.endsWith('.v8') && path.join(dir, old) !== cacheFile) || (pid && !isAlive(pid))) fs.rmSync(path.join(dir, old), { force: true });
    }
  } catch {
    // A read-only home or a full disk: the next run compiles again.
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // Nothing was written.
    }
  }
}

