#include "kernel/line_editor.h"

#include "kernel/lib/format.h"

#include "kernel/lib/string.h"

namespace corral {
namespace {
constexpr char BACKSPACE = 0x08, DELETE = 0x7f, CTRL_C = 0x03, CTRL_U = 0x15, ESCAPE = 0x1b;

void erase(size_t n, LineEditor::Echo echo) {
    for (size_t i = 0; i < n; i++) echo("\b \b");
}
}  // namespace

void LineEditor::replace_line(const char* text, Echo echo) {
    erase(len_, echo);
    len_ = str_copy(buf_, text, sizeof buf_);
    if (len_ >= sizeof buf_) len_ = sizeof buf_ - 1;
    echo(buf_);
}

void LineEditor::remember(const char* text) {
    if (!text[0]) return;
    if (history_count_ > 0 && str_eq(history_[0], text)) return;   // no repeats in a row
    for (int i = HISTORY - 1; i > 0; i--) str_copy(history_[i], history_[i - 1], sizeof history_[i]);
    str_copy(history_[0], text, sizeof history_[0]);
    if (history_count_ < HISTORY) history_count_++;
}

void LineEditor::overflow(Echo echo) {
    echo("\ninput overflow: line discarded\n");
    len_ = 0;
    browsing_ = 0;
    escape_ = Escape::None;
    too_long_ = false;
    skipping_ = true;
}

bool LineEditor::feed(char c, Echo echo) {
    if (skipping_) {
        if (c != '\r' && c != '\n') return false;
        skipping_ = false;
        done_[0] = 0;
        return true;
    }
    if (escape_ == Escape::Start) {
        escape_ = (c == '[' || c == 'O') ? Escape::Bracket : Escape::None;
        return false;
    }
    if (escape_ == Escape::Bracket) {
        if (c < 0x40 || c > 0x7e) return false;   // parameters until the final byte
        escape_ = Escape::None;
        if (c == 'A' && browsing_ < history_count_) replace_line(history_[browsing_++], echo);
        else if (c == 'B' && browsing_ > 0) replace_line(--browsing_ ? history_[browsing_ - 1] : "", echo);
        return false;
    }
    if (c == '\r' || c == '\n') {
        echo("\n");
        if (too_long_) {
            char why[80];
            format(why, sizeof why, "error: line too long (a command is at most %zu characters): discarded\n",
                   sizeof buf_ - 1);
            echo(why);
            too_long_ = false;
            len_ = 0;
            browsing_ = 0;
            done_[0] = 0;
            return true;
        }
        buf_[len_] = 0;
        str_copy(done_, buf_, sizeof done_);
        remember(buf_);
        len_ = 0;
        browsing_ = 0;
        return true;
    }
    if (c == BACKSPACE || c == DELETE) {
        if (len_ > 0) { len_--; erase(1, echo); }
    } else if (c == CTRL_U) {
        erase(len_, echo);
        len_ = 0;
    } else if (c == CTRL_C) {
        echo("^C\n");
        len_ = 0;
        browsing_ = 0;
        done_[0] = 0;
        return true;
    } else if (c == ESCAPE) {
        escape_ = Escape::Start;
    } else if (c >= 0x20 && c < 0x7f) {
        if (len_ + 1 >= sizeof buf_) {
            too_long_ = true;
            return false;
        }
        buf_[len_++] = c;
        const char one[2] = {c, 0};
        echo(one);
    }
    return false;
}

}  // namespace corral
