import type { CheckOptions, DeterminismOptions, ModelSource, Tolerance } from '../src';

/** The matchers as seen on `expect(...)`; all return promises: `await` them. */
export interface BatchproofMatchers<R = unknown> {
  /**
   * The model gives each sample the same output (within the tolerance) at every batch size,
   * position and set of batch-mates. On samples: `expect(samples).toBeBatchInvariant(model)`.
   */
  toBeBatchInvariant(options?: CheckOptions | Tolerance): Promise<R>;
  toBeBatchInvariant(model: ModelSource, options?: CheckOptions | Tolerance): Promise<R>;
  /** The same batch run several times (default 5) gives bitwise equal outputs. */
  toBeDeterministic(options?: DeterminismOptions | Tolerance): Promise<R>;
  toBeDeterministic(model: ModelSource, options?: DeterminismOptions | Tolerance): Promise<R>;
}
