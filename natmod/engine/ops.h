/*
 * The operator table: one X(opcode, name) line per kernel. Each kernel file
 * kernels/<name>.c defines
 *     const char *uml_validate_<name>(const uml_node_t *n);  // NULL if ok, else a message
 *     void uml_eval_<name>(const uml_node_t *n);             // no checks, no allocation
 * Validation must check everything eval relies on: input count, dtypes, ranks, shapes,
 * parameter count and ranges (shifts, strides, paddings...), and const data values that
 * could lead to undefined behaviour. The loader has already checked that every tensor id
 * is valid, that every tensor lies inside the arena or the const section, and that
 * nbytes == product(dims) * element size.
 *
 * Memory contract (the host's planner, host_tools/ulab_ml_host/plan.py, relies on it): an op's
 * output may share arena bytes with its inputs. RESHAPE's output may be its input exactly.
 * CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D and MAX_POOL_2D may have their output start D
 * bytes before input 0 (overlap_distance): they must produce output rows in order, batch by
 * batch, and write output row oy only while reading input rows >= oy * stride_h - pad_h.
 * RELU, LOGISTIC, TANH, HARD_SWISH, ADD, SUB and MUL may write output element i over input
 * element i of an input of the output's shape: they must read element i before writing it and
 * never read an element after writing a later one. Optimized kernels must keep this order (or
 * the planner's rules must change with them). A corrupt blob may overlap anything: kernels must
 * stay memory-safe then (no memcpy between overlapping buffers; memmove or plain loops).
 */
#ifndef UML_OPS_H
#define UML_OPS_H

#include "uml.h"

#define UML_OP_LIST(X) \
    X(UML_OP_CONV_2D, conv_2d) \
    X(UML_OP_DEPTHWISE_CONV_2D, depthwise_conv_2d) \
    X(UML_OP_FULLY_CONNECTED, fully_connected) \
    X(UML_OP_AVERAGE_POOL_2D, average_pool_2d) \
    X(UML_OP_MAX_POOL_2D, max_pool_2d) \
    X(UML_OP_MEAN, mean) \
    X(UML_OP_ADD, add) \
    X(UML_OP_SUB, sub) \
    X(UML_OP_MUL, mul) \
    X(UML_OP_CONCATENATION, concatenation) \
    X(UML_OP_PAD, pad) \
    X(UML_OP_RESHAPE, reshape) \
    X(UML_OP_SOFTMAX, softmax) \
    X(UML_OP_LOGISTIC, logistic) \
    X(UML_OP_TANH, tanh) \
    X(UML_OP_RELU, relu) \
    X(UML_OP_HARD_SWISH, hard_swish) \
    X(UML_OP_QUANTIZE, quantize) \
    X(UML_OP_DEQUANTIZE, dequantize)

#define UML_DECLARE_KERNEL(code, name) \
    const char *uml_validate_##name(const uml_node_t *n); \
    void uml_eval_##name(const uml_node_t *n);
UML_OP_LIST(UML_DECLARE_KERNEL)
#undef UML_DECLARE_KERNEL

#endif
