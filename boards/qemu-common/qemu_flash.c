// A filesystem for the QEMU boards (boards/qemu-*): a block device over a memory region the
// firmware itself never uses, formatted as littlefs v2 and mounted at "/" at every (soft) reset,
// as MicroPython's rp2 port does with its flash. The region is the board's storage:
//   qemu-m0 (QEMU microbit, nRF51): NOR flash at ULML_FS_BASE, written through the nRF51's
//     NVMC (erase 1 KB pages, program 32-bit words), which QEMU emulates (ULML_FS_NRF51_NVMC);
//   qemu-m3/m4 (QEMU mps2-an385/386): the MPS2's second SSRAM bank at 0x20000000, memory the
//     firmware (linked into the first bank at 0) does not touch, used like flash.
// Neither costs GC heap beyond the mounted VfsLfs2 object and its caches (a few hundred bytes).
//
// Python: qemu_flash.Flash() is the block device (readblocks/writeblocks/ioctl, block size
// ULML_FS_BLOCK), e.g. to reformat:  vfs.umount("/"); vfs.VfsLfs2.mkfs(qemu_flash.Flash()).
// The region starts empty (QEMU zero-fills it) or holds an image QEMU's generic loader placed
// there (-device loader,file=fs.img,addr=ULML_FS_BASE); whatever does not mount is formatted.
//
// Hooked in with -Wl,--wrap=mp_init (main.c calls mp_init at boot and after each soft reset),
// so no file of ports/qemu is patched.

#include <string.h>

#include "py/runtime.h"
#include "py/mperrno.h"
#include "py/mphal.h"
#include "py/objstr.h"
#include "extmod/vfs.h"
#include "extmod/vfs_lfs.h"

#if !defined(ULML_FS_BASE) || !defined(ULML_FS_SIZE)
#error "ULML_FS_BASE and ULML_FS_SIZE must be set by the board (mpconfigboard.mk)"
#endif

#ifndef ULML_FS_BLOCK
#define ULML_FS_BLOCK (4096)
#endif

#if ULML_FS_NRF51_NVMC
#define NVMC_READY (*(volatile uint32_t *)0x4001E400)
#define NVMC_CONFIG (*(volatile uint32_t *)0x4001E504)
#define NVMC_ERASEPAGE (*(volatile uint32_t *)0x4001E508)
#define NVMC_CONFIG_REN (0)
#define NVMC_CONFIG_WEN (1)
#define NVMC_CONFIG_EEN (2)
#define NRF51_PAGE (1024)

static void nvmc_wait(void) {
    while (!(NVMC_READY & 1)) {
    }
}
#endif

static void storage_erase(uint32_t offset, uint32_t len) {
    #if ULML_FS_NRF51_NVMC
    NVMC_CONFIG = NVMC_CONFIG_EEN;
    for (uint32_t a = ULML_FS_BASE + offset; a < ULML_FS_BASE + offset + len; a += NRF51_PAGE) {
        NVMC_ERASEPAGE = a;
        nvmc_wait();
    }
    NVMC_CONFIG = NVMC_CONFIG_REN;
    #else
    memset((void *)(ULML_FS_BASE + offset), 0xff, len);
    #endif
}

static void storage_program(uint32_t offset, const uint8_t *src, uint32_t len) {
    #if ULML_FS_NRF51_NVMC
    // NOR flash: word writes only, bits can only go from 1 to 0 (littlefs programs erased,
    // prog_size-aligned ranges). A partial word at either end keeps its other bytes (0xff).
    NVMC_CONFIG = NVMC_CONFIG_WEN;
    uint32_t a = ULML_FS_BASE + offset;
    uint32_t end = a + len;
    while (a < end) {
        uint32_t word_addr = a & ~3u;
        uint32_t word = 0xffffffffu;
        for (uint32_t i = a - word_addr; i < 4 && a < end; ++i, ++a) {
            word &= ~(0xffu << (8 * i));
            word |= (uint32_t)*src++ << (8 * i);
        }
        *(volatile uint32_t *)word_addr = word;
        nvmc_wait();
    }
    NVMC_CONFIG = NVMC_CONFIG_REN;
    #else
    memcpy((void *)(ULML_FS_BASE + offset), src, len);
    #endif
}

typedef struct _qemu_flash_obj_t {
    mp_obj_base_t base;
} qemu_flash_obj_t;

static const mp_obj_type_t qemu_flash_type;
static const qemu_flash_obj_t qemu_flash_obj = {{&qemu_flash_type}};

static mp_obj_t qemu_flash_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 0, 0, false);
    return MP_OBJ_FROM_PTR(&qemu_flash_obj);
}

// (block, buf[, offset]) -> byte offset in the region, range-checked
static uint32_t qemu_flash_range(size_t n_args, const mp_obj_t *args, mp_buffer_info_t *bufinfo, mp_uint_t flags) {
    mp_get_buffer_raise(args[2], bufinfo, flags);
    mp_int_t block = mp_obj_get_int(args[1]);
    mp_int_t offset = n_args == 4 ? mp_obj_get_int(args[3]) : 0;
    if (block < 0 || offset < 0 || (uint64_t)block * ULML_FS_BLOCK + offset + bufinfo->len > ULML_FS_SIZE) {
        mp_raise_ValueError(MP_ERROR_TEXT("block out of range"));
    }
    return (uint32_t)(block * ULML_FS_BLOCK + offset);
}

static mp_obj_t qemu_flash_readblocks(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t bufinfo;
    uint32_t offset = qemu_flash_range(n_args, args, &bufinfo, MP_BUFFER_WRITE);
    memcpy(bufinfo.buf, (const void *)(ULML_FS_BASE + offset), bufinfo.len);
    return MP_OBJ_NEW_SMALL_INT(0);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(qemu_flash_readblocks_obj, 3, 4, qemu_flash_readblocks);

// writeblocks(block, buf): erase then program whole blocks (simple protocol, e.g. FAT);
// writeblocks(block, buf, offset): program only (littlefs erases with ioctl 6 first).
static mp_obj_t qemu_flash_writeblocks(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t bufinfo;
    uint32_t offset = qemu_flash_range(n_args, args, &bufinfo, MP_BUFFER_READ);
    if (n_args == 3) {
        storage_erase(offset, (bufinfo.len + ULML_FS_BLOCK - 1) / ULML_FS_BLOCK * ULML_FS_BLOCK);
    }
    storage_program(offset, bufinfo.buf, bufinfo.len);
    return MP_OBJ_NEW_SMALL_INT(0);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(qemu_flash_writeblocks_obj, 3, 4, qemu_flash_writeblocks);

static mp_obj_t qemu_flash_ioctl(mp_obj_t self_in, mp_obj_t cmd_in, mp_obj_t arg_in) {
    switch (mp_obj_get_int(cmd_in)) {
        case MP_BLOCKDEV_IOCTL_INIT:
        case MP_BLOCKDEV_IOCTL_DEINIT:
        case MP_BLOCKDEV_IOCTL_SYNC:
            return MP_OBJ_NEW_SMALL_INT(0);
        case MP_BLOCKDEV_IOCTL_BLOCK_COUNT:
            return MP_OBJ_NEW_SMALL_INT(ULML_FS_SIZE / ULML_FS_BLOCK);
        case MP_BLOCKDEV_IOCTL_BLOCK_SIZE:
            return MP_OBJ_NEW_SMALL_INT(ULML_FS_BLOCK);
        case MP_BLOCKDEV_IOCTL_BLOCK_ERASE: {
            mp_int_t block = mp_obj_get_int(arg_in);
            if (block < 0 || block >= ULML_FS_SIZE / ULML_FS_BLOCK) {
                return MP_OBJ_NEW_SMALL_INT(-MP_EINVAL);
            }
            storage_erase(block * ULML_FS_BLOCK, ULML_FS_BLOCK);
            return MP_OBJ_NEW_SMALL_INT(0);
        }
        default:
            return mp_const_none;
    }
}
static MP_DEFINE_CONST_FUN_OBJ_3(qemu_flash_ioctl_obj, qemu_flash_ioctl);

static const mp_rom_map_elem_t qemu_flash_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR_readblocks), MP_ROM_PTR(&qemu_flash_readblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_writeblocks), MP_ROM_PTR(&qemu_flash_writeblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_ioctl), MP_ROM_PTR(&qemu_flash_ioctl_obj) },
};
static MP_DEFINE_CONST_DICT(qemu_flash_locals_dict, qemu_flash_locals_dict_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    qemu_flash_type,
    MP_QSTR_Flash,
    MP_TYPE_FLAG_NONE,
    make_new, qemu_flash_make_new,
    locals_dict, &qemu_flash_locals_dict
    );

static const mp_rom_map_elem_t qemu_flash_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_qemu_flash) },
    { MP_ROM_QSTR(MP_QSTR_Flash), MP_ROM_PTR(&qemu_flash_type) },
    { MP_ROM_QSTR(MP_QSTR_BASE), MP_ROM_INT(ULML_FS_BASE) },
    { MP_ROM_QSTR(MP_QSTR_SIZE), MP_ROM_INT(ULML_FS_SIZE) },
};
static MP_DEFINE_CONST_DICT(qemu_flash_module_globals, qemu_flash_module_globals_table);

const mp_obj_module_t qemu_flash_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&qemu_flash_module_globals,
};
MP_REGISTER_MODULE(MP_QSTR_qemu_flash, qemu_flash_module);

// vfs_lfs.c stamps files with mp_hal_time_ns() when mounted with mtime=True (the default);
// the qemu port has no clock. Files are mounted below with mtime=False; this only links.
uint64_t mp_hal_time_ns(void) {
    return 0;
}

static mp_obj_t qemu_flash_vfs(mp_obj_t bdev) {
    // VfsLfs2(bdev, mtime=False); raises OSError if the region holds no filesystem
    mp_obj_t args[3] = { bdev, MP_OBJ_NEW_QSTR(MP_QSTR_mtime), mp_const_false };
    return mp_call_function_n_kw(MP_OBJ_FROM_PTR(&mp_type_vfs_lfs2), 1, 1, args);
}

static const MP_DEFINE_STR_OBJ(qemu_flash_lib_path, "/lib");

static void qemu_flash_mount(void) {
    mp_obj_t bdev = MP_OBJ_FROM_PTR(&qemu_flash_obj);
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t fs;
        nlr_buf_t nlr2;
        if (nlr_push(&nlr2) == 0) {
            fs = qemu_flash_vfs(bdev);
            nlr_pop();
        } else {
            // Empty or corrupt: format (as rp2's _boot.py does), then mount.
            mp_obj_t mkfs = mp_load_attr(MP_OBJ_FROM_PTR(&mp_type_vfs_lfs2), MP_QSTR_mkfs);
            mp_call_function_1(mkfs, bdev);
            fs = qemu_flash_vfs(bdev);
        }
        mp_obj_t args[2] = { fs, MP_OBJ_NEW_QSTR(MP_QSTR__slash_) };
        mp_vfs_mount(2, args, (mp_map_t *)&mp_const_empty_map);
        mp_vfs_chdir(MP_OBJ_NEW_QSTR(MP_QSTR__slash_));
        // sys.path as on rp2: ['', '.frozen', '/lib'] (a ROM string: "/lib" is no built-in qstr)
        mp_obj_list_append(mp_sys_path, MP_OBJ_FROM_PTR(&qemu_flash_lib_path));
        nlr_pop();
    } else {
        mp_printf(&mp_plat_print, "qemu_flash: no filesystem mounted: ");
        mp_obj_print_exception(&mp_plat_print, MP_OBJ_FROM_PTR(nlr.ret_val));
    }
}

void __real_mp_init(void);
void __wrap_mp_init(void);

void __wrap_mp_init(void) {
    __real_mp_init();
    qemu_flash_mount();
}
