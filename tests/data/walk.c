/* A small program with page-level structure: a matrix walked by rows and by
   columns, a linked list chased in shuffled order, and a qsort. */
#include <stdio.h>
#include <stdlib.h>

#define N 256
static double m[N][N];           /* 512 KiB: 128 pages */

struct node { struct node *next; long pad[7]; };

static int cmp(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

int main(void) {
    double s = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j += 4) m[i][j] = i + j;
    for (int j = 0; j < N; j += 16)
        for (int i = 0; i < N; i++) s += m[i][j];
    int n = 4096;
    struct node *nodes = malloc(sizeof(struct node) * n);
    int *perm = malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++) perm[i] = i;
    srand(7);
    for (int i = n - 1; i > 0; i--) { int k = rand() % (i + 1); int t = perm[i]; perm[i] = perm[k]; perm[k] = t; }
    for (int i = 0; i < n - 1; i++) nodes[perm[i]].next = &nodes[perm[i + 1]];
    nodes[perm[n - 1]].next = NULL;
    long hops = 0;
    for (int r = 0; r < 2; r++)
        for (struct node *p = &nodes[perm[0]]; p; p = p->next) hops++;
    long *a = malloc(sizeof(long) * 2048);
    for (int i = 0; i < 2048; i++) a[i] = (i * 7919L) % 2039;
    qsort(a, 2048, sizeof(long), cmp);
    printf("%.0f %ld %ld\n", s, hops, a[100]);
    return 0;
}
