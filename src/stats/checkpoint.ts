/**
 * A training checkpoint as the reference for stored BatchNorm statistics: a .safetensors (or
 * .npz) file or an object of named arrays, in PyTorch state_dict names (`bn2.running_mean`,
 * `bn2.running_var`, `bn2.weight`, `bn2.bias`), matched to the model's BatchNorm nodes.
 */
import path = require('path');
import { BadInputError } from '../errors';
import { elementAsNumber } from '../inputs/arrays';
import { normalizeArray, type SampleArray } from '../inputs/samples';
import { readArrayFile } from '../io';
import { refuseSpecialFile } from '../io/paths';
import type { BatchNormFacts } from '../onnx/batchnorm';

/** Checkpoint tensors by state_dict name: NumericArrays, tensors, typed arrays or number arrays. */
export type CheckpointTensors = Record<string, SampleArray>;

/** A training checkpoint: a path to a .npz or .safetensors file, or its tensors by state_dict name. */
export type Checkpoint = string | CheckpointTensors;

export interface LoadedCheckpoint {
  source: string;
  /** Values by key, as float64. */
  entries: Map<string, Float64Array>;
}

const STAT_SUFFIXES = ['running_mean', 'running_var', 'weight', 'bias'] as const;
type StatKey = (typeof STAT_SUFFIXES)[number];

export async function loadCheckpoint(checkpoint: Checkpoint): Promise<LoadedCheckpoint> {
  if (typeof checkpoint === 'string') {
    refuseSpecialFile(checkpoint, 'checkpoint', 'is a directory, not a checkpoint file; pass the .safetensors or .npz file (one inside it, e.g. model.safetensors)');
    const ext = path.extname(checkpoint).toLowerCase();
    if (ext !== '.safetensors' && ext !== '.npz') {
      throw new BadInputError(
        `${checkpoint}: a checkpoint must be a .safetensors or .npz file (a PyTorch .pt/.pth is a pickle: convert it with safetensors.torch.save_file(model.state_dict(), 'ckpt.safetensors'))`,
      );
    }
    const arrays = await readArrayFile(checkpoint);
    return { source: checkpoint, entries: toFloat64(arrays as unknown as CheckpointTensors, checkpoint) };
  }
  if (typeof checkpoint !== 'object' || checkpoint === null || Array.isArray(checkpoint)) {
    throw new BadInputError('a checkpoint must be a path to a .safetensors file or an object of named arrays (state_dict names)');
  }
  return { source: '<checkpoint object>', entries: toFloat64(checkpoint, 'checkpoint') };
}

function toFloat64(record: CheckpointTensors, label: string): Map<string, Float64Array> {
  const entries = new Map<string, Float64Array>();
  for (const [key, value] of Object.entries(record)) {
    const arr = normalizeArray(value, `${label} '${key}'`);
    const out = new Float64Array(arr.data.length);
    for (let i = 0; i < out.length; i++) out[i] = elementAsNumber(arr.data, arr.dtype, i);
    entries.set(key, out);
  }
  if (entries.size === 0) throw new BadInputError(`${label}: the checkpoint is empty`);
  return entries;
}

/** True when named arrays look like a state_dict rather than model inputs. */
export function looksLikeCheckpoint(keys: readonly string[]): boolean {
  return keys.some((k) => /(^|\.)(running_mean|running_var|num_batches_tracked)$/.test(k));
}

/**
 * The module path PyTorch's exporter encodes in a node name: "/block1/block1.0/bn/BatchNormalization"
 * is module "block1.0.bn" (each scope is either a full dotted path or one more attribute).
 */
export function modulePathFromNodeName(node: string): string | null {
  const parts = node.split('/').filter(Boolean);
  if (parts.length < 2) return null;
  let current = '';
  for (const part of parts.slice(0, -1)) {
    if (current && part.startsWith(`${current}.`)) current = part;
    else current = current ? `${current}.${part}` : part;
  }
  return current || null;
}

export interface CheckpointMatch {
  /** The module path the entries were found under ('' when matched by full initializer names). */
  prefix: string;
  keys: Partial<Record<StatKey, string>>;
}

/** Checkpoint keys without a DataParallel / Lightning wrapper prefix. */
function canonicalKeys(entries: Map<string, Float64Array>): Map<string, string> {
  const map = new Map<string, string>();
  for (const key of entries.keys()) {
    map.set(key, key);
    for (const prefix of ['module.', 'model.', 'state_dict.', '_orig_mod.']) {
      if (key.startsWith(prefix) && !map.has(key.slice(prefix.length))) map.set(key.slice(prefix.length), key);
    }
  }
  return map;
}

/** Candidate module paths for one BatchNorm node, most specific first. */
export function candidatePrefixes(bn: BatchNormFacts): string[] {
  const out: string[] = [];
  const fromName = (name: string | undefined, suffix: string) => {
    if (name && name.endsWith(`.${suffix}`)) out.push(name.slice(0, -suffix.length - 1));
  };
  fromName(bn.mean.stored?.initializer ?? bn.mean.name, 'running_mean');
  fromName(bn.var.stored?.initializer ?? bn.var.name, 'running_var');
  fromName(bn.scale.stored?.initializer ?? bn.scale.name, 'weight');
  fromName(bn.bias.stored?.initializer ?? bn.bias.name, 'bias');
  const fromNode = modulePathFromNodeName(bn.node);
  if (fromNode) out.push(fromNode);
  return [...new Set(out)];
}

/** Finds a layer's entries in the checkpoint; null (with the names tried) when there are none. */
export function matchLayer(bn: BatchNormFacts, entries: Map<string, Float64Array>): { match: CheckpointMatch | null; tried: string[] } {
  const keys = canonicalKeys(entries);
  const tried: string[] = [];
  for (const prefix of candidatePrefixes(bn)) {
    const found: Partial<Record<StatKey, string>> = {};
    for (const suffix of STAT_SUFFIXES) {
      const key = `${prefix}.${suffix}`;
      if (suffix === 'running_mean') tried.push(key);
      const real = keys.get(key);
      if (real) found[suffix] = real;
    }
    if (Object.keys(found).length > 0) return { match: { prefix, keys: found }, tried };
  }
  // Initializer names used as keys as they are (a checkpoint saved from the ONNX names).
  const direct: Partial<Record<StatKey, string>> = {};
  const byInit: [StatKey, string | undefined][] = [
    ['running_mean', bn.mean.stored?.initializer ?? undefined],
    ['running_var', bn.var.stored?.initializer ?? undefined],
    ['weight', bn.scale.stored?.initializer ?? undefined],
    ['bias', bn.bias.stored?.initializer ?? undefined],
  ];
  for (const [suffix, name] of byInit) {
    if (!name) continue;
    if (suffix === 'running_mean') tried.push(name);
    const real = keys.get(name);
    if (real) direct[suffix] = real;
  }
  if (Object.keys(direct).length > 0) return { match: { prefix: '', keys: direct }, tried };
  return { match: null, tried: [...new Set(tried)] };
}

/** Checkpoint keys that hold BatchNorm running statistics. */
export function statKeys(entries: Map<string, Float64Array>): string[] {
  return [...entries.keys()].filter((k) => /(^|\.)(running_mean|running_var)$/.test(k));
}
