#include "rankpool/runtime/interrupts.hpp"

#include <csignal>

namespace rankpool::runtime {
namespace {
std::atomic<int> g_interrupt{0};
extern "C" void on_interrupt(int sig) { g_interrupt.store(sig); }
}  // namespace

const std::atomic<int>* catch_interrupts() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return &g_interrupt;
}

}  // namespace rankpool::runtime
