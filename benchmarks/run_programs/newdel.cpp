// new/delete heavy: n thousand 72-byte nodes allocated, then freed.
#include <cstdlib>
#include <iostream>
struct Node { long v[8]; Node *next; };
int main(int argc, char **argv) {
  long n = (argc > 1 ? std::atol(argv[1]) : 100) * 1000;
  Node *head = nullptr;
  for (long i = 0; i < n; i++) { Node *x = new Node(); x->v[0] = i; x->next = head; head = x; }
  long s = 0;
  while (head) { Node *x = head; head = x->next; s += x->v[0]; delete x; }
  std::cout << s << std::endl;
  return 0;
}
