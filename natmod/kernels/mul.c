/*
 * MUL, int8 with broadcasting (TFLite Micro reference_integer_ops::Mul / MulElementwise and
 * BroadcastMul6DSlow; both compute the same per-element function, only the indexing differs).
 *
 *   y = clamp(mbqm((x1 + in1_offset) * (x2 + in2_offset), out_mult, out_shift) + out_offset,
 *             act_min, act_max)
 *
 * inputs: 0 input1 int8 (arena or const), 1 input2 int8 (arena or const)
 *         shapes broadcast against the output shape, numpy style (right-aligned, each
 *         dimension equal to the output's or 1)
 * params: in1_offset, in2_offset, out_offset, out_mult, out_shift, act_min, act_max
 * output: int8
 *
 * Overflow: the product of two values of magnitude <= 256 fits easily; uml_mbqm shifts left
 * with wrap-around (as the reference does on two's-complement hardware) and the output
 * offset is added with wrap-around too, so no shift in [-31, 30] is undefined.
 */
#include "common.h"

enum { P_IN1_OFFSET, P_IN2_OFFSET, P_OUT_OFFSET, P_OUT_MULT, P_OUT_SHIFT, P_ACT_MIN, P_ACT_MAX, P_COUNT };

/* Shape of t right-aligned in 4 dimensions (TFLite RuntimeShape::ExtendedShape). */
static void ext_shape(const uml_tensor_t *t, int32_t d[UML_MAX_RANK]) {
    int lead = UML_MAX_RANK - t->rank;
    for (int i = 0; i < UML_MAX_RANK; i++) {
        d[i] = i < lead ? 1 : t->dims[i - lead];
    }
}

/* Element strides of an input of extended shape d read at the output's indices (0 where the
 * input is broadcast). */
static void bcast_strides(const int32_t d[UML_MAX_RANK], int32_t s[UML_MAX_RANK]) {
    int32_t acc = 1;
    for (int i = UML_MAX_RANK - 1; i >= 0; i--) {
        s[i] = d[i] == 1 ? 0 : acc;
        acc *= d[i];
    }
}

static int bcast_ok(const uml_tensor_t *a, const uml_tensor_t *b, const uml_tensor_t *out) {
    int32_t da[UML_MAX_RANK], db[UML_MAX_RANK], dout[UML_MAX_RANK];
    ext_shape(a, da);
    ext_shape(b, db);
    ext_shape(out, dout);
    for (int i = 0; i < UML_MAX_RANK; i++) {
        if ((da[i] != dout[i] && da[i] != 1) || (db[i] != dout[i] && db[i] != 1)) {
            return 0;
        }
    }
    return 1;
}

const char *uml_validate_mul(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs == 2 && n->n_params == P_COUNT, "corrupt model: MUL arguments");
    const uml_tensor_t *a = n->in_t[0], *b = n->in_t[1], *out = n->out_t;
    UML_REQUIRE(uml_is(a, UML_DTYPE_INT8) && uml_is(b, UML_DTYPE_INT8) && uml_is(out, UML_DTYPE_INT8),
                "corrupt model: MUL tensor types");
    UML_REQUIRE(bcast_ok(a, b, out), "corrupt model: MUL shapes do not broadcast");
    const int32_t *p = n->params;
    UML_REQUIRE(uml_offset_ok(p[P_IN1_OFFSET]) && uml_offset_ok(p[P_IN2_OFFSET]) &&
                uml_offset_ok(p[P_OUT_OFFSET]) && p[P_OUT_MULT] >= 0 && uml_shift_ok(p[P_OUT_SHIFT]) &&
                uml_act_range_ok(p[P_ACT_MIN], p[P_ACT_MAX], -128, 127),
                "corrupt model: MUL parameters");
    return NULL;
}

static inline int8_t mul_one(int32_t x1, int32_t x2, const int32_t *p) {
    const int32_t prod = (x1 + p[P_IN1_OFFSET]) * (x2 + p[P_IN2_OFFSET]);
    const int32_t y = uml_add_wrap(uml_mbqm(prod, p[P_OUT_MULT], p[P_OUT_SHIFT]), p[P_OUT_OFFSET]);
    return (int8_t)uml_clamp_i32(y, p[P_ACT_MIN], p[P_ACT_MAX]);
}

void uml_eval_mul(const uml_node_t *n) {
    const int8_t *a = (const int8_t *)n->in[0];
    const int8_t *b = (const int8_t *)n->in[1];
    int8_t *out = (int8_t *)n->out;
    const int32_t *p = n->params;
    int32_t da[UML_MAX_RANK], db[UML_MAX_RANK], d[UML_MAX_RANK], sa[UML_MAX_RANK], sb[UML_MAX_RANK];
    ext_shape(n->in_t[0], da);
    ext_shape(n->in_t[1], db);
    ext_shape(n->out_t, d);
    bcast_strides(da, sa);
    bcast_strides(db, sb);
    for (int32_t i0 = 0; i0 < d[0]; i0++) {
        for (int32_t i1 = 0; i1 < d[1]; i1++) {
            for (int32_t i2 = 0; i2 < d[2]; i2++) {
                const int8_t *ra = a + i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
                const int8_t *rb = b + i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
                for (int32_t i3 = 0; i3 < d[3]; i3++) {
                    *out++ = mul_one(ra[i3 * sa[3]], rb[i3 * sb[3]], p);
                }
            }
        }
    }
}
