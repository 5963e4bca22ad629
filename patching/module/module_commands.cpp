// The shell's side of patch modules: `patch load` (a module sent over the
// serial line), `patch unload`, `patch modules`.  Reached from `patch`
// (patch_commands.cpp).
//
// The transfer is lines of text, so it goes through the same lossless input
// as typing: `patch load <size> <crc32>`, then the file as base64 lines of
// at most 76 characters, then `end` (scripts/corralctl does this).  Any
// problem -- a line that is not base64, lost bytes, the wrong length or
// CRC, a sender that stops halfway (5 s without a byte), a module the
// validator refuses -- ends the transfer with one line, keeps nothing, and
// leaves the shell as it was: the rest of the sender's lines are swallowed
// up to its `end` (or one second of silence), so none runs as a command.
//
// Flow control: after every ACK_LINES lines the kernel prints
// `patch load: <n> of <size> bytes`, and the sender waits for that line
// before it sends more.  The input ring holds 4 KiB and the reader is an
// ordinary thread: under load it can be off its CPU long enough for an
// unpaced sender to fill the ring, and a lost byte fails the transfer.
// 32 lines of 77 bytes fit in the ring with room to spare.
#include "kernel/console/console.h"
#include "kernel/lib/base64.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/shell.h"
#include "patching/module/loader.h"
#include "patching/module/module_format.h"

namespace corral::module {
namespace {

constexpr uint32_t LINE_MAX = 76;
constexpr uint32_t DATA_TIMEOUT_MS = 5000;
constexpr uint32_t DRAIN_SILENCE_MS = 1000;
constexpr int ACK_LINES = 32;

enum class LineEnd { Line, Timeout, Overflow, TooLong };

// One line without its end; empty lines are skipped.
LineEnd read_line(char* line, uint32_t* length, uint32_t timeout_ms) {
    for (;;) {
        *length = 0;
        bool too_long = false;
        for (;;) {
            const int c = console_getc_timeout(timeout_ms);
            if (c == CONSOLE_TIMEOUT) return LineEnd::Timeout;
            if (c == CONSOLE_OVERFLOW) return LineEnd::Overflow;
            if (c == '\r' || c == '\n') break;
            if (*length < LINE_MAX) line[(*length)++] = char(c);
            else too_long = true;
        }
        if (too_long) return LineEnd::TooLong;
        line[*length] = '\0';
        if (*length) return LineEnd::Line;
    }
}

// After an error: the sender's remaining lines must not run as commands.
void drain() {
    char line[LINE_MAX + 1];
    uint32_t n;
    for (;;) {
        const LineEnd e = read_line(line, &n, DRAIN_SILENCE_MS);
        if (e == LineEnd::Timeout || (e == LineEnd::Line && str_eq(line, "end"))) return;
    }
}

struct Transfer {
    uint8_t* bytes;
    uint32_t size, received;
    int lines;
};

// Reads base64 lines until `end`; an error text, or nullptr when complete.
// `*drain_after` says whether the sender may still be sending.
const char* receive(Transfer& t, char* why, size_t why_size, bool* drain_after) {
    char line[LINE_MAX + 1];
    uint32_t n;
    *drain_after = true;
    for (;;) {
        const LineEnd e = read_line(line, &n, DATA_TIMEOUT_MS);
        if (e == LineEnd::Timeout) {
            *drain_after = false;
            format(why, why_size, "no data for %u s after %u of %u bytes", DATA_TIMEOUT_MS / 1000, t.received, t.size);
            return why;
        }
        if (e == LineEnd::Overflow) return format(why, why_size, "bytes were lost in the input after line %d", t.lines), why;
        if (e == LineEnd::TooLong) return format(why, why_size, "line %d is longer than %u characters", t.lines + 1, LINE_MAX), why;
        if (str_eq(line, "end")) {
            *drain_after = false;
            return nullptr;
        }
        if (str_eq(line, "abort")) {
            *drain_after = false;
            return "abandoned by the sender";
        }
        t.lines++;
        const int got = base64_decode(line, n, t.bytes + t.received, t.size - t.received);
        if (got == -2) return format(why, why_size, "more than the %u bytes announced (line %d)", t.size, t.lines), why;
        if (got < 0) return format(why, why_size, "line %d is not base64", t.lines), why;
        t.received += uint32_t(got);
        if (t.lines % ACK_LINES == 0) kprintf("patch load: %u of %u bytes\n", t.received, t.size);
    }
}

int cmd_load(const char* size_text, const char* crc_text) {
    Result<uint32_t> size = parse_u32(size_text);
    char hex[16];
    format(hex, sizeof hex, "0x%s", crc_text);   // as corralctl sends it: 8 hex digits, no 0x
    Result<uint32_t> crc = str_len(crc_text) == 8 ? parse_u32(hex) : make_error("not 8 hex digits");
    if (size.is_error() || size.value() == 0 || size.value() > MAX_MODULE_FILE)
        return shell_error("patch load: the size must be 1..%u bytes, not '%s'", MAX_MODULE_FILE, size_text);
    if (crc.is_error()) return shell_error("patch load: '%s' is not a CRC-32 (8 hex digits)", crc_text);
    Transfer t{new uint8_t[size.value()], size.value(), 0, 0};
    if (!t.bytes) return shell_error("patch load: no memory for %u bytes", size.value());
    kprintf("patch load: ready for %u bytes: base64 lines of at most %u characters, then 'end'; "
            "after every %d lines wait for 'patch load: <n> of %u bytes'\n", t.size, LINE_MAX, ACK_LINES, t.size);
    char why[120];
    bool drain_after = false;
    const char* problem = receive(t, why, sizeof why, &drain_after);
    if (!problem && t.received != t.size)
        problem = (format(why, sizeof why, "got %u bytes, %u announced", t.received, t.size), why);
    if (!problem && crc32_ieee(t.bytes, t.size) != crc.value())
        problem = (format(why, sizeof why, "CRC-32 is %08x, %08x announced", crc32_ieee(t.bytes, t.size), crc.value()), why);
    Result<const LoadedModule*> loaded = problem ? Result<const LoadedModule*>(make_error("%s", problem))
                                                 : module_load(t.bytes, t.size);
    delete[] t.bytes;   // the module's code and data live in pages of their own now
    if (problem && drain_after) drain();
    if (loaded.is_error()) {
        const bool transfer = problem != nullptr;
        return shell_error("patch load: %s%s", loaded.error(), transfer ? "; transfer abandoned, nothing kept" : "");
    }
    const LoadedModule& m = *loaded.value();
    kprintf("loaded %s: %d target(s), code %u bytes at %#zx, data %u bytes at %#zx ('patch apply %s')\n", m.name,
            m.targets, m.code_size, m.code, m.data_size, m.data, m.name);
    return 0;
}

int cmd_modules() {
    LoadedModule m;
    int i = 0;
    for (; module_at(i, &m); i++)
        kprintf("  %s %d target(s), code %u bytes at %#zx, data %u bytes\n", m.name, m.targets, m.code_size, m.code,
                m.data_size);
    if (i == 0) kprintf("no patch modules loaded ('patch load', or scripts/corralctl load FILE)\n");
    return 0;
}

}  // namespace

// -1: not a module command.
int module_command(int argc, char** argv) {
    if (argc == 4 && str_eq(argv[1], "load")) return cmd_load(argv[2], argv[3]);
    if (argc == 2 && str_eq(argv[1], "modules")) return cmd_modules();
    if (argc == 3 && str_eq(argv[1], "unload")) {
        Result<void> r = module_unload(argv[2]);
        if (r.is_error()) return shell_error("patch unload: %s", r.error());
        kprintf("unloaded %s\n", argv[2]);
        return 0;
    }
    if (argc >= 2 && (str_eq(argv[1], "load") || str_eq(argv[1], "unload")))
        return shell_error("usage: patch load <size> <crc32> | patch unload <name> (scripts/corralctl load FILE sends one)");
    return -1;
}

}  // namespace corral::module
