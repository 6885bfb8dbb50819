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
 * Pruned when a cache is written (rare: a new install, bundle, Node or command, a new code path),
 * never on a run that only reads: another install's caches go once their bundle file is gone (a
 * removed checkout, an npx or CI install deleted, a project moved), or once no run has used them
 * for STALE_MS (an older Node, an install left alone). A run that uses a cache renews its
 * modification time, at most once a day, so that time says when it was last used (access times
 * are not kept on every file system, and reading a cache's head to prune updates them). Only
 * files named and headed as caches are: a parallel run reading one that goes runs uncached.
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
 * made from (8 bytes), the length of the bundle file's identity (1 byte) and the identity, the
 * length of the bundle's path (2 bytes) and the path (UTF-8, for pruning), the V8 data. Files of
 * the formats before it (bpc1, SHA-256; bpc2, CRC-32; bpc3, which did not record the bundle;
 * bpc4, nor its path) are not trusted: they go, and are written anew.
 */
const MAGIC = Buffer.from('bpc5');
const HEAD = MAGIC.length + 8;
/** The longest bundle path recorded (Linux's PATH_MAX); a longer one is recorded as none. */
const MAX_PATH = 4096;
/** The most a cache's head can take before its V8 data: what pruning reads to find the bundle's path. */
const MAX_STAMP = HEAD + 8 + 1 + 255 + 2 + MAX_PATH;

/** The bundle a cache was made from: the checksum of its bytes, its file's identity ('' for none) and its path ('' for none). */
export interface BundleStamp {
  sum: Buffer;
  identity: string;
  file: string;
}

/** The V8 data with its checksum and the bundle's stamp in front, as a cache file holds it. */
export function sealCache(data: Uint8Array, bundle: BundleStamp): Buffer {
  const identity = Buffer.from(bundle.identity.length <= 255 ? bundle.identity : '', 'latin1');
  let file = Buffer.from(bundle.file, 'utf8');
  if (file.length > MAX_PATH) file = Buffer.alloc(0);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(file.length);
  const rest = Buffer.concat([bundle.sum, Buffer.from([identity.length]), identity, length, file, data]);
  return Buffer.concat([MAGIC, checksum(rest), rest]);
}

/** Where the V8 data starts in a cache file's rest (after HEAD), or -1 where the stamp runs past its end. */
function stampEnd(rest: Buffer): number {
  const pathAt = 9 + rest[8];
  if (rest.length < pathAt + 2) return -1;
  const end = pathAt + 2 + rest.readUInt16BE(pathAt);
  return rest.length < end ? -1 : end;
}

/** The V8 data of a cache file and the bundle's stamp, or null when its checksum does not match (then V8 must never see it). */
export function verifiedCache(file: Buffer): { data: Buffer; bundle: BundleStamp } | null {
  if (file.length <= HEAD + 9 || !file.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  const rest = file.subarray(HEAD);
  if (!checksum(rest).equals(file.subarray(MAGIC.length, HEAD))) return null;
  const start = stampEnd(rest);
  if (start < 0 || rest.length <= start) return null;
  const pathAt = 9 + rest[8];
  return { data: rest.subarray(start), bundle: { sum: rest.subarray(0, 8), identity: rest.subarray(9, pathAt).toString('latin1'), file: rest.subarray(pathAt + 2, start).toString('utf8') } };
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
  const resolved = path.resolve(file);
  const install = shortTag(resolved);
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
      const { bytes: kept, mtimeMs } = readWithTime(path.join(dir, found));
      const cache = verifiedCache(kept);
      const same = cache !== null && bundle.identity !== '' && cache.bundle.identity === bundle.identity;
      if (cache && (same || cache.bundle.sum.equals(bundleSum()))) {
        cachedData = cache.data;
        if (same) sum = Buffer.from(cache.bundle.sum);
        else restamp = bundle.identity !== '';
        markUsed(path.join(dir, found), mtimeMs);
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
    saveQuietly(dir, prefix, path.join(dir, `${key}.${fresh ? 1 : generation + 1}${paths.length > 0 ? `.${paths.join('+')}` : ''}.v8`), script, { sum: bundleSum(), identity: bundle.identity, file: resolved });
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
    const now = Date.now();
    for (const old of fs.readdirSync(dir)) {
      if (!old.startsWith(prefix)) {
        pruneOther(dir, old, now);
        continue;
      }
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

/** Another install's (or Node's, or command's) cache that no run has used for this long goes when a cache is written. */
const STALE_MS = 30 * 24 * 3600 * 1000;
/** A run that uses a cache renews its modification time when it is older than this: one write a day at most. */
const MARK_USED_MS = 24 * 3600 * 1000;
/** A temporary of another cache is left alone this long (a run writing it may be alive in another pid namespace). */
const STALE_TMP_MS = 3600 * 1000;
/** A cache file's name, of any command, Node, arch, install, generation and code paths: KEY.GENERATION[.PATHS].v8, then .PID.tmp for a temporary. */
const CACHE_NAME = /^[\w.-]+-v\d+\.\d+\.\d+[\w.-]*-[0-9a-f]{8}-[0-9a-f]{16}\.\d+(\.[a-z+-]+)?\.v8(\.\d+\.tmp)?$/;

/** A file's bytes and modification time, from one open file (a rename over the path in between cannot mix two files). */
function readWithTime(file: string): { bytes: Buffer; mtimeMs: number } {
  const fd = fs.openSync(file, 'r');
  try {
    const { mtimeMs } = fs.fstatSync(fd);
    return { bytes: fs.readFileSync(fd), mtimeMs };
  } finally {
    fs.closeSync(fd);
  }
}

/** Renews a used cache's modification time, at most once a day: pruning reads it as the last use. */
function markUsed(file: string, mtimeMs: number): void {
  const now = Date.now();
  if (now - mtimeMs < MARK_USED_MS) return;
  try {
    fs.utimesSync(file, now / 1000, now / 1000);
  } catch {
    // A read-only folder: the cache is used all the same, and may be pruned as unused.
  }
}

/**
 * Removes `name` from the cache folder when it is a cache (named as one, a plain file, headed by a
 * cache format's magic) whose bundle file is gone or that no run has used for STALE_MS, or a
 * temporary of a cache left for STALE_TMP_MS. Anything else is left as it is; a file another run
 * removed or replaced meanwhile is skipped.
 */
function pruneOther(dir: string, name: string, now: number): void {
  const match = CACHE_NAME.exec(name);
  if (!match) return;
  const file = path.join(dir, name);
  try {
    const s = fs.lstatSync(file);
    if (!s.isFile()) return;
    if (match[2]) {
      if (now - s.mtimeMs > STALE_TMP_MS) fs.rmSync(file, { force: true });
      return;
    }
    const head = readHead(file, MAX_STAMP);
    if (!/^bpc\d$/.test(head.subarray(0, 4).toString('latin1'))) return;
    if (now - s.mtimeMs > STALE_MS || bundleGone(head)) fs.rmSync(file, { force: true });
  } catch {
    // Gone already, or unreadable: left for another write to look at.
  }
}

function readHead(file: string, length: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(Math.min(length, fs.fstatSync(fd).size));
    let at = 0;
    while (at < head.length) {
      const n = fs.readSync(fd, head, at, head.length - at, at);
      if (n === 0) break;
      at += n;
    }
    return head.subarray(0, at);
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether the bundle a cache's head names is no longer there (false for a format that names none, or for any doubt). */
function bundleGone(head: Buffer): boolean {
  if (!head.subarray(0, MAGIC.length).equals(MAGIC) || head.length < HEAD + 9) return false;
  const rest = head.subarray(HEAD);
  const end = stampEnd(rest);
  if (end < 0) return false;
  const bundle = rest.subarray(9 + rest[8] + 2, end).toString('utf8');
  if (!path.isAbsolute(bundle)) return false;
  try {
    fs.statSync(bundle);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR';
  }
}
