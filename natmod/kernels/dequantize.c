/*
 * DEQUANTIZE, int8 -> float32 (TFLite Micro reference_ops::Dequantize:
 * y = (float)((double)scale * (x - zero_point))), without floating-point arithmetic: the
 * host computes y for all 256 int8 values exactly as the reference does, and the device
 * looks them up (copying float32 bit patterns).
 *
 * inputs: 0 input int8, 1 table float32 const [256], entry x + 128 for input value x
 * params: none
 * output: float32 with the input's number of elements
 */
#include "common.h"

const char *uml_validate_dequantize(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs == 2 && n->n_params == 0, "corrupt model: DEQUANTIZE arguments");
    const uml_tensor_t *in = n->in_t[0], *table = n->in_t[1], *out = n->out_t;
    UML_REQUIRE(uml_is(in, UML_DTYPE_INT8) && uml_is(out, UML_DTYPE_FLOAT32) &&
                uml_is_const(table, UML_DTYPE_FLOAT32) && uml_tensor_elems(table) == 256 &&
                uml_tensor_elems(in) == uml_tensor_elems(out),
                "corrupt model: DEQUANTIZE tensors");
    return NULL;
}

void uml_eval_dequantize(const uml_node_t *n) {
    const int8_t *in = (const int8_t *)n->in[0];
    const uint32_t *table = (const uint32_t *)n->in[1];
    uint32_t *out = (uint32_t *)n->out;
    const int32_t count = uml_tensor_elems(n->in_t[0]);
    for (int32_t i = 0; i < count; i++) {
        out[i] = table[(int32_t)in[i] + 128];
    }
}
