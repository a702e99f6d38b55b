/*
 * Optional CMSIS-NN build (docs/CMSIS_NN.md): the native module compiled with -DUML_CMSIS_NN
 * against a user's own CMSIS-NN checkout (CMSIS_NN_DIR=...; nothing of CMSIS-NN is in this
 * repository). kernels/cmsis_nn.c maps our ops onto CMSIS-NN's s8 kernels; the engine calls
 * it through two hooks, both under #ifdef UML_CMSIS_NN:
 *   engine/loader.c    the arena gets a tail for CMSIS-NN's scratch buffers (its size is
 *                      known from the head: shapes and parameters, no weights needed)
 *   engine/executor.c  each op is offered to uml_cmsis_nn_eval first; our kernel runs when
 *                      CMSIS-NN does not cover it (returns 0)
 */
#ifndef UML_KERNEL_CMSIS_NN_H
#define UML_KERNEL_CMSIS_NN_H

#include "../engine/uml.h"

/* The arena size the model needs in this build: the planned arena, rounded up to 16 bytes,
 * plus the largest scratch any op's CMSIS-NN call needs. m: a model whose head (header,
 * tensor table) has been checked; the ops need not be validated yet (streamed models report
 * their arena size before that), so this reads them defensively. */
uint32_t uml_cmsis_nn_arena_size(const uml_model_t *m);

/* Run the validated node n (opcode) with CMSIS-NN if it covers it: 1 if it ran, 0 if our own
 * kernel must run. arena: the model's arena (m->arena_size bytes, scratch at its tail). */
int uml_cmsis_nn_eval(const uml_model_t *m, uint8_t *arena, uint8_t opcode, const uml_node_t *n);

#endif
