import ort = require('onnxruntime-node');
import path = require('path');
import { BadInputError } from '../errors';
import { tableBoundsOf, type ModelHandle } from '../runtime/handle';
import {
  checkSamples,
  planSynthesis,
  SynthesisFact,
  SynthesizedFact,
  TableSource,
  userFact,
  constTensor,
  NormalizedArray,
  normalizeArray,
  SamplePool,
  Samples,
  samplesByInput,
  checkSamplesKind,
  synthesizedPool,
  SynthesisOptions,
  userPool,
} from './samples';
import { InputSpec, resolveInputs, ShapeOptions } from './spec';
import { assertBatchFits } from './memory';

/** Where the samples come from (yours, or synthesized) and the shapes they take. */
export interface InputOptions extends ShapeOptions, SynthesisOptions {
  /** The user's samples: arrays, tensors, or arrays keyed by input name. */
  samples?: Samples;
  /** A .npy (one batched input), or .npz or .safetensors (keyed by input name) file of samples. */
  inputs?: string;
  /** The most memory one batch may need (see src/inputs/memory.ts). */
  maxBytes?: number;
}

/** Everything needed to build batches for one model. */
export interface PreparedInputs {
  specs: InputSpec[];
  dims: Record<string, number>;
  defaultedDims: string[];
  shared: Record<string, ort.Tensor>;
  pool: SamplePool;
  source: 'synthesized' | 'user';
  seed: number;
  /** How each input's samples are made (JSON: model.inputs[].synthesis), by input name. */
  synthesis: Record<string, SynthesisFact>;
}

export async function prepareInputs(handle: ModelHandle, options: InputOptions): Promise<PreparedInputs> {
  let given: Record<string, unknown> | null = null;
  let label = 'samples';
  if (options.inputs !== undefined) {
    label = options.inputs;
    // Loaded on demand: the file readers (and their zip library) cost start-up time otherwise.
    const { readArrayFile } = await import('../io');
    const arrays = await readArrayFile(options.inputs);
    const keys = Object.keys(arrays);
    const names = handle.inputs.map((i) => i.name);
    // A .npy has one array, named after the file: it feeds the model's only batched input.
    if (path.extname(options.inputs).toLowerCase() === '.npy' && keys.length === 1 && !names.includes(keys[0])) {
      given = { [firstBatchedName(handle, options)]: arrays[keys[0]] };
    } else {
      for (const key of keys) {
        if (!names.includes(key)) {
          throw new BadInputError(`${options.inputs}: holds '${key}', which is not an input of the model; name the arrays after the inputs: ${names.join(', ')}`);
        }
      }
      given = arrays;
    }
  } else if (options.samples !== undefined) {
    checkSamplesKind(options.samples, handle.inputs.map((i) => i.name));
    given = options.samples as Record<string, unknown>;
  }

  // Samples fix the symbolic dims they cover, so read their dims before resolving.
  let normalized: Record<string, NormalizedArray> = {};
  const consts: Record<string, unknown> = { ...(options.consts ?? {}) };
  if (given) {
    const firstPass = resolveInputs(handle.inputs, { ...options, consts });
    const batched = firstPass.specs.filter((s) => s.batchAxis !== null);
    const byInput = options.inputs !== undefined ? given : samplesByInput(options.samples as Samples, batched);
    for (const [name, value] of Object.entries(byInput)) {
      const spec = firstPass.specs.find((s) => s.name === name);
      if (!spec) {
        throw new BadInputError(`${label}: '${name}' is not an input of the model; its inputs are: ${handle.inputs.map((i) => i.name).join(', ')}`);
      }
      if (spec.batchAxis === null) consts[name] = value;
      else if (Array.isArray(value) && value.length === 0) {
        // Read as an array of dims [0], it would be refused for its dims, not for holding no samples.
        throw new BadInputError(`${label} for input '${name}': the array is empty, so there are no samples; give at least one sample (more for a batch: distinct batch-mates)`);
      } else normalized[name] = normalizeArray(value, `${label} '${name}'`, spec);
    }
  }
  const known = Object.fromEntries(Object.entries(normalized).map(([k, v]) => [k, v.dims]));
  const resolved = resolveInputs(handle.inputs, { ...options, consts }, known);
  normalized = Object.fromEntries(
    Object.entries(normalized).map(([name, arr]) => [
      name,
      checkSamples(arr, resolved.specs.find((s) => s.name === name) as InputSpec, `${label} '${name}'`),
    ]),
  );

  // Shared inputs are built here, once: a huge one is refused before it is allocated.
  assertBatchFits({ specs: resolved.specs.filter((s) => s.batchAxis === null), batchSize: 1, maxBytes: options.maxBytes, what: 'one copy' });
  const shared: Record<string, ort.Tensor> = {};
  const seed = options.seed ?? 0;
  // Ids inside the model's tables; inputs the user gives are described, never refused.
  const tables = tableSource(handle, resolved.specs.filter((s) => !(s.name in consts)));
  const planned = planSynthesis(resolved.specs, tables, options, new Set([...Object.keys(normalized), ...Object.keys(consts)]));
  const synth = synthesizedPool(options, planned);
  for (const spec of resolved.specs) {
    if (spec.batchAxis !== null) continue;
    // A shared input nobody gave a value for is synthesized once, like sample 0.
    shared[spec.name] = spec.name in consts ? constTensor(spec, consts[spec.name]) : sharedFromPool(spec, synth);
  }
  const synthesis: Record<string, SynthesisFact> = {};
  for (const spec of resolved.specs) {
    const fact = planned[spec.name] as SynthesizedFact;
    synthesis[spec.name] = spec.name in consts ? { kind: 'const' } : given && spec.batchAxis !== null ? userFact(fact, label) : fact;
    // One seeded flag for the whole batch (use_cache_branch) picks one branch of the model: say which.
    const flag = shared[spec.name];
    if (fact.kind === 'bool' && spec.batchAxis === null && !(spec.name in consts) && flag && flag.data.length <= 8) {
      synthesis[spec.name] = { kind: 'bool', shared: Array.from(flag.data as ArrayLike<number | boolean>, (v) => Boolean(v)) };
    }
  }
  return {
    specs: resolved.specs,
    dims: resolved.dims,
    defaultedDims: resolved.defaultedDims,
    shared,
    pool: given ? userPool(normalized, resolved.specs) : synth,
    source: given ? 'user' : 'synthesized',
    seed,
    synthesis,
  };
}

const FLOATS_OR_BOOL = new Set(['float32', 'float64', 'float16', 'bool']);

/**
 * The tables integer inputs index, from the model's graph. The graph is read only for models
 * with integer inputs (consts aside): image models never pay for the parse.
 */
function tableSource(handle: ModelHandle, specs: readonly InputSpec[]): TableSource {
  // Masks too: one named like a mask may index the token table (`masked_input_ids`).
  if (!specs.some((s) => !FLOATS_OR_BOOL.has(s.dtype))) return { bounds: {} };
  return tableBoundsOf(handle);
}

function sharedFromPool(spec: InputSpec, pool: SamplePool): ort.Tensor {
  return new ort.Tensor(spec.dtype as ort.Tensor.Type, pool.sample(spec, 0) as never, spec.sampleDims);
}

function firstBatchedName(handle: ModelHandle, options: InputOptions): string {
  const batched = resolveInputs(handle.inputs, options).specs.filter((s) => s.batchAxis !== null);
  if (batched.length !== 1) {
    throw new BadInputError(
      `${options.inputs}: a .npy holds one array but the model has ${batched.length} batched inputs (${batched.map((s) => s.name).join(', ')}); use an .npz keyed by input name`,
    );
  }
  return batched[0].name;
}

/**
 * Maps a plan's sample ids onto the user's samples: probes are the first samples; the two pools
 * of batch-mates take the rest, shifted by half so they differ.
 */
export function userSampleIndex(count: number, probes: number, pool2Base: number): (id: number) => number {
  const mates = count - probes;
  return (id) => {
    if (id < probes) return id % count;
    const inPool2 = id >= pool2Base;
    const r = id - (inPool2 ? pool2Base : probes);
    if (mates >= 2) return probes + ((r + (inPool2 ? Math.ceil(mates / 2) : 0)) % mates);
    return (r + (inPool2 ? 1 : 0)) % count;
  };
}
