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
/* Many elements on armv6m: the rescaled first input of every int8 value looked up (1 KB of
 * stack: an RP2040 thread on core 1 has 4 KB of C stack in all), the second computed, the output
 * requantized in the down form (uml_rq_down_m0). */
static __attribute__((noinline)) void add_m0_table(const int8_t *a, const int8_t *b, int8_t *out, int32_t n,
                                                   const uml_as_in_t *i1, const uml_as_in_t *i2, int sub,
                                                   const uml_rq_t *r, int32_t off, int32_t lo, int32_t hi) {
    int32_t t1[256];
    for (int32_t x = 0; x < 256; x++) {
        t1[x] = uml_as_in_scale(i1, x - 128);
    }
    const int32_t *T1 = t1 + 128;
    for (int32_t i = 0; i < n; i++) {
        const int32_t s2 = uml_as_in_scale(i2, b[i]);
        out[i] = uml_rq_out(uml_rq_down_m0(r, T1[a[i]] + (sub ? -s2 : s2)), off, lo, hi);
    }
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
    if (down && count >= 256) {
        add_m0_table(a, b, out, count, &i1, &i2, sub, &r, off, lo, hi);
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
