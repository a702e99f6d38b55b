/*
 * LOGISTIC, int8 (TFLite Micro reference_integer_ops::Logistic for int8).
 *
 * inputs: 0 input int8 (any shape)
 * params: see sigmoid_tanh.h (input zero point, range radius, Q4.27 multiplier and shift)
 * output: int8, same number of elements, zero point -128 (scale 1/256 assumed, as the
 *         reference does).
 */
#include "sigmoid_tanh.h"

const char *uml_validate_logistic(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs == 1 && n->n_params == UML_ST_COUNT, "corrupt model: LOGISTIC arguments");
    UML_REQUIRE(uml_int8_same_size(n->in_t[0], n->out_t) && n->out_t->zero_point == -128,
                "corrupt model: LOGISTIC tensors");
    UML_REQUIRE(uml_sigmoid_tanh_params_ok(n->params), "corrupt model: LOGISTIC parameters");
    return NULL;
}

static int32_t logistic_output(int32_t x_q4) {
    const int32_t y_q0 = uml_fx_logistic(x_q4, UML_ST_INPUT_INTEGER_BITS);
    /* Q0 -> 1/256 steps, zero point -128 */
    return uml_rdbpot(y_q0, 31 - 8) - 128;
}

void uml_eval_logistic(const uml_node_t *n) {
    uml_sigmoid_tanh(n, logistic_output);
}
