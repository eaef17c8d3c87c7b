#include <immintrin.h>
#include <stdio.h>
int main(int argc, char **argv) {
  __m256d a = _mm256_set1_pd((double)argc), b = _mm256_add_pd(a, a);
  double out[4];
  _mm256_storeu_pd(out, b);
  printf("%f\n", out[0]);
  return 0;
}
