/*
 * libFuzzer target for the engine: every input is a candidate blob. The fuzzer's bytes get a
 * correct CRC written in (unless the first byte says otherwise) so that mutations reach the
 * validation behind the CRC check; whatever loads is then run on a zeroed arena. Built with
 * ASan + UBSan by scripts/fuzz.sh; any sanitizer report, crash or timeout is a finding.
 */
#include <stdlib.h>
#include <string.h>
#include "../engine/uml.h"

#define MAX_ARENA (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    free(blob);
    return 0;
}
