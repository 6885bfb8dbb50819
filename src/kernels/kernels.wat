;; batchproof's numeric kernels: the loops a check runs over every element (synthesizing
;; samples, scanning for NaN and Inf, comparing an output with its reference), as WebAssembly.
;; A check runs each loop only a few hundred times, and V8 runs cold JavaScript loops in its
;; interpreter at 50 to 100 ns an element until it has optimized them (in a background thread
;; that onnxruntime's threads need too); WebAssembly runs at machine speed from the first call.
;;
;; Each kernel gives bit for bit what its JavaScript twin in reference.ts gives (the same
;; operations in the same order, in f64 where JavaScript computes in doubles);
;; test/kernels checks that on random and edge-case arrays. Compiled by scripts/build-wasm.js
;; (wabt) into wasm-bytes.ts.
(module
  (memory (export "memory") 1)

  ;; The seeded stream of reference.ts fillUniform, as float32: n values at $out.
  (func (export "fill_f32") (param $out i32) (param $n i32) (param $seed i32) (param $lo f64) (param $hi f64)
    (local $scale f64) (local $a i32) (local $t i32) (local $end i32)
    (local.set $scale (f64.div (f64.sub (local.get $hi) (local.get $lo)) (f64.const 4294967296)))
    (local.set $a (local.get $seed))
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
        (local.set $a (i32.add (local.get $a) (i32.const 0x6d2b79f5)))
        (local.set $t (i32.mul
          (i32.xor (local.get $a) (i32.shr_u (local.get $a) (i32.const 15)))
          (i32.or (local.get $a) (i32.const 1))))
        (local.set $t (i32.xor (local.get $t) (i32.add (local.get $t) (i32.mul
          (i32.xor (local.get $t) (i32.shr_u (local.get $t) (i32.const 7)))
          (i32.or (local.get $t) (i32.const 61))))))
        (f32.store (local.get $out) (f32.demote_f64 (f64.add (local.get $lo) (f64.mul (local.get $scale)
          (f64.convert_i32_u (i32.xor (local.get $t) (i32.shr_u (local.get $t) (i32.const 14))))))))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br $next))))

  ;; The same stream as float64.
  (func (export "fill_f64") (param $out i32) (param $n i32) (param $seed i32) (param $lo f64) (param $hi f64)
    (local $scale f64) (local $a i32) (local $t i32) (local $end i32)
    (local.set $scale (f64.div (f64.sub (local.get $hi) (local.get $lo)) (f64.const 4294967296)))
    (local.set $a (local.get $seed))
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 3))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
        (local.set $a (i32.add (local.get $a) (i32.const 0x6d2b79f5)))
        (local.set $t (i32.mul
          (i32.xor (local.get $a) (i32.shr_u (local.get $a) (i32.const 15)))
          (i32.or (local.get $a) (i32.const 1))))
        (local.set $t (i32.xor (local.get $t) (i32.add (local.get $t) (i32.mul
          (i32.xor (local.get $t) (i32.shr_u (local.get $t) (i32.const 7)))
          (i32.or (local.get $t) (i32.const 61))))))
        (f64.store (local.get $out) (f64.add (local.get $lo) (f64.mul (local.get $scale)
          (f64.convert_i32_u (i32.xor (local.get $t) (i32.shr_u (local.get $t) (i32.const 14)))))))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (br $next))))

  ;; How many of the n float32 values at $p are NaN or Inf (exponent bits all ones).
  (func (export "nonfinite_f32") (param $p i32) (param $n i32) (result i32)
    (local $count i32) (local $end i32)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $count (i32.add (local.get $count)
          (i32.eq (i32.and (i32.load (local.get $p)) (i32.const 0x7f800000)) (i32.const 0x7f800000))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $next)))
    (local.get $count))

  ;; The same for float64.
  (func (export "nonfinite_f64") (param $p i32) (param $n i32) (result i32)
    (local $count i32) (local $end i32)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 3))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $count (i32.add (local.get $count)
          (i64.eq (i64.and (i64.load (local.get $p)) (i64.const 0x7ff0000000000000)) (i64.const 0x7ff0000000000000))))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (br $next)))
    (local.get $count))

  ;; A float32 bit pattern as an integer that increases with the value (ULP distance is a difference).
  (func $ordered (param $bits i32) (result f64)
    (if (result f64) (i32.lt_s (local.get $bits) (i32.const 0))
      (then (f64.neg (f64.convert_i32_s (i32.and (local.get $bits) (i32.const 0x7fffffff)))))
      (else (f64.convert_i32_s (local.get $bits)))))

  ;; reference.ts scanFloat32 over n float32 pairs (expected at $e, actual at $a); its eleven
  ;; results as f64 at $out: bitExact, maxAbs, maxRel, maxUlp, l1, dot, normE, normA,
  ;; nanMismatches, worstIndex, allcloseOk (booleans as 0 or 1).
  (func (export "scan_f32") (param $e i32) (param $a i32) (param $n i32) (param $atol f64) (param $rtol f64) (param $out i32)
    (local $i i32) (local $be i32) (local $ba i32) (local $x f64) (local $y f64)
    (local $abs f64) (local $ulp f64) (local $rel f64)
    (local $bitExact i32) (local $maxAbs f64) (local $maxRel f64) (local $maxUlp f64) (local $l1 f64)
    (local $dot f64) (local $normE f64) (local $normA f64) (local $nanMismatches i32)
    (local $worstIndex i32) (local $worstAbs f64) (local $allcloseOk i32)
    (local.set $bitExact (i32.const 1))
    (local.set $worstIndex (i32.const -1))
    (local.set $worstAbs (f64.const -1))
    (local.set $allcloseOk (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (block $skip
          (local.set $be (i32.load (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 2)))))
          (local.set $ba (i32.load (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 2)))))
          (local.set $x (f64.promote_f32 (f32.reinterpret_i32 (local.get $be))))
          (local.set $y (f64.promote_f32 (f32.reinterpret_i32 (local.get $ba))))
          (local.set $abs (f64.const 0))
          (local.set $ulp (f64.const 0))
          (if (i32.or (f64.ne (local.get $x) (local.get $x)) (f64.ne (local.get $y) (local.get $y)))
            (then
              ;; NaN at the same place on both sides: equal, nothing to count.
              (br_if $skip (i32.and (f64.ne (local.get $x) (local.get $x)) (f64.ne (local.get $y) (local.get $y))))
              (local.set $nanMismatches (i32.add (local.get $nanMismatches) (i32.const 1)))
              (local.set $abs (f64.const inf))
              (local.set $ulp (f64.const inf)))
            (else
              (if (f64.ne (local.get $x) (local.get $y))
                (then
                  (local.set $abs (f64.abs (f64.sub (local.get $y) (local.get $x))))
                  ;; An infinity against another value is no number of steps apart.
                  (local.set $ulp
                    (if (result f64) (f64.eq (local.get $abs) (f64.const inf))
                      (then (f64.const inf))
                      (else (f64.abs (f64.sub (call $ordered (local.get $ba)) (call $ordered (local.get $be)))))))))))
          (if (i32.ne (local.get $be) (local.get $ba)) (then (local.set $bitExact (i32.const 0))))
          (local.set $rel
            (if (result f64) (f64.eq (local.get $abs) (f64.const 0))
              (then (f64.const 0))
              (else
                ;; An infinity against another value: infinitely far, relatively too (inf / inf is NaN).
                (if (result f64) (i32.or (f64.eq (local.get $x) (f64.const 0)) (f64.eq (local.get $abs) (f64.const inf)))
                  (then (f64.const inf))
                  (else (f64.div (local.get $abs) (f64.abs (local.get $x))))))))
          (if (f64.gt (local.get $abs) (local.get $maxAbs)) (then (local.set $maxAbs (local.get $abs))))
          (if (f64.gt (local.get $rel) (local.get $maxRel)) (then (local.set $maxRel (local.get $rel))))
          (if (f64.gt (local.get $ulp) (local.get $maxUlp)) (then (local.set $maxUlp (local.get $ulp))))
          (if (f64.gt (local.get $abs) (local.get $worstAbs))
            (then
              (local.set $worstAbs (local.get $abs))
              (local.set $worstIndex (local.get $i))))
          ;; Beyond any tolerance: atol + rtol * inf (or 0 * inf, NaN) would let an infinite difference pass.
          (if (i32.or (f64.eq (local.get $abs) (f64.const inf)) (f64.gt (local.get $abs) (f64.add (local.get $atol) (f64.mul (local.get $rtol) (f64.abs (local.get $x))))))
            (then (local.set $allcloseOk (i32.const 0))))
          (if (f64.ne (local.get $abs) (f64.const inf))
            (then
              (local.set $l1 (f64.add (local.get $l1) (local.get $abs)))
              (local.set $dot (f64.add (local.get $dot) (f64.mul (local.get $y) (local.get $x))))
              (local.set $normE (f64.add (local.get $normE) (f64.mul (local.get $x) (local.get $x))))
              (local.set $normA (f64.add (local.get $normA) (f64.mul (local.get $y) (local.get $y)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (f64.store offset=0 (local.get $out) (f64.convert_i32_u (local.get $bitExact)))
    (f64.store offset=8 (local.get $out) (local.get $maxAbs))
    (f64.store offset=16 (local.get $out) (local.get $maxRel))
    (f64.store offset=24 (local.get $out) (local.get $maxUlp))
    (f64.store offset=32 (local.get $out) (local.get $l1))
    (f64.store offset=40 (local.get $out) (local.get $dot))
    (f64.store offset=48 (local.get $out) (local.get $normE))
    (f64.store offset=56 (local.get $out) (local.get $normA))
    (f64.store offset=64 (local.get $out) (f64.convert_i32_u (local.get $nanMismatches)))
    (f64.store offset=72 (local.get $out) (f64.convert_i32_s (local.get $worstIndex)))
    (f64.store offset=80 (local.get $out) (f64.convert_i32_u (local.get $allcloseOk)))))
