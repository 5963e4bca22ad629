#include "kernel/shell.h"

#include <stdarg.h>

#include "kernel/config.h"
#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/line_editor.h"

extern "C" const corral::ShellCommand __shell_commands_start[], __shell_commands_end[];

namespace corral {
namespace {

const ShellCommand* find_command(const char* name) {
    for (const ShellCommand* c = __shell_commands_start; c < __shell_commands_end; c++)
        if (str_eq(c->name, name)) return c;
    return nullptr;
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
    kprintf("Corral shell: type 'help' for commands (up/down arrows: history).\n");
    static LineEditor editor;
    for (;;) {
        kputs("corral> ");
        for (;;) {
            const int c = console_getc();
            if (c == CONSOLE_OVERFLOW) editor.overflow(kputs);
            else if (editor.feed(char(c), kputs)) break;
        }
        shell_execute(editor.line());
    }
}

}  // namespace corral
