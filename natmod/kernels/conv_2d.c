/*
 * CONV_2D, int8 activations, int8 weights, int32 bias (TFLite Micro
 * reference_integer_ops::ConvPerChannel, without groups).
 *
 * inputs: 0 input int8 [batches, in_h, in_w, in_ch]
 *         1 filter int8 const [out_ch, k_h, k_w, in_ch]
 *         2 bias int32 const [out_ch] (optional)
 *         3 multiplier int32 const [1 or out_ch]
 *         4 shift int32 const [1 or out_ch]
 * params: see conv.h (offsets, strides, dilations, paddings, activation range)
 * output: int8 [batches, out_h, out_w, out_ch]
 *
 * Filter zero points are not used (TFLite Micro ignores them for int8 convolution).
 * Taps that fall outside the input (padding) contribute nothing, as in the reference.
 */
#include "conv.h"

const char *uml_validate_conv_2d(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs == 5 && n->n_params == UML_CONV_COUNT, "corrupt model: CONV_2D arguments");
    const uml_tensor_t *in = n->in_t[0], *filter = n->in_t[1], *out = n->out_t;
    UML_REQUIRE(uml_conv_tensors_ok(in, filter, out), "corrupt model: CONV_2D tensor types");
    const int32_t out_ch = filter->dims[0], k_h = filter->dims[1], k_w = filter->dims[2];
    const int32_t in_ch = filter->dims[3];
    UML_REQUIRE(in->dims[3] == in_ch && out->dims[0] == in->dims[0] && out->dims[3] == out_ch,
                "corrupt model: CONV_2D shapes");
    UML_REQUIRE((int64_t)k_h * k_w * in_ch <= UML_CONV_MAX_ACC_DEPTH, "CONV_2D filter too large");
    return uml_validate_conv_rest(n, out_ch, k_h, k_w, "corrupt model: CONV_2D bias",
                                  "corrupt model: CONV_2D strides, dilations or paddings",
                                  "corrupt model: CONV_2D parameters");
}

void uml_eval_conv_2d(const uml_node_t *n) {
    const int8_t *input = (const int8_t *)n->in[0];
    const int8_t *filter = (const int8_t *)n->in[1];
    const uml_out_stage_t stage = uml_conv_out_stage(n);
    int8_t *output = (int8_t *)n->out;
    const uml_tensor_t *in_t = n->in_t[0], *f_t = n->in_t[1], *out_t = n->out_t;
    const int32_t batches = in_t->dims[0], in_h = in_t->dims[1], in_w = in_t->dims[2], in_ch = in_t->dims[3];
    const int32_t out_ch = f_t->dims[0], k_h = f_t->dims[1], k_w = f_t->dims[2];
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
                for (int32_t oc = 0; oc < out_ch; oc++) {
                    const int8_t *w_oc = filter + oc * k_h * k_w * in_ch;
                    int32_t acc = 0;
                    for (int32_t fy = fy_lo; fy < fy_hi; fy++) {
                        const int32_t iy = y0 + dil_h * fy;
                        for (int32_t fx = fx_lo; fx < fx_hi; fx++) {
                            const int32_t ix = x0 + dil_w * fx;
                            const int8_t *x = in_b + (iy * in_w + ix) * in_ch;
                            const int8_t *w = w_oc + (fy * k_w + fx) * in_ch;
                            for (int32_t c = 0; c < in_ch; c++) {
                                acc += (int32_t)w[c] * ((int32_t)x[c] + in_off);
                            }
                        }
                    }
                    *output++ = uml_out_stage_apply(&stage, acc, oc);
                }
            }
        }
    }
}
