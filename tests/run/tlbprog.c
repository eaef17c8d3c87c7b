/* For --exact-tlb tests: no libc, no stack use. PASSES passes over PAGES pages of bss,
   one byte per page: `+= 1` (a load then a store) or, with -DSTORE_ONLY, `= pass` (a
   store only). Then exit(0) by a system call. */
#ifndef PAGES
#define PAGES 8
#endif
#ifndef PASSES
#define PASSES 100
#endif
static volatile char buf[PAGES * 4096] __attribute__((aligned(4096)));

void _start(void) {
  for (int pass = 0; pass < PASSES; pass++)
    for (int i = 0; i < PAGES; i++) {
#ifdef STORE_ONLY
      buf[i * 4096] = (char)pass;
#else
      buf[i * 4096] += 1;
#endif
    }
  __asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
  __builtin_unreachable();
}
