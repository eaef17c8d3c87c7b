/* Small programs for `vmsim run` tests; argv[1] picks one. */
#define _GNU_SOURCE
#include <errno.h>
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

#include <setjmp.h>
#include <sys/auxv.h>

static void *thread_main(void *arg) { return arg; }

static volatile sig_atomic_t caught;
static volatile sig_atomic_t chld, chld_code, chld_status, chld_pid, usr;

static void on_usr(int signo) { usr += signo == SIGUSR1; }

/* sigaction(signo) with handler h: an sa_sigaction if flags has SA_SIGINFO; all signals
   blocked while it runs if block_all. */
static void install(int signo, void *h, int flags, int block_all) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  if (flags & SA_SIGINFO)
    sa.sa_sigaction = (void (*)(int, siginfo_t *, void *))h;
  else
    sa.sa_handler = (void (*)(int))h;
  sa.sa_flags = flags;
  if (block_all) sigfillset(&sa.sa_mask);
  sigaction(signo, &sa, NULL);
}

/* SA_RESTART if argv[2] is "restart". */
static int restart_flag(int argc, char **argv) {
  return argc > 2 && !strcmp(argv[2], "restart") ? SA_RESTART : 0;
}

static int rt_sig[16], rt_val[16], rt_code[16], nrt;

static void on_rt(int signo, siginfo_t *si, void *uc) {
  (void)uc;
  if (nrt < 16) {
    rt_sig[nrt] = signo;
    rt_val[nrt] = si->si_code == SI_QUEUE ? si->si_value.sival_int : 0;
    rt_code[nrt++] = si->si_code;
  }
}

static void on_chld(int signo, siginfo_t *si, void *uc) {
  (void)uc;
  chld += signo == SIGCHLD;
  chld_code = si->si_code;
  chld_status = si->si_status;
  chld_pid = si->si_pid;
}
static char *page;
static int seen_code, seen_addr_ok;
static sigjmp_buf env;

static void on_segv(int signo, siginfo_t *si, void *uc) {
  (void)uc;
  caught++;
  seen_code = si->si_code;
  seen_addr_ok = si->si_addr == page && signo == SIGSEGV;
  mprotect(page, 4096, PROT_READ | PROT_WRITE); /* the store is retried and succeeds */
}

static void on_usr1(int signo) { caught += 10 * (signo == SIGUSR1); }

static void on_segv_jump(int signo) { (void)signo; siglongjmp(env, 1); }

static volatile sig_atomic_t usr1, usr1_nested;
static void on_usr1_again(int signo) { /* raises itself again: held back until it returns */
  (void)signo;
  if (usr1++ == 0) {
    raise(SIGUSR1);
    usr1_nested = usr1;
  }
}

static int bus_code;
static void *bus_addr;
static void on_bus(int signo, siginfo_t *si, void *uc) {
  (void)uc;
  bus_code = signo == SIGBUS ? si->si_code : -1;
  bus_addr = si->si_addr;
  siglongjmp(env, 1);
}

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
  if (!strcmp(mode, "catch")) { /* a SIGSEGV handler fixes the protection; SIGUSR1 */
    page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    signal(SIGUSR1, on_usr1);
    volatile double d = 1.5;
    page[0] = 42;
    raise(SIGUSR1);
    for (int i = 0; i < 10; i++) d *= 2;
    printf("caught %d, page %d, si_code %d, si_addr ok %d, d %.1f\n", caught, page[0], seen_code,
           seen_addr_ok, d);
    return 0;
  }
  if (!strcmp(mode, "jump")) { /* siglongjmp out of a SIGSEGV handler, twice */
    signal(SIGSEGV, on_segv_jump);
    int recovered = 0;
    for (int i = 0; i < 2; i++) {
      if (sigsetjmp(env, 1) == 0) {
        volatile int *p = (int *)16;
        recovered -= *p;
      } else {
        recovered++;
      }
    }
    printf("recovered %d\n", recovered);
    return 0;
  }
  if (!strcmp(mode, "exec")) { /* fork, the child execs this program's hello */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      char *args[] = {argv[0], "hello", "again", NULL};
      execv(argv[0], args);
      perror("execv");
      _exit(99);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("child exited %d\n", WEXITSTATUS(st));
    if (execl("/nonexistent/program", "x", (char *)NULL) < 0) perror("execl");
    return 0;
  }
  if (!strcmp(mode, "pipe")) { /* the child writes 200 KiB into a pipe (64 KiB buffer) */
    int fds[2];
    pipe(fds);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      static char chunk[1000];
      memset(chunk, 'z', sizeof chunk);
      for (int i = 0; i < 200; i++) write(fds[1], chunk, sizeof chunk);
      _exit(0);
    }
    close(fds[1]);
    char buf[4096];
    long total = 0, zs = 0, k;
    while ((k = read(fds[0], buf, sizeof buf)) > 0) {
      total += k;
      for (long i = 0; i < k; i++) zs += buf[i] == 'z';
    }
    int st;
    waitpid(pid, &st, 0);
    printf("read %ld bytes, %ld z, child %d\n", total, zs, WEXITSTATUS(st));
    return 0;
  }
  if (!strcmp(mode, "env")) { /* the environment and the auxiliary vector */
    const char *v = getenv("GREETING");
    printf("GREETING=%s argv[2]=%s\n", v ? v : "(unset)", argc > 2 ? argv[2] : "-");
    printf("pagesz %lu phnum %lu phent %lu uid ok %d entry set %d random set %d\n",
           getauxval(AT_PAGESZ), getauxval(AT_PHNUM), getauxval(AT_PHENT),
           getauxval(AT_UID) == getuid(), getauxval(AT_ENTRY) != 0, getauxval(AT_RANDOM) != 0);
    return 0;
  }
  if (!strcmp(mode, "spin")) { /* two processes compute without a system call */
    fflush(stdout);
    pid_t pid = fork();
    volatile unsigned long x = 0;
    for (long i = 0; i < 2000000; i++) x += i;
    if (pid == 0) { printf("child %lu\n", x); exit(0); }
    waitpid(pid, NULL, 0);
    printf("parent %lu\n", x);
    return 0;
  }
  if (!strcmp(mode, "pipeout")) { /* write lines until the reader goes away */
    for (long i = 0; i < 10000000; i++) {
      printf("line %ld\n", i);
      fflush(stdout);
    }
    return 0;
  }
  if (!strcmp(mode, "rtqueue")) { /* real-time signals queue, with their values, in order */
    /* all blocked in the handler: one at a time, so the order of delivery shows */
    install(SIGRTMIN, on_rt, SA_SIGINFO, 1);
    install(SIGRTMIN + 1, on_rt, SA_SIGINFO, 1);
    install(SIGUSR1, on_rt, SA_SIGINFO, 1);
    sigset_t set;
    sigfillset(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
    union sigval v;
    for (int i = 1; i <= 3; i++) {
      v.sival_int = 10 * i;
      sigqueue(getpid(), SIGRTMIN + 1, v);
      v.sival_int = i;
      sigqueue(getpid(), SIGRTMIN, v);
    }
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1); /* a standard signal: once */
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    printf("delivered:");
    for (int i = 0; i < nrt; i++)
      printf(" %s/%d/%s", rt_sig[i] == SIGUSR1 ? "USR1" : rt_sig[i] == SIGRTMIN ? "RTMIN" : "RTMIN+1",
             rt_val[i], rt_code[i] == SI_QUEUE ? "queue" : rt_code[i] == SI_USER ? "user" : "?");
    printf("\n");
    return 0;
  }
  if (!strcmp(mode, "waitintr")) { /* a signal while waitpid waits for another child */
    install(SIGUSR1, on_usr, restart_flag(argc, argv), 0);
    int fd[2];
    if (pipe(fd)) return 1;
    pid_t slow = fork();
    if (slow == 0) { /* exits once the parent has been signalled */
      char b;
      read(fd[0], &b, 1);
      _exit(3);
    }
    pid_t c = fork();
    if (c == 0) {
      kill(getppid(), SIGUSR1);
      write(fd[1], "x", 1);
      _exit(0);
    }
    int st = 0;
    pid_t w = waitpid(slow, &st, 0);
    int e = errno;
    printf("waitpid %s, EINTR %d, handled %d", w == slow ? "slow" : w < 0 ? "-1" : "?",
           w < 0 && e == EINTR, usr);
    if (w < 0) w = waitpid(slow, &st, 0);
    printf(", then %s status %d\n", w == slow ? "slow" : "?", WEXITSTATUS(st));
    waitpid(c, NULL, 0);
    return 0;
  }
  if (!strcmp(mode, "nozombie")) { /* SIGCHLD ignored: children leave no zombie */
    signal(SIGCHLD, SIG_IGN);
    pid_t c = fork();
    if (c == 0) _exit(5);
    pid_t w = wait(NULL); /* waits for the child, then finds none: ECHILD */
    int e = errno;
    printf("wait %d, ECHILD %d, child gone %d\n", w, w < 0 && e == ECHILD,
           kill(c, 0) < 0 && errno == ESRCH);
    return 0;
  }
  if (!strcmp(mode, "sigsuspend")) { /* wait for a child's signal with the race closed */
    install(SIGUSR1, on_usr, 0, 0);
    sigset_t block, none, now;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &block, NULL);
    pid_t c = fork();
    if (c == 0) {
      kill(getppid(), SIGUSR1);
      _exit(0);
    }
    int r = sigsuspend(&none);
    int e = errno;
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("sigsuspend %d, EINTR %d, handled %d, SIGUSR1 blocked again %d\n", r, e == EINTR,
           usr, sigismember(&now, SIGUSR1));
    waitpid(c, NULL, 0);
    return 0;
  }
  if (!strcmp(mode, "eintr")) { /* a handler runs while read() waits on an empty pipe */
    install(SIGUSR1, on_usr, restart_flag(argc, argv), 0);
    int fd[2];
    if (pipe(fd)) return 1;
    pid_t c = fork();
    if (c == 0) {
      kill(getppid(), SIGUSR1);
      write(fd[1], "x", 1);
      _exit(0);
    }
    char b = 0;
    ssize_t r = read(fd[0], &b, 1);
    int e = errno;
    printf("read %zd, EINTR %d, handled %d", r, r < 0 && e == EINTR, usr);
    if (r < 0) r = read(fd[0], &b, 1);
    printf(", then %zd '%c'\n", r, b);
    waitpid(c, NULL, 0);
    return 0;
  }
  if (!strcmp(mode, "sigchld")) { /* SIGCHLD with siginfo: an exit, then a kill */
    install(SIGCHLD, on_chld, SA_SIGINFO, 0);
    int st;
    pid_t c = fork();
    if (c == 0) _exit(7);
    pid_t w = waitpid(c, &st, 0);
    printf("exit: handled %d, si_code %d, si_status %d, si_pid ok %d, waited ok %d, status %d\n",
           chld, chld_code, chld_status, chld_pid == c, w == c, WEXITSTATUS(st));
    c = fork();
    if (c == 0) {
      kill(getpid(), SIGTERM);
      pause();
    }
    waitpid(c, &st, 0);
    printf("kill: handled %d, si_code %d, si_status %d, signaled %d, signal %d\n", chld,
           chld_code, chld_status, WIFSIGNALED(st), WTERMSIG(st));
    signal(SIGCHLD, SIG_DFL); /* the default: ignored, nothing runs */
    c = fork();
    if (c == 0) _exit(0);
    waitpid(c, &st, 0);
    printf("default: handled %d\n", chld);
    return 0;
  }
  if (!strcmp(mode, "mask")) { /* sigprocmask holds signals pending; unblocking delivers */
    signal(SIGUSR1, on_usr1_again);
    sigset_t set, got;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    raise(SIGUSR1);
    raise(SIGUSR1); /* still one pending: standard signals do not queue */
    sigpending(&got);
    printf("blocked: handled %d, pending %d\n", usr1, sigismember(&got, SIGUSR1));
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    printf("unblocked: handled %d, inside the handler %d\n", usr1, usr1_nested);
    signal(SIGUSR2, SIG_IGN);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    raise(SIGUSR2);
    signal(SIGUSR2, SIG_IGN); /* setting SIG_IGN discards it */
    sigpending(&got);
    printf("ignored: pending %d\n", sigismember(&got, SIGUSR2));
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    kill(getpid(), SIGTERM);
    printf("SIGTERM pending, still running\n");
    fflush(stdout);
    sigprocmask(SIG_UNBLOCK, &set, NULL); /* delivered: the default action kills */
    printf("not reached\n");
    return 0;
  }
  if (!strcmp(mode, "catchbus")) { /* a SIGBUS handler: a page of a 1-byte file past EOF */
    int fd = open(argv[2], O_RDONLY);
    char *p = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, NULL);
    volatile char c = 0;
    if (sigsetjmp(env, 1) == 0) c = p[4096];
    printf("first byte %c, SIGBUS si_code %d, si_addr ok %d, c %d\n", p[0], bus_code,
           bus_addr == p + 4096, c);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGBUS);
    sigprocmask(SIG_BLOCK, &set, NULL); /* a blocked fault signal kills */
    fflush(stdout);
    return p[4096 + 1];
  }
  if (!strcmp(mode, "mremap")) { /* grow in place, then move: the bytes move, untouched pages stay so */
    long ps = 4096;
    char *a = mmap(NULL, 65 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(a + 64 * ps, ps, PROT_NONE); /* a guard: no growing in place */
    for (int i = 0; i < 4; i++) a[i * 16 * ps] = (char)('a' + i);
    char *b = mremap(a, 64 * ps, 256 * ps, MREMAP_MAYMOVE);
    printf("moved %d, bytes %c%c%c%c, tail zero %d\n", b != a, b[0], b[16 * ps], b[32 * ps],
           b[48 * ps], b[200 * ps] == 0);
    errno = 0;
    int gone = msync(a, ps, MS_ASYNC) < 0 && errno == ENOMEM;
    char *c = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    c[0] = 'c';
    munmap(c + ps, 2 * ps);
    char *d = mremap(c, ps, 3 * ps, 0);
    d[2 * ps] = 'd';
    char *e = mremap(b, 256 * ps, 16 * ps, 0);
    printf("old range unmapped %d, in place %d %c%c, shrunk %d %c\n", gone, d == c, d[0],
           d[2 * ps], e == b, e[0]);
    errno = 0;
    char *g = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(g + ps, ps, PROT_NONE);
    void *f = mremap(g, ps, 2 * ps, 0);
    int enomem = f == MAP_FAILED && errno == ENOMEM;
    errno = 0;
    f = mremap(a, ps, 2 * ps, MREMAP_MAYMOVE);
    printf("no room without MAYMOVE %d, old range EFAULT %d\n", enomem,
           f == MAP_FAILED && errno == EFAULT);
    return 0;
  }
  if (!strcmp(mode, "ids")) { /* the getuid family, dup3 */
    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    gid_t groups[256];
    int n = getgroups(256, groups);
    int fd = dup3(1, 10, O_CLOEXEC);
    printf("uids %d, gids %d, groups %d %d, dup3 %d cloexec %d, same fd EINVAL %d\n",
           r == getuid() && e == geteuid() && s == r, gr == getgid() && ge == getegid(),
           n, n == getgroups(0, NULL), fd, fcntl(fd, F_GETFD) == FD_CLOEXEC,
           dup3(1, 1, 0) < 0 && errno == EINVAL);
    return 0;
  }
  if (!strcmp(mode, "stride")) { /* 20 passes, one load per page, over 2048 pages */
    size_t len = 8 << 20;
    unsigned char *p = malloc(len);
    for (size_t i = 0; i < len; i += 4096) p[i] = (unsigned char)(i >> 12);
    unsigned long sum = 0;
    for (int pass = 0; pass < 20; pass++)
      for (size_t i = 0; i < len; i += 4096) sum += p[i];
    printf("stride sum %lu\n", sum);
    return 0;
  }
  if (!strcmp(mode, "revisit")) { /* write 4096 pages, then argv[2] read passes over them */
    size_t len = 16 << 20;
    int passes = argc > 2 ? atoi(argv[2]) : 1;
    unsigned char *p = malloc(len);
    for (size_t i = 0; i < len; i += 4096) p[i] = (unsigned char)(i >> 12);
    unsigned long sum = 0;
    for (int pass = 0; pass < passes; pass++)
      for (size_t i = 0; i < len; i += 4096) sum += p[i];
    printf("revisit sum %lu\n", sum);
    return 0;
  }
  if (!strcmp(mode, "recode")) { /* run code, then read() new code over it and run that */
    unsigned char *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    static const unsigned char one[] = {0xb8, 1, 0, 0, 0, 0xc3}, two[] = {0xb8, 2, 0, 0, 0, 0xc3};
    memcpy(code, one, sizeof one);
    int a = ((int (*)(void))code)();
    int fds[2];
    pipe(fds);
    write(fds[1], two, sizeof two);
    read(fds[0], code, sizeof two);
    int b = ((int (*)(void))code)();
    printf("recode %d %d\n", a, b);
    return 0;
  }
  if (!strcmp(mode, "thread")) {
    pthread_t t;
    pthread_create(&t, NULL, thread_main, NULL);
    pthread_join(t, NULL);
    return 0;
  }
  return 64;
}
