// The serial shell.  Commands register themselves with SHELL_COMMAND in the
// file of the subsystem they belong to; the table is the .shell_commands
// section, so adding a command is one line plus its function.
#pragma once
#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral {

struct ShellCommand {
    const char* name;
    const char* usage;     // "peek <addr> <n>"
    const char* help;      // one line
    // Returns 0 on success; on error the command has printed one line.
    int (*run)(int argc, char** argv);
};

// Parses and runs one line.  Returns the command's status, or -1 for an
// empty/unknown command (after printing one error line).
int shell_execute(const char* line);
[[noreturn]] void shell_run();

// An address typed by the user: a number, a symbol, or symbol+n / symbol-n.
Result<uint32_t> shell_parse_address(const char* text);

// "error: <what>" on one line; returns 1 so commands can `return shell_error(...)`.
int shell_error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace corral

#define SHELL_COMMAND(name, usage, help, fn)                                                          \
    [[gnu::used, gnu::section(".shell_commands")]] static const ::corral::ShellCommand shell_command_##fn{ \
        name, usage, help, fn}
