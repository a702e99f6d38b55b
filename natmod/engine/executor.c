/* Executor: runs the ops of a validated model in order. No checks, no allocation. */
#include "ops.h"
#ifdef UML_CMSIS_NN
#include "../kernels/cmsis_nn.h" /* optional CMSIS-NN build: docs/CMSIS_NN.md */
#endif

void *uml_tensor_data(const uml_model_t *m, uint8_t *arena, const uml_tensor_t *t) {
    if (t->storage == UML_STORAGE_CONST) {
        return (void *)(uintptr_t)(m->const_data + t->offset);
    }
    return arena + t->offset;
}

static void eval_node(uint8_t opcode, const uml_node_t *n) {
    switch (opcode) {
        #define UML_EVAL_CASE(code, name) case code: uml_eval_##name(n); break;
        UML_OP_LIST(UML_EVAL_CASE)
        #undef UML_EVAL_CASE
        default:
            break;
    }
}

void uml_model_invoke_op(const uml_model_t *m, uint8_t *arena, uint32_t i, const uint8_t *span) {
    const uml_op_t *op = &m->ops[i];
    const uint8_t *p = m->params + op->params_off;
    uint32_t ids_size = ((uint32_t)op->n_inputs * 2u + 3u) & ~3u;
    if (span == NULL) {
        span = m->const_data + op->const_off;
    }
    uml_node_t n;
    n.n_inputs = op->n_inputs;
    for (int k = 0; k < op->n_inputs; k++) {
        uint16_t id = (uint16_t)(p[2 * k] | (p[2 * k + 1] << 8));
        if (id == UML_NO_TENSOR) {
            n.in_t[k] = NULL;
            n.in[k] = NULL;
        } else {
            const uml_tensor_t *t = &m->tensors[id];
            n.in_t[k] = t;
            n.in[k] = t->storage == UML_STORAGE_CONST ? span + (t->offset - op->const_off) : arena + t->offset;
        }
    }
    n.out_t = &m->tensors[op->output];
    n.out = arena + n.out_t->offset;
    n.params = (const int32_t *)(const void *)(p + ids_size);
    n.n_params = (op->params_size - ids_size) / 4u;
    n.scratch = arena + op->scratch_off;
    n.scratch_size = op->scratch_size;
#ifdef UML_CMSIS_NN
    if (uml_cmsis_nn_eval(m, arena, op->opcode, &n)) {
        return; /* CMSIS-NN ran the op */
    }
#endif
    eval_node(op->opcode, &n);
}

void uml_model_invoke(const uml_model_t *m, uint8_t *arena) {
    for (uint32_t i = 0; i < m->n_ops; i++) {
        uml_model_invoke_op(m, arena, i, NULL);
    }
}
