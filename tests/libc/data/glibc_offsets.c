/* Run allocation sequences through this machine's glibc; print each result's offset
   from the heap's start (the initial sbrk(0)).

   stdin: one sequence per line, ops separated by spaces:
     mS:N      slot S = malloc(N)             cS:K:N   slot S = calloc(K, N)
     rS:N      slot S = realloc(slot S, N)    fS       free(slot S)
     aS:A:N    slot S = memalign(A, N)        t        malloc_trim(0)
     i         mallinfo2(): "i" and its arena, ordblks, smblks, hblks, hblkhd,
               fsmblks, uordblks, fordblks, keepcost in hex, comma-separated
   and, to corrupt the heap as a buggy program would (O is a signed byte offset):
     wS:O:V    store the 8-byte value V at slot S + O
     gS:O      free(slot S + O)               xS:O:N   slot S = realloc(slot S + O, N)
   stdout: one line per sequence: the offset (hex) of every pointer returned, "N" for
   NULL, "M" for a pointer outside the brk heap (an mmapped chunk), "t0"/"t1" for
   malloc_trim; or, when glibc aborts, its message (the child's stderr is stdout);
   "SIGNAL" if the child died of another signal. Each sequence runs in a fresh forked
   child; nothing here allocates (no stdio), so the heap holds only what the
   sequence asked for. Run with LIBC_FATAL_STDERR_=1 so messages go to stderr, and
   under `setarch -R` to have the same addresses every time (`glibc_offsets base`
   prints where the heap starts). */
#include <malloc.h>
#include <signal.h>
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

static long snum(const char **p) {
  if (**p == '-') { (*p)++; return -(long)num(p); }
  return (long)num(p);
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
    unsigned long s = (op == 't' || op == 'i') ? 0 : num(&p), a, n;
    long o;
    switch (op) {
      case 'm': slot[s] = malloc(num(&p)); result(base, slot[s]); break;
      case 'c': a = num(&p); n = num(&p); slot[s] = calloc(a, n); result(base, slot[s]); break;
      case 'r': slot[s] = realloc(slot[s], num(&p)); result(base, slot[s]); break;
      case 'f': free(slot[s]); break;
      case 'a': a = num(&p); n = num(&p); slot[s] = memalign(a, n); result(base, slot[s]); break;
      case 'w': o = snum(&p); a = num(&p); memcpy((char *)slot[s] + o, &a, 8); break;
      case 'g': free((char *)slot[s] + snum(&p)); break;
      case 'x': o = snum(&p); slot[s] = realloc((char *)slot[s] + o, num(&p)); result(base, slot[s]); break;
      case 'i': {
        struct mallinfo2 m = mallinfo2();
        size_t v[9] = {m.arena, m.ordblks, m.smblks, m.hblks, m.hblkhd,
                       m.fsmblks, m.uordblks, m.fordblks, m.keepcost};
        if (outlen) out[outlen++] = ' ';
        out[outlen++] = 'i';
        for (int j = 0; j < 9; j++) { if (j) out[outlen++] = ','; puthex(v[j]); }
        break;
      }
      case 't': if (outlen) out[outlen++] = ' '; put(malloc_trim(0) ? "t1" : "t0"); break;
    }
    while (*p == ' ') p++;
  }
  out[outlen++] = '\n';
  write(1, out, outlen);
}

int main(int argc, char **argv) {
  size_t len = 0; ssize_t k;
  if (argc > 1 && strcmp(argv[1], "base") == 0) {  /* where the heap starts */
    puthex((unsigned long)sbrk(0));
    out[outlen++] = '\n';
    write(1, out, outlen);
    return 0;
  }
  while ((k = read(0, in + len, sizeof in - 1 - len)) > 0) len += (size_t)k;
  in[len] = 0;
  for (char *line = in; *line; ) {
    char *next = strchr(line, '\n');
    int status = 0;
    pid_t pid = fork();
    if (pid == 0) { dup2(1, 2); run(line); _exit(0); }
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGABRT) write(1, "SIGNAL\n", 7);
    if (!next) break;
    line = next + 1;
  }
  return 0;
}
