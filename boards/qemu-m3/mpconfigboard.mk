# qemu-m3: QEMU's `mps2-an385` (Cortex-M3, ARMv7-M, no FPU). Soft-float firmware; the native
# module it loads is ulab_ml_armv7m.mpy (the firmware's native arch is armv7em without FPU,
# which accepts armv6m and armv7m modules). Built by scripts/build_qemu_boards.sh.
QEMU_ARCH = arm
QEMU_MACHINE = mps2-an385

CFLAGS += -mthumb -mcpu=cortex-m3 -mfloat-abi=soft
CFLAGS += -DQEMU_SOC_MPS2
CFLAGS += -DMICROPY_HW_MCU_NAME='"Cortex-M3"'

LDSCRIPT = mcu/arm/mps2.ld

SRC_BOARD_O = shared/runtime/gchelper_native.o shared/runtime/gchelper_thumb2.o

# GC heap: an STM32F405 (pyboard) class heap of about 100 KB (see README.md).
MICROPY_HEAP_SIZE = 104448

MPY_CROSS_FLAGS += -march=armv7m
