#include "debug/symbolize.hpp"

#include <cxxabi.h>
#include <elfutils/libdwfl.h>
#include <unistd.h>
#include <unwind.h>

#include <cstdlib>

namespace goro::debug {

namespace {

struct walk {
  uintptr_t* pcs;
  int max;
  int n = 0;
  bool from_signal;
};

_Unwind_Reason_Code on_frame(_Unwind_Context* ctx, void* arg) {
  auto* w = static_cast<walk*>(arg);
  int before_insn = 0;  // 1: a signal frame, the pc is the interrupted instruction
  const uintptr_t pc = _Unwind_GetIPInfo(ctx, &before_insn);
  if (pc == 0) return _URC_END_OF_STACK;
  // The frames so far are the signal handler's own (capture, handler,
  // trampoline): start again at the interrupted one.
  if (w->from_signal && before_insn) w->n = 0;
  if (w->n >= w->max) return _URC_END_OF_STACK;
  w->pcs[w->n++] = pc;
  return _URC_NO_REASON;
}

}  // namespace

// libgcc's unwinder (the one C++ exceptions use). Not libunwind: linking
// libunwind.so.8 interposes its _Unwind_* over libgcc's for the whole
// process, and its unwinder masks signals (two sigprocmask calls) per frame
// of every exception thrown, which made connection errors several times
// slower. With glibc >= 2.35 libgcc finds unwind tables with
// _dl_find_object, which takes no lock, so this is safe in a signal handler.
[[gnu::noinline]] int capture_stack(uintptr_t* pcs, int max) noexcept {
  if (max <= 0) return 0;
  walk w{pcs, max, 0, false};
  _Unwind_Backtrace(on_frame, &w);
  return w.n;
}

[[gnu::noinline]] int capture_signal_stack(uintptr_t* pcs, int max) noexcept {
  if (max <= 0) return 0;
  walk w{pcs, max, 0, true};
  _Unwind_Backtrace(on_frame, &w);
  return w.n;
}

std::string demangle(const char* name) {
  if (name == nullptr) return {};
  int status = 0;
  char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (status != 0 || d == nullptr) return name;
  std::string out = d;
  std::free(d);
  return out;
}

struct symbolizer::impl {
  Dwfl* dwfl = nullptr;
  Dwfl_Callbacks callbacks{};
};

symbolizer::symbolizer() : impl_(std::make_unique<impl>()) {
  static char* debuginfo_path = nullptr;
  impl_->callbacks.find_elf = dwfl_linux_proc_find_elf;
  impl_->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
  impl_->callbacks.debuginfo_path = &debuginfo_path;
  impl_->dwfl = dwfl_begin(&impl_->callbacks);
  if (impl_->dwfl == nullptr) return;
  if (dwfl_linux_proc_report(impl_->dwfl, getpid()) != 0 ||
      dwfl_report_end(impl_->dwfl, nullptr, nullptr) != 0) {
    dwfl_end(impl_->dwfl);
    impl_->dwfl = nullptr;
  }
}

symbolizer::~symbolizer() {
  if (impl_->dwfl) dwfl_end(impl_->dwfl);
}

symbol symbolizer::lookup(uintptr_t pc) {
  symbol s;
  if (impl_->dwfl == nullptr) return s;
  Dwfl_Module* m = dwfl_addrmodule(impl_->dwfl, pc);
  if (m == nullptr) return s;
  Dwarf_Addr base = 0;
  const char* mod =
      dwfl_module_info(m, nullptr, &base, nullptr, nullptr, nullptr, nullptr, nullptr);
  if (mod) s.module = mod;
  s.module_offset = pc - base;
  if (const char* name = dwfl_module_addrname(m, pc)) s.function = demangle(name);
  if (Dwfl_Line* l = dwfl_module_getsrc(m, pc)) {
    int line = 0;
    if (const char* file = dwfl_lineinfo(l, nullptr, &line, nullptr, nullptr, nullptr)) {
      s.file = file;
      s.line = line;
    }
  }
  return s;
}

}  // namespace goro::debug
