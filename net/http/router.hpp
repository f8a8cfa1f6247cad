#pragma once
// goro::http::router: a small request router (a subset of Go's ServeMux).
//
//   goro::http::router r;
//   r.handle("GET", "/hello", hello);    // exact path; HEAD is served by GET
//   r.handle("POST", "/echo", echo);
//   r.handle("", "/static/", files);     // any method; a trailing '/' is a prefix
//   goro::http::server srv(r);
//
// The most specific route wins: an exact path, else the longest prefix.
// A path with routes for other methods only gets 405 with an Allow header;
// no route at all, 404.

#include <string>
#include <string_view>
#include <vector>

#include "net/http/request.hpp"
#include "net/http/response_writer.hpp"
#include "net/http/server.hpp"
#include "sched/task.hpp"

namespace goro::http {

class router {
 public:
  /// Adds a route. `method` is "GET", "POST", ... or "" for any;
  /// `pattern` starts with '/'. Throws std::invalid_argument for a pattern
  /// without the leading '/' or an empty handler, std::logic_error for a
  /// method and pattern routed twice.
  router& handle(std::string_view method, std::string_view pattern, handler h);

  /// Dispatches (a handler itself: pass the router to server).
  task<void> operator()(request& req, response_writer& w) const;

 private:
  struct route {
    std::string method, pattern;
    handler h;
  };
  std::vector<route> routes_;
};

}  // namespace goro::http
