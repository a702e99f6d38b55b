/* Numpy-style broadcasting of two int8 operands to an output of up to 4 dimensions, as
 * TFLite's Broadcast*4DSlow loops index it. Shared by ADD, SUB and MUL. */
#ifndef UML_KERNEL_BROADCAST_H
#define UML_KERNEL_BROADCAST_H

#include "common.h"

/* Shape of t right-aligned in 4 dimensions (TFLite RuntimeShape::ExtendedShape). */
static inline void uml_ext_shape(const uml_tensor_t *t, int32_t d[UML_MAX_RANK]) {
    int lead = UML_MAX_RANK - t->rank;
    for (int i = 0; i < UML_MAX_RANK; i++) {
        d[i] = i < lead ? 1 : t->dims[i - lead];
    }
}

/* Element strides of an input of extended shape d read at the output's indices (0 where the
 * input is broadcast). */
static inline void uml_bcast_strides(const int32_t d[UML_MAX_RANK], int32_t s[UML_MAX_RANK]) {
    int32_t acc = 1;
    for (int i = UML_MAX_RANK - 1; i >= 0; i--) {
        s[i] = d[i] == 1 ? 0 : acc;
        acc *= d[i];
    }
}

/* Every dimension of a and b equals the output's or is 1. */
static inline int uml_bcast_ok(const uml_tensor_t *a, const uml_tensor_t *b, const uml_tensor_t *out) {
    int32_t da[UML_MAX_RANK], db[UML_MAX_RANK], dout[UML_MAX_RANK];
    uml_ext_shape(a, da);
    uml_ext_shape(b, db);
    uml_ext_shape(out, dout);
    for (int i = 0; i < UML_MAX_RANK; i++) {
        if ((da[i] != dout[i] && da[i] != 1) || (db[i] != dout[i] && db[i] != 1)) {
            return 0;
        }
    }
    return 1;
}

typedef int8_t (*uml_binary_fn)(int32_t x1, int32_t x2, const int32_t *params);

/* out[i] = fn(a[i'], b[i''], params) over the output, inputs read with broadcasting.
 * Inlined with a constant fn, so the per-element function is inlined too. */
static inline void uml_broadcast_binary(const uml_node_t *n, uml_binary_fn fn) {
    const int8_t *a = (const int8_t *)n->in[0];
    const int8_t *b = (const int8_t *)n->in[1];
    int8_t *out = (int8_t *)n->out;
    int32_t da[UML_MAX_RANK], db[UML_MAX_RANK], d[UML_MAX_RANK], sa[UML_MAX_RANK], sb[UML_MAX_RANK];
    uml_ext_shape(n->in_t[0], da);
    uml_ext_shape(n->in_t[1], db);
    uml_ext_shape(n->out_t, d);
    uml_bcast_strides(da, sa);
    uml_bcast_strides(db, sb);
    for (int32_t i0 = 0; i0 < d[0]; i0++) {
        for (int32_t i1 = 0; i1 < d[1]; i1++) {
            for (int32_t i2 = 0; i2 < d[2]; i2++) {
                const int8_t *ra = a + i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
                const int8_t *rb = b + i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
                for (int32_t i3 = 0; i3 < d[3]; i3++) {
                    *out++ = fn(ra[i3 * sa[3]], rb[i3 * sb[3]], n->params);
                }
            }
        }
    }
}

#endif
