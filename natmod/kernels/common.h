/* Shared helpers for kernel validation and evaluation. */
#ifndef UML_KERNEL_COMMON_H
#define UML_KERNEL_COMMON_H

#include "../engine/ops.h"
#include "../engine/fixedpoint.h"

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

#endif
