/* Run allocation sequences through this machine's glibc; print each result's offset
   from the heap's start (the initial sbrk(0)).

   stdin: one sequence per line, ops separated by spaces:
     mS:N      slot S = malloc(N)             cS:K:N   slot S = calloc(K, N)
     rS:N      slot S = realloc(slot S, N)    fS       free(slot S)
     aS:A:N    slot S = memalign(A, N)        t        malloc_trim(0)
   stdout: one line per sequence: the offset (hex) of every pointer returned, "N" for
   NULL, "M" for a pointer outside the brk heap (an mmapped chunk), "t0"/"t1" for malloc_trim. Each sequence runs in a fresh forked child; nothing
   here allocates (no stdio), so the heap holds only what the sequence asked for. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char in[1 << 23];
static char out[1 << 16];
static size_t outlen;
static void *slot[4096];

static void put(const char *s) { while (*s) out[outlen++] = *s++; }

static void puthex(unsigned long v) {
  char tmp[32]; int n = 0;
  do { tmp[n++] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
  while (n) out[outlen++] = tmp[--n];
}

static unsigned long num(const char **p) {
  unsigned long v = 0;
  while (**p >= '0' && **p <= '9') v = v * 10 + (unsigned long)(*(*p)++ - '0');
  if (**p == ':') (*p)++;
  return v;
}

static void result(char *base, void *p) {
  if (outlen) out[outlen++] = ' ';
  if (!p) put("N");
  else if ((char *)p < base || (char *)p >= (char *)sbrk(0)) put("M");
  else puthex((unsigned long)((char *)p - base));
}

static void run(const char *p) {
  char *base = sbrk(0);
  while (*p && *p != '\n') {
    char op = *p++;
    unsigned long s = (op == 't') ? 0 : num(&p), a, n;
    switch (op) {
      case 'm': slot[s] = malloc(num(&p)); result(base, slot[s]); break;
      case 'c': a = num(&p); n = num(&p); slot[s] = calloc(a, n); result(base, slot[s]); break;
      case 'r': slot[s] = realloc(slot[s], num(&p)); result(base, slot[s]); break;
      case 'f': free(slot[s]); slot[s] = 0; break;
      case 'a': a = num(&p); n = num(&p); slot[s] = memalign(a, n); result(base, slot[s]); break;
      case 't': if (outlen) out[outlen++] = ' '; put(malloc_trim(0) ? "t1" : "t0"); break;
    }
    while (*p == ' ') p++;
  }
  out[outlen++] = '\n';
  write(1, out, outlen);
}

int main(void) {
  size_t len = 0; ssize_t k;
  while ((k = read(0, in + len, sizeof in - 1 - len)) > 0) len += (size_t)k;
  in[len] = 0;
  for (char *line = in; *line; ) {
    char *next = strchr(line, '\n');
    pid_t pid = fork();
    if (pid == 0) { run(line); _exit(0); }
    waitpid(pid, 0, 0);
    if (!next) break;
    line = next + 1;
  }
  return 0;
}
