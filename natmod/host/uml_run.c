/*
 * Host harness for the engine (no MicroPython): load a blob, run it on inputs, write outputs.
 * Built with AddressSanitizer and UndefinedBehaviorSanitizer by the tests.
 *
 *   uml_run MODEL.uml [INPUTS.bin OUTPUTS.bin]
 *
 * INPUTS.bin holds N inputs back to back (raw bytes in the input dtype); OUTPUTS.bin receives N
 * outputs. Without them, runs once on a zero input. Exit 0: ran; 2: the loader rejected the
 * model (message on stderr); 1: usage or I/O error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../engine/uml.h"

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 4) {
        fprintf(stderr, "usage: %s MODEL.uml [INPUTS.bin OUTPUTS.bin]\n", argv[0]);
        return 1;
    }
    size_t len = 0;
    unsigned char *file = read_file(argv[1], &len);
    if (!file) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    /* Copy into an exactly sized, aligned buffer so ASan catches any read past the end. */
    unsigned char *blob = aligned_alloc(16, len ? (len + 15) / 16 * 16 : 16);
    memcpy(blob, file, len);
    free(file);
    uml_model_t m;
    const char *err = uml_model_load(&m, blob, len);
    if (err) {
        fprintf(stderr, "rejected: %s\n", err);
        free(blob);
        return 2;
    }
    size_t arena_len = m.arena_size ? (m.arena_size + 15u) / 16u * 16u : 16u;
    uint8_t *arena = aligned_alloc(16, arena_len);
    memset(arena, 0, arena_len);
    const uml_tensor_t *ti = m.input[0], *to = m.output[0];
    if (argc == 2) {
        uml_model_invoke(&m, arena);
    } else {
        size_t in_len = 0;
        unsigned char *in = read_file(argv[2], &in_len);
        FILE *out = fopen(argv[3], "wb");
        if (!in || !out || ti->nbytes == 0 || in_len % ti->nbytes) {
            fprintf(stderr, "bad input file\n");
            return 1;
        }
        for (size_t k = 0; k < in_len / ti->nbytes; k++) {
            memcpy(uml_tensor_data(&m, arena, ti), in + k * ti->nbytes, ti->nbytes);
            uml_model_invoke(&m, arena);
            fwrite(uml_tensor_data(&m, arena, to), 1, to->nbytes, out);
        }
        fclose(out);
        free(in);
    }
    free(arena);
    free(blob);
    return 0;
}
