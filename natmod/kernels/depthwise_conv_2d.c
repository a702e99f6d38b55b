/*
 * DEPTHWISE_CONV_2D, int8 activations, int8 weights, int32 bias (TFLite Micro
 * reference_integer_ops::DepthwiseConvPerChannel).
 *
 * inputs: 0 input int8 [batches, in_h, in_w, in_ch]
 *         1 filter int8 const [1, k_h, k_w, out_ch], out_ch = in_ch * depth_multiplier
 *         2 bias int32 const [out_ch] (optional)
 *         3 multiplier int32 const [1 or out_ch]
 *         4 shift int32 const [1 or out_ch]
 * params: see conv.h (offsets, strides, dilations, paddings, activation range)
 * output: int8 [batches, out_h, out_w, out_ch]
 *
 * Output channel oc reads input channel oc / depth_multiplier (the depth multiplier is
 * implied by the shapes). Filter zero points are not used, as in TFLite Micro. Taps that
 * fall outside the input (padding) contribute nothing.
 */
#include "conv.h"

const char *uml_validate_depthwise_conv_2d(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs == 5 && n->n_params == UML_CONV_COUNT, "corrupt model: DEPTHWISE_CONV_2D arguments");
    const uml_tensor_t *in = n->in_t[0], *filter = n->in_t[1], *out = n->out_t;
    UML_REQUIRE(uml_conv_tensors_ok(in, filter, out), "corrupt model: DEPTHWISE_CONV_2D tensor types");
    const int32_t k_h = filter->dims[1], k_w = filter->dims[2], out_ch = filter->dims[3];
    const int32_t in_ch = in->dims[3];
    UML_REQUIRE(filter->dims[0] == 1 && out->dims[0] == in->dims[0] && out->dims[3] == out_ch &&
                out_ch % in_ch == 0,
                "corrupt model: DEPTHWISE_CONV_2D shapes");
    UML_REQUIRE((int64_t)k_h * k_w <= UML_CONV_MAX_ACC_DEPTH, "DEPTHWISE_CONV_2D filter too large");
    return uml_validate_conv_rest(n, out_ch, k_h, k_w, "corrupt model: DEPTHWISE_CONV_2D bias",
                                  "corrupt model: DEPTHWISE_CONV_2D strides, dilations or paddings",
                                  "corrupt model: DEPTHWISE_CONV_2D parameters");
}

void uml_eval_depthwise_conv_2d(const uml_node_t *n) {
    const int8_t *input = (const int8_t *)n->in[0];
    const int8_t *filter = (const int8_t *)n->in[1];
    const uml_out_stage_t stage = uml_conv_out_stage(n);
    int8_t *output = (int8_t *)n->out;
    const uml_tensor_t *in_t = n->in_t[0], *f_t = n->in_t[1], *out_t = n->out_t;
    const int32_t batches = in_t->dims[0], in_h = in_t->dims[1], in_w = in_t->dims[2], in_ch = in_t->dims[3];
    const int32_t k_h = f_t->dims[1], k_w = f_t->dims[2], out_ch = f_t->dims[3];
    const int32_t depth_mult = out_ch / in_ch;
    const int32_t out_h = out_t->dims[1], out_w = out_t->dims[2];
    const int32_t *p = n->params;
    const int32_t in_off = p[UML_CONV_INPUT_OFFSET];
    const int32_t stride_h = p[UML_CONV_STRIDE_H], stride_w = p[UML_CONV_STRIDE_W];
    const int32_t dil_h = p[UML_CONV_DILATION_H], dil_w = p[UML_CONV_DILATION_W];
    const int32_t pad_h = p[UML_CONV_PAD_H], pad_w = p[UML_CONV_PAD_W];

    for (int32_t b = 0; b < batches; b++) {
        const int8_t *in_b = input + b * in_h * in_w * in_ch;
        for (int32_t oy = 0; oy < out_h; oy++) {
            const int32_t y0 = oy * stride_h - pad_h;
            int32_t fy_lo, fy_hi;
            uml_conv_inside_taps(y0, dil_h, k_h, in_h, &fy_lo, &fy_hi);
            for (int32_t ox = 0; ox < out_w; ox++) {
                const int32_t x0 = ox * stride_w - pad_w;
                int32_t fx_lo, fx_hi;
                uml_conv_inside_taps(x0, dil_w, k_w, in_w, &fx_lo, &fx_hi);
                for (int32_t ic = 0; ic < in_ch; ic++) {
                    for (int32_t m = 0; m < depth_mult; m++) {
                        const int32_t oc = ic * depth_mult + m;
                        int32_t acc = 0;
                        for (int32_t fy = fy_lo; fy < fy_hi; fy++) {
                            const int8_t *x_row = in_b + (y0 + dil_h * fy) * in_w * in_ch + ic;
                            const int8_t *w_row = filter + fy * k_w * out_ch + oc;
                            for (int32_t fx = fx_lo; fx < fx_hi; fx++) {
                                const int32_t x = x_row[(x0 + dil_w * fx) * in_ch];
                                const int32_t w = w_row[fx * out_ch];
                                acc += w * (x + in_off);
                            }
                        }
                        output[oc] = uml_out_stage_apply(&stage, acc, oc);
                    }
                }
                output += out_ch;
            }
        }
    }
}
