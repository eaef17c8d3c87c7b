// A small C++ program to run on vmsim:  g++ -O1 -o nodes examples/nodes.cpp
//                                       vmsim run -- ./nodes 100000
// Every `new` goes to malloc, malloc asks vmsim's kernel for memory with brk and
// mmap, and the first store to each new page is a page fault vmsim's kernel handles.
#include <cstdlib>
#include <iostream>
#include <memory>
#include <new>
#include <vector>

struct Node {
  long value;
  char payload[248];  // 256 bytes per node: 16 nodes per 4 KiB page
};

int main(int argc, char **argv) {
  long n = argc > 1 ? std::atol(argv[1]) : 100000;
  std::vector<std::unique_ptr<Node>> nodes;
  for (long i = 0; i < n; i++) nodes.push_back(std::make_unique<Node>(Node{i, {}}));
  long sum = 0;
  for (const auto &node : nodes) sum += node->value;
  std::cout << n << " nodes of " << sizeof(Node) << " bytes, sum " << sum << "\n";
  try {
    auto huge = std::make_unique<char[]>(std::size_t{1} << 46);  // 64 TiB: refused
    std::cout << "allocated 64 TiB?\n";
  } catch (const std::bad_alloc &) {
    std::cout << "64 TiB: std::bad_alloc\n";
  }
  return 0;
}
