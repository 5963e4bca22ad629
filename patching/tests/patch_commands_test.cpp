// The patch shell commands' output (issue 21's shell polish): `patch list`
// in columns that line up, one word for each state; `corral break none`
// says what it did.
#include "kernel/console/console.h"
#include "kernel/lib/string.h"
#include "kernel/shell.h"
#include "kernel/test/ktest.h"
#include "patching/corral.h"

namespace corral {
namespace {

char out[16384];

void run(const char* line) {
    console_capture_begin(out, sizeof out);
    shell_execute(line);
    console_capture_end();
}

// The column where the state word of a `patch list` row begins: after the
// two-space indent and the name, past the padding.  -1: not a patch row.
int state_column(const char* row, const char* end) {
    if (end - row < 3 || row[0] != ' ' || row[1] != ' ' || row[2] == ' ' || row[2] == '(') return -1;
    const char* p = row + 2;
    while (p < end && *p != ' ') p++;
    while (p < end && *p == ' ') p++;
    return p < end ? int(p - row) : -1;
}

KTEST(patch_commands, patch_list_lines_up_its_columns_and_states) {
    run("patch list");
    int rows = 0, column = -1, misaligned = 0;
    for (const char* row = out; *row;) {
        const char* end = row;
        while (*end && *end != '\n') end++;
        const int c = state_column(row, end);
        if (c >= 0) {
            rows++;
            if (column < 0) column = c;
            else if (c != column) misaligned++;
        }
        row = *end ? end + 1 : end;
    }
    KEXPECT(rows >= 10);   // the built-in single and multi-function patches
    KEXPECT_EQ(misaligned, 0);
    KEXPECT(!str_contains(out, "not applied"));   // a multi-function patch uses its members' words
    KEXPECT(str_contains(out, "  contract-fentry.inner "));   // the longest name sets the column
}

KTEST(patch_commands, corral_break_none_says_what_it_did) {
    run("corral break none");
    KEXPECT(str_contains(out, "corral: nothing was broken"));
    run("corral break ack-before-park");
    KEXPECT(str_contains(out, "warning: "));
    run("corral break none");
    KEXPECT(str_contains(out, "corral: ack-before-park repaired"));
    KEXPECT(corral_bug() == CorralBug::None);
}

}  // namespace
}  // namespace corral
