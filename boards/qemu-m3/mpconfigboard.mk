# qemu-m3: QEMU's `mps2-an385` (Cortex-M3, ARMv7-M, no FPU). Soft-float firmware; the native
# module it loads is ulab_ml_armv7m.mpy (the firmware's native arch is armv7em without FPU,
# which accepts armv6m and armv7m modules). Built by scripts/build_qemu_boards.sh.
QEMU_ARCH = arm
QEMU_MACHINE = mps2-an385

CFLAGS += -mthumb -mcpu=cortex-m3 -mfloat-abi=soft
CFLAGS += -DQEMU_SOC_MPS2
CFLAGS += -DMICROPY_HW_MCU_NAME='"Cortex-M3"'

# mcu/arm/mps2.ld plus a rule for libgcc's unwind table (boards/qemu-common/qemu_mps2.ld).
LDSCRIPT = boards/$(BOARD)/qemu_mps2.ld

SRC_BOARD_O = shared/runtime/gchelper_native.o shared/runtime/gchelper_thumb2.o

# GC heap: an STM32F405 (pyboard) class heap of about 100 KB (see README.md).
MICROPY_HEAP_SIZE = 104448

MPY_CROSS_FLAGS += -march=armv7m

# Filesystem: littlefs v2 mounted at / at every (soft) reset (boards/qemu-common/qemu_flash.c,
# copied in by scripts/build_qemu_boards.sh; linked in by wrapping mp_init). Its storage:
# 2 MB of the MPS2's second SSRAM bank (0x20000000; the firmware runs from the first, at 0).
# Keep in step with board.json (fs_addr, fs_size).
# The mounted filesystem holds 608 bytes of heap (the batch runner, qemu.py, unmounts it).
MICROPY_VFS_LFS2 = 1
SRC_C += $(BOARD_DIR)/qemu_flash.c
CFLAGS += -DULML_FS_BASE=0x20000000 -DULML_FS_SIZE=0x200000
LDFLAGS += -Wl,--wrap=mp_init
