#pragma once
// Native stacks: capture with libgcc's unwinder (safe in a signal handler) and
// symbolize with libdw from elfutils (function, source file and line from
// the DWARF line table; the ELF symbol table when there is no DWARF; only
// module+offset for a stripped binary). Used for the running task's stack
// in dumps and for CPU profiles.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace goro::debug {

/// Return addresses of the calling thread's stack, innermost first (this
/// function's own frame first), up to `max`; returns how many.
/// Async-signal-safe (libgcc's _Unwind_Backtrace, glibc >= 2.35).
int capture_stack(uintptr_t* pcs, int max) noexcept;

/// In a signal handler: the interrupted code's stack, innermost first,
/// starting at the interrupted instruction's address (not a return
/// address); the handler's own frames are left out. Without a signal frame
/// on the stack, the whole stack as capture_stack.
int capture_signal_stack(uintptr_t* pcs, int max) noexcept;

struct symbol {
  std::string function;  // demangled; empty when unknown
  std::string file;      // empty when no line information
  int line = 0;
  std::string module;  // the ELF file the address is in
  uintptr_t module_offset = 0;
};

/// Symbolizes addresses of this process. Not thread-safe; one per use.
class symbolizer {
 public:
  symbolizer();
  ~symbolizer();
  symbolizer(const symbolizer&) = delete;
  symbolizer& operator=(const symbolizer&) = delete;

  /// `pc` is looked up as is; pass a return address minus one to get the
  /// call's line.
  symbol lookup(uintptr_t pc);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Demangles a C++ symbol name; returns it unchanged when it is not one.
std::string demangle(const char* name);

}  // namespace goro::debug
