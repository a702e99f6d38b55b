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
 */
#include "py/dynruntime.h"
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

static mp_obj_t mod_load(mp_obj_t blob_in, mp_obj_t state_in) {
    mp_buffer_info_t blob;
    mp_get_buffer_raise(blob_in, &blob, MP_BUFFER_READ);
    uml_model_t *m = state_model(state_in, 1);
    const char *err = uml_model_load(m, (const uint8_t *)blob.buf, blob.len);
    if (err != NULL) {
        memset(m, 0, sizeof(*m));
        mp_raise_ValueError((mp_rom_error_text_t)err);
    }
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
static MP_DEFINE_CONST_FUN_OBJ_2(mod_load_obj, mod_load);

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

static mp_obj_t mod_invoke(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    const uml_model_t *m = state_model(args[0], 0);
    mp_buffer_info_t blob, arena, in, out;
    mp_get_buffer_raise(args[1], &blob, MP_BUFFER_READ);
    mp_get_buffer_raise(args[2], &arena, MP_BUFFER_WRITE);
    mp_get_buffer_raise(args[3], &in, MP_BUFFER_READ);
    mp_get_buffer_raise(args[4], &out, MP_BUFFER_WRITE);
    if (m->blob == NULL || m->blob != blob.buf || m->blob_size > blob.len) {
        mp_raise_ValueError(MP_ERROR_TEXT("model is closed or its buffer changed"));
    }
    if (arena.len < m->arena_size || ((uintptr_t)arena.buf & 15u) != 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("arena buffer too small or misaligned"));
    }
    const uml_tensor_t *ti = m->input[0], *to = m->output[0];
    check_io_buffer(&in, ti, 0);
    check_io_buffer(&out, to, 1);
    memcpy(uml_tensor_data(m, arena.buf, ti), in.buf, ti->nbytes);
    uml_model_invoke(m, arena.buf);
    memcpy(out.buf, uml_tensor_data(m, arena.buf, to), to->nbytes);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_invoke_obj, 5, 5, mod_invoke);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    mp_store_global(MP_QSTR_load, MP_OBJ_FROM_PTR(&mod_load_obj));
    mp_store_global(MP_QSTR_invoke, MP_OBJ_FROM_PTR(&mod_invoke_obj));
    mp_store_global(MP_QSTR_STATE_SIZE, MP_OBJ_NEW_SMALL_INT(sizeof(uml_model_t)));
    mp_store_global(MP_QSTR_FORMAT_VERSION, MP_OBJ_NEW_SMALL_INT(UML_VERSION_MAJOR));
    MP_DYNRUNTIME_INIT_EXIT
}
