#include "debug/symbolize.hpp"

#define UNW_LOCAL_ONLY
#include <cxxabi.h>
#include <elfutils/libdwfl.h>
#include <libunwind.h>
#include <unistd.h>

#include <cstdlib>

namespace goro::debug {

int capture_stack(uintptr_t* pcs, int max) noexcept {
  static_assert(sizeof(uintptr_t) == sizeof(void*));
  return unw_backtrace(reinterpret_cast<void**>(pcs), max);
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
