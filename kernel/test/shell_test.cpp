// The shell: bad input gets one clear error line and never hurts the kernel.
#include "arch/x86/cpu.h"
#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/config.h"
#include "kernel/lib/string.h"
#include "kernel/line_editor.h"
#include "kernel/shell.h"
#include "kernel/sync/spinlock.h"
#include "kernel/test/ktest.h"

namespace corral {
namespace {

struct Run {
    int status;
    char out[2048];
};

Run run(const char* line) {
    Run r{};
    console_capture_begin(r.out, sizeof r.out);
    r.status = shell_execute(line);
    console_capture_end();
    return r;
}

int count_lines(const char* s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

// One error line, starting "error:".
void expect_one_error(KTestContext& t, const char* line) {
    Run r = run(line);
    if (r.status == 0 || !str_starts_with(r.out, "error: ") || count_lines(r.out) != 1)
        t.fail(__FILE__, __LINE__, "'%s' gave status %d and output '%s'", line, r.status, r.out);
}

KTEST(shell, unknown_command_is_one_error_line) {
    Run r = run("frobnicate now");
    KEXPECT_EQ(r.status, -1);
    KEXPECT(str_contains(r.out, "unknown command 'frobnicate'"));
    KEXPECT_EQ(count_lines(r.out), 1);
}

KTEST(shell, bad_arguments_are_one_error_line) {
    expect_one_error(t, "peek");
    expect_one_error(t, "peek zzz 4");
    expect_one_error(t, "peek 0x100000 0");
    expect_one_error(t, "peek 0x100000 100000");
    expect_one_error(t, "peek 0x100000 4x");
    expect_one_error(t, "sym");
    expect_one_error(t, "sym no_such_symbol_here");
    expect_one_error(t, "mem extra");
    expect_one_error(t, "help nonsense");
    expect_one_error(t, "reboot now");
    expect_one_error(t, "text");
    expect_one_error(t, "text verify now");
    expect_one_error(t, "text scrub");
    expect_one_error(t, "corral bogus");
    expect_one_error(t, "corral stats extra");
    expect_one_error(t, "bench");            // every refusal through the same path (corralctl reads "error:")
    expect_one_error(t, "bench nosuch");
    expect_one_error(t, "bench corral foo");
    expect_one_error(t, "bench corral samples=0");
    expect_one_error(t, "bench corral samples=1 extra");
}

KTEST(shell, empty_and_overlong_lines) {
    KEXPECT_EQ(run("").status, -1);
    KEXPECT_EQ(run("    ").status, -1);
    char longline[300];
    for (size_t i = 0; i < sizeof longline - 1; i++) longline[i] = 'a';
    longline[sizeof longline - 1] = 0;
    Run r = run(longline);
    KEXPECT_EQ(r.status, -1);
    KEXPECT(str_starts_with(r.out, "error: line too long"));
}

KTEST(shell, peek_unmapped_prints_question_marks) {
    Run r = run("peek 0 4");
    KEXPECT_EQ(r.status, 0);
    KEXPECT(str_contains(r.out, "00000000: ?? ?? ?? ??"));
}

KTEST(shell, peek_symbol_shows_bytes) {
    // Every fentry-layout function starts with the 5-byte NOP 0f 1f 44 00 00.
    Run r = run("peek corral::shell_execute 5");
    KEXPECT_EQ(r.status, 0);
    KEXPECT(str_contains(r.out, "0f 1f 44 00 00"));
}

KTEST(shell, peek_symbol_plus_minus_offset) {
    Run r = run("peek kmain+0 5");
    KEXPECT_EQ(r.status, 0);
    KEXPECT(str_contains(r.out, "0f 1f 44 00 00"));
    r = run("peek seed_example-2 4");   // int3 padding, then mov edi,edi
    KEXPECT_EQ(r.status, 0);
    KEXPECT(str_contains(r.out, "cc cc 8b ff"));
    expect_one_error(t, "peek no_such_thing+4 4");
}

KTEST(shell, sym_and_help) {
    Run r = run("sym kmain");
    KEXPECT_EQ(r.status, 0);
    KEXPECT(str_contains(r.out, "kmain"));
    r = run("help");
    KEXPECT_EQ(r.status, 0);
    KEXPECT(str_contains(r.out, "peek <addr|symbol> <count>"));
    KEXPECT(str_contains(r.out, "reboot"));
}

char echoed[512];
size_t echoed_len = 0;
void capture_echo(const char* text) {
    while (*text && echoed_len + 1 < sizeof echoed) echoed[echoed_len++] = *text++;
    echoed[echoed_len] = 0;
}

// Feeds `keys`; returns the last completed line (or "(none)").
const char* type(LineEditor& e, const char* keys) {
    const char* last = "(none)";
    for (; *keys; keys++)
        if (e.feed(*keys, capture_echo)) last = e.line();
    return last;
}

KTEST(shell, line_editing_and_history) {
    LineEditor* e = new LineEditor();
    echoed_len = 0;
    KEXPECT(str_eq(type(*e, "pex\x7f" "ek 0 4\r"), "peek 0 4"));        // backspace
    KEXPECT(str_eq(type(*e, "junk\x15" "cpus\r"), "cpus"));             // Ctrl-U erases the line
    KEXPECT(str_eq(type(*e, "\x1b[A\r"), "cpus"));                    // up: the last line
    KEXPECT(str_eq(type(*e, "\x1b[A\x1b[A\r"), "peek 0 4"));          // up twice ("cpus" twice counts once)
    KEXPECT(str_eq(type(*e, "\x1b[A\x1b[A\x1b[B\r"), "peek 0 4"));   // up, up (cpus), down: back to the newest
    KEXPECT(str_eq(type(*e, "\x1b[C\x1b[1;5D" "ok\r"), "ok"));           // other sequences are swallowed
    KEXPECT(str_eq(type(*e, "half\x03"), ""));                       // Ctrl-C drops the line
    KEXPECT(str_contains(echoed, "^C"));
    delete e;
}

void no_echo(const char*) {}

KTEST(shell, lost_input_and_overlong_lines_are_discarded_whole) {
    LineEditor* e = new LineEditor();
    echoed_len = 0;
    KEXPECT(str_eq(type(*e, "cpus\r"), "cpus"));
    for (const char* p = "sym 0x10"; *p; p++) KEXPECT(!e->feed(*p, capture_echo));
    e->overflow(capture_echo);                                    // bytes lost here
    KEXPECT(str_contains(echoed, "input overflow: line discarded"));
    KEXPECT(str_eq(type(*e, "1a00\r"), ""));                 // the rest of the damaged line: dropped
    KEXPECT(str_eq(type(*e, "threads\r"), "threads"));       // the next line is whole
    char longline[200];
    for (size_t i = 0; i < sizeof longline - 2; i++) longline[i] = 'a';
    longline[sizeof longline - 2] = '\r';
    longline[sizeof longline - 1] = 0;
    KEXPECT(str_eq(type(*e, longline), ""));                  // never run cut short
    KEXPECT(str_contains(echoed, "line too long"));
    delete e;
}

// ---- Pasting through the UART (its loopback feeds our receive path) ----

constexpr int PASTE_LINE = 13;   // "sym 0x10XXXX\r"

void paste_line(char* out, int n) { format(out, PASTE_LINE + 1, "sym 0x10%04x\r", unsigned(n)); }

// Reads every entry waiting and runs it through a line editor; returns the
// lines completed (at most `max`) and counts the overflow marks.
int read_pasted(char (*lines)[PASTE_LINE + 1], int max, int* overflows) {
    LineEditor* e = new LineEditor();
    int n = 0;
    *overflows = 0;
    while (console_input_pending() > 0) {
        const int c = console_getc();
        if (c == CONSOLE_OVERFLOW) {
            e->overflow(no_echo);
            ++*overflows;
        } else if (e->feed(char(c), no_echo) && e->line()[0] && n < max) {
            str_copy(lines[n++], e->line(), PASTE_LINE + 1);
        }
    }
    delete e;
    return n;
}

void drain_input() {
    while (console_input_pending() > 0) (void)console_getc();
}

KTEST(shell, a_pasted_block_arrives_line_for_line) {
    drain_input();
    constexpr int LINES = 40;   // 520 bytes: twice the old 256-byte buffer
    static char block[LINES * PASTE_LINE + 1];
    for (int i = 0; i < LINES; i++) paste_line(block + i * PASTE_LINE, i);
    KREQUIRE(console_loopback_feed(block, LINES * PASTE_LINE));
    static char got[LINES + 8][PASTE_LINE + 1];
    int overflows;
    const int n = read_pasted(got, LINES + 8, &overflows);
    KEXPECT_EQ(overflows, 0);
    KEXPECT_EQ(n, LINES);
    for (int i = 0; i < n && i < LINES; i++) {
        char want[PASTE_LINE + 1];
        paste_line(want, i);
        want[PASTE_LINE - 1] = 0;   // without the \r
        KEXPECT(str_eq(got[i], want));
    }
}

KTEST(shell, a_paste_too_big_for_the_buffer_loses_whole_lines_only) {
    drain_input();
    constexpr int LINES = int(config::SERIAL_INPUT_BUFFER / PASTE_LINE) + 80;   // overflows the buffer
    static char block[LINES * PASTE_LINE + 1];
    for (int i = 0; i < LINES; i++) paste_line(block + i * PASTE_LINE, i);
    KREQUIRE(console_loopback_feed(block, LINES * PASTE_LINE));   // nobody reads meanwhile
    static char got[LINES][PASTE_LINE + 1];
    int overflows;
    const int n = read_pasted(got, LINES, &overflows);
    KEXPECT(overflows >= 1);
    KEXPECT(n > 0 && n < LINES);
    // Every line that came through is one that was sent, whole, in order.
    int last = -1;
    for (int i = 0; i < n; i++) {
        unsigned v = 0;
        bool ok = str_starts_with(got[i], "sym 0x10") && str_len(got[i]) == PASTE_LINE - 1;
        for (int k = 8; ok && k < PASTE_LINE - 1; k++) {
            const char ch = got[i][k];
            ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
            v = v * 16 + unsigned(ch <= '9' ? ch - '0' : ch - 'a' + 10);
        }
        if (!ok || int(v) <= last || int(v) >= LINES) {
            t.fail(__FILE__, __LINE__, "line %d came through damaged or out of order: '%s'", i, got[i]);
            break;
        }
        last = int(v);
    }
}

KTEST(sync, spinlock_holding_and_interrupts) {
    Spinlock lock("test");
    KEXPECT(!lock.holding());
    KEXPECT(arch::interrupts_enabled());
    {
        SpinlockGuard g(lock);
        KEXPECT(lock.holding());
        KEXPECT(!arch::interrupts_enabled());   // held locks keep IRQs off on this CPU
        KEXPECT(!lock.try_lock());
    }
    KEXPECT(!lock.holding());
    KEXPECT(arch::interrupts_enabled());
}

}  // namespace
}  // namespace corral
