/*
 * ulab_ml blob format, version 1 -- the C view of docs/FORMAT.md.
 *
 * All integers are little-endian. The loader (loader.c) checks every field of these
 * structures against the blob before anything else reads them; after a successful
 * load the executor and the kernels trust them.
 */
#ifndef UML_FORMAT_H
#define UML_FORMAT_H

#include <stdint.h>

#define UML_MAGIC0 'U'
#define UML_MAGIC1 'L'
#define UML_MAGIC2 'M'
#define UML_MAGIC3 'L'
#define UML_VERSION_MAJOR 1
#define UML_VERSION_MINOR 0

#define UML_MAX_RANK 4
#define UML_MAX_INPUTS 16
#define UML_NO_TENSOR 0xFFFFu
/* Offsets of sections inside the blob are multiples of this. */
#define UML_SECTION_ALIGN 4u
/* Arena offsets of tensors and scratch buffers are multiples of this. */
#define UML_ARENA_ALIGN 16u

/* Tensor element types. */
enum {
    UML_DTYPE_INT8 = 1,
    UML_DTYPE_UINT8 = 2,
    UML_DTYPE_INT16 = 3,
    UML_DTYPE_INT32 = 4,
    UML_DTYPE_FLOAT32 = 5,
};

/* Where a tensor's bytes live. */
enum {
    UML_STORAGE_ARENA = 0, /* activation: offset is into the arena */
    UML_STORAGE_CONST = 1, /* constant: offset is into the const section */
};

/* Layout of a const tensor's bytes. 0 is the TFLite layout; others are reserved for
 * target-packed weight layouts. */
enum {
    UML_LAYOUT_TFLITE = 0,
};

/* Operators (our own numbering, stable across format minor versions). */
enum {
    UML_OP_CONV_2D = 1,
    UML_OP_DEPTHWISE_CONV_2D = 2,
    UML_OP_FULLY_CONNECTED = 3,
    UML_OP_AVERAGE_POOL_2D = 4,
    UML_OP_MAX_POOL_2D = 5,
    UML_OP_MEAN = 6,
    UML_OP_ADD = 7,
    UML_OP_SUB = 8,
    UML_OP_MUL = 9,
    UML_OP_CONCATENATION = 10,
    UML_OP_PAD = 11,
    UML_OP_RESHAPE = 12, /* also EXPAND_DIMS and SQUEEZE */
    UML_OP_SOFTMAX = 13,
    UML_OP_LOGISTIC = 14,
    UML_OP_TANH = 15,
    UML_OP_RELU = 16, /* also RELU6, RELU_N1_TO_1: requantize + clamp */
    UML_OP_HARD_SWISH = 17,
    UML_OP_QUANTIZE = 18,
    UML_OP_DEQUANTIZE = 19,
    UML_OP_COUNT
};

/* Header: first 64 bytes of the blob. */
typedef struct {
    uint8_t magic[4];
    uint16_t version_major;
    uint16_t version_minor;
    uint32_t blob_size;    /* total bytes, header included */
    uint32_t crc32;        /* CRC-32 (IEEE, as zlib) of bytes [0, 12) then [16, blob_size) */
    uint32_t header_size;  /* sizeof(uml_header_t) */
    uint32_t flags;        /* reserved, 0 */
    uint32_t arena_size;   /* bytes of the single activation arena */
    uint16_t n_tensors;
    uint16_t n_ops;
    uint16_t n_inputs;     /* model inputs */
    uint16_t n_outputs;    /* model outputs */
    uint32_t tensors_off;  /* n_tensors * uml_tensor_t */
    uint32_t ops_off;      /* n_ops * uml_op_t */
    uint32_t params_off;   /* op parameter words */
    uint32_t params_size;
    uint32_t const_off;    /* constant data; the last section */
    uint32_t const_size;
    uint32_t io_off;       /* n_inputs + n_outputs uint16 tensor ids */
} uml_header_t;

typedef struct {
    uint8_t dtype;
    uint8_t rank;          /* 0..UML_MAX_RANK */
    uint8_t storage;
    uint8_t layout;
    int32_t dims[UML_MAX_RANK]; /* dims[rank..] are 1 */
    uint32_t offset;       /* into the arena or the const section */
    uint32_t nbytes;       /* = product(dims) * element size */
    int32_t zero_point;
    uint32_t scale_bits;   /* float32 scale (for the Python API; kernels never use it) */
    uint32_t reserved;
} uml_tensor_t;

typedef struct {
    uint8_t opcode;
    uint8_t n_inputs;
    uint8_t flags;         /* reserved, 0 */
    uint8_t reserved;
    uint16_t output;       /* output tensor id */
    uint16_t reserved2;
    uint32_t params_off;   /* into the params section, multiple of 4: n_inputs uint16 tensor
                              ids (UML_NO_TENSOR if absent), padded to 4 bytes, then the
                              op's int32 parameter words */
    uint32_t params_size;  /* bytes, ids included */
    uint32_t const_off;    /* span of the const section this op reads (streaming) */
    uint32_t const_size;
    uint32_t scratch_off;  /* arena scratch for this op */
    uint32_t scratch_size;
} uml_op_t;

_Static_assert(sizeof(uml_header_t) == 64, "header layout");
_Static_assert(sizeof(uml_tensor_t) == 40, "tensor layout");
_Static_assert(sizeof(uml_op_t) == 32, "op layout");

#endif
