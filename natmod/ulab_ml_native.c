/*
 * MicroPython binding of the ulab_ml engine (a dynamic native module). A thin layer:
 * buffers in, engine calls, exceptions out. The ulab_ml package (ulab_ml/__init__.py)
 * is the public API; this module is its private backend.
 *
 *   load(blob, state) -> (arena_size, max_const_span, inputs, outputs)
 *       validates blob, fills state (a bytearray of STATE_SIZE bytes); inputs/outputs are
 *       tuples of (dtype, shape, nbytes, zero_point, scale_bits) per model input/output.
 *   invoke(state, blob, arena, input, output)
 *       copies input into the arena, runs the model, copies the output out. No allocation.
 *   crc32(buf, crc), load_head(head, state, file_size), check_crc(state, crc),
 *   validate_op(state, i, span),
 *   stream_op(state, head, arena, i, span, input_or_None, output_or_None)
 *       the same for a streamed model, whose constants stay in the file and are read op by
 *       op into span by the caller (ulab_ml/__init__.py).
 *   run(ctx, input, output)
 *       one inference, ctx = (state, blob, arena) or (state, head, arena, span, file) for a
 *       streamed model (weights read op by op from the file in C): what Model.infer calls.
 *   run_op(state, blob, arena, i, input_or_None, output_or_None)
 *       one op of a whole-blob model (per-layer measurement: ulab-ml bench).
 */
#include "py/dynruntime.h"
#include "py/stream.h"
#include "engine/uml.h"

/* The compiler may emit calls to these; a native module gets them from the firmware. */
void *memcpy(void *dst, const void *src, size_t n) {
    return mp_fun_table.memmove_(dst, src, n);
}
void *memmove(void *dst, const void *src, size_t n) {
    return mp_fun_table.memmove_(dst, src, n);
}
void *memset(void *s, int c, size_t n) {
    return mp_fun_table.memset_(s, c, n);
}

static uml_model_t *state_model(mp_obj_t state_in, int write) {
    mp_buffer_info_t st;
    mp_get_buffer_raise(state_in, &st, write ? MP_BUFFER_WRITE : MP_BUFFER_READ);
    if (st.len < sizeof(uml_model_t) || ((uintptr_t)st.buf & 7u) != 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("bad model state buffer"));
    }
    return (uml_model_t *)st.buf;
}

static mp_obj_t tensor_info(const uml_tensor_t *t) {
    mp_obj_t dims[UML_MAX_RANK];
    for (int i = 0; i < t->rank; i++) {
        dims[i] = mp_obj_new_int(t->dims[i]);
    }
    mp_obj_t items[5] = {
        mp_obj_new_int(t->dtype),
        mp_obj_new_tuple(t->rank, dims),
        mp_obj_new_int_from_uint(t->nbytes),
        mp_obj_new_int(t->zero_point),
        mp_obj_new_int_from_uint(t->scale_bits),
    };
    return mp_obj_new_tuple(5, items);
}

static mp_obj_t model_info(const uml_model_t *m) {
    mp_obj_t ins[UML_MAX_IO], outs[UML_MAX_IO];
    for (int i = 0; i < m->n_inputs; i++) {
        ins[i] = tensor_info(m->input[i]);
    }
    for (int i = 0; i < m->n_outputs; i++) {
        outs[i] = tensor_info(m->output[i]);
    }
    mp_obj_t items[4] = {
        mp_obj_new_int_from_uint(m->arena_size),
        mp_obj_new_int_from_uint(m->max_const_span),
        mp_obj_new_tuple(m->n_inputs, ins),
        mp_obj_new_tuple(m->n_outputs, outs),
    };
    return mp_obj_new_tuple(4, items);
}

static mp_obj_t mod_load(mp_obj_t blob_in, mp_obj_t state_in) {
    mp_buffer_info_t blob;
    mp_get_buffer_raise(blob_in, &blob, MP_BUFFER_READ);
    uml_model_t *m = state_model(state_in, 1);
    const char *err = uml_model_load(m, (const uint8_t *)blob.buf, blob.len);
    if (err != NULL) {
        mp_raise_ValueError((mp_rom_error_text_t)err);
    }
    return model_info(m);
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_load_obj, mod_load);

/* crc32(buf, crc) -> CRC-32 of buf continuing from crc (0 to start). */
static mp_obj_t mod_crc32(mp_obj_t buf_in, mp_obj_t crc_in) {
    mp_buffer_info_t b;
    mp_get_buffer_raise(buf_in, &b, MP_BUFFER_READ);
    uint32_t crc = (uint32_t)mp_obj_get_int_truncated(crc_in);
    return mp_obj_new_int_from_uint(uml_crc32(crc, (const uint8_t *)b.buf, b.len));
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_crc32_obj, mod_crc32);

/* load_head(head, state, file_size) -> ((arena_size, max_span, inputs, outputs), spans)
 * for a streamed model; spans: per op (offset in the file, size) of its constants. */
static mp_obj_t mod_load_head(mp_obj_t head_in, mp_obj_t state_in, mp_obj_t size_in) {
    mp_buffer_info_t head;
    mp_get_buffer_raise(head_in, &head, MP_BUFFER_READ);
    uml_model_t *m = state_model(state_in, 1);
    mp_int_t file_size = mp_obj_get_int(size_in);
    const char *err = file_size < 0 ? "bad file size"
        : uml_model_load_head(m, (const uint8_t *)head.buf, head.len,
                              (mp_uint_t)file_size > UINT32_MAX ? UINT32_MAX : (uint32_t)file_size);
    if (err != NULL) {
        mp_raise_ValueError((mp_rom_error_text_t)err);
    }
    mp_obj_t info = model_info(m);
    mp_obj_t spans = mp_obj_new_list(0, NULL);
    for (uint32_t i = 0; i < m->n_ops; i++) {
        mp_obj_t span[2] = {
            mp_obj_new_int_from_uint(m->header->const_off + m->ops[i].const_off),
            mp_obj_new_int_from_uint(m->ops[i].const_size),
        };
        mp_obj_list_append(spans, mp_obj_new_tuple(2, span));
    }
    mp_obj_t items[2] = {info, spans};
    return mp_obj_new_tuple(2, items);
}
static MP_DEFINE_CONST_FUN_OBJ_3(mod_load_head_obj, mod_load_head);

/* check_crc(state, crc): the streamed model's CRC, computed by the caller over the file. */
static mp_obj_t mod_check_crc(mp_obj_t state_in, mp_obj_t crc_in) {
    uml_model_t *m = state_model(state_in, 1);
    const char *err = uml_model_check_crc(m, (uint32_t)mp_obj_get_int_truncated(crc_in));
    if (err != NULL) {
        mp_raise_ValueError((mp_rom_error_text_t)err);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_check_crc_obj, mod_check_crc);

/* validate_op(state, i, span): validate op i of a streamed model with its constants. */
static mp_obj_t mod_validate_op(mp_obj_t state_in, mp_obj_t i_in, mp_obj_t span_in) {
    uml_model_t *m = state_model(state_in, 1);
    mp_buffer_info_t span;
    mp_get_buffer_raise(span_in, &span, MP_BUFFER_READ);
    mp_int_t i = mp_obj_get_int(i_in);
    const char *err = NULL;
    if (!m->streamed || i < 0 || (mp_uint_t)i >= m->n_ops || span.len < m->ops[i].const_size ||
        ((uintptr_t)span.buf & 3u) != 0) {
        err = "bad streamed op";
    } else {
        err = uml_model_validate_op(m, (uint32_t)i, (const uint8_t *)span.buf);
    }
    if (err != NULL) {
        memset(m, 0, sizeof(*m));
        mp_raise_ValueError((mp_rom_error_text_t)err);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(mod_validate_op_obj, mod_validate_op);

/* Accept a buffer for a tensor: right byte length, and a typecode matching the dtype. */
static void check_io_buffer(const mp_buffer_info_t *b, const uml_tensor_t *t, int is_output) {
    int tc = b->typecode & 0x7f;
    int ok_type = t->dtype == UML_DTYPE_FLOAT32 ? tc == 'f' : (tc == 'b' || tc == 'B' || tc == 1); /* 1: bytearray */
    if (!ok_type) {
        if (is_output) {
            mp_raise_TypeError(t->dtype == UML_DTYPE_FLOAT32
                ? MP_ERROR_TEXT("out must be array('f') for this model")
                : MP_ERROR_TEXT("out must be bytearray, memoryview or array('b') for this model"));
        }
        mp_raise_TypeError(t->dtype == UML_DTYPE_FLOAT32
            ? MP_ERROR_TEXT("input must be array('f') for this float-input model")
            : MP_ERROR_TEXT("input must be bytes, bytearray, memoryview or array('b') of int8"));
    }
    if (b->len != t->nbytes) {
        if (is_output) {
            mp_raise_ValueError(MP_ERROR_TEXT("out buffer has the wrong size for this model's output"));
        }
        mp_raise_ValueError(MP_ERROR_TEXT("input buffer has the wrong size for this model's input"));
    }
}

/* The model in state, ready to run, with blob_in the buffer it was loaded from and an arena
 * that fits. */
static const uml_model_t *ready_model(mp_obj_t state_in, mp_obj_t blob_in, mp_obj_t arena_in,
                                      mp_buffer_info_t *arena, int streamed) {
    const uml_model_t *m = state_model(state_in, 0);
    mp_buffer_info_t blob;
    mp_get_buffer_raise(blob_in, &blob, MP_BUFFER_READ);
    mp_get_buffer_raise(arena_in, arena, MP_BUFFER_WRITE);
    if (!uml_model_ready(m) || m->blob != blob.buf || (int)m->streamed != streamed) {
        mp_raise_ValueError(MP_ERROR_TEXT("model is closed or its buffer changed"));
    }
    if (arena->len < m->arena_size || ((uintptr_t)arena->buf & 15u) != 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("arena buffer too small or misaligned"));
    }
    return m;
}

static void copy_in(const uml_model_t *m, mp_buffer_info_t *arena, mp_obj_t in_obj) {
    mp_buffer_info_t in;
    mp_get_buffer_raise(in_obj, &in, MP_BUFFER_READ);
    check_io_buffer(&in, m->input[0], 0);
    memcpy(uml_tensor_data(m, arena->buf, m->input[0]), in.buf, m->input[0]->nbytes);
}

static void copy_out(const uml_model_t *m, mp_buffer_info_t *arena, mp_obj_t out_obj) {
    mp_buffer_info_t out;
    mp_get_buffer_raise(out_obj, &out, MP_BUFFER_WRITE);
    check_io_buffer(&out, m->output[0], 1);
    memcpy(out.buf, uml_tensor_data(m, arena->buf, m->output[0]), m->output[0]->nbytes);
}

/* invoke(state, blob, arena, input, output): run a whole-blob model. */
static mp_obj_t mod_invoke(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    mp_buffer_info_t arena;
    const uml_model_t *m = ready_model(args[0], args[1], args[2], &arena, 0);
    /* Check both buffers before running, so a bad out= leaves nothing half done. */
    mp_buffer_info_t out;
    mp_get_buffer_raise(args[4], &out, MP_BUFFER_WRITE);
    check_io_buffer(&out, m->output[0], 1);
    copy_in(m, &arena, args[3]);
    uml_model_invoke(m, arena.buf);
    copy_out(m, &arena, args[4]);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_invoke_obj, 5, 5, mod_invoke);

/* Read exactly n bytes at offset off of a stream into buf (no allocation). */
static void stream_read_at(const mp_stream_p_t *sp, mp_obj_t file, uint32_t off, uint8_t *buf, uint32_t n) {
    int err = 0;
    struct mp_stream_seek_t seek = {.offset = (mp_off_t)off, .whence = MP_SEEK_SET};
    if (sp->ioctl(file, MP_STREAM_SEEK, (uintptr_t)&seek, &err) == MP_STREAM_ERROR) {
        mp_raise_OSError(err);
    }
    while (n > 0) {
        mp_uint_t got = sp->read(file, buf, n, &err);
        if (got == MP_STREAM_ERROR) {
            mp_raise_OSError(err);
        }
        if (got == 0) {
            mp_raise_ValueError(MP_ERROR_TEXT("model file is shorter than it was at load (changed or truncated)"));
        }
        buf += got;
        n -= (uint32_t)got;
    }
}

/* run(ctx, input, output): one inference; ctx is (state, blob, arena) for a model whose
 * weights are in memory, or (state, head, arena, span, file) for a streamed one, whose
 * weights are read op by op from the file into span. One call, a small Python frame and no
 * allocation: what Model.infer uses. */
static mp_obj_t mod_run(mp_obj_t ctx_in, mp_obj_t in_obj, mp_obj_t out_obj) {
    size_t n;
    mp_obj_t *ctx;
    mp_obj_get_array(ctx_in, &n, &ctx);
    if (n != 3 && n != 5) {
        mp_raise_ValueError(MP_ERROR_TEXT("bad model context"));
    }
    mp_buffer_info_t arena, out;
    const uml_model_t *m = ready_model(ctx[0], ctx[1], ctx[2], &arena, n == 5);
    /* Check both buffers before running, so a bad out= leaves nothing half done. */
    mp_get_buffer_raise(out_obj, &out, MP_BUFFER_WRITE);
    check_io_buffer(&out, m->output[0], 1);
    copy_in(m, &arena, in_obj);
    if (n == 3) {
        uml_model_invoke(m, arena.buf);
    } else {
        mp_buffer_info_t span;
        mp_get_buffer_raise(ctx[3], &span, MP_BUFFER_WRITE);
        if (span.len < m->max_const_span || ((uintptr_t)span.buf & 3u) != 0) {
            mp_raise_ValueError(MP_ERROR_TEXT("bad streaming buffer"));
        }
        const mp_stream_p_t *sp = mp_get_stream_raise(ctx[4], MP_STREAM_OP_READ | MP_STREAM_OP_IOCTL);
        for (uint32_t i = 0; i < m->n_ops; i++) {
            const uml_op_t *op = &m->ops[i];
            if (op->const_size > 0) {
                stream_read_at(sp, ctx[4], m->header->const_off + op->const_off, span.buf, op->const_size);
            }
            uml_model_invoke_op(m, arena.buf, i, span.buf);
        }
    }
    copy_out(m, &arena, out_obj);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(mod_run_obj, mod_run);

/* run_op(state, blob, arena, i, input_or_None, output_or_None): run op i of a whole-blob model
 * alone (for per-layer measurement), copying input in before op 0 and output out after the
 * last op when given. */
static mp_obj_t mod_run_op(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    mp_buffer_info_t arena;
    const uml_model_t *m = ready_model(args[0], args[1], args[2], &arena, 0);
    mp_int_t i = mp_obj_get_int(args[3]);
    if (i < 0 || (mp_uint_t)i >= m->n_ops) {
        mp_raise_ValueError(MP_ERROR_TEXT("op index out of range"));
    }
    if (i == 0 && args[4] != mp_const_none) {
        copy_in(m, &arena, args[4]);
    }
    uml_model_invoke_op(m, arena.buf, (uint32_t)i, NULL);
    if ((mp_uint_t)i == m->n_ops - 1u && args[5] != mp_const_none) {
        copy_out(m, &arena, args[5]);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_run_op_obj, 6, 6, mod_run_op);

/* stream_op(state, head, arena, i, span, io): run op i of a streamed model with its constants
 * in span. io: the input buffer for op 0 (copied in first) and the output buffer for the last
 * op (copied out after); None otherwise. */
static mp_obj_t mod_stream_op(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    mp_buffer_info_t arena, span;
    const uml_model_t *m = ready_model(args[0], args[1], args[2], &arena, 1);
    mp_int_t i = mp_obj_get_int(args[3]);
    mp_get_buffer_raise(args[4], &span, MP_BUFFER_READ);
    if (i < 0 || (mp_uint_t)i >= m->n_ops || span.len < m->ops[i].const_size || ((uintptr_t)span.buf & 3u) != 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("bad streamed op"));
    }
    if (i == 0 && args[5] != mp_const_none) {
        copy_in(m, &arena, args[5]);
    }
    uml_model_invoke_op(m, arena.buf, (uint32_t)i, (const uint8_t *)span.buf);
    if ((mp_uint_t)i == m->n_ops - 1u && args[6] != mp_const_none) {
        copy_out(m, &arena, args[6]);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_stream_op_obj, 7, 7, mod_stream_op);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    mp_store_global(MP_QSTR_load, MP_OBJ_FROM_PTR(&mod_load_obj));
    mp_store_global(MP_QSTR_invoke, MP_OBJ_FROM_PTR(&mod_invoke_obj));
    mp_store_global(MP_QSTR_crc32, MP_OBJ_FROM_PTR(&mod_crc32_obj));
    mp_store_global(MP_QSTR_load_head, MP_OBJ_FROM_PTR(&mod_load_head_obj));
    mp_store_global(MP_QSTR_check_crc, MP_OBJ_FROM_PTR(&mod_check_crc_obj));
    mp_store_global(MP_QSTR_validate_op, MP_OBJ_FROM_PTR(&mod_validate_op_obj));
    mp_store_global(MP_QSTR_stream_op, MP_OBJ_FROM_PTR(&mod_stream_op_obj));
    mp_store_global(MP_QSTR_run_op, MP_OBJ_FROM_PTR(&mod_run_op_obj));
    mp_store_global(MP_QSTR_run, MP_OBJ_FROM_PTR(&mod_run_obj));
    mp_store_global(MP_QSTR_STATE_SIZE, MP_OBJ_NEW_SMALL_INT(sizeof(uml_model_t)));
    mp_store_global(MP_QSTR_FORMAT_VERSION, MP_OBJ_NEW_SMALL_INT(UML_VERSION_MAJOR));
    MP_DYNRUNTIME_INIT_EXIT
}
