import { writeFileSync } from 'node:fs';
import { encodeNpy, encodeNpz, encodeSafetensors } from '../../src/io';
import { sampleArrays } from './support';
it('write', () => {
  const a = sampleArrays();
  for (const [k, v] of Object.entries(a)) writeFileSync(`/tmp/iochk_${k}.npy`, encodeNpy(v));
  writeFileSync('/tmp/iochk_v2.npy', encodeNpy({ dtype: 'uint8', dims: [...Array<number>(23000).fill(1), 0], data: new Uint8Array(0) }));
  writeFileSync('/tmp/iochk_stored.npz', encodeNpz({ ...a, 'nested/ünï': a.int8 }));
  writeFileSync('/tmp/iochk_comp.npz', encodeNpz(a, { compress: true }));
  writeFileSync('/tmp/iochk.safetensors', encodeSafetensors(a));
});
