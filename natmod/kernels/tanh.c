/*
 * TANH, int8 (TFLite Micro reference_integer_ops::Tanh for int8).
 *
 * inputs: 0 input int8 (any shape)
 * params: see sigmoid_tanh.h (input zero point, range radius, Q4.27 multiplier and shift)
 * output: int8, same number of elements. As in the reference, the result is written on
 *         the scale 1/128 with zero point 0 whatever the output tensor says.
 */
#include "sigmoid_tanh.h"

const char *uml_validate_tanh(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs == 1 && n->n_params == UML_ST_COUNT, "corrupt model: TANH arguments");
    UML_REQUIRE(uml_int8_same_size(n->in_t[0], n->out_t), "corrupt model: TANH tensors");
    UML_REQUIRE(uml_sigmoid_tanh_params_ok(n->params), "corrupt model: TANH parameters");
    return NULL;
}

static int32_t tanh_output(int32_t x_q4) {
    const int32_t y_q0 = uml_fx_tanh(x_q4, UML_ST_INPUT_INTEGER_BITS);
    /* Q0 -> 1/128 steps */
    return uml_rdbpot(y_q0, 31 - 7);
}

void uml_eval_tanh(const uml_node_t *n) {
    uml_sigmoid_tanh(n, tanh_output);
}
