#pragma once
// What goro::net counts for the metrics catalog (core/metrics.hpp: the
// /net/... entries): streams opened and closed (their difference is
// /net/conns/open), connections accepted and dialed, and requests answered
// by goro::http (a layer above, which calls count_http_request).
//
// Each count is a relaxed add on one of a few cache-line stripes, chosen
// per thread, so threads accepting or serving on different cores do not
// bounce one line; net/net_metrics.cpp sums the stripes when the catalog
// is read, and registers that reader. A connection costs system calls of
// microseconds, so the add is noise beside it; a request costs parsing and
// a handler.

namespace goro::net::detail {

void count_opened() noexcept;    // a tcp_stream took a socket
void count_closed() noexcept;    // ... and closed it (once per stream)
void count_accepted() noexcept;  // a listener accepted a connection
void count_dialed() noexcept;    // connect() established one
void count_http_request() noexcept;

}  // namespace goro::net::detail
