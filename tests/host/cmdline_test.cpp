// Tests for kernel/cmdline: every key, every error, first-word skipping.
#include "kernel/cmdline.h"

#include <gtest/gtest.h>

#include <string>

using corral::BootOptions;
using corral::parse_cmdline;

namespace {

// Parses "build/corral.elf <args>" and expects success.
BootOptions ok(const std::string& args)
{
    std::string line = "build/corral.elf " + args;
    auto r = parse_cmdline(line.c_str());
    EXPECT_TRUE(r.is_ok()) << "'" << line << "' failed: " << r.error();
    return r.value();
}

// Parses "build/corral.elf <args>" and returns the error text ("" if it parsed).
std::string err(const std::string& args)
{
    std::string line = "build/corral.elf " + args;
    auto r = parse_cmdline(line.c_str());
    EXPECT_TRUE(r.is_error()) << "'" << line << "' should have been refused";
    return r.error();
}

void expect_defaults(const BootOptions& o)
{
    EXPECT_FALSE(o.has_test);
    EXPECT_FALSE(o.has_demo);
    EXPECT_FALSE(o.has_stress);
    EXPECT_FALSE(o.has_bench);
    EXPECT_FALSE(o.has_strategy);
    EXPECT_FALSE(o.has_seed);
    EXPECT_FALSE(o.exit_when_done);
    EXPECT_FALSE(o.has_selftest);
    EXPECT_TRUE(o.wants_shell());
}

const char* const kKnownKeys = "(known: test demo stress bench samples patch strategy seed flips inject broken park contract exit selftest)";

}  // namespace

TEST(Cmdline, NullAndEmptyGiveDefaults)
{
    auto a = parse_cmdline(nullptr);
    ASSERT_TRUE(a.is_ok());
    expect_defaults(a.value());
    auto b = parse_cmdline("");
    ASSERT_TRUE(b.is_ok());
    expect_defaults(b.value());
    auto c = parse_cmdline("   \t ");
    ASSERT_TRUE(c.is_ok());
    expect_defaults(c.value());
}

TEST(Cmdline, OnlyKernelPath)
{
    auto r = parse_cmdline("/boot/corral.elf");
    ASSERT_TRUE(r.is_ok());
    expect_defaults(r.value());
}

TEST(Cmdline, FirstWordSkippedOnlyWhenItIsAPath)
{
    // QEMU puts the kernel path first; GRUB 2.06 passes only the arguments.
    auto r = parse_cmdline("test=heap.* exit");
    ASSERT_TRUE(r.is_ok());
    EXPECT_TRUE(r.value().has_test);
    EXPECT_STREQ(r.value().test_glob, "heap.*");
    EXPECT_TRUE(r.value().exit_when_done);
    EXPECT_TRUE(parse_cmdline("/boot/corral.elf exit").is_error()) << "exit alone: nothing to do";
    auto path = parse_cmdline("/boot/corral.elf test=x");
    ASSERT_TRUE(path.is_ok());
    EXPECT_TRUE(path.value().has_test);
    EXPECT_TRUE(parse_cmdline("nonsense=1 test=x").is_error());
}

TEST(Cmdline, Test)
{
    BootOptions o = ok("test=heap.*");
    EXPECT_TRUE(o.has_test);
    EXPECT_STREQ(o.test_glob, "heap.*");
    EXPECT_FALSE(o.wants_shell());
}

TEST(Cmdline, Demo)
{
    BootOptions o = ok("demo=torn");
    EXPECT_TRUE(o.has_demo);
    EXPECT_STREQ(o.demo, "torn");
    EXPECT_FALSE(o.wants_shell());
    EXPECT_STREQ(ok("demo=all").demo, "all");
}

TEST(Cmdline, Stress)
{
    BootOptions o = ok("stress=30");
    EXPECT_TRUE(o.has_stress);
    EXPECT_EQ(o.stress_seconds, 30u);
    EXPECT_FALSE(o.wants_shell());
}

TEST(Cmdline, Bench)
{
    BootOptions o = ok("bench=all");
    EXPECT_TRUE(o.has_bench);
    EXPECT_STREQ(o.bench, "all");
    EXPECT_FALSE(o.has_bench_samples);
    EXPECT_FALSE(o.wants_shell());
    BootOptions s = ok("bench=window samples=5 exit");
    EXPECT_STREQ(s.bench, "window");
    EXPECT_TRUE(s.has_bench_samples);
    EXPECT_EQ(s.samples, 5u);
}

TEST(Cmdline, PatchesToApplyAtBoot)
{
    BootOptions o = ok("patch=mem_report,square_pair:klp test=x exit");
    EXPECT_TRUE(o.has_patch);
    EXPECT_STREQ(o.patch, "mem_report,square_pair:klp");
    EXPECT_TRUE(ok("patch=a").wants_shell()) << "patch= alone is no work: the shell starts";
}

TEST(Cmdline, BenchNamesAreChecked)
{
    EXPECT_NE(err("bench=nope exit").find("bench"), std::string::npos);
    EXPECT_NE(err("bench=all samples=x exit").find("samples"), std::string::npos);
}

TEST(Cmdline, EveryStrategy)
{
    for (const char* s : {"naive", "corral", "corral-scan", "hotpatch", "int3", "stop-check", "klp", "mixed", "all"}) {
        BootOptions o = ok(std::string("strategy=") + s);
        EXPECT_TRUE(o.has_strategy);
        EXPECT_STREQ(o.strategy, s);
        EXPECT_TRUE(o.wants_shell()) << "a strategy alone asks for no work";
    }
}

TEST(Cmdline, SeedDecimalAndHex)
{
    BootOptions o = ok("seed=12345");
    EXPECT_TRUE(o.has_seed);
    EXPECT_EQ(o.seed, 12345u);
    EXPECT_EQ(ok("seed=0xdeadbeef").seed, 0xdeadbeefu);
    EXPECT_EQ(ok("seed=0").seed, 0u);
}

TEST(Cmdline, ExitAloneIsAnError)
{
    // Powering off with nothing done would read as a success.
    EXPECT_EQ(err("exit"), "cmdline: exit with nothing to do first (give test=, demo=, stress=, bench= or selftest=)");
    EXPECT_EQ(err("seed=3 exit"), "cmdline: exit with nothing to do first (give test=, demo=, stress=, bench= or selftest=)");
    EXPECT_TRUE(ok("demo=torn exit").exit_when_done);
}

TEST(Cmdline, UnknownDemo)
{
    EXPECT_EQ(err("demo=nope"), "cmdline: unknown demo 'nope' (known: torn preempted interrupted contract all)");
}

TEST(Cmdline, EverySelftest)
{
    for (const char* s : {"fail", "panic", "triple", "hang", "overflow"}) {
        BootOptions o = ok(std::string("selftest=") + s);
        EXPECT_TRUE(o.has_selftest);
        EXPECT_STREQ(o.selftest, s);
        EXPECT_FALSE(o.wants_shell());
    }
}

TEST(Cmdline, EverythingTogetherWithOddSpacing)
{
    BootOptions o = ok("\t test=patch.*   demo=preempted\tstress=5 bench=ipi strategy=int3 "
                       "seed=7 exit selftest=fail  ");
    EXPECT_STREQ(o.test_glob, "patch.*");
    EXPECT_STREQ(o.demo, "preempted");
    EXPECT_EQ(o.stress_seconds, 5u);
    EXPECT_STREQ(o.bench, "ipi");
    EXPECT_STREQ(o.strategy, "int3");
    EXPECT_EQ(o.seed, 7u);
    EXPECT_TRUE(o.exit_when_done);
    EXPECT_STREQ(o.selftest, "fail");
}

TEST(Cmdline, UnknownKey)
{
    EXPECT_EQ(err("foo"), std::string("cmdline: unknown key 'foo' ") + kKnownKeys);
    EXPECT_EQ(err("foo=bar"), std::string("cmdline: unknown key 'foo' ") + kKnownKeys);
    EXPECT_EQ(err("=x"), std::string("cmdline: unknown key '' ") + kKnownKeys);
    EXPECT_EQ(err("Test=x"), std::string("cmdline: unknown key 'Test' ") + kKnownKeys);
}

TEST(Cmdline, UnknownKeyAfterGoodOnes)
{
    EXPECT_EQ(err("test=x testt=y"), std::string("cmdline: unknown key 'testt' ") + kKnownKeys);
}

TEST(Cmdline, LongUnknownKeyKeepsTheKnownList)
{
    std::string e = err(std::string(100, 'k') + "=1");
    EXPECT_NE(e.find(kKnownKeys), std::string::npos) << e;
}

TEST(Cmdline, MissingValue)
{
    EXPECT_EQ(err("test"), "cmdline: test needs a value (test=<glob>)");
    EXPECT_EQ(err("test="), "cmdline: test needs a value (test=<glob>)");
    EXPECT_EQ(err("stress="), "cmdline: stress needs a value (stress=<seconds>)");
    EXPECT_EQ(err("strategy"), "cmdline: strategy needs a value (strategy=<name>)");
    EXPECT_EQ(err("selftest"), "cmdline: selftest needs a value (selftest=<fail|panic|triple|hang|overflow|corral-panic>)");
}

TEST(Cmdline, BadNumber)
{
    EXPECT_EQ(err("stress=abc"), "cmdline: stress=abc: not a number");
    EXPECT_EQ(err("seed=12x"), "cmdline: seed=12x: not a number");
    EXPECT_EQ(err("stress=-1"), "cmdline: stress=-1: not a number");
    EXPECT_EQ(err("seed=4294967296"), "cmdline: seed=4294967296: too large (max 4294967295)");
    EXPECT_EQ(err("seed=" + std::string(30, '1')),
              "cmdline: seed=" + std::string(20, '1') + "...: not a number (too long)");
}

TEST(Cmdline, UnknownStrategy)
{
    EXPECT_EQ(err("strategy=yolo"),
              "cmdline: unknown strategy 'yolo' (known: naive corral corral-scan hotpatch int3 stop-check klp mixed all)");
    EXPECT_EQ(err("strategy=corral-"),
              "cmdline: unknown strategy 'corral-' (known: naive corral corral-scan hotpatch int3 stop-check klp mixed all)");
}

TEST(Cmdline, Flips)
{
    BootOptions o = ok("stress=3600 strategy=int3 flips=1000000");
    EXPECT_TRUE(o.has_flips);
    EXPECT_EQ(o.flips, 1000000u);
    EXPECT_EQ(err("flips=lots"), "cmdline: flips=lots: not a number");
}

TEST(Cmdline, Inject)
{
    BootOptions o = ok("stress=60 strategy=mixed inject=never-ack,nmi");
    EXPECT_TRUE(o.has_inject);
    EXPECT_STREQ(o.inject, "never-ack,nmi");
}

TEST(Cmdline, BrokenCorral)
{
    BootOptions o = ok("stress=5 strategy=corral-scan broken=skip-trap-frames");
    EXPECT_TRUE(o.has_broken);
    EXPECT_STREQ(o.broken, "skip-trap-frames");
    EXPECT_STREQ(ok("broken=ack-before-park").broken, "ack-before-park");
    EXPECT_STREQ(ok("broken=klp-no-stack-check").broken, "klp-no-stack-check");
    EXPECT_EQ(err("broken=yes"), "cmdline: unknown broken 'yes' (known: ack-before-park skip-trap-frames stop-check-no-scan klp-no-stack-check)");
    EXPECT_EQ(err("broken"), "cmdline: broken needs a value (broken=<ack-before-park|skip-trap-frames|stop-check-no-scan|klp-no-stack-check>)");
    // contract=strict: stress checks the contract pairs whatever the strategy (a negative control).
    BootOptions c = ok("stress=5 strategy=int3 contract=strict");
    EXPECT_TRUE(c.has_contract);
    EXPECT_STREQ(c.contract, "strict");
    EXPECT_EQ(err("contract=loose"), "cmdline: unknown contract 'loose' (known: strict)");
}

TEST(Cmdline, UnknownSelftest)
{
    EXPECT_EQ(err("selftest=explode"),
              "cmdline: unknown selftest 'explode' (known: fail panic triple hang overflow corral-panic)");
}

TEST(Cmdline, ValueTooLong)
{
    std::string glob63(63, 'g');
    EXPECT_STREQ(ok("test=" + glob63).test_glob, glob63.c_str()) << "63 characters fit";
    EXPECT_EQ(err("test=" + std::string(64, 'g')),
              "cmdline: test=" + std::string(20, 'g') + "...: value too long (max 63 characters)");
    EXPECT_EQ(err("demo=" + std::string(32, 'd')),
              "cmdline: demo=" + std::string(20, 'd') + "...: value too long (max 31 characters)");
    EXPECT_EQ(err("strategy=" + std::string(16, 's')),
              "cmdline: strategy=" + std::string(16, 's') + "...: value too long (max 15 characters)");
}

TEST(Cmdline, ExitTakesNoValue)
{
    EXPECT_EQ(err("exit=1"), "cmdline: exit takes no value (got 'exit=1')");
    EXPECT_EQ(err("exit="), "cmdline: exit takes no value (got 'exit=')");
}

TEST(Cmdline, KeyGivenTwice)
{
    EXPECT_EQ(err("test=a test=b"), "cmdline: test given twice");
    EXPECT_EQ(err("exit exit"), "cmdline: exit given twice");
}

TEST(Cmdline, ValueMayContainEquals)
{
    EXPECT_STREQ(ok("test=a=b").test_glob, "a=b") << "only the first '=' separates key and value";
}

TEST(Cmdline, ErrorsAreOneLine)
{
    for (const char* bad : {"foo", "test", "stress=x", "strategy=x", "selftest=x", "exit=1"}) {
        std::string e = err(bad);
        EXPECT_EQ(e.find('\n'), std::string::npos) << e;
        EXPECT_EQ(e.rfind("cmdline: ", 0), 0u) << e;
    }
}
