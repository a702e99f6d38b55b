/*
 * RESHAPE, also EXPAND_DIMS and SQUEEZE (TFLite Micro reshape / expand_dims / squeeze).
 *
 * inputs: 0 input, any dtype
 * params: none
 * output: same dtype and byte size as the input, any shape
 *
 * A byte copy. The memory planner may give the output the input's arena offset; then
 * there is nothing to do.
 */
#include <string.h>
#include "common.h"

const char *uml_validate_reshape(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs == 1 && n->n_params == 0, "corrupt model: RESHAPE arguments");
    const uml_tensor_t *in = n->in_t[0], *out = n->out_t;
    UML_REQUIRE(in != NULL && in->dtype == out->dtype && in->nbytes == out->nbytes,
                "corrupt model: RESHAPE tensor types");
    return NULL;
}

void uml_eval_reshape(const uml_node_t *n) {
    if (n->out != n->in[0]) {
        memmove(n->out, n->in[0], n->in_t[0]->nbytes);
    }
}
