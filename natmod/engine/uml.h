/*
 * ulab_ml engine: the C API of the blob loader and executor.
 *
 * Plain C11, no MicroPython, no allocation, no static state: the natmod binding, the host
 * test harness and the fuzzer all link this directly. Usage:
 *
 *     uml_model_t m;
 *     const char *err = uml_model_load(&m, blob, blob_len);   // validates everything
 *     if (err) { ...reject... }
 *     uint8_t *arena = <m.arena_size bytes, 16-byte aligned>;
 *     memcpy(uml_tensor_data(&m, arena, m.input[0]), input, ...);
 *     uml_model_invoke(&m, arena);                            // no checks, no allocation
 */
#ifndef UML_H
#define UML_H

#include <stddef.h>
#include <stdint.h>
#include "format.h"

#define UML_MAX_IO 4

typedef struct {
    const uint8_t *blob;
    uint32_t blob_size;
    const uml_header_t *header;
    const uml_tensor_t *tensors;
    const uml_op_t *ops;
    const uint8_t *params;
    const uint8_t *const_data;
    uint32_t arena_size;
    uint16_t n_tensors;
    uint16_t n_ops;
    uint16_t n_inputs;
    uint16_t n_outputs;
    const uml_tensor_t *input[UML_MAX_IO];
    const uml_tensor_t *output[UML_MAX_IO];
    uint32_t max_const_span; /* largest per-op const span (streaming buffer size) */
    uint32_t n_validated;    /* ops validated so far; the model runs only when == n_ops */
    uint32_t streamed;       /* 1: constants are not in memory, each op gets its span */
    uint32_t crc_ok;         /* 1: the blob's CRC matched */
} uml_model_t;

/* Everything a kernel sees of one operator. During validation, in[] and out data pointers
 * for arena tensors are NULL; const tensors' data pointers are valid. */
typedef struct {
    int n_inputs;
    const uml_tensor_t *in_t[UML_MAX_INPUTS]; /* NULL if the optional input is absent */
    const void *in[UML_MAX_INPUTS];
    const uml_tensor_t *out_t;
    void *out;
    const int32_t *params; /* the op's parameter words */
    uint32_t n_params;
    void *scratch;
    uint32_t scratch_size;
} uml_node_t;

/* Validate a blob and fill *m. Returns NULL on success or a message saying what is wrong.
 * blob must stay valid (and unchanged) while m is used; it must be 4-byte aligned. */
const char *uml_model_load(uml_model_t *m, const uint8_t *blob, size_t blob_len);

/* Streamed models (constants stay in the file): validate the head (every byte before the
 * constant section), then the blob's CRC computed by the caller (as uml_blob_crc over the
 * file, read in pieces with uml_crc32) with uml_model_check_crc, then each op in order with
 * its constant span read into memory (uml_model_validate_op). The model runs only after all. */
const char *uml_model_load_head(uml_model_t *m, const uint8_t *head, size_t head_len, uint32_t file_size);
const char *uml_model_check_crc(uml_model_t *m, uint32_t crc);
const char *uml_model_validate_op(uml_model_t *m, uint32_t i, const uint8_t *span);

/* 1 when the model is loaded, its CRC checked and every op validated. */
static inline int uml_model_ready(const uml_model_t *m) {
    return m->header != NULL && m->crc_ok && m->n_validated == m->n_ops;
}

/* Run every op (whole-blob models). arena: m->arena_size bytes, 16-byte aligned, holding
 * the input tensors. */
void uml_model_invoke(const uml_model_t *m, uint8_t *arena);

/* Run op i alone; span: its constant span (streamed models) or NULL (in the blob). */
void uml_model_invoke_op(const uml_model_t *m, uint8_t *arena, uint32_t i, const uint8_t *span);

/* Address of a tensor's data given the arena. */
void *uml_tensor_data(const uml_model_t *m, uint8_t *arena, const uml_tensor_t *t);

uint32_t uml_crc32(uint32_t crc, const uint8_t *data, size_t len);
/* The blob's CRC as stored in its header: bytes [0, 12) then [16, blob_size). */
uint32_t uml_blob_crc(const uint8_t *blob, uint32_t blob_size);

/* Number of elements of a validated tensor. */
static inline int32_t uml_tensor_elems(const uml_tensor_t *t) {
    int32_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        n *= t->dims[i];
    }
    return n;
}

#endif
