/*
 * FULLY_CONNECTED, int8 (TFLite Micro reference_integer_ops::FullyConnected and
 * FullyConnectedPerChannel).
 *
 * inputs: 0 input int8 [..., depth] (any shape with a multiple of depth elements)
 *         1 filter int8 const [out_depth, depth]
 *         2 bias int32 const [out_depth] (optional)
 *         3 multiplier int32 const [1 or out_depth]
 *         4 shift int32 const [1 or out_depth]
 * params: input_offset, filter_offset, output_offset, act_min, act_max
 * output: int8 [batches, out_depth] (any shape with batches * out_depth elements)
 */
#include "common.h"

enum { P_INPUT_OFFSET, P_FILTER_OFFSET, P_OUTPUT_OFFSET, P_ACT_MIN, P_ACT_MAX, P_COUNT };

const char *uml_validate_fully_connected(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs == 5 && n->n_params == P_COUNT, "corrupt model: FULLY_CONNECTED arguments");
    const uml_tensor_t *in = n->in_t[0], *filter = n->in_t[1], *out = n->out_t;
    UML_REQUIRE(uml_is(in, UML_DTYPE_INT8) && uml_is(out, UML_DTYPE_INT8) &&
                uml_is_const(filter, UML_DTYPE_INT8) && filter->rank == 2,
                "corrupt model: FULLY_CONNECTED tensor types");
    int32_t out_depth = filter->dims[0], depth = filter->dims[1];
    UML_REQUIRE(depth <= UML_MAX_ACC_DEPTH, "FULLY_CONNECTED input depth too large");
    int32_t in_elems = uml_tensor_elems(in);
    UML_REQUIRE(in_elems % depth == 0, "corrupt model: FULLY_CONNECTED input shape");
    int32_t batches = in_elems / depth;
    UML_REQUIRE((int64_t)uml_tensor_elems(out) == (int64_t)batches * out_depth, "corrupt model: FULLY_CONNECTED output shape");
    UML_REQUIRE(uml_bias_ok(n->in_t[2], out_depth), "corrupt model: FULLY_CONNECTED bias");
    const char *err = uml_check_requant(n, 3, 4, out_depth);
    if (err) {
        return err;
    }
    const int32_t *p = n->params;
    UML_REQUIRE(uml_offset_ok(p[P_INPUT_OFFSET]) && uml_offset_ok(p[P_FILTER_OFFSET]) &&
                uml_offset_ok(p[P_OUTPUT_OFFSET]) && uml_act_range_ok(p[P_ACT_MIN], p[P_ACT_MAX], -128, 127),
                "corrupt model: FULLY_CONNECTED parameters");
    return NULL;
}

void uml_eval_fully_connected(const uml_node_t *n) {
    const int8_t *input = (const int8_t *)n->in[0];
    const int8_t *filter = (const int8_t *)n->in[1];
    const uml_out_stage_t stage =
        uml_out_stage(n, n->params[P_OUTPUT_OFFSET], n->params[P_ACT_MIN], n->params[P_ACT_MAX]);
    int8_t *output = (int8_t *)n->out;
    const int32_t out_depth = n->in_t[1]->dims[0], depth = n->in_t[1]->dims[1];
    const int32_t batches = uml_tensor_elems(n->in_t[0]) / depth;
    const int32_t in_off = n->params[P_INPUT_OFFSET], f_off = n->params[P_FILTER_OFFSET];

    for (int32_t b = 0; b < batches; b++) {
        const int8_t *x = input + b * depth;
        for (int32_t oc = 0; oc < out_depth; oc++) {
            const int8_t *w = filter + oc * depth;
            int32_t acc = 0;
            for (int32_t d = 0; d < depth; d++) {
                acc += ((int32_t)w[d] + f_off) * ((int32_t)x[d] + in_off);
            }
            output[b * out_depth + oc] = uml_out_stage_apply(&stage, acc, oc);
        }
    }
}
