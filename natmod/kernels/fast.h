/*
 * Shared pieces of the optimized paths of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED.
 *
 * Every kernel keeps its reference loop (the specification, used on x64 and wherever no fast
 * path applies); the fast paths sit beside it in the same file and must give the same bytes:
 *
 *   UML_FAST_DSP     Arm cores with the DSP extension (Cortex-M4/M7, __ARM_FEATURE_DSP):
 *                    packed 16-bit multiply-accumulate (SMLAD, SMLABB/SMLATT) on pairs of
 *                    sign-extended bytes (SXTB16, SXTAB16 adds the zero-point offset).
 *   UML_FAST_SCALAR  other Arm cores (Cortex-M0/M0+ armv6m, Cortex-M3 armv7m): plain C with
 *                    unrolled, pointer-walking loops and a requantization without 64-bit
 *                    multiplies on armv6m. Also selectable on a host with -DUML_FAST_SCALAR=1
 *                    (to run these paths under sanitizers).
 *
 * Exactness: every accumulator is the same integer sum as the reference's (the validators
 * bound the depth so that no partial sum overflows int32, so the order of the additions does
 * not matter), and the requantization below equals uml_out_stage_apply bit for bit.
 */
#ifndef UML_KERNEL_FAST_H
#define UML_KERNEL_FAST_H

#include "common.h"

#if defined(UML_CMSIS_NN) && !defined(UML_FAST_SCALAR)
/* The CMSIS-NN build (docs/CMSIS_NN.md): CMSIS-NN's kernels take the ops they cover and the
 * rest run their reference loops, so these paths would only be code copied into the heap. */
#elif defined(__ARM_FEATURE_DSP) && !defined(UML_FAST_SCALAR)
#define UML_FAST_DSP 1
#include <arm_acle.h>
#elif (defined(__arm__) || defined(__thumb__)) && !defined(UML_FAST_SCALAR)
#define UML_FAST_SCALAR 1
#endif

#if defined(UML_FAST_DSP) || defined(UML_FAST_SCALAR)
#define UML_FAST 1
#endif

/* The Thumb-1 assembly of the scalar paths (written for armv6m's 8 low registers) runs on
 * armv7m too, whose Thumb-2 includes those instructions. */
#if defined(UML_FAST_SCALAR) && (defined(__ARM_ARCH_6M__) || defined(__ARM_ARCH_7M__))
#define UML_FAST_THUMB1_ASM 1
#endif

#ifdef UML_FAST

/* Keeps GCC from turning a short copy or fill loop into a call of memcpy/memset (which a native
 * module reaches through MicroPython's function table, at a fixed cost larger than the loop). */
#if defined(__GNUC__) && !defined(__clang__)
#define UML_NO_MEMCPY __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define UML_NO_MEMCPY
#endif

/* Unaligned 32-bit load (one LDR on Cortex-M3/M4/M7, which allow unaligned word loads). */
static inline uint32_t uml_ld32(const int8_t *p) {
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}

/* ---- Requantization ------------------------------------------------------------------- */

/* uml_srdhm(a, b) for b >= 0 (so never INT32_MIN * INT32_MIN): with ab = a * b,
 * (ab + nudge) / 2^31 truncated toward zero equals floor((ab + 2^30) / 2^31) for either sign
 * of ab (for ab < 0: trunc((ab + 1 - 2^30) / 2^31) = ceil(...) = floor((ab + 2^30) / 2^31)). */
static inline int32_t uml_fast_srdhm(int32_t a, int32_t b) {
#if defined(__ARM_ARCH_6M__) || defined(UML_FAST_SRDHM32)
    /* armv6m has no 32x32->64 multiply (the compiler would call __aeabi_lmul): the same
     * value from 16-bit pieces. With u = |a| <= 2^31, P = u * b < 2^62 and c = 2^30 for
     * a >= 0, 2^30 - 1 for a < 0, the result is +-floor((P + c) / 2^31) (for a < 0:
     * floor((-P + 2^30) / 2^31) = -floor((P + 2^30 - 1) / 2^31)). Split u = uh:ul, b = bh:bl
     * (16 bits each, uh <= 2^15, bh < 2^15): P = uh*bh*2^32 + (uh*bl + ul*bh)*2^16 + ul*bl.
     * floor((P + c) / 2^31) = 2*uh*bh + floor((mid + floor((ul*bl + c) / 2^16)) / 2^15) with
     * mid = uh*bl + ul*bh; mid plus the carried part stays below 2^32 (when uh = 2^15, ul = 0;
     * otherwise mid <= 2 * (2^15 - 1) * (2^16 - 1)). */
    const uint32_t neg = (uint32_t)a >> 31;
    const uint32_t u = neg ? 0u - (uint32_t)a : (uint32_t)a;
    const uint32_t ul = u & 0xFFFFu, uh = u >> 16;
    const uint32_t bl = (uint32_t)b & 0xFFFFu, bh = (uint32_t)b >> 16;
    const uint32_t t = ul * bl;
    const uint32_t carry = (t >> 16) + (((t & 0xFFFFu) + (UINT32_C(1) << 30) - neg) >> 16);
    const uint32_t mid = uh * bl + ul * bh + carry;
    const uint32_t r = (mid >> 15) + ((uh * bh) << 1);
    return neg ? (int32_t)(0u - r) : (int32_t)r;
#else
    return (int32_t)(((int64_t)a * b + (INT64_C(1) << 30)) >> 31);
#endif
}

/* One output channel's requantization constants (a table of them is filled per block of
 * channels, so the hot loops only load them). Two forms:
 *   general: a = left shift (0..30), b = right shift (0..31);
 *   "down": every channel of the op has a right shift e = -shift in [UML_RQ_EMIN, UML_RQ_EMAX]
 *   (or a zero multiplier, which gives 0 for any shift and is stored with e = UML_RQ_EMIN),
 *   for a single rounding step (uml_rq_scale); a and b are constants of that step. */
typedef struct {
    int32_t bias; /* 0 when the op has no bias */
    int32_t mult; /* >= 0 (validated) */
    int32_t a, b;
} uml_rq_t;

#ifdef UML_FAST_DSP
#define UML_RQ_EMIN 1
#define UML_RQ_EMAX 31
#else
#define UML_RQ_EMIN 2
#define UML_RQ_EMAX 31
#endif

/* Channels of a table block: 32 entries, 512 bytes of stack. */
#define UML_RQ_BLOCK 32

/* 1 when the "down" form applies to every channel of the op; depth: the number of products in
 * an accumulator (each of magnitude <= 2^15). On DSP cores the form also needs
 * |acc + bias| < 2^30 for every possible accumulator. */
static inline int uml_rq_down_ok(const uml_out_stage_t *s, int32_t channels, int32_t depth) {
    const int32_t cnt = s->per_channel ? channels : 1;
    for (int32_t i = 0; i < cnt; i++) {
        if (s->mult[i] != 0 && (s->shift[i] > -UML_RQ_EMIN || s->shift[i] < -UML_RQ_EMAX)) {
            return 0;
        }
    }
#ifdef UML_FAST_DSP
    const int64_t room = (INT64_C(1) << 30) - ((int64_t)depth << 15);
    for (int32_t i = 0; s->bias && i < channels; i++) {
        if ((int64_t)s->bias[i] >= room || -(int64_t)s->bias[i] >= room) {
            return 0;
        }
    }
    if (room <= 0) {
        return 0;
    }
#else
    (void)depth;
#endif
    return 1;
}

/* The table entry of one channel: bias, multiplier (>= 0) and shift, in the "down" form when
 * down (the caller has checked that it applies: uml_rq_down_ok) or else the general one. */
static inline uml_rq_t uml_rq_entry(int32_t bias, int32_t mult, int32_t shift, int down) {
    uml_rq_t r;
    r.bias = bias;
    r.mult = mult;
    if (down) {
        const int32_t e = mult == 0 ? UML_RQ_EMIN : -shift;
#ifdef UML_FAST_DSP
        r.bias = (int32_t)((uint32_t)bias << 1); /* |bias| < 2^30 (uml_rq_down_ok) */
        r.a = (int32_t)(UINT32_C(1) << (e - 1));
        r.b = e;
#else
        r.a = (int32_t)(UINT32_C(1) << (e - 2));
        r.b = e - 1;
#endif
    } else {
        r.a = shift > 0 ? shift : 0;
        r.b = shift > 0 ? 0 : -shift;
    }
    return r;
}

/* t[i] for channels oc0 + i, i < n. */
static inline void uml_rq_fill(const uml_out_stage_t *s, int32_t oc0, int32_t n, int down, uml_rq_t *t) {
    for (int32_t i = 0; i < n; i++) {
        const int32_t oc = oc0 + i, q = s->per_channel ? oc : 0;
        t[i] = uml_rq_entry(s->bias ? s->bias[oc] : 0, s->mult[q], s->shift[q], down);
    }
}

/* uml_mbqm(acc + bias, mult, shift) (additions with wrap-around) for a table entry.
 *
 * Down form, DSP (1 <= e <= 31, |v| < 2^30): the SRDHM result s = floor((v mult + 2^30) / 2^31)
 * = floor((2v mult + 2^31) / 2^32) is SMMULR(2v, mult), |s| < 2^30, and
 * uml_rdbpot(s, e) = floor((s + 2^(e-1) - [s < 0]) / 2^e) (the remainder test of uml_rdbpot
 * moved into the sum), computed without overflow: a = 2^(e-1), b = e. The table holds 2 bias
 * (2v = 2 bias + 2 acc: one ADD with a shifted operand).
 *
 * Down form, no DSP (2 <= e <= 31): with s the SRDHM result and s' = s - [s < 0] (no overflow:
 * s > INT32_MIN), uml_rdbpot(s, e) = floor((s' + 2^(e-1)) / 2^e)
 * = floor((floor(s' / 2) + 2^(e-2)) / 2^(e-1)), without overflow: a = 2^(e-2), b = e - 1.
 * On armv6m (no 32x32->64 multiply) s comes from 16-bit pieces in assembly: for |v| < 2^15,
 * floor(T / 2^16) = v mh + floor(v ml / 2^16) + 2^14 = A exactly (T = v mult + 2^30,
 * mult = mh 2^16 + ml; 2^30 is a multiple of 2^16) and s = floor(A / 2^15); else, with
 * v = vh 2^16 + vl, s = 2 vh mh + floor(Q / 2^15), Q = vh ml + vl mh + floor(vl ml / 2^16) + 2^14,
 * where Q lies in [0, 2^32) when vh >= 0 (shifted as unsigned) and in (-2^31, 2^31) when
 * vh < 0 (shifted as signed), as in uml_fast_srdhm. */
#ifdef __ARM_ARCH_6M__
static inline int32_t uml_rq_down_m0(const uml_rq_t *r, int32_t v) {
    int32_t t0, t1, t2, t3;
    __asm__(".syntax unified\n\t"
            "sxth %[t0], %[v]\n\t"
            "cmp %[t0], %[v]\n\t"
            "bne 2f\n\t"
            "ldr %[t0], [%[r], #4]\n\t"
            "asrs %[t1], %[t0], #16\n\t"
            "uxth %[t0], %[t0]\n\t"
            "muls %[t0], %[v]\n\t"
            "asrs %[t0], %[t0], #16\n\t"
            "muls %[t1], %[v]\n\t"
            "adds %[t0], %[t1]\n\t"
            "movs %[t1], #1\n\t"
            "lsls %[t1], %[t1], #14\n\t"
            "adds %[t0], %[t1]\n\t"
            "asrs %[v], %[t0], #15\n\t"
            "b 3f\n"
            "2:\n\t"
            "asrs %[t2], %[v], #16\n\t"
            "uxth %[t3], %[v]\n\t"
            "ldr %[t0], [%[r], #4]\n\t"
            "lsrs %[t1], %[t0], #16\n\t"
            "uxth %[t0], %[t0]\n\t"
            "movs %[v], %[t3]\n\t"
            "muls %[v], %[t0]\n\t"
            "lsrs %[v], %[v], #16\n\t"
            "muls %[t3], %[t1]\n\t"
            "adds %[v], %[t3]\n\t"
            "muls %[t0], %[t2]\n\t"
            "adds %[v], %[t0]\n\t"
            "movs %[t3], #1\n\t"
            "lsls %[t3], %[t3], #14\n\t"
            "adds %[v], %[t3]\n\t"
            "muls %[t1], %[t2]\n\t"
            "cmp %[t2], #0\n\t"
            "blt 4f\n\t"
            "lsrs %[v], %[v], #15\n\t"
            "b 5f\n"
            "4:\n\t"
            "asrs %[v], %[v], #15\n"
            "5:\n\t"
            "lsls %[t1], %[t1], #1\n\t"
            "adds %[v], %[t1]\n"
            "3:\n\t"
            "lsrs %[t0], %[v], #31\n\t"
            "subs %[v], %[t0]\n\t"
            "asrs %[v], %[v], #1\n\t"
            "ldr %[t0], [%[r], #8]\n\t"
            "adds %[v], %[t0]\n\t"
            "ldr %[t0], [%[r], #12]\n\t"
            "asrs %[v], %[t0]\n\t"
            : [v] "+&l"(v), [t0] "=&l"(t0), [t1] "=&l"(t1), [t2] "=&l"(t2), [t3] "=&l"(t3)
            : [r] "l"(r)
            : "cc", "memory");
    return v;
}
#endif

#ifdef UML_FAST_DSP
/* The down form on DSP cores from an entry's constants (b2 = 2 bias, m, a = 2^(e-1), e):
 * with v = acc + bias and s = SMMULR(2v, m) as above, floor((s + a - [s < 0]) / 2^e), where
 * [s < 0] may be replaced by [v < 0]: m >= 0, so s has the sign of v or is 0, and for s = 0
 * both floor((a - 1) / 2^e) and floor(a / 2^e) are 0 (e >= 1). SMMLAR adds a in the multiply. */
static inline int32_t uml_rq_down_dsp(int32_t acc, int32_t b2, int32_t m, int32_t a, int32_t e) {
    int32_t v, x;
    __asm__("add %[v], %[b2], %[acc], lsl #1\n\t"
            "smmlar %[x], %[v], %[m], %[a]\n\t"
            "sub %[x], %[x], %[v], lsr #31\n\t"
            : [v] "=&r"(v), [x] "=&r"(x)
            : [acc] "r"(acc), [b2] "r"(b2), [m] "r"(m), [a] "r"(a));
    return x >> e;
}
#endif

UML_INLINE_LOOP int32_t uml_rq_scale(const uml_rq_t *r, int32_t acc, int down) {
    if (down) {
#ifdef UML_FAST_DSP
        return uml_rq_down_dsp(acc, r->bias, r->mult, r->a, r->b);
#elif defined(__ARM_ARCH_6M__)
        return uml_rq_down_m0(r, uml_add_wrap(acc, r->bias));
#else
        int32_t x = uml_fast_srdhm(uml_add_wrap(acc, r->bias), r->mult);
        x -= (int32_t)((uint32_t)x >> 31);
        return ((x >> 1) + r->a) >> r->b;
#endif
    }
    return uml_rdbpot(uml_fast_srdhm(uml_shl_wrap(uml_add_wrap(acc, r->bias), r->a), r->mult), r->b);
}

/* The int8 output: the scaled value plus the output offset (wrapping), clamped. */
static inline int8_t uml_rq_out(int32_t x, int32_t out_off, int32_t act_min, int32_t act_max) {
    return (int8_t)uml_clamp_i32(uml_add_wrap(x, out_off), act_min, act_max);
}

#ifdef UML_FAST_SCALAR
/* Four sums, kept in registers (a struct by value, not an array, so the compiler never puts
 * them in memory). */
typedef struct {
    int32_t a0, a1, a2, a3;
} uml_acc4_t;

/* Dot products without SIMD: an int8 x row (plus the offset xo) against 4 (or 1) int8 w rows S
 * bytes apart, n elements: acc.aj += x . w_j. On armv6m (8 low registers; LDRSB takes a
 * register offset only) the 4-row loop is written in assembly: one index register (counting
 * up from -n to 0) addresses all five rows, the four sums live in high registers. */
#ifdef __ARM_ARCH_7M__
/* armv7m (Thumb-2): post-incrementing LDRSB and MLA, 12 instructions per 4 products; out of
 * line, since its 13 registers are more than the callers can free. */
static __attribute__((noinline, unused)) void uml_sdot_1x4_t2(const int8_t *x, const int8_t *w, int32_t S,
                                                              int32_t n, int32_t xo, uml_acc4_t *acc) {
    const int8_t *xe = x + n, *w1 = w + S, *w2 = w1 + S, *w3 = w2 + S;
    int32_t a0 = acc->a0, a1 = acc->a1, a2 = acc->a2, a3 = acc->a3, v, t;
    __asm__("1:\n\t"
            "ldrsb %[v], [%[x]], #1\n\t"
            "add %[v], %[o]\n\t"
            "ldrsb %[t], [%[w0]], #1\n\t"
            "mla %[a0], %[t], %[v], %[a0]\n\t"
            "ldrsb %[t], [%[w1]], #1\n\t"
            "mla %[a1], %[t], %[v], %[a1]\n\t"
            "ldrsb %[t], [%[w2]], #1\n\t"
            "mla %[a2], %[t], %[v], %[a2]\n\t"
            "ldrsb %[t], [%[w3]], #1\n\t"
            "mla %[a3], %[t], %[v], %[a3]\n\t"
            "cmp %[x], %[xe]\n\t"
            "bne 1b\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w0] "+r"(w), [w1] "+r"(w1),
              [w2] "+r"(w2), [w3] "+r"(w3), [v] "=&r"(v), [t] "=&r"(t)
            : [o] "r"(xo), [xe] "r"(xe)
            : "cc", "memory");
    acc->a0 = a0;
    acc->a1 = a1;
    acc->a2 = a2;
    acc->a3 = a3;
}
#endif

#ifdef __ARM_ARCH_6M__
/* The next value of x plus the offset, into t0. */
#define UML_SDOT_M0_X "ldrsb %[t0], [%[xe], %[i]]\n\t" "add %[t0], %[o]\n\t"
/* a += t0 times the value of row w. */
#define UML_SDOT_M0_ROW(w, a) "ldrsb %[t1], [%[" w "], %[i]]\n\t" "muls %[t1], %[t0]\n\t" "add %[" a "], %[t1]\n\t"
/* One value of x against four w rows (uml_sdot_1x4 on armv6m; the loop runs it twice per iteration). */
#define UML_SDOT_M0_STEP4                                                                                     \
    UML_SDOT_M0_X UML_SDOT_M0_ROW("w0", "a0") UML_SDOT_M0_ROW("w1", "a1") UML_SDOT_M0_ROW("w2", "a2")         \
        UML_SDOT_M0_ROW("w3", "a3") "adds %[i], #1\n\t"
/* One value of x against two w rows (uml_sdot_1x2 on armv6m). */
#define UML_SDOT_M0_STEP2 UML_SDOT_M0_X UML_SDOT_M0_ROW("w0", "a0") UML_SDOT_M0_ROW("w1", "a1") "adds %[i], #1\n\t"
#endif

UML_INLINE_LOOP uml_acc4_t uml_sdot_1x4(const int8_t *x, const int8_t *w, int32_t S, int32_t n, int32_t xo,
                                        uml_acc4_t acc) {
#ifdef __ARM_ARCH_7M__
    if (n > 0) {
        uml_sdot_1x4_t2(x, w, S, n, xo, &acc);
    }
#elif defined(__ARM_ARCH_6M__)
    if (n > 0) {
        const int8_t *xe = x + n, *w0 = w + n, *w1 = w0 + S, *w2 = w1 + S, *w3 = w2 + S;
        int32_t i = -n, t0, t1;
        /* two values per iteration (the first index test is the loop's only branch but one);
         * an odd count enters at the second */
        __asm__(".syntax unified\n\t"
                "lsls %[t0], %[i], #31\n\t"
                "bne 2f\n"
                "1:\n\t" UML_SDOT_M0_STEP4 "2:\n\t" UML_SDOT_M0_STEP4
                "bne 1b\n\t"
                : [a0] "+h"(acc.a0), [a1] "+h"(acc.a1), [a2] "+h"(acc.a2), [a3] "+h"(acc.a3), [i] "+l"(i),
                  [t0] "=&l"(t0), [t1] "=&l"(t1)
                : [xe] "l"(xe), [w0] "l"(w0), [w1] "l"(w1), [w2] "l"(w2), [w3] "l"(w3), [o] "h"(xo)
                : "cc", "memory");
    }
#else
    const int8_t *w1 = w + S, *w2 = w1 + S, *w3 = w2 + S;
    for (int32_t c = 0; c < n; c++) {
        const int32_t v = x[c] + xo;
        acc.a0 += v * w[c];
        acc.a1 += v * w1[c];
        acc.a2 += v * w2[c];
        acc.a3 += v * w3[c];
    }
#endif
    return acc;
}

/* An int8 x row (plus the offset xo) against 2 int8 w rows S bytes apart, n elements:
 * acc[j] += x . w_j (on armv6m in assembly, as uml_sdot_1x4). */
UML_INLINE_LOOP void uml_sdot_1x2(const int8_t *x, const int8_t *w, int32_t S, int32_t n, int32_t xo, int32_t acc[2]) {
#ifdef __ARM_ARCH_6M__
    if (n > 0) {
        const int8_t *xe = x + n, *w0 = w + n, *w1 = w0 + S;
        int32_t i = -n, t0, t1, a0 = acc[0], a1 = acc[1];
        __asm__(".syntax unified\n\t"
                "lsls %[t0], %[i], #31\n\t"
                "bne 2f\n"
                "1:\n\t" UML_SDOT_M0_STEP2 "2:\n\t" UML_SDOT_M0_STEP2
                "bne 1b\n\t"
                : [a0] "+h"(a0), [a1] "+h"(a1), [i] "+l"(i), [t0] "=&l"(t0), [t1] "=&l"(t1)
                : [xe] "l"(xe), [w0] "l"(w0), [w1] "l"(w1), [o] "h"(xo)
                : "cc", "memory");
        acc[0] = a0;
        acc[1] = a1;
    }
#else
    const int8_t *w1 = w + S;
    for (int32_t c = 0; c < n; c++) {
        const int32_t v = x[c] + xo;
        acc[0] += v * w[c];
        acc[1] += v * w1[c];
    }
#endif
}

UML_INLINE_LOOP int32_t uml_sdot_1x1(const int8_t *x, const int8_t *w, int32_t n, int32_t xo, int32_t a) {
    for (int32_t c = 0; c < n; c++) {
        a += (x[c] + xo) * w[c];
    }
    return a;
}
#endif /* UML_FAST_SCALAR */

#endif /* UML_FAST */

#ifdef UML_FAST_DSP

/* Two int16 lanes: bytes 0 and 2 (_lo) or 1 and 3 (_hi) of v, sign-extended, plus the packed
 * offset o (both lanes), as SXTAB16 computes them. */
static inline uint32_t uml_sxtab16_lo(uint32_t o, uint32_t v) {
    return (uint32_t)__sxtab16((int16x2_t)o, (int8x4_t)v);
}
static inline uint32_t uml_sxtab16_hi(uint32_t o, uint32_t v) {
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(o), "r"(v));
    return r;
}
/* An offset in [-256, 256) in both 16-bit lanes. */
static inline uint32_t uml_pack_off(int32_t off) {
    return ((uint32_t)off & 0xFFFFu) | ((uint32_t)off << 16);
}

/* Outputs x0..x3 (scaled values) plus the output offset, saturated to int8 and packed into the
 * bytes of a word, then clamped to the activation range (lo4, hi4: act_min, act_max in every
 * byte) with SSUB8/SEL, which pick per byte by the signs of the byte differences. */
static inline uint32_t uml_pack_ssat(int32_t x) {
    uint32_t r;
    __asm__("ssat %0, #8, %1" : "=r"(r) : "r"(x));
    return r;
}
static inline uint32_t uml_out4(int32_t x0, int32_t x1, int32_t x2, int32_t x3, int32_t out_off, uint32_t lo4,
                                uint32_t hi4) {
    uint32_t p = uml_pack_ssat(uml_add_wrap(x0, out_off)), t;
    const uint32_t b1 = uml_pack_ssat(uml_add_wrap(x1, out_off)), b2 = uml_pack_ssat(uml_add_wrap(x2, out_off)),
                   b3 = uml_pack_ssat(uml_add_wrap(x3, out_off));
    __asm__("bfi %[p], %[b1], #8, #8\n\t"
            "bfi %[p], %[b2], #16, #8\n\t"
            "bfi %[p], %[b3], #24, #8\n\t"
            "ssub8 %[t], %[p], %[lo]\n\t"
            "sel %[p], %[p], %[lo]\n\t"
            "ssub8 %[t], %[hi], %[p]\n\t"
            "sel %[p], %[p], %[hi]\n\t"
            : [p] "+&r"(p), [t] "=&r"(t)
            : [b1] "r"(b1), [b2] "r"(b2), [b3] "r"(b3), [lo] "r"(lo4), [hi] "r"(hi4)
            : "cc");
    return p;
}

/* The output constants of the packed store: output offset, act_min and act_max in every byte,
 * and whether the activation range is narrower than int8 (else saturation alone clamps). */
typedef struct {
    int32_t out_off;
    uint32_t lo4, hi4;
    int32_t clamp;
} uml_pack_t;

static inline uml_pack_t uml_pack(int32_t out_off, int32_t act_min, int32_t act_max) {
    uml_pack_t P;
    P.out_off = out_off;
    P.lo4 = ((uint32_t)act_min & 0xFFu) * UINT32_C(0x01010101);
    P.hi4 = ((uint32_t)act_max & 0xFFu) * UINT32_C(0x01010101);
    P.clamp = act_min != -128 || act_max != 127;
    return P;
}

/* Four accumulators requantized with the down form (uml_rq_scale) by table entries t + k0,
 * t + k1, t + k2, t + k3 (k compile-time constants), offset, saturated, packed and clamped as
 * uml_out4 (the clamp skipped when the activation range is all of int8); one assembly block, so
 * the table constants go straight from memory into the arithmetic. */
#define UML_RQ_DOWN_STEP(a, k)                                                                  \
    "ldrd %[X], %[N], [%[t], #" #k "*16]\n\t"                                                   \
    "add %[" a "], %[X], %[" a "], lsl #1\n\t"                                                  \
    "ldr %[X], [%[t], #" #k "*16+8]\n\t"                                                        \
    "smmlar %[X], %[" a "], %[N], %[X]\n\t"                                                     \
    "sub %[" a "], %[X], %[" a "], lsr #31\n\t"                                                 \
    "ldr %[X], [%[t], #" #k "*16+12]\n\t"                                                       \
    "asr %[" a "], %[" a "], %[X]\n\t"
#define UML_RQ_CLAMP                                                                            \
    "ldr %[X], [%[P], #12]\n\t"                                                                 \
    "cmp %[X], #0\n\t"                                                                          \
    "beq 1f\n\t"                                                                                \
    "ldr %[X], [%[P], #4]\n\t"                                                                  \
    "ssub8 %[N], %[a0], %[X]\n\t"                                                               \
    "sel %[a0], %[a0], %[X]\n\t"                                                                \
    "ldr %[X], [%[P], #8]\n\t"                                                                  \
    "ssub8 %[N], %[X], %[a0]\n\t"                                                               \
    "sel %[a0], %[a0], %[X]\n"                                                                  \
    "1:\n\t"
#define UML_RQ_DOWN4(name, k0, k1, k2, k3, CLAMP)                                               \
    static inline uint32_t name(const uml_rq_t *t, int32_t a0, int32_t a1, int32_t a2, int32_t a3, \
                                const uml_pack_t *P) {                                          \
        uint32_t N, X;                                                                          \
        __asm__(UML_RQ_DOWN_STEP("a0", k0) UML_RQ_DOWN_STEP("a1", k1) UML_RQ_DOWN_STEP("a2", k2) \
                    UML_RQ_DOWN_STEP("a3", k3)                                                  \
                "ldr %[X], [%[P]]\n\t"                                                          \
                "add %[a0], %[X]\n\t"                                                           \
                "add %[a1], %[X]\n\t"                                                           \
                "add %[a2], %[X]\n\t"                                                           \
                "add %[a3], %[X]\n\t"                                                           \
                "ssat %[a0], #8, %[a0]\n\t"                                                     \
                "ssat %[a1], #8, %[a1]\n\t"                                                     \
                "ssat %[a2], #8, %[a2]\n\t"                                                     \
                "ssat %[a3], #8, %[a3]\n\t"                                                     \
                "bfi %[a0], %[a1], #8, #8\n\t"                                                  \
                "bfi %[a0], %[a2], #16, #8\n\t"                                                 \
                "bfi %[a0], %[a3], #24, #8\n\t" CLAMP                                           \
                : [a0] "+&r"(a0), [a1] "+&r"(a1), [a2] "+&r"(a2), [a3] "+&r"(a3), [N] "=&r"(N),  \
                  [X] "=&r"(X)                                                                  \
                : [t] "r"(t), [P] "r"(P)                                                        \
                : "cc", "memory");                                                              \
        (void)N;                                                                                \
        return (uint32_t)a0;                                                                    \
    }
UML_RQ_DOWN4(uml_rq_down4_0123, 0, 1, 2, 3, UML_RQ_CLAMP)
UML_RQ_DOWN4(uml_rq_down4_0101, 0, 1, 0, 1, UML_RQ_CLAMP)

/* Four outputs packed: entries t[k0..k3] of the table, as uml_out4. */
#define UML_RQ_OUT4(k0, k1, k2, k3, t, a0, a1, a2, a3, P, down)                                 \
    ((down) ? uml_rq_down4_##k0##k1##k2##k3((t), (a0), (a1), (a2), (a3), (P))                   \
            : uml_out4(uml_rq_scale(&(t)[k0], (a0), 0), uml_rq_scale(&(t)[k1], (a1), 0),         \
                       uml_rq_scale(&(t)[k2], (a2), 0), uml_rq_scale(&(t)[k3], (a3), 0), (P)->out_off, \
                       (P)->lo4, (P)->hi4))

/* A value in every byte. */
static inline uint32_t uml_bytes4(int32_t v) {
    return ((uint32_t)v & 0xFFu) * UINT32_C(0x01010101);
}

/* Unaligned stores (STR/STRH accept unaligned addresses on Cortex-M3/M4/M7). */
static inline void uml_st32(int8_t *p, uint32_t v) {
    __builtin_memcpy(p, &v, 4);
}
static inline void uml_st16(int8_t *p, uint32_t v) {
    const uint16_t h = (uint16_t)v;
    __builtin_memcpy(p, &h, 2);
}

/* Dot products of int8 rows for blocks of pixels and output channels: x rows (activations,
 * plus the offset xo) against w rows (weights), n elements. Groups of four bytes are split
 * into the int16 lane pairs (0, 2) and (1, 3) of both operands, so SMLAD adds matching
 * products; the last n % 4 elements are done one by one. The loops are written in assembly:
 * they need up to 14 registers, which the compiler does not find inside the kernels. */
/* 2 x rows by 2 w rows where the second row of each is S bytes after the first (x1 = x0 + S,
 * w1 = w0 + S): acc = {x0.w0, x0.w1, x1.w0, x1.w1} added on. */
UML_INLINE_LOOP void uml_dot_2x2s(const int8_t *x, const int8_t *w, int32_t S, int32_t n, int32_t xo,
                                  int32_t acc[4]) {
    const uint32_t xo2 = uml_pack_off(xo);
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    if (n >= 4) {
        const int8_t *end = x + (n & ~3);
        /* 13 registers: each input word is loaded twice (once per lane pair) to spare one. */
        uint32_t t0, t1, t2, t3, t4 = (uint32_t)(uintptr_t)end;
        __asm__("push {%[t4]}\n"
                "1:\n\t"
                "ldr %[t0], [%[w], %[S]]\n\t"
                "ldr %[t2], [%[w]], #4\n\t"
                "sxtb16 %[t1], %[t0], ror #8\n\t"
                "sxtb16 %[t0], %[t0]\n\t"
                "sxtb16 %[t3], %[t2], ror #8\n\t"
                "sxtb16 %[t2], %[t2]\n\t"
                "ldr %[t4], [%[x], %[S]]\n\t"
                "sxtab16 %[t4], %[o], %[t4]\n\t"
                "smlad %[a10], %[t4], %[t2], %[a10]\n\t"
                "smlad %[a11], %[t4], %[t0], %[a11]\n\t"
                "ldr %[t4], [%[x], %[S]]\n\t"
                "sxtab16 %[t4], %[o], %[t4], ror #8\n\t"
                "smlad %[a10], %[t4], %[t3], %[a10]\n\t"
                "smlad %[a11], %[t4], %[t1], %[a11]\n\t"
                "ldr %[t4], [%[x]]\n\t"
                "sxtab16 %[t4], %[o], %[t4]\n\t"
                "smlad %[a00], %[t4], %[t2], %[a00]\n\t"
                "smlad %[a01], %[t4], %[t0], %[a01]\n\t"
                "ldr %[t4], [%[x]], #4\n\t"
                "sxtab16 %[t4], %[o], %[t4], ror #8\n\t"
                "smlad %[a00], %[t4], %[t3], %[a00]\n\t"
                "smlad %[a01], %[t4], %[t1], %[a01]\n\t"
                "ldr %[t4], [sp]\n\t"
                "cmp %[x], %[t4]\n\t"
                "bne 1b\n\t"
                "add sp, #4\n\t"
                : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [x] "+r"(x), [w] "+r"(w),
                  [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "+&r"(t4)
                : [S] "r"(S), [o] "r"(xo2)
                : "cc", "memory");
    }
    const int8_t *x1 = x + S, *w1 = w + S;
    for (int32_t c = 0; c < (n & 3); c++) {
        const int32_t v0 = x[c] + xo, v1 = x1[c] + xo, k0 = w[c], k1 = w1[c];
        a00 += v0 * k0;
        a01 += v0 * k1;
        a10 += v1 * k0;
        a11 += v1 * k1;
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/* 1 x row by 2 w rows S bytes apart (w1 = w0 + S): acc = {x.w0, x.w1} added on. */
UML_INLINE_LOOP void uml_dot_1x2s(const int8_t *x, const int8_t *w, int32_t S, int32_t n, int32_t xo,
                                  int32_t acc[2]) {
    const uint32_t xo2 = uml_pack_off(xo);
    int32_t a0 = acc[0], a1 = acc[1];
    if (n >= 4) {
        const int8_t *end = x + (n & ~3);
        uint32_t t0, t1, t2, t3, t4, t5;
        __asm__("1:\n\t"
                "ldr %[t0], [%[w], %[S]]\n\t"
                "ldr %[t2], [%[w]], #4\n\t"
                "ldr %[t4], [%[x]], #4\n\t"
                "sxtb16 %[t1], %[t0], ror #8\n\t"
                "sxtb16 %[t0], %[t0]\n\t"
                "sxtb16 %[t3], %[t2], ror #8\n\t"
                "sxtb16 %[t2], %[t2]\n\t"
                "sxtab16 %[t5], %[o], %[t4], ror #8\n\t"
                "sxtab16 %[t4], %[o], %[t4]\n\t"
                "smlad %[a0], %[t4], %[t2], %[a0]\n\t"
                "smlad %[a1], %[t4], %[t0], %[a1]\n\t"
                "smlad %[a0], %[t5], %[t3], %[a0]\n\t"
                "smlad %[a1], %[t5], %[t1], %[a1]\n\t"
                "cmp %[x], %[end]\n\t"
                "bne 1b\n\t"
                : [a0] "+r"(a0), [a1] "+r"(a1), [x] "+r"(x), [w] "+r"(w), [t0] "=&r"(t0), [t1] "=&r"(t1),
                  [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4), [t5] "=&r"(t5)
                : [S] "r"(S), [o] "r"(xo2), [end] "r"(end)
                : "cc", "memory");
    }
    const int8_t *w1 = w + S;
    for (int32_t c = 0; c < (n & 3); c++) {
        const int32_t v = x[c] + xo;
        a0 += v * w[c];
        a1 += v * w1[c];
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* 1 x row by 4 w rows S bytes apart: acc[j] += x.w_j. */
UML_INLINE_LOOP void uml_dot_1x4s(const int8_t *x, const int8_t *w, int32_t S, int32_t n, int32_t xo,
                                  int32_t acc[4]) {
    const uint32_t xo2 = uml_pack_off(xo);
    if (n >= 4) {
        const int8_t *end = x + (n & ~3), *w2 = w + 2 * S;
        const int32_t S4 = S - 4;
        uint32_t xl, xh, A = (uint32_t)(uintptr_t)end, B;
        __asm__("push {%[A]}\n"
                "1:\n\t"
                "ldr %[xl], [%[x]], #4\n\t"
                "sxtab16 %[xh], %[o], %[xl], ror #8\n\t"
                "sxtab16 %[xl], %[o], %[xl]\n\t"
                "ldr %[B], [%[w]], #4\n\t"
                "sxtb16 %[A], %[B]\n\t"
                "sxtb16 %[B], %[B], ror #8\n\t"
                "smlad %[a0], %[xl], %[A], %[a0]\n\t"
                "smlad %[a0], %[xh], %[B], %[a0]\n\t"
                "ldr %[B], [%[w], %[S4]]\n\t"
                "sxtb16 %[A], %[B]\n\t"
                "sxtb16 %[B], %[B], ror #8\n\t"
                "smlad %[a1], %[xl], %[A], %[a1]\n\t"
                "smlad %[a1], %[xh], %[B], %[a1]\n\t"
                "ldr %[B], [%[w2]], #4\n\t"
                "sxtb16 %[A], %[B]\n\t"
                "sxtb16 %[B], %[B], ror #8\n\t"
                "smlad %[a2], %[xl], %[A], %[a2]\n\t"
                "smlad %[a2], %[xh], %[B], %[a2]\n\t"
                "ldr %[B], [%[w2], %[S4]]\n\t"
                "sxtb16 %[A], %[B]\n\t"
                "sxtb16 %[B], %[B], ror #8\n\t"
                "smlad %[a3], %[xl], %[A], %[a3]\n\t"
                "smlad %[a3], %[xh], %[B], %[a3]\n\t"
                "ldr %[A], [sp]\n\t"
                "cmp %[x], %[A]\n\t"
                "bne 1b\n\t"
                "add sp, #4\n\t"
                : [a0] "+r"(acc[0]), [a1] "+r"(acc[1]), [a2] "+r"(acc[2]), [a3] "+r"(acc[3]), [x] "+r"(x),
                  [w] "+r"(w), [w2] "+r"(w2), [xl] "=&r"(xl), [xh] "=&r"(xh), [A] "+&r"(A), [B] "=&r"(B)
                : [S4] "r"(S4), [o] "r"(xo2)
                : "cc", "memory");
    }
    for (int32_t c = 0; c < (n & 3); c++) {
        const int32_t v = x[c] + xo;
        acc[0] += v * w[c];
        acc[1] += v * w[S + c];
        acc[2] += v * w[2 * S + c];
        acc[3] += v * w[3 * S + c];
    }
}

/* 1 x row by 1 w row: a + x.w. */
UML_INLINE_LOOP int32_t uml_dot_1x1(const int8_t *x, const int8_t *w, int32_t n, int32_t xo, int32_t a) {
    const uint32_t xo2 = uml_pack_off(xo);
    if (n >= 4) {
        const int8_t *end = x + (n & ~3);
        uint32_t t0, t1, t2, t3;
        __asm__("1:\n\t"
                "ldr %[t0], [%[w]], #4\n\t"
                "ldr %[t2], [%[x]], #4\n\t"
                "sxtb16 %[t1], %[t0], ror #8\n\t"
                "sxtb16 %[t0], %[t0]\n\t"
                "sxtab16 %[t3], %[o], %[t2], ror #8\n\t"
                "sxtab16 %[t2], %[o], %[t2]\n\t"
                "smlad %[a], %[t2], %[t0], %[a]\n\t"
                "smlad %[a], %[t3], %[t1], %[a]\n\t"
                "cmp %[x], %[end]\n\t"
                "bne 1b\n\t"
                : [a] "+r"(a), [x] "+r"(x), [w] "+r"(w), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2),
                  [t3] "=&r"(t3)
                : [o] "r"(xo2), [end] "r"(end)
                : "cc", "memory");
    }
    for (int32_t c = 0; c < (n & 3); c++) {
        a += (x[c] + xo) * w[c];
    }
    return a;
}

/* ---- Products with a prepared int16 block (im2col) -------------------------------------
 * A block holds K input values (plus the input offset; 0 for padding taps) of one or two output
 * pixels, as int16 in groups of four elements k = 4g .. 4g + 3: per pixel the words (v0, v2)
 * and (v1, v3), the lane pairs SXTB16 gives of a filter word. Layout: single pixel, 2 words per
 * group; pixel pair, 4 words per group (pixel 0's two, then pixel 1's). The last K % 4 values
 * are kept apart in natural order. The filter rows are int8, S bytes apart. n: groups. */

/* Pixel pair by filter rows w, w + S: acc = {p0.w0, p0.w1, p1.w0, p1.w1} added on. */
UML_INLINE_LOOP void uml_gemm_2x2(const uint32_t *q, const int8_t *w, int32_t S, int32_t n, int32_t acc[4]) {
#define UML_GEMM_2X2_GROUP                          \
    "ldm %[q]!, {%[q0], %[q1], %[q2], %[q3]}\n\t"  \
    "ldr %[B], [%[w]], #4\n\t"                      \
    "sxtb16 %[A], %[B]\n\t"                         \
    "sxtb16 %[B], %[B], ror #8\n\t"                 \
    "smlad %[a00], %[q0], %[A], %[a00]\n\t"         \
    "smlad %[a10], %[q2], %[A], %[a10]\n\t"         \
    "smlad %[a00], %[q1], %[B], %[a00]\n\t"         \
    "smlad %[a10], %[q3], %[B], %[a10]\n\t"         \
    "ldr %[B], [%[w], %[S4]]\n\t"                   \
    "sxtb16 %[A], %[B]\n\t"                         \
    "sxtb16 %[B], %[B], ror #8\n\t"                 \
    "smlad %[a01], %[q0], %[A], %[a01]\n\t"         \
    "smlad %[a11], %[q2], %[A], %[a11]\n\t"         \
    "smlad %[a01], %[q1], %[B], %[a01]\n\t"         \
    "smlad %[a11], %[q3], %[B], %[a11]\n\t"
    if (n > 0) {
        /* two groups per iteration; an odd count enters at the second */
        const uint32_t *end = q + 4 * n;
        const int32_t S4 = S - 4;
        /* LDM needs its registers in ascending order */
        register uint32_t q0 __asm__("r4"), q1 __asm__("r5"), q2 __asm__("r6"), q3 __asm__("r7");
        uint32_t A = (uint32_t)(uintptr_t)end, B = (uint32_t)n;
        __asm__("push {%[A]}\n\t"
                "lsls %[B], %[B], #31\n\t"
                "bne 2f\n"
                "1:\n\t" UML_GEMM_2X2_GROUP "2:\n\t" UML_GEMM_2X2_GROUP
                "ldr %[A], [sp]\n\t"
                "cmp %[q], %[A]\n\t"
                "bne 1b\n\t"
                "add sp, #4\n\t"
                : [a00] "+r"(acc[0]), [a01] "+r"(acc[1]), [a10] "+r"(acc[2]), [a11] "+r"(acc[3]), [q] "+r"(q),
                  [w] "+r"(w), [q0] "=&r"(q0), [q1] "=&r"(q1), [q2] "=&r"(q2), [q3] "=&r"(q3), [A] "+&r"(A),
                  [B] "+&r"(B)
                : [S4] "r"(S4)
                : "cc", "memory");
    }
#undef UML_GEMM_2X2_GROUP
}

/* Pixel pair by one filter row: acc = {p0.w, p1.w} added on. */
UML_INLINE_LOOP void uml_gemm_2x1(const uint32_t *q, const int8_t *w, int32_t n, int32_t acc[2]) {
    if (n > 0) {
        const uint32_t *end = q + 4 * n;
        uint32_t q0, q1, q2, q3, A, B;
        __asm__("1:\n\t"
                "ldrd %[q2], %[q3], [%[q], #8]\n\t"
                "ldrd %[q0], %[q1], [%[q]], #16\n\t"
                "ldr %[B], [%[w]], #4\n\t"
                "sxtb16 %[A], %[B]\n\t"
                "sxtb16 %[B], %[B], ror #8\n\t"
                "smlad %[a0], %[q0], %[A], %[a0]\n\t"
                "smlad %[a1], %[q2], %[A], %[a1]\n\t"
                "smlad %[a0], %[q1], %[B], %[a0]\n\t"
                "smlad %[a1], %[q3], %[B], %[a1]\n\t"
                "cmp %[q], %[end]\n\t"
                "bne 1b\n\t"
                : [a0] "+r"(acc[0]), [a1] "+r"(acc[1]), [q] "+r"(q), [w] "+r"(w), [q0] "=&r"(q0), [q1] "=&r"(q1),
                  [q2] "=&r"(q2), [q3] "=&r"(q3), [A] "=&r"(A), [B] "=&r"(B)
                : [end] "r"(end)
                : "cc", "memory");
    }
}

/* One pixel by filter rows w + j S, j < 4: acc[j] += p.w_j. Two groups per iteration; an odd
 * count enters at the second. */
UML_INLINE_LOOP void uml_gemm_1x4(const uint32_t *q, const int8_t *w, int32_t S, int32_t n, int32_t acc[4]) {
#define UML_GEMM_1X4_GROUP                      \
    "ldrd %[q0], %[q1], [%[q]], #8\n\t"         \
    "ldr %[B], [%[w]], #4\n\t"                  \
    "sxtb16 %[A], %[B]\n\t"                     \
    "sxtb16 %[B], %[B], ror #8\n\t"             \
    "smlad %[a0], %[q0], %[A], %[a0]\n\t"       \
    "smlad %[a0], %[q1], %[B], %[a0]\n\t"       \
    "ldr %[B], [%[w], %[S4]]\n\t"               \
    "sxtb16 %[A], %[B]\n\t"                     \
    "sxtb16 %[B], %[B], ror #8\n\t"             \
    "smlad %[a1], %[q0], %[A], %[a1]\n\t"       \
    "smlad %[a1], %[q1], %[B], %[a1]\n\t"       \
    "ldr %[B], [%[w2]], #4\n\t"                 \
    "sxtb16 %[A], %[B]\n\t"                     \
    "sxtb16 %[B], %[B], ror #8\n\t"             \
    "smlad %[a2], %[q0], %[A], %[a2]\n\t"       \
    "smlad %[a2], %[q1], %[B], %[a2]\n\t"       \
    "ldr %[B], [%[w2], %[S4]]\n\t"              \
    "sxtb16 %[A], %[B]\n\t"                     \
    "sxtb16 %[B], %[B], ror #8\n\t"             \
    "smlad %[a3], %[q0], %[A], %[a3]\n\t"       \
    "smlad %[a3], %[q1], %[B], %[a3]\n\t"
    if (n > 0) {
        const uint32_t *end = q + 2 * n;
        const int8_t *w2 = w + 2 * S;
        const int32_t S4 = S - 4;
        uint32_t q0, q1, A = (uint32_t)n, B;
        __asm__("lsls %[A], %[A], #31\n\t"
                "bne 2f\n"
                "1:\n\t" UML_GEMM_1X4_GROUP "2:\n\t" UML_GEMM_1X4_GROUP
                "cmp %[q], %[end]\n\t"
                "bne 1b\n\t"
                : [a0] "+r"(acc[0]), [a1] "+r"(acc[1]), [a2] "+r"(acc[2]), [a3] "+r"(acc[3]), [q] "+r"(q),
                  [w] "+r"(w), [w2] "+r"(w2), [q0] "=&r"(q0), [q1] "=&r"(q1), [A] "+&r"(A), [B] "=&r"(B)
                : [S4] "r"(S4), [end] "r"(end)
                : "cc", "memory");
    }
#undef UML_GEMM_1X4_GROUP
}

/* One pixel by filter rows w, w + S: acc[j] += p.w_j. Two groups per iteration; an odd count
 * enters at the second. */
UML_INLINE_LOOP void uml_gemm_1x2(const uint32_t *q, const int8_t *w, int32_t S, int32_t n, int32_t acc[2]) {
#define UML_GEMM_1X2_GROUP                      \
    "ldrd %[q0], %[q1], [%[q]], #8\n\t"         \
    "ldr %[B], [%[w], %[S]]\n\t"               \
    "ldr %[D], [%[w]], #4\n\t"                  \
    "sxtb16 %[A], %[B]\n\t"                     \
    "sxtb16 %[B], %[B], ror #8\n\t"             \
    "sxtb16 %[C], %[D]\n\t"                     \
    "sxtb16 %[D], %[D], ror #8\n\t"             \
    "smlad %[a1], %[q0], %[A], %[a1]\n\t"       \
    "smlad %[a1], %[q1], %[B], %[a1]\n\t"       \
    "smlad %[a0], %[q0], %[C], %[a0]\n\t"       \
    "smlad %[a0], %[q1], %[D], %[a0]\n\t"
    if (n > 0) {
        const uint32_t *end = q + 2 * n;
        uint32_t q0, q1, A = (uint32_t)n, B, C, D;
        __asm__("lsls %[A], %[A], #31\n\t"
                "bne 2f\n"
                "1:\n\t" UML_GEMM_1X2_GROUP "2:\n\t" UML_GEMM_1X2_GROUP
                "cmp %[q], %[end]\n\t"
                "bne 1b\n\t"
                : [a0] "+r"(acc[0]), [a1] "+r"(acc[1]), [q] "+r"(q), [w] "+r"(w), [q0] "=&r"(q0), [q1] "=&r"(q1),
                  [A] "+&r"(A), [B] "=&r"(B), [C] "=&r"(C), [D] "=&r"(D)
                : [S] "r"(S), [end] "r"(end)
                : "cc", "memory");
    }
#undef UML_GEMM_1X2_GROUP
}

/* One pixel by one filter row: a + p.w. */
UML_INLINE_LOOP int32_t uml_gemm_1x1(const uint32_t *q, const int8_t *w, int32_t n, int32_t a) {
    if (n > 0) {
        const uint32_t *end = q + 2 * n;
        uint32_t q0, q1, A, B;
        __asm__("1:\n\t"
                "ldrd %[q0], %[q1], [%[q]], #8\n\t"
                "ldr %[B], [%[w]], #4\n\t"
                "sxtb16 %[A], %[B]\n\t"
                "sxtb16 %[B], %[B], ror #8\n\t"
                "smlad %[a], %[q0], %[A], %[a]\n\t"
                "smlad %[a], %[q1], %[B], %[a]\n\t"
                "cmp %[q], %[end]\n\t"
                "bne 1b\n\t"
                : [a] "+r"(a), [q] "+r"(q), [w] "+r"(w), [q0] "=&r"(q0), [q1] "=&r"(q1), [A] "=&r"(A), [B] "=&r"(B)
                : [end] "r"(end)
                : "cc", "memory");
    }
    return a;
}

#endif /* UML_FAST_DSP */

#endif
