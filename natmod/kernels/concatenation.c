/*
 * CONCATENATION (TFLite Micro reference_ops::Concatenation).
 *
 * inputs: 0..n-1 tensors of the output's dtype and rank (1..UML_MAX_INPUTS of them;
 *         activations or constants), equal to the output in every dimension but `axis`
 * params: axis (0 <= axis < rank)
 * output: dims[axis] = sum of the inputs' dims[axis]
 *
 * A byte copy: TFLite requires int8 inputs to share the output's scale and zero point,
 * so nothing is requantized.
 */
#include <string.h>
#include "common.h"

enum { P_AXIS, P_COUNT };

static int32_t elem_size(uint8_t dtype) {
    switch (dtype) {
        case UML_DTYPE_INT8:
        case UML_DTYPE_UINT8:
            return 1;
        case UML_DTYPE_INT16:
            return 2;
        default:
            return 4;
    }
}

const char *uml_validate_concatenation(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs >= 1 && n->n_params == P_COUNT, "corrupt model: CONCATENATION arguments");
    const uml_tensor_t *out = n->out_t;
    const int32_t axis = n->params[P_AXIS];
    UML_REQUIRE(axis >= 0 && axis < out->rank, "corrupt model: CONCATENATION axis");
    int64_t total = 0;
    for (int i = 0; i < n->n_inputs; i++) {
        const uml_tensor_t *t = n->in_t[i];
        UML_REQUIRE(t != NULL && t->dtype == out->dtype && t->rank == out->rank,
                    "corrupt model: CONCATENATION tensor types");
        for (int k = 0; k < out->rank; k++) {
            UML_REQUIRE(k == axis || t->dims[k] == out->dims[k], "corrupt model: CONCATENATION shapes");
        }
        total += t->dims[axis];
    }
    UML_REQUIRE(total == out->dims[axis], "corrupt model: CONCATENATION shapes");
    return NULL;
}

void uml_eval_concatenation(const uml_node_t *n) {
    const uml_tensor_t *out_t = n->out_t;
    const int32_t axis = n->params[P_AXIS];
    int32_t outer = 1, inner = elem_size(out_t->dtype);
    for (int k = 0; k < axis; k++) {
        outer *= out_t->dims[k];
    }
    for (int k = axis + 1; k < out_t->rank; k++) {
        inner *= out_t->dims[k];
    }
    uint8_t *dst = (uint8_t *)n->out;
    for (int32_t o = 0; o < outer; o++) {
        for (int i = 0; i < n->n_inputs; i++) {
            const int32_t chunk = n->in_t[i]->dims[axis] * inner; /* bytes per outer step */
            /* memmove: a corrupt model may make an input overlap the output. */
            memmove(dst, (const uint8_t *)n->in[i] + o * chunk, (size_t)chunk);
            dst += chunk;
        }
    }
}
