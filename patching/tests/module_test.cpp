// Patch modules through the real loader: bad files are refused with one
// line naming the check, with nothing allocated, written or kept (heap,
// frames and the kernel text as they were); and `patch load` recovers from
// a bad transfer, fed through the UART's loopback as a sender would type it.
// (Loading the example modules for real is tests/driver/test_corralctl.py.)
#include "kernel/console/console.h"
#include "kernel/heap.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/mm/memory.h"
#include "kernel/shell.h"
#include "kernel/test/ktest.h"
#include "patching/module/loader.h"
#include "patching/module/module_format.h"
#include "patching/text_verify.h"

namespace corral {
namespace {

struct Counts {
    size_t heap_used, frames;
    int patched_bytes, unexplained;
};
Counts counts() {
    const TextVerifyReport t = text_verify(false);
    return Counts{heap_stats().bytes_used, frames_free(), t.patched_bytes, t.unexplained_chunks};
}

void put32(uint8_t* at, uint32_t v) {
    for (int i = 0; i < 4; i++) at[i] = uint8_t(v >> (8 * i));
}

// A header with one target and `payload` bytes of (garbage) payload; each
// case breaks it a little further along the validator's checks.
constexpr uint32_t PAYLOAD = 64;
constexpr uint32_t FILE_SIZE = module::HEADER_FIXED_SIZE + module::TARGET_RECORD_SIZE + PAYLOAD;
uint8_t file[FILE_SIZE];

void build(int stage) {
    for (uint8_t& b : file) b = 0;
    for (int i = 0; i < 8; i++) file[i] = module::MAGIC[i];
    put32(file + module::field::VERSION, stage == 1 ? 2 : module::FORMAT_VERSION);
    put32(file + module::field::HEADER_SIZE, module::HEADER_FIXED_SIZE + module::TARGET_RECORD_SIZE);
    put32(file + module::field::PAYLOAD_SIZE, PAYLOAD);
    uint8_t* payload = file + module::HEADER_FIXED_SIZE + module::TARGET_RECORD_SIZE;
    for (uint32_t i = 0; i < PAYLOAD; i++) payload[i] = uint8_t(i * 7);
    put32(file + module::field::PAYLOAD_CRC, module::crc32_ieee(payload, PAYLOAD) ^ (stage == 2 ? 1u : 0u));
    put32(file + module::field::BUILD_ID, kernel_build_id() ^ (stage == 3 ? 1u : 0u));
    str_copy(reinterpret_cast<char*>(file + module::field::NAME), "ktest_bad", module::MODULE_NAME_SIZE);
    put32(file + module::field::TARGET_COUNT, 1);
    uint8_t* target = file + module::HEADER_FIXED_SIZE;
    str_copy(reinterpret_cast<char*>(target + module::field::TARGET_SYMBOL), stage == 4 ? "no_such_symbol" : "seed_example",
             module::SYMBOL_NAME_SIZE);
    str_copy(reinterpret_cast<char*>(target + module::field::REPLACEMENT), "replacement", module::SYMBOL_NAME_SIZE);
    str_copy(reinterpret_cast<char*>(target + module::field::STRATEGY), "corral-scan", module::STRATEGY_NAME_SIZE);
    put32(target + module::field::OLD_LENGTH, 7);
}

KTEST(module, bad_files_are_refused_with_nothing_kept) {
    struct Case {
        int stage;
        size_t size;
        const char* says;
    };
    const Case cases[] = {
        {0, 10, "too short"},
        {1, FILE_SIZE, "format version is 2"},
        {2, FILE_SIZE, "payload CRC32"},
        {3, FILE_SIZE, "built for kernel build-id"},
        {4, FILE_SIZE, "kernel symbol no_such_symbol not found"},
        {5, FILE_SIZE - 1, "do not add up"},
    };
    for (const Case& c : cases) {
        build(c.stage);
        if (c.stage == 0) file[0] = 'X';
        const Counts before = counts();
        Result<const module::LoadedModule*> r = module::module_load(file, c.size);
        const Counts after = counts();
        if (r.is_ok()) {
            t.fail(__FILE__, __LINE__, "stage %d: a bad module was loaded", c.stage);
            continue;
        }
        if (!str_starts_with(r.error(), "module: ") || !str_contains(r.error(), c.says))
            t.fail(__FILE__, __LINE__, "stage %d: '%s' does not say '%s'", c.stage, r.error(), c.says);
        if (str_contains(r.error(), "\n")) t.fail(__FILE__, __LINE__, "stage %d: more than one line", c.stage);
        KEXPECT_EQ(after.heap_used, before.heap_used);
        KEXPECT_EQ(after.frames, before.frames);
        KEXPECT_EQ(after.patched_bytes, before.patched_bytes);
        KEXPECT_EQ(after.unexplained, 0);
    }
    module::LoadedModule m;
    KEXPECT(!module::module_at(0, &m) || !str_eq(m.name, "ktest_bad"));
}

// `patch load` fed through the loopback: a line that is not base64 ends the
// transfer with one error line; the rest of the sender's lines are
// swallowed (none runs as a command), and the shell answers afterwards.
KTEST(module, a_bad_transfer_is_abandoned_and_the_shell_recovers) {
    const Counts before = counts();
    const char* sender = "QUJD\n!!not base64!!\nQUJD\nsym kmain\nend\n";
    KREQUIRE(console_loopback_feed(sender, str_len(sender)));
    static char out[1024];
    console_capture_begin(out, sizeof out);
    const int rc = shell_execute("patch load 6 a3e3f2b9");
    console_capture_end();
    KEXPECT_EQ(rc, 1);
    KEXPECT(str_contains(out, "patch load: ready for 6 bytes"));
    KEXPECT(str_contains(out, "line 2 is not base64; transfer abandoned, nothing kept"));
    KEXPECT(!str_contains(out, "kmain at"));   // `sym kmain` was swallowed, not run
    const Counts after = counts();
    KEXPECT_EQ(after.heap_used, before.heap_used);
    KEXPECT_EQ(after.frames, before.frames);
    KEXPECT_EQ(shell_execute("patch modules"), 0);
    KEXPECT_EQ(shell_execute("patch load 999999999 00000000"), 1);   // too big: refused before anything
    KEXPECT_EQ(shell_execute("patch load 10 xyz"), 1);
}

}  // namespace
}  // namespace corral
