/* For --exact-tlb tests: no libc. Two bss pages A and B are stored to, then one 8-byte
   load at buf + OFFSET: inside B (4096) or across the A/B boundary (4092). */
#ifndef OFFSET
#define OFFSET 4096
#endif
static volatile char buf[2 * 4096] __attribute__((aligned(4096)));

void _start(void) {
  buf[0] = 1;
  buf[4096] = 1;
  volatile unsigned long v = *(volatile unsigned long *)(buf + OFFSET);
  (void)v;
  __asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
  __builtin_unreachable();
}
