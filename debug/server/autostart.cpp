// GORO_DEBUG_ADDR: the debug server started with the runtime in any goro
// program that links goro::debug_server (the goro::goro umbrella does).
// A static initializer fills in goro::run's start hook
// (sched/detail/run_start_hook.hpp); the linker keeps this object through
// the anchor below (debug/server/CMakeLists.txt asks for it).

#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include "core/env.hpp"
#include "core/fatal.hpp"
#include "core/settings.hpp"
#include "debug/server/server.hpp"
#include "net/error.hpp"
#include "sched/detail/run_start_hook.hpp"

namespace goro::debug {
namespace {

void start_from_environment() {
  std::optional<std::string> addr, token;
  try {
    addr = settings::text("GORO_DEBUG_ADDR");
    token = settings::text("GORO_DEBUG_TOKEN");
  } catch (const config_error& e) {
    die(e.what(), 2);
  }
  if (!addr) return;
  server_options o;
  o.address = *addr;
  o.token = token.value_or("");
  try {
    server_handle h = serve(o);  // dropped: it serves until the run ends
    std::fprintf(stderr, "goro: debug server on http://%s/debug/pprof/ (%s)\n", h.address().c_str(),
                 o.token.empty() ? "no token: loopback only" : "bearer token required");
  } catch (const std::invalid_argument& e) {
    // serve()'s messages name the address and what is accepted; say which
    // variable it came from instead of which function.
    std::string_view what = e.what();
    constexpr std::string_view fn = "goro::debug::serve: ";
    if (what.starts_with(fn)) what.remove_prefix(fn.size());
    die("GORO_DEBUG_ADDR=\"" + *addr + "\": " + std::string(what), 2);
  } catch (const std::exception& e) {
    die("GORO_DEBUG_ADDR=\"" + *addr + "\": cannot start the debug server: " + e.what(), 2);
  }
}

[[maybe_unused]] const bool registered = [] {
  goro::detail::g_run_start_hook.store(&start_from_environment, std::memory_order_release);
  return true;
}();

}  // namespace
}  // namespace goro::debug

// The anchor the linker is told to keep (LINKER:--undefined), which keeps
// the registration above in every program that links the library.
extern "C" [[gnu::used]] void goro_debug_server_anchor() {}
