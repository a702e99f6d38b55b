/*
 * Shared by ADD (add.c) and SUB (sub.c): the same parameters, validation and per-element
 * arithmetic (TFLite Micro's int8 Add / Sub), differing only in the sign of the second
 * rescaled input. Parameter words: see add.c.
 */
#ifndef UML_KERNEL_ADD_SUB_H
#define UML_KERNEL_ADD_SUB_H

#include "broadcast.h"
#include "fast.h"

enum {
    UML_AS_IN1_OFFSET, UML_AS_IN2_OFFSET, UML_AS_OUT_OFFSET, UML_AS_LEFT_SHIFT, UML_AS_IN1_MULT,
    UML_AS_IN1_SHIFT, UML_AS_IN2_MULT, UML_AS_IN2_SHIFT, UML_AS_OUT_MULT, UML_AS_OUT_SHIFT,
    UML_AS_ACT_MIN, UML_AS_ACT_MAX, UML_AS_COUNT
};

static inline int uml_as_mult_ok(int32_t mult, int32_t shift) {
    return mult >= 0 && shift >= -31 && shift <= 0;
}

static inline const char *uml_validate_add_sub(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs == 2 && n->n_params == UML_AS_COUNT, "corrupt model: ADD/SUB arguments");
    const uml_tensor_t *a = n->in_t[0], *b = n->in_t[1], *out = n->out_t;
    UML_REQUIRE(uml_is(a, UML_DTYPE_INT8) && uml_is(b, UML_DTYPE_INT8) && uml_is(out, UML_DTYPE_INT8),
                "corrupt model: ADD/SUB tensor types");
    UML_REQUIRE(uml_bcast_ok(a, b, out), "corrupt model: ADD/SUB shapes do not broadcast");
    const int32_t *p = n->params;
    UML_REQUIRE(uml_offset_ok(p[UML_AS_IN1_OFFSET]) && uml_offset_ok(p[UML_AS_IN2_OFFSET]) &&
                uml_offset_ok(p[UML_AS_OUT_OFFSET]) && p[UML_AS_LEFT_SHIFT] >= 0 && p[UML_AS_LEFT_SHIFT] <= 20 &&
                uml_as_mult_ok(p[UML_AS_IN1_MULT], p[UML_AS_IN1_SHIFT]) &&
                uml_as_mult_ok(p[UML_AS_IN2_MULT], p[UML_AS_IN2_SHIFT]) &&
                uml_as_mult_ok(p[UML_AS_OUT_MULT], p[UML_AS_OUT_SHIFT]) &&
                uml_act_range_ok(p[UML_AS_ACT_MIN], p[UML_AS_ACT_MAX], -128, 127),
                "corrupt model: ADD/SUB parameters");
    return NULL;
}

/* The two inputs rescaled to the common scale: s[0], s[1]. */
static inline void uml_add_sub_rescale(int32_t x1, int32_t x2, const int32_t *p, int32_t s[2]) {
    const int32_t ls = p[UML_AS_LEFT_SHIFT];
    const int32_t v1 = (x1 + p[UML_AS_IN1_OFFSET]) * ((int32_t)1 << ls);
    const int32_t v2 = (x2 + p[UML_AS_IN2_OFFSET]) * ((int32_t)1 << ls);
    s[0] = uml_mbqm_smaller_than_one(v1, p[UML_AS_IN1_MULT], p[UML_AS_IN1_SHIFT]);
    s[1] = uml_mbqm_smaller_than_one(v2, p[UML_AS_IN2_MULT], p[UML_AS_IN2_SHIFT]);
}

static inline int8_t uml_add_sub_output(int32_t raw, const int32_t *p) {
    const int32_t y = uml_mbqm_smaller_than_one(raw, p[UML_AS_OUT_MULT], p[UML_AS_OUT_SHIFT]) + p[UML_AS_OUT_OFFSET];
    return (int8_t)uml_clamp_i32(y, p[UML_AS_ACT_MIN], p[UML_AS_ACT_MAX]);
}

#ifdef UML_FAST
/* Fast path for inputs of the output's shape (no broadcasting) and left_shift 20 (TFLite's for
 * int8), in 32-bit arithmetic only (no 64-bit multiply: the reference's costs a library call
 * per input on Cortex-M0).
 *
 * Input rescale, exact: with v = x + offset (|v| <= 255) and mult = mh 2^16 + ml (mult >= 0,
 * so mh < 2^15), uml_srdhm(v 2^20, mult) = floor((v mult 2^20 + 2^30) / 2^31) (the floor form
 * of the rounding, fast.h) = floor((v mult + 2^10) / 2^11) = 32 v mh + floor((v ml + 2^10) / 2^11)
 * (v mh 2^16 is a multiple of 2^11); |32 v mh| < 2^28, |v ml + 2^10| < 2^24. Then
 * uml_rdbpot(s, e) = floor((s + 2^(e-1) - [s < 0]) / 2^e) for e >= 1, s itself for e = 0.
 * The sum of two rescaled inputs stays below 2^29, inside what uml_rq_scale's forms need. */
typedef struct {
    int32_t off, mh, ml, a, fix, e;
} uml_as_in_t;

static inline uml_as_in_t uml_as_in(int32_t off, int32_t mult, int32_t shift) {
    uml_as_in_t r;
    r.off = off;
    r.mh = mult >> 16;
    r.ml = mult & 0xFFFF;
    r.e = -shift;
    r.a = r.e > 0 ? (int32_t)(UINT32_C(1) << (r.e - 1)) : 0;
    r.fix = r.e > 0;
    return r;
}

static inline int32_t uml_as_in_scale(const uml_as_in_t *r, int32_t x) {
    const int32_t v = x + r->off;
    const int32_t s = v * r->mh * 32 + ((v * r->ml + 1024) >> 11);
    return (s + r->a - (r->fix & (int32_t)((uint32_t)s >> 31))) >> r->e;
}

/* 1 when the fast path handled the op (add.c; SUB shares it: sub = 1). */
int uml_add_sub_fast(const uml_node_t *n, int sub);
#endif

#endif
