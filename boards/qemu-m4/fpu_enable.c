// qemu-m4: enable the Cortex-M4F FPU before any floating-point instruction runs.
// Linked with -Wl,--wrap=uart_init: _start (ports/qemu/mcu/arm/startup.c) calls uart_init
// first thing after setting up .data/.bss, so this runs before MicroPython starts.

#include <stdint.h>

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88)

void __real_uart_init(void);
void __wrap_uart_init(void);

void __wrap_uart_init(void) {
    // Full access to coprocessors CP10 and CP11 (the FPU): CPACR bits 20-23.
    SCB_CPACR |= 0xFu << 20;
    __asm volatile ("dsb\n isb" ::: "memory");
    __real_uart_init();
}
