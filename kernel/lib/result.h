// Result<T>: a value or an error message, instead of sentinel integers.
// Errors carry a short human-readable text that callers print as one line.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace corral {

struct Error {
    char text[160];
};

// Builds an Error with printf-style text (defined in kernel/lib/format.cpp).
Error make_error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

template <typename T>
class [[nodiscard]] Result {
public:
    Result(const T& value) : ok_(true), value_(value) {}
    Result(const Error& error) : ok_(false), error_(error) {}

    bool is_ok() const { return ok_; }
    bool is_error() const { return !ok_; }
    const T& value() const { return value_; }
    T& value() { return value_; }
    const char* error() const { return ok_ ? "" : error_.text; }
    const Error& error_value() const { return error_; }

private:
    bool ok_;
    T value_{};
    Error error_{};
};

// Result<void>: success or an error.
struct Ok {};
template <>
class [[nodiscard]] Result<void> {
public:
    Result() : ok_(true) {}
    Result(Ok) : ok_(true) {}
    Result(const Error& error) : ok_(false), error_(error) {}
    bool is_ok() const { return ok_; }
    bool is_error() const { return !ok_; }
    const char* error() const { return ok_ ? "" : error_.text; }
    const Error& error_value() const { return error_; }

private:
    bool ok_;
    Error error_{};
};

// TRY(expr): return the error of a failed Result to the caller.
#define TRY(expr)                                                  \
    ({                                                             \
        auto _try_result = (expr);                                 \
        if (_try_result.is_error()) return _try_result.error_value(); \
        _try_result.value();                                       \
    })
#define TRY_VOID(expr)                                             \
    do {                                                           \
        auto _try_result = (expr);                                 \
        if (_try_result.is_error()) return _try_result.error_value(); \
    } while (0)

}  // namespace corral
