/*
 * SUB, int8 with broadcasting (TFLite Micro reference_ops::Sub / SubElementwise and
 * BroadcastQuantSubSlow; both compute the same per-element function, only the indexing
 * differs). The same arithmetic as ADD (add.c) with the rescaled inputs subtracted; the
 * host computes the multipliers as TFLite Micro's SUB Prepare does (in float32).
 *
 * Each input is rescaled to a common scale (2 * max input scale, after a left shift of
 * left_shift bits), the second is subtracted from the first, and the difference is
 * rescaled to the output scale:
 *   a = mbqm_smaller_than_one((x1 + in1_offset) << left_shift, in1_mult, in1_shift)
 *   b = mbqm_smaller_than_one((x2 + in2_offset) << left_shift, in2_mult, in2_shift)
 *   y = clamp(mbqm_smaller_than_one(a - b, out_mult, out_shift) + out_offset, act_min, act_max)
 *
 * inputs: 0 input1 int8 (arena or const), 1 input2 int8 (arena or const)
 *         shapes broadcast against the output shape, numpy style (right-aligned, each
 *         dimension equal to the output's or 1)
 * params: in1_offset, in2_offset, out_offset, left_shift, in1_mult, in1_shift, in2_mult,
 *         in2_shift, out_mult, out_shift, act_min, act_max
 * output: int8
 *
 * Overflow: |x + offset| <= 256 and left_shift <= 20 keep the shifted inputs within 2^28;
 * a multiplier below 2^31 never increases a magnitude (beyond rounding), so the difference and
 * everything after it stays far from the int32 limits.
 */
#include "add_sub.h"

const char *uml_validate_sub(const uml_node_t *n) {
    return uml_validate_add_sub(n);
}

static int8_t sub_one(int32_t x1, int32_t x2, const int32_t *p) {
    int32_t s[2];
    uml_add_sub_rescale(x1, x2, p, s);
    return uml_add_sub_output(s[0] - s[1], p);
}

void uml_eval_sub(const uml_node_t *n) {
#ifdef UML_FAST
    if (uml_add_sub_fast(n, 1)) {
        return;
    }
#endif
    uml_broadcast_binary(n, sub_one);
}
