/* Shared helpers for kernel validation and evaluation. */
#ifndef UML_KERNEL_COMMON_H
#define UML_KERNEL_COMMON_H

#include "../engine/ops.h"
#include "../engine/fixedpoint.h"

/* A shared loop that takes a per-element (or per-window) function: inlined into the kernel
 * before the optimizer runs, so the function is inlined too and the loop compiles as if it
 * were written out in the kernel (GCC otherwise inlines it late and can allocate registers
 * worse in the innermost loop). */
#define UML_INLINE_LOOP static inline __attribute__((always_inline))

/* In a validate function: return msg unless cond holds. */
#define UML_REQUIRE(cond, msg) do { if (!(cond)) { return (msg); } } while (0)

/* Largest dot-product length for which an int32 accumulator of int8 values with offsets
 * in [-128, 128] (|product| <= 2^16) can never overflow. Biases are added with wrap-around
 * (uml_add_wrap), as two's-complement hardware does. */
#define UML_MAX_ACC_DEPTH 32767

static inline int uml_is(const uml_tensor_t *t, uint8_t dtype) {
    return t != NULL && t->dtype == dtype;
}

static inline int uml_is_arena(const uml_tensor_t *t) {
    return t != NULL && t->storage == UML_STORAGE_ARENA;
}

static inline int uml_is_const(const uml_tensor_t *t, uint8_t dtype) {
    return t != NULL && t->dtype == dtype && t->storage == UML_STORAGE_CONST;
}

/* Offsets of int8 tensors (zero_point or -zero_point) lie in [-128, 128]. */
static inline int uml_offset_ok(int32_t off) {
    return off >= -128 && off <= 128;
}

static inline int32_t uml_add_wrap(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static inline int uml_act_range_ok(int32_t lo, int32_t hi, int32_t dmin, int32_t dmax) {
    return dmin <= lo && lo <= hi && hi <= dmax;
}

/* Input and output int8 with the same number of elements (element-wise ops). */
static inline int uml_int8_same_size(const uml_tensor_t *in, const uml_tensor_t *out) {
    return uml_is(in, UML_DTYPE_INT8) && uml_is(out, UML_DTYPE_INT8) && uml_tensor_elems(in) == uml_tensor_elems(out);
}

/* An optional bias: absent, or a const int32 tensor of one value per output channel. */
static inline int uml_bias_ok(const uml_tensor_t *bias, int32_t channels) {
    return bias == NULL || (uml_is_const(bias, UML_DTYPE_INT32) && uml_tensor_elems(bias) == channels);
}

/* Check per-channel requantization arrays (int32 const tensors mult and shift of length
 * 1 or channels, shift in range). Returns NULL if ok. */
static inline const char *uml_check_requant(const uml_node_t *n, int mult_idx, int shift_idx, int32_t channels) {
    const uml_tensor_t *mt = n->in_t[mult_idx];
    const uml_tensor_t *st = n->in_t[shift_idx];
    UML_REQUIRE(uml_is_const(mt, UML_DTYPE_INT32) && uml_is_const(st, UML_DTYPE_INT32),
                "corrupt model: missing requantization parameters");
    int32_t cnt = uml_tensor_elems(mt);
    UML_REQUIRE(cnt == uml_tensor_elems(st) && (cnt == 1 || cnt == channels),
                "corrupt model: requantization parameter count");
    const int32_t *shift = (const int32_t *)n->in[shift_idx];
    const int32_t *mult = (const int32_t *)n->in[mult_idx];
    for (int32_t i = 0; i < cnt; i++) {
        UML_REQUIRE(uml_shift_ok(shift[i]) && mult[i] >= 0, "corrupt model: requantization shift out of range");
    }
    return NULL;
}

/* The output stage of FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D (TFLite's per-channel
 * requantization): inputs 2 bias (optional), 3 multiplier and 4 shift (1 or one per output
 * channel, as uml_check_requant validates them), output offset and activation range. */
typedef struct {
    const int32_t *bias; /* NULL: no bias */
    const int32_t *mult, *shift;
    int per_channel;
    int32_t out_off, act_min, act_max;
} uml_out_stage_t;

static inline uml_out_stage_t uml_out_stage(const uml_node_t *n, int32_t out_off, int32_t act_min, int32_t act_max) {
    uml_out_stage_t s;
    s.bias = (const int32_t *)n->in[2];
    s.mult = (const int32_t *)n->in[3];
    s.shift = (const int32_t *)n->in[4];
    s.per_channel = uml_tensor_elems(n->in_t[3]) > 1;
    s.out_off = out_off;
    s.act_min = act_min;
    s.act_max = act_max;
    return s;
}

/* Output channel oc's int8 value for accumulator acc: bias and output offset added with
 * wrap-around, as two's-complement hardware does. */
static inline int8_t uml_out_stage_apply(const uml_out_stage_t *s, int32_t acc, int32_t oc) {
    if (s->bias) {
        acc = uml_add_wrap(acc, s->bias[oc]);
    }
    const int32_t q = s->per_channel ? oc : 0;
    acc = uml_add_wrap(uml_mbqm(acc, s->mult[q], s->shift[q]), s->out_off);
    return (int8_t)uml_clamp_i32(acc, s->act_min, s->act_max);
}

#endif
