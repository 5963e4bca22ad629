// The shell's basic commands: symbols, memory and power.  Subsystems add
// their own commands next to their code with SHELL_COMMAND.
#include "arch/x86/paging.h"
#include "arch/x86/power.h"
#include "arch/x86/safe_access.h"
#include "kernel/config.h"
#include "kernel/console/console.h"
#include "kernel/heap.h"
#include "kernel/lib/address.h"
#include "kernel/lib/string.h"
#include "kernel/mm/memory.h"
#include "kernel/multiboot.h"
#include "kernel/shell.h"
#include "kernel/symbols.h"

namespace corral {
namespace {

int cmd_sym(int argc, char** argv) {
    if (argc != 2) return shell_error("usage: sym <name|address|name+n|name-n>");
    Result<Symbol> s = symbol_by_name(argv[1]);
    if (s.is_ok()) {
        kprintf("%08zx %c %6zu %s\n", s.value().address, s.value().type, s.value().size, s.value().name);
        return 0;
    }
    // Not a name: an address (or name+n) to symbolize.
    Result<uint32_t> addr = shell_parse_address(argv[1]);
    if (addr.is_error()) return shell_error("sym: %s", addr.error());
    SymbolHit hit;
    if (!symbol_for_address(addr.value(), &hit)) return shell_error("sym: no symbol contains %#x", addr.value());
    kprintf("%08x = %s+%#zx\n", addr.value(), hit.symbol.name, hit.offset);
    return 0;
}
SHELL_COMMAND("sym", "sym <name|address|name+n|name-n>", "look up a kernel symbol (or the symbol at an address)",
              cmd_sym);

}  // namespace

namespace {
bool lookup_symbol(const char* name, uint32_t* address, void*) {
    Result<Symbol> s = symbol_by_name(name);
    if (s.is_ok()) *address = uint32_t(s.value().address);
    return s.is_ok();
}
}  // namespace

// The address argument may be a number, a symbol, or symbol+n / symbol-n
// (peek corral::demo_hot_counter-5 8 shows the hotpatch padding); the
// grammar is kernel/lib/address.h's, the same for every command.
Result<uint32_t> shell_parse_address(const char* text) { return parse_address(text, lookup_symbol, nullptr); }

namespace {

int cmd_peek(int argc, char** argv) {
    if (argc != 3) return shell_error("usage: peek <addr|symbol> <count>");
    Result<uint32_t> addr = shell_parse_address(argv[1]);
    if (addr.is_error()) return shell_error("peek: %s", addr.error());
    Result<uint32_t> count = parse_u32(argv[2]);
    if (count.is_error()) return shell_error("peek: count: %s", count.error());
    if (count.value() == 0 || count.value() > config::PEEK_MAX_BYTES)
        return shell_error("peek: count must be 1..%zu", config::PEEK_MAX_BYTES);
    const uint32_t base = addr.value();
    Result<void> range = check_address_range(base, count.value());
    if (range.is_error()) return shell_error("peek: %s", range.error());
    for (uint32_t row = 0; row < count.value(); row += 16) {
        kprintf("%08x:", base + row);
        for (uint32_t i = row; i < row + 16 && i < count.value(); i++) {
            uint8_t b;
            // An unmapped address prints ?? instead of faulting the kernel.
            if (safe_read_u8(reinterpret_cast<const void*>(uintptr_t(base + i)), &b) == 0) kprintf(" %02x", b);
            else kprintf(" ??");
        }
        kprintf("\n");
    }
    return 0;
}
SHELL_COMMAND("peek", "peek <addr|symbol> <count>", "hex dump of kernel memory (?? = unmapped)", cmd_peek);

int cmd_mem(int argc, char**) {
    if (argc != 1) return shell_error("usage: mem");
    const BootInfo& info = boot_info();
    kprintf("memory map (from %s):\n", info.loader);
    for (size_t i = 0; i < info.region_count; i++) {
        const MemoryRegion& r = info.regions[i];
        kprintf("  %016llx-%016llx %s\n", (unsigned long long)r.base, (unsigned long long)(r.base + r.length),
                r.type == 1 ? "usable" : "reserved");
    }
    kprintf("frames: %zu free of %zu usable (4 KiB)\n", frames_free(), frames_total());
    HeapStats h = heap_stats();
    kprintf("heap: %zu bytes used, %zu free, largest free block %zu, %zu blocks\n", h.bytes_used, h.bytes_free,
            h.largest_free_block, h.block_count);
    return 0;
}
SHELL_COMMAND("mem", "mem", "memory map, free frames and heap statistics", cmd_mem);

int cmd_reboot(int argc, char**) {
    if (argc != 1) return shell_error("usage: reboot");
    kprintf("rebooting\n");
    arch::reboot();
}
SHELL_COMMAND("reboot", "reboot", "reset the machine", cmd_reboot);

}  // namespace
}  // namespace corral
