/*
 * ADD, int8 with broadcasting (TFLite Micro reference_integer_ops::Add and
 * BroadcastAdd4DSlow; both compute the same per-element function, only the indexing differs).
 *
 * Each input is rescaled to a common scale (2 * max input scale, after a left shift of
 * left_shift bits), the two are added, and the sum is rescaled to the output scale:
 *   a = mbqm_smaller_than_one((x1 + in1_offset) << left_shift, in1_mult, in1_shift)
 *   b = mbqm_smaller_than_one((x2 + in2_offset) << left_shift, in2_mult, in2_shift)
 *   y = clamp(mbqm_smaller_than_one(a + b, out_mult, out_shift) + out_offset, act_min, act_max)
 *
 * inputs: 0 input1 int8 (arena or const), 1 input2 int8 (arena or const)
 *         shapes broadcast against the output shape, numpy style (right-aligned, each
 *         dimension equal to the output's or 1)
 * params: in1_offset, in2_offset, out_offset, left_shift, in1_mult, in1_shift, in2_mult,
 *         in2_shift, out_mult, out_shift, act_min, act_max
 * output: int8
 *
 * Overflow: |x + offset| <= 256 and left_shift <= 20 keep the shifted inputs within 2^28;
 * a multiplier below 2^31 never increases a magnitude (beyond rounding), so the sum and
 * everything after it stays far from the int32 limits.
 */
#include "add_sub.h"

const char *uml_validate_add(const uml_node_t *n) {
    return uml_validate_add_sub(n);
}

static int8_t add_one(int32_t x1, int32_t x2, const int32_t *p) {
    int32_t s[2];
    uml_add_sub_rescale(x1, x2, p, s);
    return uml_add_sub_output(s[0] + s[1], p);
}

#ifdef UML_FAST
#ifdef __ARM_ARCH_6M__
/* Many elements on armv6m: with s1, s2 the rescaled inputs (SUB: s2 negated) and m, e the output
 * multiplier and right shift, uml_srdhm(s1 + s2, m) = floor((P1 + P2) / 2^31) (fast.h) for
 * P1 = s1 m + 2^30, P2 = s2 m, = H1 + H2 + floor((L1 + L2) / 2^31) with Pk = Hk 2^31 + Lk,
 * 0 <= Lk < 2^31: tables of H and L over every int8 value of each input (4 KB of stack) make
 * it a few additions per element. Then (S + A - [S < 0]) >> e with A = 2^(e-1) + out_offset 2^e
 * is the rounding shift (e >= 1) plus the output offset; |S| < 2^29 and |A| <= 2^30 (checked by
 * the caller) keep it inside int32. */
typedef struct {
    int32_t h;
    uint32_t l;
} add_hl_t;

static __attribute__((noinline)) void add_m0_tables(const int8_t *a, const int8_t *b, int8_t *out, int32_t n,
                                                    const uml_as_in_t *i1, const uml_as_in_t *i2, int sub,
                                                    int32_t m, int32_t A, int32_t e, int32_t lo, int32_t hi) {
    add_hl_t t1[256], t2[256];
    for (int32_t x = 0; x < 256; x++) {
        const int32_t s2 = uml_as_in_scale(i2, x - 128);
        const int64_t p1 = (int64_t)uml_as_in_scale(i1, x - 128) * m + (INT64_C(1) << 30);
        const int64_t p2 = (int64_t)(sub ? -s2 : s2) * m;
        t1[x].h = (int32_t)(p1 >> 31);
        t1[x].l = (uint32_t)p1 & 0x7FFFFFFFu;
        t2[x].h = (int32_t)(p2 >> 31);
        t2[x].l = (uint32_t)p2 & 0x7FFFFFFFu;
    }
    register const int8_t *pa __asm__("r0") = a + n;
    register const int8_t *pb __asm__("r1") = b + n;
    register int8_t *po __asm__("r2") = out + n;
    register int32_t i __asm__("r3") = -n;
    register int32_t x0 __asm__("r4") = A, x1 __asm__("r5") = e, x2 __asm__("r6"), x3 __asm__("r7");
    register const add_hl_t *T1 __asm__("r8") = t1 + 128;
    register const add_hl_t *T2 __asm__("r9") = t2 + 128;
    register int32_t LO __asm__("r10") = lo, HI __asm__("r11") = hi;
    __asm__ volatile(".syntax unified\n\t"
                     "push {r4, r5}\n"
                     "1:\n\t"
                     "ldrsb r4, [%[pa], %[i]]\n\t"
                     "lsls r4, r4, #3\n\t"
                     "add r4, %[T1]\n\t"
                     "ldm r4, {r4, r5}\n\t"
                     "ldrsb r6, [%[pb], %[i]]\n\t"
                     "lsls r6, r6, #3\n\t"
                     "add r6, %[T2]\n\t"
                     "ldm r6, {r6, r7}\n\t"
                     "adds r5, r7\n\t"
                     "lsrs r5, r5, #31\n\t"
                     "adds r4, r6\n\t"
                     "adds r4, r5\n\t"
                     "lsrs r5, r4, #31\n\t"
                     "subs r4, r5\n\t"
                     "ldr r5, [sp, #0]\n\t"
                     "adds r4, r5\n\t"
                     "ldr r5, [sp, #4]\n\t"
                     "asrs r4, r5\n\t"
                     "cmp r4, %[LO]\n\t"
                     "bge 2f\n\t"
                     "mov r4, %[LO]\n"
                     "2:\n\t"
                     "cmp r4, %[HI]\n\t"
                     "ble 3f\n\t"
                     "mov r4, %[HI]\n"
                     "3:\n\t"
                     "strb r4, [%[po], %[i]]\n\t"
                     "adds %[i], #1\n\t"
                     "bne 1b\n\t"
                     "add sp, #8\n\t"
                     : [i] "+l"(i), "+&l"(x0), "+&l"(x1), "=&l"(x2), "=&l"(x3)
                     : [pa] "l"(pa), [pb] "l"(pb), [po] "l"(po), [T1] "h"(T1), [T2] "h"(T2), [LO] "h"(LO),
                       [HI] "h"(HI)
                     : "cc", "memory");
}
#endif

/* Out of line and with run-time flags: one copy of the loop serves ADD and SUB (the native
 * module's code takes heap on the board, so code size counts). */
int uml_add_sub_fast(const uml_node_t *n, int sub) {
    const int32_t *p = n->params;
    int32_t da[UML_MAX_RANK], db[UML_MAX_RANK], d[UML_MAX_RANK];
    uml_ext_shape(n->in_t[0], da);
    uml_ext_shape(n->in_t[1], db);
    uml_ext_shape(n->out_t, d);
    int32_t count = 1;
    for (int i = 0; i < UML_MAX_RANK; i++) {
        if (da[i] != d[i] || db[i] != d[i]) {
            return 0;
        }
        count *= d[i];
    }
    if (p[UML_AS_LEFT_SHIFT] != 20) {
        return 0;
    }
    const uml_as_in_t i1 = uml_as_in(p[UML_AS_IN1_OFFSET], p[UML_AS_IN1_MULT], p[UML_AS_IN1_SHIFT]);
    const uml_as_in_t i2 = uml_as_in(p[UML_AS_IN2_OFFSET], p[UML_AS_IN2_MULT], p[UML_AS_IN2_SHIFT]);
    const int32_t e = -p[UML_AS_OUT_SHIFT];
    const int down = p[UML_AS_OUT_MULT] == 0 || (e >= UML_RQ_EMIN && e <= UML_RQ_EMAX);
    const uml_rq_t r = uml_rq_entry(0, p[UML_AS_OUT_MULT], p[UML_AS_OUT_SHIFT], down);
    const int8_t *a = (const int8_t *)n->in[0], *b = (const int8_t *)n->in[1];
    int8_t *out = (int8_t *)n->out;
    const int32_t off = p[UML_AS_OUT_OFFSET], lo = p[UML_AS_ACT_MIN], hi = p[UML_AS_ACT_MAX];
#ifdef __ARM_ARCH_6M__
    const int32_t oe = -p[UML_AS_OUT_SHIFT];
    const int64_t A = oe >= 1 ? (INT64_C(1) << (oe - 1)) + ((int64_t)off << oe) : 0;
    if (count >= 256 && oe >= 1 && A <= (INT64_C(1) << 30) && A >= -(INT64_C(1) << 30)) {
        add_m0_tables(a, b, out, count, &i1, &i2, sub, p[UML_AS_OUT_MULT], (int32_t)A, oe, lo, hi);
        return 1;
    }
#endif
    for (int32_t i = 0; i < count; i++) {
        const int32_t s1 = uml_as_in_scale(&i1, a[i]), s2 = uml_as_in_scale(&i2, b[i]);
        out[i] = uml_rq_out(down ? uml_rq_scale(&r, sub ? s1 - s2 : s1 + s2, 1)
                                 : uml_rq_scale(&r, sub ? s1 - s2 : s1 + s2, 0), off, lo, hi);
    }
    return 1;
}
#endif

void uml_eval_add(const uml_node_t *n) {
#ifdef UML_FAST
    if (uml_add_sub_fast(n, 0)) {
        return;
    }
#endif
    uml_broadcast_binary(n, add_one);
}
