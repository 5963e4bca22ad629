// Tests for arch/x86/acpi.cpp and arch/x86/mptable.cpp: firmware tables are
// built byte by byte in a fake physical memory (1 MiB of low memory plus a
// high window where QEMU puts its ACPI tables), with correct checksums unless
// a test breaks one on purpose.  Two tests replay tables captured from QEMU
// 7.2 + SeaBIOS (-smp 4,sockets=4), so the builders cannot share a
// misunderstanding with the parser.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "arch/x86/acpi.h"
#include "arch/x86/mptable.h"

using corral::Result;
using namespace corral::arch;
using Bytes = std::vector<uint8_t>;

namespace {

constexpr uint64_t kHighBase = 0x7FE0000, kHighSize = 0x20000;
constexpr uint32_t kRsdp = 0xF5A30, kRsdt = 0x7FE1000, kFacp = 0x7FE1080, kMadt = 0x7FE1100, kXsdt = 0x7FE1800,
                   kMadt2 = 0x7FE1900, kMpFloat = 0xF5B60, kMpConfig = 0xF5B70;
constexpr uint32_t kLapic = 0xFEE00000, kIoApic = 0xFEC00000;

class FakeMemory {
public:
    FakeMemory() : low_(1 << 20), high_(kHighSize) {}

    uint8_t* at(uint64_t phys, size_t len) {
        largest_read = std::max(largest_read, len);
        if (phys + len <= low_.size()) return low_.data() + phys;
        if (phys >= kHighBase && phys - kHighBase + len <= high_.size()) return high_.data() + (phys - kHighBase);
        return nullptr;
    }
    void put(uint64_t phys, const Bytes& b) {
        uint8_t* p = at(phys, b.size());
        ASSERT_NE(p, nullptr) << "test bug: table outside the fake memory";
        std::memcpy(p, b.data(), b.size());
    }
    PhysicalMemory mem() {
        return {[](void* ctx, uint64_t phys, size_t len) -> const uint8_t* {
                    return static_cast<FakeMemory*>(ctx)->at(phys, len);
                },
                this};
    }
    size_t largest_read = 0;

private:
    Bytes low_, high_;
};

void le(Bytes& b, uint64_t v, int n) {
    for (int i = 0; i < n; i++) b.push_back(uint8_t(v >> (8 * i)));
}
void text(Bytes& b, const char* s, size_t n) { b.insert(b.end(), s, s + n); }
uint8_t sum(const Bytes& b, size_t len) {
    uint8_t s = 0;
    for (size_t i = 0; i < len; i++) s = uint8_t(s + b[i]);
    return s;
}
void fix_checksum(Bytes& b, size_t at, size_t len) {
    b[at] = 0;
    b[at] = uint8_t(-sum(b, len));
}
Bytes concat(const std::vector<Bytes>& parts) {
    Bytes all;
    for (const Bytes& p : parts) all.insert(all.end(), p.begin(), p.end());
    return all;
}
Bytes hex(const char* h) {
    Bytes b;
    for (; h[0] && h[1]; h += 2) b.push_back(uint8_t(std::stoi(std::string(h, 2), nullptr, 16)));
    return b;
}

// ---- ACPI builders (ACPI 6.x §5.2.5, §5.2.6, §5.2.12) ----
Bytes sdt(const char* sig, const Bytes& body, uint8_t revision = 1) {
    Bytes b;
    text(b, sig, 4);
    le(b, 36 + body.size(), 4);
    b.push_back(revision);
    b.push_back(0);  // checksum
    text(b, "CORRALTESTTBL ", 14);
    le(b, 1, 4), text(b, "TEST", 4), le(b, 1, 4);
    b.insert(b.end(), body.begin(), body.end());
    fix_checksum(b, 9, b.size());
    return b;
}
Bytes cpu(uint8_t apic_id, uint32_t flags = 1) {
    Bytes b{0, 8, apic_id, apic_id};
    le(b, flags, 4);
    return b;
}
Bytes ioapic(uint8_t id, uint32_t phys, uint32_t gsi_base) {
    Bytes b{1, 12, id, 0};
    le(b, phys, 4), le(b, gsi_base, 4);
    return b;
}
Bytes iso(uint8_t irq, uint32_t gsi, uint16_t flags, uint8_t bus = 0) {
    Bytes b{2, 10, bus, irq};
    le(b, gsi, 4), le(b, flags, 2);
    return b;
}
Bytes x2apic(uint32_t id, uint32_t flags = 1) {
    Bytes b{9, 16, 0, 0};
    le(b, id, 4), le(b, flags, 4), le(b, id, 4);
    return b;
}
Bytes lapic_override(uint64_t phys) {
    Bytes b{5, 12, 0, 0};
    le(b, phys, 8);
    return b;
}
Bytes madt(const std::vector<Bytes>& entries, uint8_t revision = 3) {
    Bytes body;
    le(body, kLapic, 4), le(body, 1, 4);  // PCAT_COMPAT
    return sdt("APIC", concat({body, concat(entries)}), revision);
}
Bytes cpus(int n) {
    std::vector<Bytes> e;
    for (int i = 0; i < n; i++) e.push_back(cpu(uint8_t(i)));
    return concat(e);
}
Bytes rsdt(const std::vector<uint32_t>& tables) {
    Bytes body;
    for (uint32_t t : tables) le(body, t, 4);
    return sdt("RSDT", body);
}
Bytes xsdt(const std::vector<uint64_t>& tables) {
    Bytes body;
    for (uint64_t t : tables) le(body, t, 8);
    return sdt("XSDT", body);
}
Bytes rsdp(uint32_t rsdt_phys, uint8_t revision = 0, uint64_t xsdt_phys = 0) {
    Bytes b;
    text(b, "RSD PTR ", 8);
    b.push_back(0);
    text(b, "CORRAL", 6);
    b.push_back(revision);
    le(b, rsdt_phys, 4);
    fix_checksum(b, 8, 20);
    if (revision < 2) return b;
    le(b, 36, 4), le(b, xsdt_phys, 8), le(b, 0, 4);
    fix_checksum(b, 32, 36);
    return b;
}

// ---- MP table builders (MPS 1.4 §4.1-§4.3) ----
Bytes mp_cpu(uint8_t id, uint8_t flags = 1) {
    Bytes b{0, id, 0x14, flags};
    le(b, 0x663, 4), le(b, 0, 4), le(b, 0, 8);  // signature, features, reserved
    return b;
}
Bytes mp_bus(uint8_t id, const char* type) {
    Bytes b{1, id};
    text(b, type, 6);
    return b;
}
Bytes mp_ioapic(uint8_t id, uint32_t phys, uint8_t flags = 1) {
    Bytes b{2, id, 0x11, flags};
    le(b, phys, 4);
    return b;
}
Bytes mp_irq(uint8_t bus, uint8_t irq, uint8_t apic, uint8_t pin, uint16_t flags = 0) {
    Bytes b{3, 0};
    le(b, flags, 2);
    b.insert(b.end(), {bus, irq, apic, pin});
    return b;
}
Bytes mp_config(const std::vector<Bytes>& entries) {
    Bytes b;
    text(b, "PCMP", 4);
    Bytes all = concat(entries);
    le(b, 44 + all.size(), 2);
    b.insert(b.end(), {4, 0});
    text(b, "CORRAL  TEST PRODUCT", 20);
    le(b, 0, 4), le(b, 0, 2), le(b, entries.size(), 2), le(b, kLapic, 4), le(b, 0, 4);
    b.insert(b.end(), all.begin(), all.end());
    fix_checksum(b, 7, b.size());
    return b;
}
Bytes mp_floating(uint32_t config, uint8_t feature2 = 0, uint8_t feature1 = 0) {
    Bytes b;
    text(b, "_MP_", 4);
    le(b, config, 4);
    b.insert(b.end(), {1, 4, 0, feature1, feature2, 0, 0, 0});
    fix_checksum(b, 10, 16);
    return b;
}
// A typical PC: bus 0 PCI, bus 1 ISA, IRQ 0 on pin 2, the rest identity.
std::vector<Bytes> mp_pc(int ncpus) {
    std::vector<Bytes> e;
    for (int i = 0; i < ncpus; i++) e.push_back(mp_cpu(uint8_t(i), i == 0 ? 3 : 1));
    e.push_back(mp_bus(0, "PCI   "));
    e.push_back(mp_bus(1, "ISA   "));
    e.push_back(mp_ioapic(0, kIoApic));
    e.push_back(mp_irq(1, 0, 0, 2));
    e.push_back(mp_irq(1, 1, 0, 1));
    return e;
}

std::vector<int> ids(const Topology& t) { return std::vector<int>(t.apic_ids, t.apic_ids + t.cpu_count); }
std::vector<int> range(int n) {
    std::vector<int> v;
    for (int i = 0; i < n; i++) v.push_back(i);
    return v;
}

class Topo : public ::testing::Test {
protected:
    void install_acpi(const Bytes& madt_table) {
        m.put(kRsdp, rsdp(kRsdt));
        m.put(kRsdt, rsdt({kFacp, kMadt}));
        m.put(kFacp, sdt("FACP", Bytes(80)));
        m.put(kMadt, madt_table);
    }
    void install_mp(const std::vector<Bytes>& entries, uint32_t at = kMpFloat, uint8_t feature2 = 0) {
        m.put(at, mp_floating(kMpConfig, feature2));
        m.put(kMpConfig, mp_config(entries));
    }
    void corrupt(uint64_t phys, uint8_t delta = 1) { *m.at(phys, 1) += delta; }
    Result<Topology> acpi() { return discover_acpi(m.mem()); }
    Result<Topology> mp() { return discover_mptable(m.mem()); }
    Result<Topology> any() { return discover_topology(m.mem()); }

    FakeMemory m;
};

#define EXPECT_ERROR(result, text)      \
    do {                                \
        auto r_ = (result);             \
        ASSERT_TRUE(r_.is_error());     \
        EXPECT_STREQ(r_.error(), text); \
    } while (0)

// ---------------------------------------------------------------- ACPI
class AcpiCpuCount : public Topo, public ::testing::WithParamInterface<int> {};

TEST_P(AcpiCpuCount, ListsEveryEnabledCpu) {
    install_acpi(madt({cpus(GetParam()), ioapic(0, kIoApic, 0)}));
    auto r = acpi();
    ASSERT_TRUE(r.is_ok()) << r.error();
    const Topology& t = r.value();
    EXPECT_STREQ(t.source, "ACPI MADT");
    EXPECT_EQ(t.lapic_phys, kLapic);
    EXPECT_EQ(ids(t), range(GetParam()));
    EXPECT_EQ(t.cpus_ignored, 0);
    EXPECT_TRUE(t.has_8259);
}
INSTANTIATE_TEST_SUITE_P(Counts, AcpiCpuCount, ::testing::Values(1, 3, 4, 8, 16));

TEST_F(Topo, MoreThanSixteenCpusAreCountedAsIgnored) {
    install_acpi(madt({cpus(20)}));
    auto r = acpi();
    ASSERT_TRUE(r.is_ok()) << r.error();
    EXPECT_EQ(ids(r.value()), range(16));
    EXPECT_EQ(r.value().cpus_ignored, 4);
}

TEST_F(Topo, DisabledCpusAreSkippedAndMayRepeatIds) {
    // Firmware often lists absent sockets as disabled entries with junk ids.
    install_acpi(madt({cpu(0), cpu(1), cpu(7, 0), cpu(2), cpu(7, 0), cpu(1, 0)}));
    auto r = acpi();
    ASSERT_TRUE(r.is_ok()) << r.error();
    EXPECT_EQ(ids(r.value()), (std::vector<int>{0, 1, 2}));
}

TEST_F(Topo, OnlineCapableCountsOnlyFromMadtRevision5) {
    install_acpi(madt({cpu(0), cpu(1, 2)}, 5));  // ACPI 6.3: bit 1 = Online Capable
    EXPECT_EQ(acpi().value().cpu_count, 2);
    install_acpi(madt({cpu(0), cpu(1, 2)}, 3));  // before 6.3 bit 1 is reserved
    EXPECT_EQ(acpi().value().cpu_count, 1);
}

TEST_F(Topo, IoApicAndIsaOverridesAsQemuDescribesThem) {
    install_acpi(madt({cpus(2), ioapic(1, kIoApic, 0), iso(0, 2, 0),  // IRQ 0 -> GSI 2, ISA defaults
                       iso(9, 9, 0xF),                                // level, active low
                       iso(4, 20, 0xF, 1)}));                         // not bus 0 (ISA): ignored
    auto r = acpi();
    ASSERT_TRUE(r.is_ok()) << r.error();
    const Topology& t = r.value();
    ASSERT_EQ(t.ioapic_count, 1);
    EXPECT_EQ(t.ioapics[0].id, 1);
    EXPECT_EQ(t.ioapics[0].phys, kIoApic);
    EXPECT_EQ(t.override_count, 2);
    IrqOverride timer = isa_irq_route(t, 0), sci = isa_irq_route(t, 9), uart = isa_irq_route(t, 4);
    EXPECT_EQ(timer.gsi, 2u);
    EXPECT_FALSE(timer.active_low || timer.level_triggered);
    EXPECT_EQ(sci.gsi, 9u);
    EXPECT_TRUE(sci.active_low && sci.level_triggered);
    EXPECT_EQ(uart.gsi, 4u);
    EXPECT_FALSE(uart.active_low || uart.level_triggered);
}

TEST_F(Topo, X2ApicEntriesBelow255CountLikeLocalApics) {
    install_acpi(madt({cpu(0), x2apic(5), x2apic(300), x2apic(6, 0)}));
    auto r = acpi();
    ASSERT_TRUE(r.is_ok()) << r.error();
    EXPECT_EQ(ids(r.value()), (std::vector<int>{0, 5}));
    EXPECT_EQ(r.value().cpus_x2apic_only, 1);
}

TEST_F(Topo, LocalApicAddressOverrideBelow4GiBWins) {
    install_acpi(madt({cpu(0), lapic_override(0xFED00000)}));
    EXPECT_EQ(acpi().value().lapic_phys, 0xFED00000u);
    install_acpi(madt({cpu(0), lapic_override(0x100000000ull)}));
    EXPECT_EQ(acpi().value().lapic_phys, kLapic);
}

TEST_F(Topo, Revision2UsesTheXsdt) {
    install_acpi(madt({cpus(1)}));  // what the RSDT leads to
    m.put(kXsdt, xsdt({kFacp, kMadt2}));
    m.put(kMadt2, madt({cpus(3)}));
    m.put(kRsdp, rsdp(kRsdt, 2, kXsdt));
    EXPECT_EQ(acpi().value().cpu_count, 3);
    m.put(kRsdp, rsdp(kRsdt, 2, 0x100000000ull + kXsdt));  // unreachable XSDT: the RSDT it is
    EXPECT_EQ(acpi().value().cpu_count, 1);
}

TEST_F(Topo, RsdpInTheEbdaIsFound) {
    install_acpi(madt({cpus(2)}));
    m.put(kRsdp, Bytes(20));     // not in the BIOS area any more
    m.put(0x40E, {0xC0, 0x9F});  // EBDA segment 0x9FC0
    m.put(0x9FC00 + 0x40, rsdp(kRsdt));
    EXPECT_EQ(acpi().value().cpu_count, 2);
}

TEST_F(Topo, ABadCandidateBeforeTheRealRsdpIsSkipped) {
    install_acpi(madt({cpus(2)}));
    Bytes stray = rsdp(kRsdt);
    stray[19] ^= 0xFF;
    m.put(0xE0000, stray);
    EXPECT_EQ(acpi().value().cpu_count, 2);
}

// Captured from QEMU 7.2 (SeaBIOS, i440fx, -smp 4,sockets=4 -m 128M).
TEST_F(Topo, RealQemuAcpiTables) {
    m.put(0xF58D0, hex("525344205054522077424f4348532000bb1bfe07"));
    m.put(0x7FE1BBB, hex("52534454340000000195424f434853204258504320202020010000004258504301000000"
                         "571afe07cb1afe075b1bfe07931bfe07"));
    m.put(0x7FE1ACB, hex("4150494390000000014b424f4348532042585043202020200100000042585043010000000000e0fe"
                         "010000000008000001000000000801010100000000080202010000000008030301000000010c0000"
                         "0000c0fe00000000020a0000020000000000020a0005050000000d00020a0009090000000d00020a"
                         "000a0a0000000d00020a000b0b0000000d000406ff000001"));
    auto r = any();
    ASSERT_TRUE(r.is_ok()) << r.error();
    const Topology& t = r.value();
    EXPECT_STREQ(t.source, "ACPI MADT");
    EXPECT_EQ(ids(t), range(4));
    ASSERT_EQ(t.ioapic_count, 1);
    EXPECT_EQ(t.ioapics[0].phys, kIoApic);
    EXPECT_EQ(isa_irq_route(t, 0).gsi, 2u);
    for (uint8_t irq : {5, 9, 10, 11}) {  // PCI link IRQs: level, active high
        EXPECT_TRUE(isa_irq_route(t, irq).level_triggered) << int(irq);
        EXPECT_FALSE(isa_irq_route(t, irq).active_low) << int(irq);
    }
    EXPECT_EQ(t.override_count, 5);
}

// ---------------------------------------------------------------- ACPI errors
TEST_F(Topo, NoRsdp) { EXPECT_ERROR(acpi(), "acpi: no RSDP in the EBDA or at 0xe0000-0xfffff"); }

TEST_F(Topo, BadRsdpChecksum) {
    install_acpi(madt({cpus(1)}));
    corrupt(kRsdp + 10);
    EXPECT_ERROR(acpi(), "acpi: RSDP at 0xf5a30 has a bad checksum (sum 0x1)");
}

TEST_F(Topo, BadRsdpExtendedChecksum) {
    install_acpi(madt({cpus(1)}));
    m.put(kRsdp, rsdp(kRsdt, 2, kRsdt));
    corrupt(kRsdp + 33, 5);  // reserved byte: only the extended checksum covers it
    EXPECT_ERROR(acpi(), "acpi: RSDP at 0xf5a30 has a bad extended checksum (sum 0x5)");
}

TEST_F(Topo, BadRsdtChecksum) {
    install_acpi(madt({cpus(1)}));
    corrupt(kRsdt + 12, 0x10);
    EXPECT_ERROR(acpi(), "acpi: RSDT at 0x7fe1000 has a bad checksum (sum 0x10)");
}

TEST_F(Topo, BadMadtChecksum) {
    install_acpi(madt({cpus(2)}));
    corrupt(kMadt + 44 + 3, 0x3c);  // CPU 0's APIC id
    EXPECT_ERROR(acpi(), "acpi: MADT at 0x7fe1100 has a bad checksum (sum 0x3c)");
}

TEST_F(Topo, NoMadt) {
    install_acpi(madt({cpus(1)}));
    m.put(kRsdt, rsdt({kFacp, 0x90000000}));  // second entry: outside memory
    EXPECT_ERROR(acpi(), "acpi: no MADT among the 2 tables of the RSDT at 0x7fe1000 (1 unreadable)");
}

TEST_F(Topo, WrongRootSignature) {
    install_acpi(madt({cpus(1)}));
    m.put(kRsdp, rsdp(kFacp));
    EXPECT_ERROR(acpi(), "acpi: RSDT at 0x7fe1080 has signature 'FACP', not 'RSDT'");
}

TEST_F(Topo, MadtEntryRunningPastTheTableEnd) {
    Bytes t = madt({cpus(2)});
    t.push_back(0), t.push_back(8), t.push_back(2);  // a CPU entry cut after 3 of its 8 bytes
    t[4] = uint8_t(t.size());
    fix_checksum(t, 9, t.size());
    install_acpi(t);
    EXPECT_ERROR(acpi(), "acpi: MADT at 0x7fe1100: entry at offset 60 (type 0, length 8) runs past its end (63)");
}

TEST_F(Topo, MadtEntryTooShortForItsType) {
    install_acpi(madt({cpu(0), Bytes{1, 6, 0, 0, 0, 0}}));  // an IOAPIC entry is 12 bytes
    EXPECT_ERROR(acpi(), "acpi: MADT at 0x7fe1100: entry at offset 52 (type 1) has length 6, needs 12");
}

TEST_F(Topo, ZeroLengthEntryCannotLoopForever) {
    install_acpi(madt({cpu(0), Bytes{0x7F, 0, 0, 0}}));
    EXPECT_ERROR(acpi(), "acpi: MADT at 0x7fe1100: entry at offset 52 (type 127) has length 0, needs 2");
}

TEST_F(Topo, TableCutOffByTheEndOfReadableMemory) {
    const uint32_t at = uint32_t(kHighBase + kHighSize - 40);  // room for the header only
    install_acpi(madt({cpus(1)}));
    m.put(kRsdt, rsdt({at}));
    const Bytes whole = madt({cpus(4)});
    m.put(at, Bytes(whole.begin(), whole.begin() + 40));
    EXPECT_ERROR(acpi(), "acpi: MADT at 0x7ffffd8 is truncated (76 bytes not readable)");
}

TEST_F(Topo, AbsurdLengthIsRefusedBeforeReading) {
    Bytes t = madt({cpus(1)});
    t[4] = t[5] = t[6] = t[7] = 0xFF;
    install_acpi(t);
    EXPECT_ERROR(acpi(), "acpi: MADT at 0x7fe1100 claims an absurd length 4294967295 (limit 65536)");
    EXPECT_LE(m.largest_read, 65536u);
}

TEST_F(Topo, LengthShorterThanTheHeader) {
    install_acpi(madt({cpus(1)}));
    Bytes r = rsdt({kMadt});
    r[4] = 20;
    fix_checksum(r, 9, 20);
    m.put(kRsdt, r);
    EXPECT_ERROR(acpi(), "acpi: RSDT at 0x7fe1000 has length 20, shorter than its header");
}

TEST_F(Topo, DuplicateApicId) {
    install_acpi(madt({cpu(0), cpu(1), cpu(2), cpu(1)}));
    EXPECT_ERROR(acpi(), "acpi: MADT at 0x7fe1100 lists APIC id 1 twice");
}

TEST_F(Topo, DuplicateBeyondTheCpuLimitIsStillCaught) {
    install_acpi(madt({cpus(20), cpu(18)}));
    EXPECT_ERROR(acpi(), "acpi: MADT at 0x7fe1100 lists APIC id 18 twice");
}

TEST_F(Topo, NoUsableCpu) {
    install_acpi(madt({cpu(0, 0), ioapic(0, kIoApic, 0)}));
    EXPECT_ERROR(acpi(), "acpi: MADT at 0x7fe1100 lists no usable CPU");
}

// ---------------------------------------------------------------- MP table
TEST_F(Topo, MpTableProcessorsIoApicAndIsaInterrupts) {
    install_mp({mp_cpu(0), mp_cpu(1, 3), mp_cpu(2, 0), mp_cpu(3),  // CPU 1 is the BSP, CPU 2 disabled
                mp_bus(0, "PCI   "), mp_bus(3, "ISA   "), mp_ioapic(2, kIoApic), mp_ioapic(4, 0xFEC01000, 0),
                mp_irq(3, 0, 2, 2), mp_irq(3, 4, 2, 4), mp_irq(3, 9, 2, 9, 0xF), mp_irq(0, 8, 2, 16, 0xF),
                mp_irq(3, 7, 4, 7)},  // to the disabled IOAPIC: dropped
               kMpFloat, 0x80);
    auto r = mp();
    ASSERT_TRUE(r.is_ok()) << r.error();
    const Topology& t = r.value();
    EXPECT_STREQ(t.source, "MP table");
    EXPECT_EQ(ids(t), (std::vector<int>{1, 0, 3}));  // BSP first
    EXPECT_EQ(t.lapic_phys, kLapic);
    ASSERT_EQ(t.ioapic_count, 1);
    EXPECT_EQ(t.ioapics[0].id, 2);
    EXPECT_EQ(t.ioapics[0].gsi_base, 0u);
    EXPECT_EQ(t.override_count, 2);  // IRQ 0 -> 2 and IRQ 9; IRQ 4 is identity, IRQ 8 is on PCI
    EXPECT_EQ(isa_irq_route(t, 0).gsi, 2u);
    EXPECT_TRUE(isa_irq_route(t, 9).active_low && isa_irq_route(t, 9).level_triggered);
    EXPECT_EQ(isa_irq_route(t, 8).gsi, 8u);
    EXPECT_TRUE(t.has_8259);
    EXPECT_TRUE(t.imcr_present);
}

TEST_F(Topo, MpBspBeyondTheLimitStillComesFirst) {
    std::vector<Bytes> e;
    for (int i = 0; i < 17; i++) e.push_back(mp_cpu(uint8_t(i), i == 16 ? 3 : 1));
    install_mp(e);
    auto r = mp();
    ASSERT_TRUE(r.is_ok()) << r.error();
    EXPECT_EQ(r.value().apic_ids[0], 16);
    EXPECT_EQ(r.value().cpu_count, 16);
    EXPECT_EQ(r.value().cpus_ignored, 1);
}

TEST_F(Topo, MpFloatingPointerInTheLastKibOfBaseMemory) {
    install_mp(mp_pc(2), 0x9FC00);
    EXPECT_EQ(mp().value().cpu_count, 2);
}

// Captured from QEMU 7.2 (SeaBIOS).  Note: with plain `-smp 4` (one socket,
// four cores) SeaBIOS lists only the first CPU of each package here.
TEST_F(Topo, RealQemuMpTable) {
    m.put(0xF5B60, hex("5f4d505f705b0f000104c60000000000"));
    m.put(0xF5B70, hex("50434d50040104cd424f434853435055302e3120202020202020202000000000000015000000e0fe"
                       "000000000000140363060000fdab810700000000000000000001140163060000fdab810700000000"
                       "000000000002140163060000fdab810700000000000000000003140163060000fdab810700000000"
                       "0000000001005043492020200101495341202020020011010000c0fe030001000004000903000000"
                       "01000002030000000101000103000000010300030300000001040004030000000106000603000000"
                       "01070007030000000108000803000000010c000c03000000010d000d03000000010e000e03000000"
                       "010f000f0403000001000000040100000100ff01"));
    auto r = mp();
    ASSERT_TRUE(r.is_ok()) << r.error();
    EXPECT_EQ(ids(r.value()), range(4));
    EXPECT_EQ(r.value().ioapics[0].phys, kIoApic);
    EXPECT_EQ(r.value().override_count, 1);  // IRQ 0 -> pin 2; the PCI entry on bus 0 is not ISA
    EXPECT_EQ(isa_irq_route(r.value(), 0).gsi, 2u);
}

TEST_F(Topo, MpErrors) {
    EXPECT_ERROR(mp(), "mptable: no _MP_ floating pointer found");
    install_mp(mp_pc(2));
    corrupt(kMpFloat + 12);
    EXPECT_ERROR(mp(), "mptable: floating pointer at 0xf5b60 has a bad checksum (sum 0x1)");
    install_mp(mp_pc(2));
    corrupt(kMpConfig + 60, 2);
    EXPECT_ERROR(mp(), "mptable: configuration table at 0xf5b70 has a bad checksum (sum 0x2)");
    install_mp({mp_cpu(0, 3), mp_cpu(1), mp_cpu(0)});
    EXPECT_ERROR(mp(), "mptable: configuration table at 0xf5b70 lists APIC id 0 twice");
    install_mp({mp_cpu(0, 3), Bytes{9, 0, 0, 0, 0, 0, 0, 0}});
    EXPECT_ERROR(mp(), "mptable: configuration table at 0xf5b70: entry 1 has unknown type 9");
    m.put(kMpFloat, mp_floating(kMpConfig, 0, 5));
    EXPECT_ERROR(mp(), "mptable: floating pointer at 0xf5b60 selects default configuration 5 (not supported)");
}

TEST_F(Topo, MpEntryCountBeyondTheBaseTable) {
    Bytes c = mp_config({mp_cpu(0, 3)});
    c[34] = 3;  // entry count says 3, the table holds 1
    fix_checksum(c, 7, c.size());
    m.put(kMpFloat, mp_floating(kMpConfig));
    m.put(kMpConfig, c);
    EXPECT_ERROR(mp(), "mptable: configuration table at 0xf5b70: entry 1 of 3 starts past its end (64)");
}

// ---------------------------------------------------------------- fallback
TEST_F(Topo, AcpiIsPreferredOverTheMpTable) {
    install_acpi(madt({cpus(4)}));
    install_mp(mp_pc(2));
    auto r = any();
    ASSERT_TRUE(r.is_ok()) << r.error();
    EXPECT_STREQ(r.value().source, "ACPI MADT");
    EXPECT_EQ(r.value().cpu_count, 4);
    EXPECT_STREQ(r.value().fallback_reason, "");
}

TEST_F(Topo, BrokenAcpiFallsBackToTheMpTableAndSaysWhy) {
    install_acpi(madt({cpus(4)}));
    install_mp(mp_pc(2));
    corrupt(kMadt + 50, 0x3c);
    auto r = any();
    ASSERT_TRUE(r.is_ok()) << r.error();
    EXPECT_STREQ(r.value().source, "MP table");
    EXPECT_EQ(r.value().cpu_count, 2);
    EXPECT_STREQ(r.value().fallback_reason, "acpi: MADT at 0x7fe1100 has a bad checksum (sum 0x3c)");
}

TEST_F(Topo, DuplicateIdInTheMadtFallsBackToo) {
    install_acpi(madt({cpu(0), cpu(0)}));
    install_mp(mp_pc(3));
    auto r = any();
    ASSERT_TRUE(r.is_ok()) << r.error();
    EXPECT_STREQ(r.value().source, "MP table");
    EXPECT_EQ(r.value().cpu_count, 3);
}

TEST_F(Topo, WhenBothFailTheErrorNamesBoth) {
    install_acpi(madt({cpus(1)}));
    corrupt(kRsdt + 12);
    EXPECT_ERROR(any(),
                 "acpi: RSDT at 0x7fe1000 has a bad checksum (sum 0x1); "
                 "mptable: no _MP_ floating pointer found");
}

TEST(IsaIrqRoute, IdentityWithoutOverrides) {
    Topology t{};
    for (uint8_t irq = 0; irq < 16; irq++) {
        IrqOverride o = isa_irq_route(t, irq);
        EXPECT_EQ(o.gsi, irq);
        EXPECT_FALSE(o.active_low || o.level_triggered);
    }
}

}  // namespace
