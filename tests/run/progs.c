/* Small programs for `vmsim run` tests; argv[1] picks one. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void *thread_main(void *arg) { return arg; }

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "hello";
  if (!strcmp(mode, "hello")) {
    printf("hello from %s with %d args\n", argv[0], argc);
    return 3;
  }
  if (!strcmp(mode, "touch")) { /* touch N MiB, one byte per page, then read it back */
    size_t n = (size_t)atoi(argv[2]) << 20;
    unsigned char *p = malloc(n);
    if (!p) { printf("malloc failed\n"); return 1; }
    for (size_t i = 0; i < n; i += 4096) p[i] = (unsigned char)(i >> 12);
    unsigned long sum = 0;
    for (size_t i = 0; i < n; i += 4096) sum += p[i];
    printf("touched %s MiB, sum %lu\n", argv[2], sum);
    return 0;
  }
  if (!strcmp(mode, "fork")) { /* the child writes half of a 1 MiB buffer: copy-on-write */
    size_t n = 1 << 20;
    char *buf = malloc(n);
    for (size_t i = 0; i < n; i += 4096) buf[i] = 1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      for (size_t i = 0; i < n / 2; i += 4096) buf[i] = 2;
      printf("child sees %d\n", buf[0]);
      exit(7);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("parent sees %d, child %d exited %d\n", buf[0], pid == getpid() + 1, WEXITSTATUS(st));
    return 0;
  }
  if (!strcmp(mode, "segv")) { volatile int *p = (int *)16; return *p; }
  if (!strcmp(mode, "abort")) { abort(); }
  if (!strcmp(mode, "bus")) { /* a mapping of a 1-byte file touched on its second page */
    int fd = open(argv[2], O_RDONLY);
    char *p = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 0);
    printf("first byte %c\n", p[0]);
    fflush(stdout);
    return p[4096];
  }
  if (!strcmp(mode, "enosys")) {
    long a = syscall(SYS_sysinfo, 0), b = syscall(SYS_sysinfo, 0);
    printf("sysinfo %ld %ld\n", a, b);
    return 0;
  }
  if (!strcmp(mode, "write")) { /* create argv[2]; report errno */
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { perror("open"); return 2; }
    write(fd, "written\n", 8);
    close(fd);
    printf("wrote %s\n", argv[2]);
    return 0;
  }
  if (!strcmp(mode, "cat")) { /* read a file through stdio */
    FILE *f = fopen(argv[2], "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) fputs(line, stdout);
    return f ? 0 : 1;
  }
  if (!strcmp(mode, "thread")) {
    pthread_t t;
    pthread_create(&t, NULL, thread_main, NULL);
    pthread_join(t, NULL);
    return 0;
  }
  return 64;
}
