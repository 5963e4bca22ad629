#include "kernel/shell.h"

#include <stdarg.h>

#include "kernel/config.h"
#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"

extern "C" const corral::ShellCommand __shell_commands_start[], __shell_commands_end[];

namespace corral {
namespace {

constexpr char BACKSPACE = 0x08, DELETE = 0x7f, CTRL_C = 0x03, CTRL_U = 0x15, ESCAPE = 0x1b;

const ShellCommand* find_command(const char* name) {
    for (const ShellCommand* c = __shell_commands_start; c < __shell_commands_end; c++)
        if (str_eq(c->name, name)) return c;
    return nullptr;
}

void erase_chars(size_t n) {
    for (size_t i = 0; i < n; i++) kputs("\b \b");
}

// Reads one line with echo and simple editing.  Escape sequences (arrow
// keys) are swallowed rather than inserted as garbage.
void read_line(char* line, size_t size) {
    size_t len = 0;
    for (;;) {
        char c = console_getc();
        if (c == '\r' || c == '\n') {
            kputs("\n");
            line[len] = 0;
            return;
        } else if (c == BACKSPACE || c == DELETE) {
            if (len > 0) { len--; erase_chars(1); }
        } else if (c == CTRL_U || c == CTRL_C) {
            erase_chars(len);
            len = 0;
            if (c == CTRL_C) kputs("^C\n");
            if (c == CTRL_C) { line[0] = 0; return; }
        } else if (c == ESCAPE) {
            char next = console_getc();
            if (next == '[' || next == 'O') {
                while (true) {   // parameters, then one final byte in 0x40..0x7e
                    char f = console_getc();
                    if (f >= 0x40 && f <= 0x7e) break;
                }
            }
        } else if (c >= 0x20 && c < 0x7f && len + 1 < size) {
            line[len++] = c;
            char echo[2] = {c, 0};
            kputs(echo);
        }
    }
}

int cmd_help(int argc, char** argv) {
    if (argc > 1) {
        const ShellCommand* c = find_command(argv[1]);
        if (!c) return shell_error("help: no command '%s'", argv[1]);
        kprintf("%-28s %s\n", c->usage, c->help);
        return 0;
    }
    kprintf("commands:\n");
    // Alphabetically: the table itself is in link order.
    const char* after = "";
    for (;;) {
        const ShellCommand* next = nullptr;
        for (const ShellCommand* c = __shell_commands_start; c < __shell_commands_end; c++)
            if (str_cmp(c->name, after) > 0 && (!next || str_cmp(c->name, next->name) < 0)) next = c;
        if (!next) return 0;
        kprintf("  %-28s %s\n", next->usage, next->help);
        after = next->name;
    }
}
SHELL_COMMAND("help", "help [command]", "list commands, or show one command's usage", cmd_help);

}  // namespace

int shell_error(const char* fmt, ...) {
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vformat(text, sizeof text, fmt, ap);
    va_end(ap);
    kprintf("error: %s\n", text);
    return 1;
}

int shell_execute(const char* input) {
    char line[config::SHELL_LINE_MAX];
    if (str_copy(line, input, sizeof line) >= sizeof line) {
        shell_error("line too long (max %zu characters)", sizeof line - 1);
        return -1;
    }
    char* argv[config::SHELL_MAX_WORDS];
    size_t argc = split_words(line, argv, config::SHELL_MAX_WORDS);
    if (argc == 0) return -1;
    if (argc >= config::SHELL_MAX_WORDS) {
        shell_error("too many words (max %zu)", config::SHELL_MAX_WORDS - 1);
        return -1;
    }
    const ShellCommand* c = find_command(argv[0]);
    if (!c) {
        shell_error("unknown command '%s' (type 'help')", argv[0]);
        return -1;
    }
    return c->run(int(argc), argv);
}

void shell_run() {
    kprintf("Corral shell: type 'help' for commands.\n");
    char line[config::SHELL_LINE_MAX];
    for (;;) {
        kputs("corral> ");
        read_line(line, sizeof line);
        shell_execute(line);
    }
}

}  // namespace corral
