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
#include "patching/module/bad_module_pack.h"
#include "patching/module/loader.h"
#include "patching/module/module_elf.h"
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

}  // namespace
}  // namespace corral

// tests/host/bad_module_pack's output, linked in by the Makefile.
extern "C" const uint8_t bad_module_pack_start[], bad_module_pack_end[];

namespace corral {
namespace {

// Reads patching/module/bad_module_pack.h's format; any overrun sets `bad`.
struct PackReader {
    const uint8_t* at;
    const uint8_t* end;
    bool bad = false;

    const uint8_t* take(uint32_t length) {
        const uint32_t step = module::pack::padded(length);
        if (bad || step < length || uint32_t(end - at) < step) {
            bad = true;
            return nullptr;
        }
        const uint8_t* p = at;
        at += step;
        return p;
    }
    uint32_t u32() {
        const uint8_t* p = take(4);
        return p ? module::le32(p) : 0;
    }
    // A length-prefixed byte string.
    const uint8_t* blob(uint32_t* length) {
        *length = u32();
        return take(*length);
    }
};

// The fake kernel the bad modules were made for: its symbols and memory,
// straight from the pack.
struct PackKernel {
    const uint8_t* symbols;   // symbol_count records of NAME_SIZE + 8 bytes
    uint32_t symbol_count;
    const uint8_t* regions;
    uint32_t region_count;
    const uint8_t* regions_end;

    static bool resolve(void* ctx, const char* name, module::KernelSymbol* out) {
        const auto* k = static_cast<const PackKernel*>(ctx);
        for (uint32_t i = 0; i < k->symbol_count; i++) {
            const uint8_t* s = k->symbols + i * (module::pack::NAME_SIZE + 8);
            if (str_len(name) >= module::pack::NAME_SIZE || !str_eq(reinterpret_cast<const char*>(s), name)) continue;
            *out = module::KernelSymbol{module::le32(s + module::pack::NAME_SIZE),
                                        module::le32(s + module::pack::NAME_SIZE + 4)};
            return true;
        }
        return false;
    }
    static bool read_bytes(void* ctx, uint32_t address, uint8_t* out, size_t count) {
        const auto* k = static_cast<const PackKernel*>(ctx);
        PackReader r{k->regions, k->regions_end};
        for (uint32_t i = 0; i < k->region_count; i++) {
            const uint32_t start = r.u32();
            uint32_t length;
            const uint8_t* bytes = r.blob(&length);
            if (!bytes || address < start || address - start > length || count > length - (address - start)) continue;
            for (size_t b = 0; b < count; b++) out[b] = bytes[address - start + b];
            return true;
        }
        return false;
    }
};

// Every hand-made bad module of the host tests (tests/host/module_cases.cpp),
// through the kernel's own loader: each is refused with exactly the line the
// host test expects, and nothing is allocated, written or kept.  The
// modules were made for a fake kernel, so the validator is asked about
// that kernel (module_load_with); everything else is module_load's.
KTEST(module, every_hand_made_bad_module_is_refused_with_its_line) {
    PackReader r{bad_module_pack_start, bad_module_pack_end};
    const uint8_t* magic = r.take(sizeof module::pack::MAGIC);
    KREQUIRE(magic);
    for (size_t i = 0; i < sizeof module::pack::MAGIC; i++) KREQUIRE(magic[i] == uint8_t(module::pack::MAGIC[i]));
    KREQUIRE(r.u32() == module::pack::PACK_VERSION);
    const uint32_t build_id = r.u32();
    PackKernel kernel{};
    kernel.symbol_count = r.u32();
    kernel.symbols = r.take(kernel.symbol_count * (module::pack::NAME_SIZE + 8));
    kernel.region_count = r.u32();
    kernel.regions = r.at;
    for (uint32_t i = 0; i < kernel.region_count; i++) {
        r.u32();
        uint32_t length;
        r.blob(&length);
    }
    kernel.regions_end = r.at;
    const uint32_t cases = r.u32();
    KREQUIRE(!r.bad && kernel.symbol_count > 0 && cases > 0);
    uint32_t refused = 0;
    for (uint32_t c = 0; c < cases; c++) {
        const char* name = reinterpret_cast<const char*>(r.take(module::pack::NAME_SIZE));
        module::KernelFacts facts{build_id, &kernel, PackKernel::resolve, PackKernel::read_bytes, {}};
        facts.limits.max_file_size = r.u32();
        facts.limits.max_sections = int(r.u32());
        facts.limits.max_relocations = int(r.u32());
        facts.limits.max_image_size = r.u32();
        uint32_t error_length, file_length;
        const char* error = reinterpret_cast<const char*>(r.blob(&error_length));
        const uint8_t* file = r.blob(&file_length);
        KREQUIRE(!r.bad && name);
        const Counts before = counts();
        Result<const module::LoadedModule*> loaded = module::module_load_with(file, file_length, facts);
        const Counts after = counts();
        if (loaded.is_ok()) {
            t.fail(__FILE__, __LINE__, "%s: a bad module was loaded", name);
            (void)module::module_unload(loaded.value()->name);
            continue;
        }
        static char want[256];   // the expected line, NUL-terminated (the pack's is not)
        const uint32_t kept = error_length < sizeof want ? error_length : uint32_t(sizeof want - 1);
        for (uint32_t i = 0; i < kept; i++) want[i] = error[i];
        want[kept] = 0;
        const char* got = loaded.error();
        if (error_length >= sizeof want || !str_eq(got, want))
            t.fail(__FILE__, __LINE__, "%s: '%s', want '%s'", name, got, want);
        if (after.heap_used != before.heap_used || after.frames != before.frames ||
            after.patched_bytes != before.patched_bytes || after.unexplained != 0)
            t.fail(__FILE__, __LINE__, "%s: heap %zu -> %zu, frames %zu -> %zu, patched bytes %d -> %d", name,
                   before.heap_used, after.heap_used, before.frames, after.frames, before.patched_bytes,
                   after.patched_bytes);
        refused++;
    }
    KEXPECT(r.at == bad_module_pack_end);
    KEXPECT_EQ(refused, cases);
    kprintf("module: %u hand-made bad modules refused, each with its line, nothing kept\n", refused);
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
