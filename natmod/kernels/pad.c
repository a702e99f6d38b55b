/*
 * PAD / PADV2, int8 (TFLite Micro reference_ops::Pad).
 *
 * inputs: 0 input int8, rank <= 4
 * params: pad_value (int8: the output zero point for PAD, the constant for PADV2),
 *         before[0..3], after[0..3] (elements added before/after each dimension;
 *         0 for dimensions at and beyond the rank)
 * output: int8, dims[k] = input dims[k] + before[k] + after[k], same rank as the input.
 *
 * The input bytes are copied unchanged (TFLite does not requantize).
 */
#include <string.h>
#include "common.h"

enum { P_PAD_VALUE, P_BEFORE, P_AFTER = P_BEFORE + UML_MAX_RANK, P_COUNT = P_AFTER + UML_MAX_RANK };

const char *uml_validate_pad(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs == 1 && n->n_params == P_COUNT, "corrupt model: PAD arguments");
    const uml_tensor_t *in = n->in_t[0], *out = n->out_t;
    UML_REQUIRE(uml_is(in, UML_DTYPE_INT8) && uml_is(out, UML_DTYPE_INT8) && in->rank == out->rank,
                "corrupt model: PAD tensor types");
    const int32_t *p = n->params;
    UML_REQUIRE(p[P_PAD_VALUE] >= -128 && p[P_PAD_VALUE] <= 127, "corrupt model: PAD value");
    for (int k = 0; k < UML_MAX_RANK; k++) {
        const int32_t before = p[P_BEFORE + k], after = p[P_AFTER + k];
        UML_REQUIRE(before >= 0 && after >= 0 && (int64_t)in->dims[k] + before + after == out->dims[k],
                    "corrupt model: PAD paddings");
    }
    return NULL;
}

void uml_eval_pad(const uml_node_t *n) {
    const int8_t *input = (const int8_t *)n->in[0];
    int8_t *output = (int8_t *)n->out;
    const int32_t *in_d = n->in_t[0]->dims, *out_d = n->out_t->dims;
    const int32_t *before = n->params + P_BEFORE, *after = n->params + P_AFTER;
    const int value = (int8_t)n->params[P_PAD_VALUE];
    const int32_t row = out_d[3]; /* output bytes per innermost row */

    for (int32_t o0 = 0; o0 < out_d[0]; o0++) {
        const int32_t i0 = o0 - before[0];
        for (int32_t o1 = 0; o1 < out_d[1]; o1++) {
            const int32_t i1 = o1 - before[1];
            for (int32_t o2 = 0; o2 < out_d[2]; o2++) {
                const int32_t i2 = o2 - before[2];
                if (i0 < 0 || i0 >= in_d[0] || i1 < 0 || i1 >= in_d[1] || i2 < 0 || i2 >= in_d[2]) {
                    memset(output, value, (size_t)row);
                } else {
                    const int8_t *src = input + ((i0 * in_d[1] + i1) * in_d[2] + i2) * in_d[3];
                    memset(output, value, (size_t)before[3]);
                    /* memmove: a corrupt model may make input and output overlap. */
                    memmove(output + before[3], src, (size_t)in_d[3]);
                    memset(output + before[3] + in_d[3], value, (size_t)after[3]);
                }
                output += row;
            }
        }
    }
}
