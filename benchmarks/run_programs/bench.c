/* Programs for benchmarks/bench_run.py; argv[1] picks one. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "hello";
  long n = argc > 2 ? atol(argv[2]) : 0;
  if (!strcmp(mode, "hello")) { printf("hello\n"); return 0; }
  if (!strcmp(mode, "anon")) { /* touch n MiB of malloc'd memory, one store per page */
    size_t len = (size_t)n << 20;
    char *p = malloc(len);
    for (size_t i = 0; i < len; i += 4096) p[i] = 1;
    long s = 0;
    for (size_t i = 0; i < len; i += 4096) s += p[i];
    printf("%ld\n", s);
    return 0;
  }
  if (!strcmp(mode, "file")) { /* mmap a file read-only and read every page */
    int fd = open(argv[3], O_RDONLY);
    struct stat st;
    fstat(fd, &st);
    unsigned char *p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    long s = 0;
    for (off_t i = 0; i < st.st_size; i += 4096) s += p[i];
    printf("%ld\n", s);
    return 0;
  }
  if (!strcmp(mode, "read")) { /* read() a file through a 64 KiB buffer */
    int fd = open(argv[3], O_RDONLY);
    static char buf[65536];
    long s = 0, k;
    while ((k = read(fd, buf, sizeof buf)) > 0) s += buf[0] + k;
    printf("%ld\n", s);
    return 0;
  }
  if (!strcmp(mode, "fork")) { /* fork; the child rewrites half of an n MiB heap */
    size_t len = (size_t)n << 20;
    char *p = malloc(len);
    for (size_t i = 0; i < len; i += 4096) p[i] = 1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      for (size_t i = 0; i < len / 2; i += 4096) p[i] = 2;
      _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("%d\n", p[0]);
    return 0;
  }
  if (!strcmp(mode, "compute")) { /* n million iterations over 16 KiB: fits the TLB */
    static unsigned a[4096];
    unsigned x = 1;
    for (long i = 0; i < n * 1000000; i++) { x = x * 1103515245u + 12345u; a[x & 4095] += x; }
    printf("%u\n", a[7]);
    return 0;
  }
  if (!strcmp(mode, "stride")) { /* n million loads striding over 8 MiB: 2048 pages > 256 */
    size_t len = 8 << 20;
    unsigned char *p = calloc(len, 1);
    unsigned long s = 0, off = 0;
    for (long i = 0; i < n * 1000000; i++) { s += p[off]; off = (off + 4096 + 64) % len; }
    printf("%lu\n", s);
    return 0;
  }
  return 64;
}
