#pragma once
// goro::net errors: every network operation reports failure by throwing
// net_error, whose kind() says what happened in terms a caller acts on.
// End of stream is not an error for read_some (it yields 0); read_exact
// throws kind eof when the stream ends first. A peer's reset (RST, EPIPE)
// is kind reset, distinct from eof.
//
// code() is in the "goro.net" category with the kind as its value; the
// errno behind it, if any, is sys_errno() and is named in what().

#include <string>
#include <system_error>

namespace goro::net {

enum class error_kind {
  eof,             // the peer closed its side before the data asked for
  reset,           // ECONNRESET, EPIPE, ECONNABORTED
  timeout,         // a deadline passed (set_read_deadline, ...), or ETIMEDOUT
  cancelled,       // the operation's goro::context was done
  closed,          // the stream or listener was closed (by close() or before)
  refused,         // ECONNREFUSED
  address_in_use,  // EADDRINUSE
  resolve,         // name resolution failed (getaddrinfo)
  fd_limit,        // EMFILE, ENFILE
  other,
};

/// "end of file", "connection reset", "i/o timeout", ...
const char* to_string(error_kind k) noexcept;

/// The category of net_error::code(): values are error_kind.
const std::error_category& net_category() noexcept;

class net_error : public std::system_error {
 public:
  net_error(error_kind k, const std::string& what, int sys_errno = 0)
      : std::system_error(static_cast<int>(k), net_category(), what), kind_(k), errno_(sys_errno) {}
  error_kind kind() const noexcept { return kind_; }
  /// The errno that caused it, or 0.
  int sys_errno() const noexcept { return errno_; }

 private:
  error_kind kind_;
  int errno_;
};

/// The kind an errno maps to (ECONNRESET → reset, ...).
error_kind kind_of_errno(int e) noexcept;

/// Throws net_error for the failed operation `op` ("read", "accept", ...)
/// with `e` (an errno): "goro::net: read 127.0.0.1:80: connection reset by
/// peer".
[[noreturn]] void throw_errno(const char* op, int e, const std::string& where = {});
[[noreturn]] void throw_kind(const char* op, error_kind k, const std::string& where = {},
                             const char* detail = nullptr);

}  // namespace goro::net
