/*
 * Blob loader: checks every offset, size, count, tensor reference and op parameter once,
 * so that uml_model_invoke() can run without checks. Never reads outside the blob.
 */
#include <string.h>
#include "ops.h"
#ifdef UML_CMSIS_NN
#include "../kernels/cmsis_nn.h" /* optional CMSIS-NN build: docs/CMSIS_NN.md */
#endif

static int dtype_size(uint8_t dtype) {
    switch (dtype) {
        case UML_DTYPE_INT8:
        case UML_DTYPE_UINT8:
            return 1;
        case UML_DTYPE_INT16:
            return 2;
        case UML_DTYPE_INT32:
        case UML_DTYPE_FLOAT32:
            return 4;
        default:
            return 0;
    }
}

/* [off, off + size) lies within [0, limit). */
static int span_ok(uint32_t off, uint32_t size, uint32_t limit) {
    return off <= limit && size <= limit - off;
}

static const char *check_tensor(const uml_model_t *m, const uml_tensor_t *t) {
    int esize = dtype_size(t->dtype);
    if (esize == 0) {
        return "corrupt model: unknown tensor dtype";
    }
    if (t->rank > UML_MAX_RANK || t->layout != UML_LAYOUT_TFLITE || t->reserved != 0) {
        return "corrupt model: bad tensor rank or layout";
    }
    uint32_t elems = 1;
    for (int i = 0; i < UML_MAX_RANK; i++) {
        int32_t d = t->dims[i];
        if (i >= t->rank ? d != 1 : (d < 1 || (uint32_t)d > (UINT32_C(0x7fffffff) / elems))) {
            return "corrupt model: bad tensor dimensions";
        }
        elems *= (uint32_t)d;
    }
    if (elems > UINT32_C(0x7fffffff) / (uint32_t)esize || t->nbytes != elems * (uint32_t)esize) {
        return "corrupt model: tensor size does not match its shape";
    }
    if (t->storage == UML_STORAGE_ARENA) {
        if (t->offset % 4u != 0 || !span_ok(t->offset, t->nbytes, m->arena_size)) {
            return "corrupt model: tensor outside the arena";
        }
    } else if (t->storage == UML_STORAGE_CONST) {
        if (t->offset % 4u != 0 || !span_ok(t->offset, t->nbytes, m->header->const_size)) {
            return "corrupt model: tensor outside the constant data";
        }
    } else {
        return "corrupt model: bad tensor storage";
    }
    return NULL;
}

/* Check op's header and fill *n. span: where the op's constant span lies in memory (the
 * blob's constant section + op->const_off, or a streaming buffer). */
static const char *check_op(const uml_model_t *m, const uml_op_t *op, const uint8_t *span, uml_node_t *n) {
    const uml_header_t *h = m->header;
    if (op->opcode == 0 || op->opcode >= UML_OP_COUNT) {
        return "model uses an operator this ulab_ml does not know (converted by a newer version?)";
    }
    if (op->n_inputs > UML_MAX_INPUTS || op->flags != 0 || op->reserved != 0 || op->reserved2 != 0) {
        return "corrupt model: bad op header";
    }
    uint32_t ids_size = ((uint32_t)op->n_inputs * 2u + 3u) & ~3u;
    if (op->params_off % 4u != 0 || op->params_size % 4u != 0 || op->params_size < ids_size ||
        !span_ok(op->params_off, op->params_size, h->params_size)) {
        return "corrupt model: op parameters outside their section";
    }
    if (!span_ok(op->const_off, op->const_size, h->const_size)) {
        return "corrupt model: op constant span outside the constant data";
    }
    if (op->scratch_off % 4u != 0 || !span_ok(op->scratch_off, op->scratch_size, m->arena_size)) {
        return "corrupt model: op scratch outside the arena";
    }
    if (op->output >= m->n_tensors || m->tensors[op->output].storage != UML_STORAGE_ARENA) {
        return "corrupt model: bad op output";
    }
    const uint8_t *p = m->params + op->params_off;
    memset(n, 0, sizeof(*n));
    n->n_inputs = op->n_inputs;
    for (int i = 0; i < op->n_inputs; i++) {
        uint16_t id = (uint16_t)(p[2 * i] | (p[2 * i + 1] << 8));
        if (id == UML_NO_TENSOR) {
            continue;
        }
        if (id >= m->n_tensors) {
            return "corrupt model: op input is not a tensor";
        }
        const uml_tensor_t *t = &m->tensors[id];
        n->in_t[i] = t;
        if (t->storage == UML_STORAGE_CONST) {
            /* A streamed op reads exactly its const span: its const inputs must lie in it. */
            if (t->offset < op->const_off || !span_ok(t->offset - op->const_off, t->nbytes, op->const_size)) {
                return "corrupt model: op constant input outside its span";
            }
            n->in[i] = span + (t->offset - op->const_off);
        }
    }
    n->out_t = &m->tensors[op->output];
    n->params = (const int32_t *)(const void *)(p + ids_size);
    n->n_params = (op->params_size - ids_size) / 4u;
    n->scratch_size = op->scratch_size;
    return NULL;
}

static const char *validate_node(uint8_t opcode, const uml_node_t *n) {
    switch (opcode) {
        #define UML_VALIDATE_CASE(code, name) case code: return uml_validate_##name(n);
        UML_OP_LIST(UML_VALIDATE_CASE)
        #undef UML_VALIDATE_CASE
        default:
            return "model uses an operator this ulab_ml does not know";
    }
}

/* Header, section and table checks shared by the whole-blob and the streamed loader.
 * data: the first avail bytes of the blob (all of it, or everything before the constants). */
static const char *check_head(uml_model_t *m, const uint8_t *data, size_t avail, uint32_t file_size,
                              const uint32_t *crc) {
    memset(m, 0, sizeof(*m));
    if (data == NULL || avail < sizeof(uml_header_t)) {
        return "not a ulab_ml model: too short (truncated file?)";
    }
    if (((uintptr_t)data & 3u) != 0) {
        return "model buffer must be 4-byte aligned";
    }
    const uml_header_t *h = (const uml_header_t *)(const void *)data;
    if (h->magic[0] != UML_MAGIC0 || h->magic[1] != UML_MAGIC1 || h->magic[2] != UML_MAGIC2 ||
        h->magic[3] != UML_MAGIC3) {
        return "not a ulab_ml model (bad magic): convert .tflite files with 'ulab-ml convert'";
    }
    if (h->version_major > UML_VERSION_MAJOR) {
        return "model format is newer than this ulab_ml supports: update ulab_ml on the board";
    }
    if (h->version_major < UML_VERSION_MAJOR) {
        return "model format is older than this ulab_ml supports: convert the model again";
    }
    if (h->blob_size > file_size) {
        return "model is truncated (file shorter than its header says)";
    }
    if (h->blob_size < sizeof(uml_header_t) || h->header_size != sizeof(uml_header_t)) {
        return "corrupt model: bad header size";
    }
    if (crc != NULL && *crc != h->crc32) {
        return "corrupt model: CRC mismatch (damaged or partly copied file)";
    }
    if (h->flags != 0) {
        return "model uses format features this ulab_ml does not support: update ulab_ml";
    }
    uint32_t size = h->blob_size;
    if (h->n_inputs < 1 || h->n_inputs > UML_MAX_IO || h->n_outputs < 1 || h->n_outputs > UML_MAX_IO) {
        return "corrupt model: bad number of inputs or outputs";
    }
    /* Tables must lie in the bytes we hold; the constant section anywhere in the blob. */
    uint32_t held = avail < size ? (uint32_t)avail : size;
    if (!span_ok(h->tensors_off, (uint32_t)h->n_tensors * sizeof(uml_tensor_t), held) ||
        !span_ok(h->ops_off, (uint32_t)h->n_ops * sizeof(uml_op_t), held) ||
        !span_ok(h->params_off, h->params_size, held) ||
        !span_ok(h->const_off, h->const_size, size) ||
        !span_ok(h->io_off, 2u * (uint32_t)(h->n_inputs + h->n_outputs), held) ||
        (h->tensors_off | h->ops_off | h->params_off | h->const_off | h->io_off) % UML_SECTION_ALIGN != 0 ||
        h->tensors_off < sizeof(uml_header_t) || h->ops_off < sizeof(uml_header_t) ||
        h->params_off < sizeof(uml_header_t) || h->const_off < sizeof(uml_header_t) ||
        h->io_off < sizeof(uml_header_t)) {
        return "corrupt model: section outside the file";
    }
    m->blob = data;
    m->blob_size = size;
    m->header = h;
    m->tensors = (const uml_tensor_t *)(const void *)(data + h->tensors_off);
    m->ops = (const uml_op_t *)(const void *)(data + h->ops_off);
    m->params = data + h->params_off;
    m->const_data = avail >= size ? data + h->const_off : NULL;
    m->arena_size = h->arena_size;
    m->n_tensors = h->n_tensors;
    m->n_ops = h->n_ops;
    m->n_inputs = h->n_inputs;
    m->n_outputs = h->n_outputs;
    if (m->arena_size > UINT32_C(0x7fffffff)) {
        return "corrupt model: arena size out of range";
    }
    for (uint32_t i = 0; i < m->n_tensors; i++) {
        const char *err = check_tensor(m, &m->tensors[i]);
        if (err) {
            return err;
        }
    }
    const uint8_t *io = data + h->io_off;
    for (int i = 0; i < h->n_inputs + h->n_outputs; i++) {
        uint16_t id = (uint16_t)(io[2 * i] | (io[2 * i + 1] << 8));
        if (id >= m->n_tensors || m->tensors[id].storage != UML_STORAGE_ARENA) {
            return "corrupt model: bad model input or output tensor";
        }
        if (i < h->n_inputs) {
            m->input[i] = &m->tensors[id];
        } else {
            m->output[i - h->n_inputs] = &m->tensors[id];
        }
    }
    for (uint32_t i = 0; i < m->n_ops; i++) {
        if (m->ops[i].const_size > m->max_const_span) {
            m->max_const_span = m->ops[i].const_size;
        }
    }
#ifdef UML_CMSIS_NN
    m->arena_size = uml_cmsis_nn_arena_size(m); /* + CMSIS-NN's scratch, at the arena's tail */
#endif
    return NULL;
}

uint32_t uml_blob_crc(const uint8_t *blob, uint32_t blob_size) {
    return uml_crc32(uml_crc32(0, blob, 12), blob + 16, blob_size - 16u);
}

const char *uml_model_validate_op(uml_model_t *m, uint32_t i, const uint8_t *span) {
    if (i != m->n_validated || i >= m->n_ops) {
        return "ops must be validated once each, in order";
    }
    uml_node_t n;
    const uml_op_t *op = &m->ops[i];
    const char *err = check_op(m, op, span, &n);
    if (err == NULL) {
        err = validate_node(op->opcode, &n);
    }
    if (err == NULL) {
        m->n_validated++;
    }
    return err;
}

const char *uml_model_load(uml_model_t *m, const uint8_t *blob, size_t blob_len) {
    uint32_t crc = 0;
    if (blob != NULL && blob_len >= sizeof(uml_header_t) && ((uintptr_t)blob & 3u) == 0) {
        const uml_header_t *h = (const uml_header_t *)(const void *)blob;
        if (h->blob_size >= 16u && h->blob_size <= blob_len) {
            /* The CRC covers every byte but its own field: [0, 12) then [16, blob_size). */
            crc = uml_blob_crc(blob, h->blob_size);
        }
    }
    uint32_t file_size = blob_len > UINT32_MAX ? UINT32_MAX : (uint32_t)blob_len;
    const char *err = check_head(m, blob, blob_len, file_size, &crc);
    if (err == NULL) {
        m->crc_ok = 1;
    }
    for (uint32_t i = 0; err == NULL && i < m->n_ops; i++) {
        err = uml_model_validate_op(m, i, m->const_data + m->ops[i].const_off);
    }
    if (err) {
        memset(m, 0, sizeof(*m));
    }
    return err;
}

const char *uml_model_load_head(uml_model_t *m, const uint8_t *head, size_t head_len, uint32_t file_size) {
    const char *err = check_head(m, head, head_len, file_size, NULL);
    if (err == NULL && m->header->const_off > head_len) {
        err = "streamed model: the head must hold everything before the constant section";
    }
    if (err) {
        memset(m, 0, sizeof(*m));
    } else {
        m->streamed = 1;
    }
    return err;
}

const char *uml_model_check_crc(uml_model_t *m, uint32_t crc) {
    if (m->header == NULL || crc != m->header->crc32) {
        memset(m, 0, sizeof(*m));
        return "corrupt model: CRC mismatch (damaged or partly copied file)";
    }
    m->crc_ok = 1;
    return NULL;
}
