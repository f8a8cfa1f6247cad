#include "net/http/router.hpp"

#include <stdexcept>

namespace goro::http {

namespace {

bool matches(std::string_view pattern, std::string_view path) noexcept {
  if (pattern.back() == '/') return path.substr(0, pattern.size()) == pattern;
  return path == pattern;
}

bool method_fits(std::string_view route, std::string_view method) noexcept {
  return route.empty() || route == method || (route == "GET" && method == "HEAD");
}

task<void> answer(response_writer& w, int status, std::string allow) {
  w.set_status(status);
  if (!allow.empty()) w.add_header("Allow", allow);
  w.add_header("Content-Type", "text/plain; charset=utf-8");
  w.write(status == 404 ? "404 page not found\n" : "405 method not allowed\n");
  co_return;
}

}  // namespace

router& router::handle(std::string_view method, std::string_view pattern, handler h) {
  if (pattern.empty() || pattern.front() != '/')
    throw std::invalid_argument("goro::http::router: pattern \"" + std::string(pattern) +
                                "\" must start with '/'");
  if (!h)
    throw std::invalid_argument("goro::http::router: empty handler for \"" + std::string(pattern) +
                                "\"");
  for (const route& r : routes_)
    if (r.method == method && r.pattern == pattern)
      throw std::logic_error("goro::http::router: \"" + std::string(method) + " " +
                             std::string(pattern) + "\" is routed twice");
  routes_.push_back({std::string(method), std::string(pattern), std::move(h)});
  return *this;
}

task<void> router::operator()(request& req, response_writer& w) const {
  const std::string_view path = req.path();
  const route* best = nullptr;
  bool path_known = false;
  std::string allow;
  for (const route& r : routes_) {
    if (!matches(r.pattern, path)) continue;
    path_known = true;
    if (!method_fits(r.method, req.method())) {
      if (allow.find(r.method) == std::string::npos) {
        if (!allow.empty()) allow += ", ";
        allow += r.method;
      }
      continue;
    }
    const bool exact = r.pattern == path;
    if (!best || exact || (best->pattern != path && r.pattern.size() > best->pattern.size()))
      best = &r;
  }
  if (best) return best->h(req, w);
  return answer(w, path_known ? 405 : 404, path_known ? allow : std::string());
}

}  // namespace goro::http
