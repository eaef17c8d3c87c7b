// C++ on vmsim: new/delete in a loop, nothrow, bad_alloc caught, containers.
#include <iostream>
#include <new>
#include <string>
#include <vector>

struct Node { long v[8]; Node *next; };

int main() {
  Node *head = nullptr;
  for (int i = 0; i < 20000; i++) { Node *n = new Node(); n->v[0] = i; n->next = head; head = n; }
  long s = 0;
  while (head) { Node *n = head; head = n->next; s += n->v[0]; delete n; }
  std::cout << "sum " << s << std::endl;
  int *q = new (std::nothrow) int[1000];
  std::cout << "nothrow " << (q != nullptr) << std::endl;
  delete[] q;
  try {
    char *huge = new char[(size_t)1 << 46];
    std::cout << "no bad_alloc " << (void *)huge << std::endl;
  } catch (const std::bad_alloc &) {
    std::cout << "caught bad_alloc" << std::endl;
  }
  std::vector<std::string> v;
  for (int i = 0; i < 1000; i++) v.push_back(std::to_string(i));
  std::cout << v[999] << std::endl;
  return 0;
}
