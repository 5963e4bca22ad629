// The shell's line editing, fed one byte at a time so it can be tested
// without a serial port: printable characters, backspace/delete, Ctrl-U
// (erase the line), Ctrl-C (drop it), and a history browsed with the
// up/down arrow keys.  Other escape sequences are swallowed, not inserted.
#pragma once
#include <stddef.h>

#include "kernel/config.h"

namespace corral {

class LineEditor {
public:
    using Echo = void (*)(const char* text);

    // Returns true when a line is complete; it is then in line().  A line
    // longer than the buffer is discarded whole at its end (with a message),
    // never run cut short.
    bool feed(char c, Echo echo);
    // Input was lost (console.h: CONSOLE_OVERFLOW): the line being typed and
    // everything up to the next line end are discarded, with a message; that
    // line end then completes an empty line.
    void overflow(Echo echo);
    const char* line() const { return done_; }

private:
    static constexpr int HISTORY = 8;
    enum class Escape { None, Start, Bracket };

    void replace_line(const char* text, Echo echo);
    void remember(const char* text);

    char buf_[config::SHELL_LINE_MAX] = {};
    size_t len_ = 0;
    char done_[config::SHELL_LINE_MAX] = {};
    char history_[HISTORY][config::SHELL_LINE_MAX] = {};
    int history_count_ = 0;   // lines remembered (at most HISTORY)
    int browsing_ = 0;        // 0: the line being typed; n: the n-th most recent
    Escape escape_ = Escape::None;
    bool too_long_ = false;   // a character of this line did not fit
    bool skipping_ = false;   // after an overflow, until a line end
};

}  // namespace corral
