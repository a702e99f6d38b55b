/*
 * libFuzzer target for the engine: every input is a candidate blob. The fuzzer's bytes get a
 * correct CRC written in (unless the first byte says otherwise) so that mutations reach the
 * validation behind the CRC check; whatever loads is then run on a zeroed arena. The same
 * bytes then go through the streamed loader (head, CRC, each op with its constants copied into
 * an exactly sized buffer) and, if accepted, run op by op. Built with ASan + UBSan by
 * scripts/fuzz.sh; any sanitizer report, crash or timeout is a finding.
 */
#include <stdlib.h>
#include <string.h>
#include "../engine/uml.h"

#define MAX_ARENA (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The streamed path: the caller holds the bytes before the constants and reads each op's
 * constant span from the file into a buffer of exactly that size. */
static void fuzz_streamed(const uint8_t *blob, size_t size) {
    if (size < 64) {
        return;
    }
    uint32_t const_off, blob_size;
    memcpy(&blob_size, blob + 8, 4);
    memcpy(&const_off, blob + 52, 4);
    if (const_off > size || const_off < 64 || blob_size > size || blob_size < 16) {
        return;
    }
    uint8_t *head = aligned_alloc(16, (const_off + 15u) / 16u * 16u);
    if (!head) {
        return;
    }
    memcpy(head, blob, const_off);
    uml_model_t m;
    int ok = uml_model_load_head(&m, head, const_off, (uint32_t)size) == NULL &&
             uml_model_check_crc(&m, uml_blob_crc(blob, blob_size)) == NULL && m.arena_size <= MAX_ARENA;
    uint8_t **spans = ok ? calloc(m.n_ops ? m.n_ops : 1, sizeof(uint8_t *)) : NULL;
    for (uint32_t i = 0; ok && spans && i < m.n_ops; i++) {
        uint32_t off = m.header->const_off + m.ops[i].const_off, n = m.ops[i].const_size;
        ok = off <= size && n <= size - off;
        if (ok) {
            spans[i] = aligned_alloc(16, n ? (n + 15u) / 16u * 16u : 16u);
            ok = spans[i] != NULL;
        }
        if (ok) {
            memcpy(spans[i], blob + off, n);
            ok = uml_model_validate_op(&m, i, spans[i]) == NULL;
        }
    }
    if (ok && spans && uml_model_ready(&m)) {
        uint8_t *arena = aligned_alloc(16, m.arena_size ? (m.arena_size + 15u) / 16u * 16u : 16u);
        if (arena) {
            memset(arena, 0, m.arena_size);
            for (uint32_t i = 0; i < m.n_ops; i++) {
                uml_model_invoke_op(&m, arena, i, spans[i]);
            }
            free(arena);
        }
    }
    if (spans) {
        for (uint32_t i = 0; i < m.n_ops; i++) {
            free(spans[i]);
        }
        free(spans);
    }
    free(head);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) {
        return 0;
    }
    int keep_crc = data[0] == 0xA5;
    data++;
    size--;
    uint8_t *blob = aligned_alloc(16, size ? (size + 15) / 16 * 16 : 16);
    if (!blob) {
        return 0;
    }
    memcpy(blob, data, size);
    if (!keep_crc && size >= 16) {
        uint32_t bsize;
        memcpy(&bsize, blob + 8, 4);
        if (bsize >= 16 && bsize <= size) {
            uint32_t crc = uml_crc32(uml_crc32(0, blob, 12), blob + 16, bsize - 16u);
            memcpy(blob + 12, &crc, 4);
        }
    }
    uml_model_t m;
    if (uml_model_load(&m, blob, size) == NULL && m.arena_size <= MAX_ARENA) {
        uint8_t *arena = aligned_alloc(16, m.arena_size ? (m.arena_size + 15u) / 16u * 16u : 16u);
        if (arena) {
            memset(arena, 0, m.arena_size);
            uml_model_invoke(&m, arena);
            free(arena);
        }
    }
    fuzz_streamed(blob, size);
    free(blob);
    return 0;
}
