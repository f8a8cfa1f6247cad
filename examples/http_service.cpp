// An HTTP API service on goro's collected heap: each order posted is parsed
// (RapidJSON's SAX reader, Debian's rapidjson-dev) into a graph of GC
// objects, and the answer is a summary computed by walking that graph; the
// graph is garbage as soon as the response is out, and the collector, paced
// by GOGC and GORO_MEMLIMIT, takes it back.
//
//   POST /orders         {"id":"o-1","customer":"ada",
//                         "items":[{"sku":"tea","qty":2,"price":3.5}, ...]}
//                        -> 200 {"id":"o-1","customer":"ada","lines":1,"units":2,
//                                "distinct_skus":1,"total":7.0,
//                                "largest_line":{"sku":"tea","amount":7.0}}
//                        -> 400 {"error":"..."} naming what is wrong
//   GET  /stats          orders and revenue so far, requests in flight
//   GET  /slow?ms=N      answers after N ms (0-30000): a slow backend call
//   GET  /healthz        "ok"
//   GET  /metrics        Prometheus text: goro's runtime catalog
//                        (goro::prometheus) and the service's own metrics,
//                        rendered by prometheus-cpp's TextSerializer
//
//   export GORO_MEMLIMIT=256MiB GORO_DEBUG=gctrace=1
//   build/release/examples/example_http_service --addr 127.0.0.1:8080
//
// Flags: --addr HOST:PORT (default 127.0.0.1:8080; port 0 picks a free one),
// --procs N, --shutdown-timeout SECONDS (default 10). A bad value exits 2
// with a message naming it.
//
// SIGTERM or SIGINT: graceful shutdown (goro::signal::notify_context, then
// server.shutdown with the deadline): new connections are refused, idle ones
// closed, requests in flight finish; the drain is logged. Exit 0 when every
// connection finished before the deadline, 1 when the deadline cut some off.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "debug/prometheus/runtime_collector.hpp"
#include "goro.hpp"
#include "heap/memory_limit_default.hpp"

namespace {

using goro::http::request;
using goro::http::response_writer;
using steady = std::chrono::steady_clock;

// ------------------------------------------------------------ the graph --

// One JSON value in the collected heap. Containers keep their children as a
// list (first/last, then each child's next); an object's children carry
// their member name in key. Strings are pointer-free GC arrays.
struct jnode {
  enum kind_t : uint8_t { null, boolean, number, string, array, object } kind;
  bool b = false;
  double num = 0;
  const char* str = nullptr;  // string: the text (not NUL-terminated)
  uint32_t len = 0;
  const char* key = nullptr;  // member of an object: its name
  uint32_t key_len = 0;
  jnode* first = nullptr;  // containers
  jnode* last = nullptr;
  jnode* next = nullptr;  // the next element or member of the parent
  uint32_t count = 0;     // containers: children

  std::string_view text() const { return {str, len}; }
  std::string_view name() const { return {key, key_len}; }
  const jnode* member(std::string_view k) const {
    for (const jnode* c = first; c; c = c->next)
      if (c->name() == k) return c;
    return nullptr;
  }
};

const char* gc_copy(const char* s, size_t n) {
  char* p = goro::gc_new_array_noscan<char>(n + 1);
  std::memcpy(p, s, n);
  return p;
}

// RapidJSON SAX events -> jnodes. The builder lives in the handler's
// coroutine frame and its stack in a gc_vector, both scanned by the
// collector, so the partial graph stays alive while it is built.
class graph_builder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, graph_builder> {
 public:
  static constexpr size_t kMaxDepth = 32;
  static constexpr size_t kMaxNodes = 20000;

  jnode* root = nullptr;
  std::string limit_error;  // set when a limit stopped the parse

  bool Null() { return add(jnode::null); }
  bool Bool(bool v) {
    jnode* n = add_node(jnode::boolean);
    return n && (n->b = v, true);
  }
  bool Int(int v) { return num(v); }
  bool Uint(unsigned v) { return num(v); }
  bool Int64(int64_t v) { return num(static_cast<double>(v)); }
  bool Uint64(uint64_t v) { return num(static_cast<double>(v)); }
  bool Double(double v) { return num(v); }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    jnode* node = add_node(jnode::string);
    if (!node) return false;
    node->str = gc_copy(s, n);
    node->len = n;
    return true;
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    key_ = gc_copy(s, n);
    key_len_ = n;
    return true;
  }
  bool StartObject() { return open(jnode::object); }
  bool EndObject(rapidjson::SizeType) { return close(); }
  bool StartArray() { return open(jnode::array); }
  bool EndArray(rapidjson::SizeType) { return close(); }

 private:
  bool num(double v) {
    jnode* n = add_node(jnode::number);
    return n && (n->num = v, true);
  }
  bool add(jnode::kind_t k) { return add_node(k) != nullptr; }
  jnode* add_node(jnode::kind_t k) {
    if (++nodes_ > kMaxNodes) {
      limit_error = "more than " + std::to_string(kMaxNodes) + " values";
      return nullptr;
    }
    jnode* n = goro::gc_new<jnode>();
    n->kind = k;
    if (stack_.empty()) {
      root = n;
    } else {
      jnode* parent = stack_.back();
      if (parent->kind == jnode::object) {
        n->key = key_;
        n->key_len = key_len_;
      }
      (parent->last ? parent->last->next : parent->first) = n;
      parent->last = n;
      ++parent->count;
    }
    return n;
  }
  bool open(jnode::kind_t k) {
    if (stack_.size() >= kMaxDepth) {
      limit_error = "nested deeper than " + std::to_string(kMaxDepth) + " levels";
      return false;
    }
    jnode* n = add_node(k);
    if (!n) return false;
    stack_.push_back(n);
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  goro::gc_vector<jnode*> stack_;
  const char* key_ = nullptr;
  uint32_t key_len_ = 0;
  size_t nodes_ = 0;
};

struct bad_request : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The body as a graph, or bad_request saying where the JSON is wrong.
jnode* parse_json(std::string_view body) {
  graph_builder b;
  rapidjson::MemoryStream ms(body.data(), body.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> in(ms);
  rapidjson::Reader reader;
  // Iterative: a deeply nested body cannot overflow the worker's stack.
  const auto r =
      reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag |
                   rapidjson::kParseStopWhenDoneFlag>(in, b);
  if (!b.limit_error.empty()) throw bad_request("JSON body " + b.limit_error);
  if (r.IsError())
    throw bad_request(std::string("invalid JSON at byte ") + std::to_string(r.Offset()) + ": " +
                      rapidjson::GetParseError_En(r.Code()));
  // kParseStopWhenDone leaves what follows the value: only whitespace may.
  for (size_t i = in.Tell(); i < body.size(); ++i)
    if (!std::strchr(" \t\r\n", body[i]))
      throw bad_request("invalid JSON at byte " + std::to_string(i) + ": data after the value");
  return b.root;
}

// ------------------------------------------------------------ the order --

struct summary {
  std::string_view id, customer;
  size_t lines = 0;
  int64_t units = 0;
  size_t distinct_skus = 0;
  int64_t total_cents = 0;
  std::string_view largest_sku;
  int64_t largest_cents = -1;
};

const jnode* need(const jnode* obj, std::string_view field, jnode::kind_t k, const char* what,
                  const std::string& where) {
  const jnode* v = obj->member(field);
  if (!v || v->kind != k)
    throw bad_request(where + "\"" + std::string(field) + "\" must be " + what);
  return v;
}

// Walks the order's graph. Validates as it goes: the messages name the field
// and the accepted form.
summary summarize(const jnode* order) {
  if (!order || order->kind != jnode::object)
    throw bad_request("the body must be a JSON object (an order)");
  summary s;
  s.id = need(order, "id", jnode::string, "a string", "")->text();
  s.customer = need(order, "customer", jnode::string, "a string", "")->text();
  const jnode* items = need(order, "items", jnode::array, "an array of items", "");
  if (items->count == 0 || items->count > 1000)
    throw bad_request("\"items\" must hold 1 to 1000 items, not " + std::to_string(items->count));
  // Distinct SKUs counted in a GC map: more of the request on the heap.
  goro::gc_map<std::string_view, int64_t> per_sku;
  size_t i = 0;
  for (const jnode* it = items->first; it; it = it->next, ++i) {
    const std::string where = "items[" + std::to_string(i) + "]: ";
    if (it->kind != jnode::object) throw bad_request(where + "an item must be an object");
    const std::string_view sku = need(it, "sku", jnode::string, "a string", where)->text();
    const double qty = need(it, "qty", jnode::number, "a number", where)->num;
    const double price = need(it, "price", jnode::number, "a number", where)->num;
    if (!(qty >= 1 && qty <= 1e6 && qty == std::floor(qty)))
      throw bad_request(where + "\"qty\" must be a whole number from 1 to 1000000");
    if (!(price >= 0 && price <= 1e9)) throw bad_request(where + "\"price\" must be 0 to 1e9");
    const int64_t cents = std::llround(price * 100) * static_cast<int64_t>(qty);
    ++s.lines;
    s.units += static_cast<int64_t>(qty);
    s.total_cents += cents;
    per_sku[sku] += cents;
    if (cents > s.largest_cents) {
      s.largest_cents = cents;
      s.largest_sku = sku;
    }
  }
  s.distinct_skus = per_sku.size();
  return s;
}

void write_json_string(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

std::string error_json(std::string_view msg) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("error");
  write_json_string(w, msg);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

// ---------------------------------------------------------- the service --

struct route_metrics {
  prometheus::Counter* ok;   // code="200"
  prometheus::Counter* bad;  // code="400"
  prometheus::Histogram* seconds;
  prometheus::Family<prometheus::Counter>* by_code;
  std::string route;
};

class service : public std::enable_shared_from_this<service> {
 public:
  service()
      : registry_(std::make_shared<prometheus::Registry>()),
        requests_(prometheus::BuildCounter()
                      .Name("http_service_requests_total")
                      .Help("Requests answered, by route and status code.")
                      .Register(*registry_)),
        durations_(prometheus::BuildHistogram()
                       .Name("http_service_request_duration_seconds")
                       .Help("Time in the handler, by route.")
                       .Register(*registry_)),
        in_flight_(prometheus::BuildGauge()
                       .Name("http_service_requests_in_flight")
                       .Help("Requests being handled now.")
                       .Register(*registry_)
                       .Add({})),
        orders_(prometheus::BuildCounter()
                    .Name("http_service_order_items_total")
                    .Help("Order items summarized.")
                    .Register(*registry_)
                    .Add({})),
        runtime_(goro::prometheus::make_runtime_collector()) {}

  route_metrics* metrics_for(const std::string& route) {
    auto& m = routes_[route];
    if (!m) {
      const prometheus::Histogram::BucketBoundaries b{0.0001, 0.0005, 0.001, 0.005, 0.01,
                                                      0.05,   0.1,    0.5,   1,     5};
      m = std::make_unique<route_metrics>(
          route_metrics{&requests_.Add({{"route", route}, {"code", "200"}}),
                        &requests_.Add({{"route", route}, {"code", "400"}}),
                        &durations_.Add({{"route", route}}, b), &requests_, route});
    }
    return m.get();
  }

  // Every route goes through here: in-flight count, duration, status.
  // `s` is held by the frame: a handler cut off by the shutdown deadline is
  // destroyed when the runtime stops, after serve() has returned.
  static goro::task<void> timed(std::shared_ptr<service> s, route_metrics* m,
                                goro::task<void> (service::*fn)(request&, response_writer&),
                                request& req, response_writer& w) {
    const auto t0 = steady::now();
    s->in_flight_.Increment();
    s->in_flight_n_.fetch_add(1, std::memory_order_relaxed);
    struct done_guard {
      service* s;
      ~done_guard() {
        s->in_flight_.Decrement();
        s->in_flight_n_.fetch_sub(1, std::memory_order_relaxed);
        s->finished_.fetch_add(1, std::memory_order_relaxed);
      }
    } guard{s.get()};
    co_await (s.get()->*fn)(req, w);
    m->seconds->Observe(std::chrono::duration<double>(steady::now() - t0).count());
    if (w.status() == 200)
      m->ok->Increment();
    else if (w.status() == 400)
      m->bad->Increment();
    else
      m->by_code->Add({{"route", m->route}, {"code", std::to_string(w.status())}}).Increment();
  }

  goro::http::handler route(const std::string& name,
                            goro::task<void> (service::*fn)(request&, response_writer&)) {
    route_metrics* m = metrics_for(name);
    std::weak_ptr<service> self = weak_from_this();
    return [self, m, fn](request& req, response_writer& w) {
      return timed(self.lock(), m, fn, req, w);
    };
  }

  goro::task<void> post_order(request& req, response_writer& w) {
    w.add_header("Content-Type", "application/json");
    summary s;
    try {
      s = summarize(parse_json(req.body()));
    } catch (const bad_request& e) {
      w.set_status(400);
      w.write(error_json(e.what()));
      co_return;
    }
    orders_total_.fetch_add(1, std::memory_order_relaxed);
    revenue_cents_.fetch_add(s.total_cents, std::memory_order_relaxed);
    orders_.Increment(static_cast<double>(s.lines));
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> out(buf);
    out.StartObject();
    out.Key("id");
    write_json_string(out, s.id);
    out.Key("customer");
    write_json_string(out, s.customer);
    out.Key("lines");
    out.Uint64(s.lines);
    out.Key("units");
    out.Int64(s.units);
    out.Key("distinct_skus");
    out.Uint64(s.distinct_skus);
    out.Key("total");
    out.Double(static_cast<double>(s.total_cents) / 100);
    out.Key("largest_line");
    out.StartObject();
    out.Key("sku");
    write_json_string(out, s.largest_sku);
    out.Key("amount");
    out.Double(static_cast<double>(s.largest_cents) / 100);
    out.EndObject();
    out.EndObject();
    w.write(std::string_view(buf.GetString(), buf.GetSize()));
    w.write("\n");
    co_return;
  }

  goro::task<void> get_stats(request&, response_writer& w) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> out(buf);
    out.StartObject();
    out.Key("orders");
    out.Int64(orders_total_.load(std::memory_order_relaxed));
    out.Key("revenue");
    out.Double(static_cast<double>(revenue_cents_.load(std::memory_order_relaxed)) / 100);
    out.Key("in_flight");  // this request included
    out.Int64(in_flight_n_.load(std::memory_order_relaxed));
    out.Key("live_heap_bytes");  // at the last collection
    out.Uint64(goro::read_heap_stats().live_bytes);
    out.EndObject();
    w.add_header("Content-Type", "application/json");
    w.write(std::string_view(buf.GetString(), buf.GetSize()));
    w.write("\n");
    co_return;
  }

  goro::task<void> get_slow(request& req, response_writer& w) {
    int ms = 0;
    const std::string_view q = req.query();
    const std::string_view v = q.starts_with("ms=") ? q.substr(3) : std::string_view{};
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), ms);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size() || ms < 0 || ms > 30000) {
      w.set_status(400);
      w.add_header("Content-Type", "application/json");
      w.write(error_json("want /slow?ms=N with N from 0 to 30000, got \"" + std::string(q) + "\""));
      co_return;
    }
    co_await goro::sleep_for(std::chrono::milliseconds(ms));
    w.add_header("Content-Type", "text/plain");
    w.write("slept " + std::to_string(ms) + " ms\n");
  }

  goro::task<void> get_healthz(request&, response_writer& w) {
    w.add_header("Content-Type", "text/plain");
    w.write("ok\n");
    co_return;
  }

  goro::task<void> get_metrics(request&, response_writer& w) {
    auto families = registry_->Collect();
    auto runtime = runtime_->Collect();
    families.insert(families.end(), std::make_move_iterator(runtime.begin()),
                    std::make_move_iterator(runtime.end()));
    std::ostringstream text;
    prometheus::TextSerializer().Serialize(text, families);
    w.add_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    w.write(text.str());
    co_return;
  }

  int64_t in_flight() const noexcept { return in_flight_n_.load(std::memory_order_relaxed); }
  int64_t finished() const noexcept { return finished_.load(std::memory_order_relaxed); }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Gauge& in_flight_;
  prometheus::Counter& orders_;
  std::shared_ptr<goro::prometheus::runtime_collector> runtime_;
  std::map<std::string, std::unique_ptr<route_metrics>> routes_;
  std::atomic<int64_t> orders_total_{0}, revenue_cents_{0}, in_flight_n_{0}, finished_{0};
};

// ------------------------------------------------------------- startup --

struct config {
  std::string addr = "127.0.0.1:8080";
  int procs = 0;
  int shutdown_seconds = 10;
};

std::string memory_limit_text() {
  const int64_t limit = goro::set_memory_limit(-1);
  const char* source = goro::heap::to_string(goro::heap::memory_limit_source_now());
  if (limit == goro::no_memory_limit) return std::string("none (") + source + ")";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f MiB (%s)", static_cast<double>(limit) / (1 << 20), source);
  return buf;
}

double ms_since(steady::time_point t) {
  return std::chrono::duration<double, std::milli>(steady::now() - t).count();
}

goro::task<int> serve(config cfg) {
  const auto svc_ptr = std::make_shared<service>();
  service& svc = *svc_ptr;
  goro::http::router r;
  r.handle("POST", "/orders", svc.route("/orders", &service::post_order));
  r.handle("GET", "/stats", svc.route("/stats", &service::get_stats));
  r.handle("GET", "/slow", svc.route("/slow", &service::get_slow));
  r.handle("GET", "/healthz", svc.route("/healthz", &service::get_healthz));
  r.handle("GET", "/metrics", svc.route("/metrics", &service::get_metrics));

  goro::net::tcp_listener ln;
  try {
    ln = goro::net::tcp_listener::listen(cfg.addr);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "http_service: --addr: %s\n", e.what());
    co_return 2;
  } catch (const goro::net::net_error& e) {
    std::fprintf(stderr, "http_service: --addr %s: cannot listen: %s\n", cfg.addr.c_str(),
                 e.what());
    co_return e.kind() == goro::net::error_kind::resolve ? 2 : 1;
  }
  goro::http::server_options opts;
  opts.max_body_bytes = 64 << 10;  // an order is small
  goro::http::server srv(r, opts);
  // Cancelled by the first SIGINT or SIGTERM (signalfd, through the poller).
  const goro::context stop =
      goro::signal::notify_context(goro::context::background(), {SIGINT, SIGTERM});
  auto serving = goro::spawn(srv.serve(ln));
  std::printf("http_service: listening on %s pid=%d procs=%d memlimit=%s\n",
              ln.local_address().c_str(), static_cast<int>(::getpid()), goro::set_max_procs(0),
              memory_limit_text().c_str());
  std::fflush(stdout);

  co_await stop.done();
  const auto t0 = steady::now();
  const int64_t finished_before = svc.finished();
  const int64_t in_flight = svc.in_flight();
  std::printf(
      "http_service: signal received: shutting down (listener closed, %zu connections open, "
      "%lld requests in flight, deadline %d s)\n",
      srv.connections(), static_cast<long long>(in_flight), cfg.shutdown_seconds);
  std::fflush(stdout);
  const bool drained = co_await srv.shutdown(
      goro::context::background().with_timeout(std::chrono::seconds(cfg.shutdown_seconds)));
  co_await serving;
  const long long done_during = static_cast<long long>(svc.finished() - finished_before);
  if (drained) {
    std::printf(
        "http_service: drained in %.0f ms: %lld requests finished during the drain, "
        "all connections closed\n",
        ms_since(t0), done_during);
  } else {
    std::printf(
        "http_service: deadline passed after %.0f ms: %lld requests finished, %zu connections "
        "closed with requests unfinished\n",
        ms_since(t0), done_during, srv.connections());
  }
  std::fflush(stdout);
  co_return drained ? 0 : 1;
}

[[noreturn]] void usage(const char* argv0, const std::string& why) {
  std::fprintf(stderr,
               "%s: %s\nusage: %s [--addr HOST:PORT] [--procs N] [--shutdown-timeout SECONDS]\n",
               argv0, why.c_str(), argv0);
  std::exit(2);
}

int parse_int(const char* argv0, const char* flag, std::string_view v, int lo, int hi) {
  int n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size() || n < lo || n > hi)
    usage(argv0, std::string(flag) + " \"" + std::string(v) + "\": want a whole number from " +
                     std::to_string(lo) + " to " + std::to_string(hi));
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  config cfg;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc && (a == "--addr" || a == "--procs" || a == "--shutdown-timeout"))
      usage(argv[0], std::string(a) + " needs a value");
    if (a == "--addr") {
      cfg.addr = argv[++i];
    } else if (a == "--procs") {
      cfg.procs = parse_int(argv[0], "--procs", argv[++i], 1, 1024);
    } else if (a == "--shutdown-timeout") {
      cfg.shutdown_seconds = parse_int(argv[0], "--shutdown-timeout", argv[++i], 0, 3600);
    } else {
      usage(argv[0], "unknown argument \"" + std::string(a) + "\"");
    }
  }
  goro::runtime_options opts;
  opts.max_procs = cfg.procs;
  return goro::run(serve(cfg), opts);
}
