import * as path from 'path';
import { BadInputError, checkRunningStats } from '../../src';
import { bnCalibrationData, bnCheckpoint, bnModel, foldedBnModel } from '../helpers/models';

const examples = path.join(__dirname, '..', '..', 'examples', 'models');
const data = bnCalibrationData(64);

describe('toMatchRunningStats', () => {
  test('passes for a healthy model against its data, and against its checkpoint', async () => {
    await expect(bnModel().bytes).toMatchRunningStats(data);
    await expect(bnModel().bytes).toMatchRunningStats({ checkpoint: bnCheckpoint() });
    await expect(bnModel().bytes).toMatchRunningStats({ data, checkpoint: bnCheckpoint() });
  });

  test('an async iterable of batches', async () => {
    async function* batches() {
      for (let i = 0; i < 4; i++) yield bnCalibrationData(16, { seed: i + 1 });
    }
    await expect(bnModel().bytes).toMatchRunningStats(batches());
  });

  test('fails on stale statistics, naming the first mismatch', async () => {
    await expect(expect(bnModel({ staleBn2: true }).bytes).toMatchRunningStats(data)).rejects.toThrow(
      /first mismatch at \/bn2\/BatchNormalization: later layers inherit its shift[\s\S]*stale-stats \/bn2\/BatchNormalization/,
    );
    await expect(bnModel({ staleBn2: true }).bytes).not.toMatchRunningStats(data);
  });

  test('a tolerance shorthand as the options', async () => {
    await expect(bnModel({ staleBn2: true }).bytes).toMatchRunningStats(data, { z: 10, ratio: 5 });
    await expect(bnModel({ staleBn2: true }).bytes).toMatchRunningStats(data, { tolerance: { z: 10, ratio: [0.2, 5] } });
  });

  test('fails on training mode and on folded BatchNorms, with the fix in the message', async () => {
    await expect(expect(path.join(examples, 'embedding_cnn_train_bn.onnx')).toMatchRunningStats()).rejects.toThrow(/training-mode[\s\S]*TrainingMode\.EVAL/);
    await expect(expect(foldedBnModel()).toMatchRunningStats(data)).rejects.toThrow(/no-batchnorm[\s\S]*do_constant_folding=False/);
  });

  test('.not on a model with no BatchNorm is refused: nothing was compared, so it cannot pass as "the statistics are wrong"', async () => {
    await expect(expect(foldedBnModel()).not.toMatchRunningStats(data)).rejects.toThrow(
      /^toMatchRunningStats: \.not on a model with no BatchNormalization nodes: there are no running statistics to be wrong, so nothing was compared/,
    );
    // A real problem still passes .not.
    await expect(bnModel({ staleBn2: true }).bytes).not.toMatchRunningStats(data);
  });

  test('without a reference it can fail (training mode) but never pass: stale statistics are not seen', async () => {
    const stale = bnModel({ staleBn2: true }).bytes;
    await expect(expect(stale).toMatchRunningStats()).rejects.toThrow(/^toMatchRunningStats\(\): without a reference only training mode and missing statistics can be checked/);
    await expect(expect(stale).not.toMatchRunningStats()).rejects.toThrow(/without a reference/);
    // A tolerance without a reference would be silently unused: refused, in the API too.
    await expect(expect(stale).toMatchRunningStats(undefined, { z: 0.1 })).rejects.toThrow(/^a stats tolerance compares the stored statistics with a reference, but none was given/);
    await expect(checkRunningStats(stale, undefined, { tolerance: { z: 0.1 } })).rejects.toThrow(BadInputError);
    // What counts is what was compared: data given as an option is a reference, data: undefined is none.
    await expect(bnModel().bytes).toMatchRunningStats(undefined, { data });
    await expect(expect(stale).toMatchRunningStats({ data: undefined })).rejects.toThrow(/without a reference/);
  });

  test('a checkpoint mismatch', async () => {
    await expect(expect(bnModel().bytes).toMatchRunningStats(bnCheckpoint({ mismatch: true }))).rejects.toThrow(/checkpoint-mismatch \/bn2\/BatchNormalization/);
  });

  test('a misspelt option is an error naming the real one, not a pass with the defaults', async () => {
    // Ignored, the misspelt strict tolerance would let the default one pass this model.
    await expect(expect(bnModel().bytes).toMatchRunningStats(data, { tolerence: { z: 1e-6 } } as never)).rejects.toThrow(
      /^toMatchRunningStats: unknown option 'tolerence' \(did you mean 'tolerance'\?\)/,
    );
    await expect(expect(bnModel().bytes).not.toMatchRunningStats(data, { batchsize: 8 } as never)).rejects.toThrow(/unknown option 'batchsize' \(did you mean 'batchSize'\?\)/);
  });

  test('bad input is an error, not a failed expectation', async () => {
    await expect(expect(42).toMatchRunningStats(data)).rejects.toThrow(/expected a model/);
    await expect(expect(bnModel().bytes).toMatchRunningStats({ dtype: 'float32', dims: [2, 3, 6, 6], data: new Float32Array(216) })).rejects.toThrow(
      /has dim 3 at axis 1 where the model fixes 4/,
    );
  });
});
