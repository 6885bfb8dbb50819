import type { EmbeddingSnapshotOptions } from './toMatchEmbeddingSnapshot';
import type { RunningStatsOptions, StatsReference, StatsTolerance } from '../src';
import type { BatchFunction, CheckOptions, CompareProvidersOptions, DeterminismOptions, ModelSource, ProviderSide, Tolerance } from '../src';

/** The matchers as seen on `expect(...)`; all return promises: `await` them. */
export interface BatchproofMatchers<R = unknown> {
  /**
   * The model gives each sample the same output (within the tolerance) at every batch size,
   * position and set of batch-mates. On samples: `expect(samples).toBeBatchInvariant(model)`.
   */
  toBeBatchInvariant(options?: CheckOptions | Tolerance): Promise<R>;
  toBeBatchInvariant(model: ModelSource | BatchFunction, options?: CheckOptions | Tolerance): Promise<R>;
  /** The same batch run several times (default 5) gives bitwise equal outputs. */
  toBeDeterministic(options?: DeterminismOptions | Tolerance): Promise<R>;
  toBeDeterministic(model: ModelSource | BatchFunction, options?: DeterminismOptions | Tolerance): Promise<R>;
  /**
   * The same samples on each provider (or option set) give outputs within the tolerance of the
   * first one's: `expect(model).toMatchAcrossProviders(['cpu', 'webgpu'])`. A provider that does
   * not work here throws.
   */
  toMatchAcrossProviders(providers: readonly ProviderSide[], options?: CompareProvidersOptions | Tolerance): Promise<R>;
  /**
   * Synchronous (no `await`): the embeddings (Float32Array/Float64Array with `dims`, an
   * onnxruntime Tensor, or number[][]) stay within the tolerance (default cosine distance 1e-6
   * per row) of the binary baseline under `__embeddings__/` beside the test file. Written on the
   * first run; `-u` rewrites a failing one; `--ci` never writes.
   */
  toMatchEmbeddingSnapshot(options?: EmbeddingSnapshotOptions): R;
  /**
   * Every BatchNormalization node is in inference mode and its stored running mean and
   * variance match `reference`: calibration data (arrays, tensors, a .npy/.npz/.safetensors path, an async
   * iterable of batches), a checkpoint (.safetensors path or named arrays in state_dict names),
   * or `{ data, checkpoint }`. Per channel, z = |mean - running_mean| / sqrt(running_var + eps)
   * must stay <= 0.5 and var / running_var within [0.5, 2] unless `tolerance` says otherwise.
   */
  toMatchRunningStats(reference?: StatsReference, options?: RunningStatsOptions | StatsTolerance): Promise<R>;
}
