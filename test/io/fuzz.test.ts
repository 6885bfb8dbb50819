// Garbage in must give a one-line BadInputError, never a RangeError, TypeError or a hang.
import { encodeNpy, encodeNpz, encodeSafetensors, parseNpy, parseNpz, parseSafetensors } from '../../src/io';
import { BadInputError } from '../../src/errors';
import { expectParsedOrBadInput, fixture, randomBytes, sampleArrays, seededRandom } from './support';

type Parser = (bytes: Uint8Array, source?: string) => unknown;

const formats: Array<{ name: string; parse: Parser; files: Array<[string, Uint8Array]> }> = [
  {
    name: 'npy',
    parse: parseNpy,
    files: [
      ['float32_2x3.npy', fixture('float32_2x3.npy')],
      ['int64_v2.npy', fixture('int64_v2.npy')],
      ['uint16_v3.npy', fixture('uint16_v3.npy')],
      ['scalar_float64.npy', fixture('scalar_float64.npy')],
      ['encoded bool', encodeNpy(sampleArrays().bool)],
    ],
  },
  {
    name: 'npz',
    parse: parseNpz,
    files: [
      ['all_dtypes.npz', fixture('all_dtypes.npz')],
      ['compressed.npz', fixture('compressed.npz')],
      ['encoded compressed', encodeNpz({ a: sampleArrays().float64, b: sampleArrays().int8 }, { compress: true })],
    ],
  },
  {
    name: 'safetensors',
    parse: parseSafetensors,
    files: [
      ['model.safetensors', fixture('model.safetensors')],
      ['encoded', encodeSafetensors(sampleArrays())],
    ],
  },
];

describe.each(formats)('$name fuzzing', ({ parse, files }) => {
  it.each(files)('rejects %s cut at every length', (_name, bytes) => {
    expect(() => parse(bytes, 'fuzz')).not.toThrow();
    for (let length = 0; length < bytes.length; length++) {
      expectRejected(() => parse(bytes.subarray(0, length), 'fuzz'));
    }
  });

  it.each(files)('survives random byte changes in %s', (_name, bytes) => {
    const random = seededRandom(bytes.length);
    for (let round = 0; round < 400; round++) {
      const mutated = bytes.slice();
      const changes = 1 + Math.floor(random() * 4);
      for (let i = 0; i < changes; i++) mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
      expectParsedOrBadInput(() => parse(mutated, 'fuzz'), 'fuzz');
    }
  });

  it('rejects random bytes, with and without a valid-looking prefix', () => {
    const random = seededRandom(42);
    for (let round = 0; round < 300; round++) {
      const garbage = randomBytes(random, Math.floor(random() * 300));
      expectParsedOrBadInput(() => parse(garbage, 'fuzz'), 'fuzz');
      const [, valid] = files[round % files.length];
      const prefixLength = Math.floor(random() * valid.length);
      const spliced = new Uint8Array(prefixLength + garbage.length);
      spliced.set(valid.subarray(0, prefixLength));
      spliced.set(garbage, prefixLength);
      expectParsedOrBadInput(() => parse(spliced, 'fuzz'), 'fuzz');
    }
  });
});

/** Like expectBadInput, but a cut .npz may fail inside an entry, named as "fuzz (entry ...)". */
function expectRejected(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  if (!(caught instanceof BadInputError)) throw caught ?? new Error('expected a BadInputError, but nothing was thrown');
  expect(caught.message).toMatch(/^fuzz( \(entry "[^"]*"\))?: [^\r\n]+; [^\r\n]+$/);
}
