#pragma once
// The bytes of HTTP/1.1 responses: status lines, the Date header (formatted
// once a second per thread), chunk framing and the error answers the server
// gives to bad requests. No sockets; the fuzz target uses these too.

#include <cstdint>
#include <string>
#include <string_view>

namespace goro::http::wire {

/// "OK", "Not Found", ... ("Unknown" for a code without a reason phrase).
std::string_view reason(int status) noexcept;

/// Appends "HTTP/1.1 <status> <reason>\r\n".
void append_status_line(std::string& out, int status);

/// Appends "Date: <IMF-fixdate>\r\n" for the current second.
void append_date(std::string& out);

/// Appends a decimal number.
void append_decimal(std::string& out, uint64_t v);

/// Appends "<hex size>\r\n<data>\r\n" (nothing for empty data: an empty
/// chunk would end the body).
void append_chunk(std::string& out, std::string_view data);

/// Appends a whole answer to a request that could not be served, with
/// Connection: close: "<status> <reason>: <message>\n" as text/plain.
void append_error_response(std::string& out, int status, std::string_view message);

/// Whether `name` is a valid header name (an RFC 9110 token).
bool valid_header_name(std::string_view name) noexcept;
/// Whether `value` may be sent as a header value (no CR, LF or NUL).
bool valid_header_value(std::string_view value) noexcept;

/// The Server header's value.
inline constexpr std::string_view server_name = "goro";

}  // namespace goro::http::wire
