;; The checksum of batchproof's cache files (src/kernels/checksum.ts): four 32-bit lanes over the
;; bytes as 16-byte blocks of little-endian words (the last block padded with zeros by the
;; caller), folded to 64 bits. In WebAssembly (SIMD: a block a step) because it runs before
;; anything else on every CLI run, over half a megabyte of code cache, where zlib's CRC-32 cost
;; 3 ms to load and cold JavaScript as much to run. Each step of a lane is a bijection of the
;; lane for a fixed word and of the word for a fixed lane, so any change to one word always
;; changes the sum; its JavaScript twin (reference.ts checksumJs) is the definition.
;; canon_nan serves the probe rows' keys (invariance/row-identity.ts), whose bytes are here already.
(module
  (memory (export "memory") 1)

  ;; The sum of the n bytes at $p (zeros after them up to a multiple of 16), as two i32 at $out.
  (func (export "checksum") (param $p i32) (param $n i32) (param $out i32)
    (local $h v128) (local $x v128) (local $end i32)
    (local.set $h (v128.const i32x4 0x9e3779b9 0x85ebca6b 0xc2b2ae35 0x27d4eb2f))
    (local.set $end (i32.add (local.get $p) (i32.and (i32.add (local.get $n) (i32.const 15)) (i32.const -16))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $x (i32x4.mul (v128.load (local.get $p)) (v128.const i32x4 0xcc9e2d51 0xcc9e2d51 0xcc9e2d51 0xcc9e2d51)))
        (local.set $x (v128.xor (local.get $h) (local.get $x)))
        ;; rotl 15
        (local.set $x (v128.or (i32x4.shl (local.get $x) (i32.const 15)) (i32x4.shr_u (local.get $x) (i32.const 17))))
        (local.set $h (i32x4.mul (local.get $x) (v128.const i32x4 0x1b873593 0x1b873593 0x1b873593 0x1b873593)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $next)))
    ;; Two lanes to each half, then the length and murmur3's finalizer.
    (i32.store (local.get $out) (call $fmix (i32.xor (i32.xor (i32x4.extract_lane 0 (local.get $h)) (i32.rotl (i32x4.extract_lane 1 (local.get $h)) (i32.const 16))) (local.get $n))))
    (i32.store (i32.add (local.get $out) (i32.const 4)) (call $fmix (i32.xor (i32.xor (i32x4.extract_lane 2 (local.get $h)) (i32.rotl (i32x4.extract_lane 3 (local.get $h)) (i32.const 16))) (local.get $n)))))

;; Every NaN of the n bytes at $p (floats of $width bytes: 2, 4 or 8; zeros after them up to a
  ;; multiple of 16) rewritten in place as one pattern (0x7e00, 0x7fc00000, 0x7ff8000000000000), as
  ;; the comparison scans read NaN: equal to NaN whatever its sign and payload. 1 when there was
  ;; one, else 0. Its JavaScript twin: reference.ts canonicalNaNsJs.
  (func (export "canon_nan") (param $p i32) (param $n i32) (param $width i32) (result i32)
    (local $x v128) (local $m v128) (local $any v128) (local $end i32) (local $nan v128)
    (local.set $end (i32.add (local.get $p) (i32.and (i32.add (local.get $n) (i32.const 15)) (i32.const -16))))
    (local.set $nan
      (if (result v128) (i32.eq (local.get $width) (i32.const 2))
        (then (v128.const i16x8 0x7e00 0x7e00 0x7e00 0x7e00 0x7e00 0x7e00 0x7e00 0x7e00))
        (else (if (result v128) (i32.eq (local.get $width) (i32.const 4))
          (then (v128.const i32x4 0x7fc00000 0x7fc00000 0x7fc00000 0x7fc00000))
          (else (v128.const i64x2 0x7ff8000000000000 0x7ff8000000000000))))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $x (v128.load (local.get $p)))
        ;; NaN: not equal to itself (float16: exponent all ones, mantissa not zero).
        (local.set $m
          (if (result v128) (i32.eq (local.get $width) (i32.const 2))
            (then (i16x8.gt_u (v128.and (local.get $x) (v128.const i16x8 0x7fff 0x7fff 0x7fff 0x7fff 0x7fff 0x7fff 0x7fff 0x7fff))
                              (v128.const i16x8 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00)))
            (else (if (result v128) (i32.eq (local.get $width) (i32.const 4))
              (then (f32x4.ne (local.get $x) (local.get $x)))
              (else (f64x2.ne (local.get $x) (local.get $x)))))))
        (local.set $any (v128.or (local.get $any) (local.get $m)))
        (v128.store (local.get $p) (v128.bitselect (local.get $nan) (local.get $x) (local.get $m)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $next)))
    (v128.any_true (local.get $any)))

  (func $fmix (param $h i32) (result i32)
    (local.set $h (i32.mul (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))) (i32.const 0x85ebca6b)))
    (local.set $h (i32.mul (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 13))) (i32.const 0xc2b2ae35)))
    (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16)))))
