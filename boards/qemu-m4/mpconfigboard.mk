# qemu-m4: QEMU's `mps2-an386` (Cortex-M4F). Hard-float firmware (FPv4-SP), so its native
# arch is armv7emsp and it loads ulab_ml_armv7emsp.mpy. Built by scripts/build_qemu_boards.sh.
QEMU_ARCH = arm
QEMU_MACHINE = mps2-an386

CFLAGS += -mthumb -mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard
CFLAGS += -DQEMU_SOC_MPS2
CFLAGS += -DMICROPY_HW_MCU_NAME='"Cortex-M4F"'

# mcu/arm/mps2.ld plus a rule for libgcc's unwind table (boards/qemu-common/qemu_mps2.ld).
LDSCRIPT = boards/$(BOARD)/qemu_mps2.ld

SRC_BOARD_O = shared/runtime/gchelper_native.o shared/runtime/gchelper_thumb2.o

# ports/qemu's start-up never enables the FPU, and with hard-float code the first float
# instruction would then take a UsageFault. fpu_enable.c wraps uart_init (the first board
# initialisation _start calls, before MicroPython runs) to set CPACR first.
SRC_BOARD_O += boards/QEMU_M4/fpu_enable.o
LDFLAGS += -Wl,--wrap=uart_init

# GC heap: an STM32F746 (NUCLEO-F746ZG) class heap of about 160 KB (see README.md).
MICROPY_HEAP_SIZE = 168320

MPY_CROSS_FLAGS += -march=armv7emsp

# Filesystem: littlefs v2 mounted at / at every (soft) reset (boards/qemu-common/qemu_flash.c,
# copied in by scripts/build_qemu_boards.sh; linked in by wrapping mp_init). Its storage:
# 2 MB of the MPS2's second SSRAM bank (0x20000000; the firmware runs from the first, at 0).
# Keep in step with board.json (fs_addr, fs_size).
# The mounted filesystem holds 608 bytes of heap (the batch runner, qemu.py, unmounts it).
MICROPY_VFS_LFS2 = 1
SRC_C += $(BOARD_DIR)/qemu_flash.c
CFLAGS += -DULML_FS_BASE=0x20000000 -DULML_FS_SIZE=0x200000
LDFLAGS += -Wl,--wrap=mp_init
