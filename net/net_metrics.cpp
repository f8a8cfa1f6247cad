// See net/detail/net_metrics.hpp.

#include "net/detail/net_metrics.hpp"

#include <atomic>
#include <cstdint>

#include "core/metrics.hpp"
#include "core/metrics_catalog.hpp"

namespace goro::net::detail {
namespace {

struct alignas(64) stripe {
  std::atomic<uint64_t> opened{0}, closed{0}, accepted{0}, dialed{0}, http_requests{0};
};

constexpr unsigned kStripes = 16;
constinit stripe g_stripes[kStripes];
constinit std::atomic<unsigned> g_next_stripe{0};

stripe& mine() noexcept {
  thread_local stripe& s =
      g_stripes[g_next_stripe.fetch_add(1, std::memory_order_relaxed) % kStripes];
  return s;
}

void add(std::atomic<uint64_t> stripe::*c) noexcept {
  (mine().*c).fetch_add(1, std::memory_order_relaxed);
}

uint64_t sum(std::atomic<uint64_t> stripe::*c,
             std::memory_order order = std::memory_order_relaxed) noexcept {
  uint64_t n = 0;
  for (const stripe& s : g_stripes) n += (s.*c).load(order);
  return n;
}

void read_net_metrics(std::span<const metrics::detail::request> reqs) {
  namespace id = metrics::id;
  for (const metrics::detail::request& r : reqs) {
    switch (r.id) {
      case id::net_conns_accepted_conns:
        r.out->set_uint64(sum(&stripe::accepted));
        break;
      case id::net_conns_dialed_conns:
        r.out->set_uint64(sum(&stripe::dialed));
        break;
      case id::net_conns_open_conns: {
        // Closes first: a stream is opened before it is closed, so reading
        // the closes before the opens never counts a close without its
        // open (a stream opened and closed in between reads as open; a
        // read racing with opens is off by those, as any gauge is).
        // (Acquire loads rather than a fence: ThreadSanitizer does not
        // model fences.)
        const uint64_t closed = sum(&stripe::closed, std::memory_order_acquire);
        const uint64_t opened = sum(&stripe::opened);
        r.out->set_uint64(opened > closed ? opened - closed : 0);
        break;
      }
      case id::net_http_requests_requests:
        r.out->set_uint64(sum(&stripe::http_requests));
        break;
      default:
        break;
    }
  }
}

// This file is linked whenever a stream is (tcp.cpp counts here).
[[maybe_unused]] const bool g_registered =
    (metrics::detail::register_source(metrics::source::net, read_net_metrics), true);

}  // namespace

void count_opened() noexcept {
  add(&stripe::opened);
}
void count_closed() noexcept {
  add(&stripe::closed);
}
void count_accepted() noexcept {
  add(&stripe::accepted);
}
void count_dialed() noexcept {
  add(&stripe::dialed);
}
void count_http_request() noexcept {
  add(&stripe::http_requests);
}

}  // namespace goro::net::detail
