# qemu-m0: an RP2040 stand-in. QEMU's `microbit` machine is an nRF51 with a real Cortex-M0
# (ARMv6-M), so the firmware and the armv6m native module run on the same instruction set as
# an RP2040's Cortex-M0+. Built by scripts/build_qemu_boards.sh from a copy of ports/qemu.
QEMU_ARCH = arm
QEMU_MACHINE = microbit
# SRAM and flash raised from the nRF51's 16 KB / 256 KB to the RP2040's 264 KB SRAM and a
# 16 MB flash (the RP2040 maximum: firmware, then the ROMFS image qemu.py loads at 0x100000).
# Keep in step with board.json (qemu.py starts QEMU with the arguments given there).
QEMU_ARGS += -global nrf51-soc.sram-size=270336 -global nrf51-soc.flash-size=16777216

CFLAGS += -mthumb -mcpu=cortex-m0 -mfloat-abi=soft
CFLAGS += -DQEMU_SOC_NRF51
CFLAGS += -DMICROPY_HW_MCU_NAME='"Cortex-M0"'
# The port leaves the native emitter off on nRF51; without it the firmware cannot load native
# modules. Turn it on for ARMv6-M (Thumb-1) code only.
CFLAGS += -DMICROPY_EMIT_THUMB=1 -DMICROPY_EMIT_THUMB_ARMV7M=0
CFLAGS += -DMICROPY_EMIT_INLINE_THUMB=1 -DMICROPY_EMIT_INLINE_THUMB_FLOAT=0

LDSCRIPT = boards/QEMU_M0/qemu_m0.ld

SRC_BOARD_O = shared/runtime/gchelper_native.o shared/runtime/gchelper_thumb1.o

# GC heap (a static array in .bss). Chosen so gc.mem_free() at boot is about 192 KB, the
# RP2040 figure this board stands in for (see README.md).
MICROPY_HEAP_SIZE = 201856

MPY_CROSS_FLAGS += -march=armv6m

# Filesystem: littlefs v2 mounted at / at every (soft) reset (boards/qemu-common/qemu_flash.c,
# copied in by scripts/build_qemu_boards.sh; linked in by wrapping mp_init). Its storage:
# the top 2 MB of the 16 MB flash (0xE00000, NOR written through the nRF51 NVMC; the
# ROMFS image area of board.json ends below it). Keep in step with board.json (fs_addr, fs_size).
# The mounted filesystem holds 608 bytes of heap (the batch runner, qemu.py, unmounts it).
MICROPY_VFS_LFS2 = 1
SRC_C += $(BOARD_DIR)/qemu_flash.c
CFLAGS += -DULML_FS_BASE=0xE00000 -DULML_FS_SIZE=0x200000 -DULML_FS_NRF51_NVMC=1
LDFLAGS += -Wl,--wrap=mp_init
