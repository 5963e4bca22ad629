// patchtorture's patch plan (patching/torture/plan.cpp): the same seed must
// give the same sequence, every operation must be valid for the states it
// tracks, and the batches must stay within their limits.
#include <gtest/gtest.h>

#include <set>

#include "patching/torture/plan.h"

using namespace corral::torture;

namespace {

// Patcher `k` of 2 owning every other target of two families of 32.
Plan make_plan(uint32_t seed, int k) {
    Plan p;
    p.init(seed, k);
    for (int f = 0; f < 2; f++)
        for (int i = k; i < 32; i += 2) EXPECT_TRUE(p.own(f * 32 + i, f));
    return p;
}

int family_of(int target) { return target / 32; }

}  // namespace

TEST(Plan, SameSeedSameSequence) {
    Plan a = make_plan(7, 0), b = make_plan(7, 0);
    for (int i = 0; i < 5000; i++) {
        Op x = a.next(), y = b.next();
        ASSERT_EQ(int(x.kind), int(y.kind));
        ASSERT_EQ(x.count, y.count);
        for (int j = 0; j < x.count; j++) ASSERT_EQ(x.targets[j], y.targets[j]);
    }
    EXPECT_EQ(a.digest(), b.digest());
    EXPECT_EQ(a.ops(), 5000u);
}

TEST(Plan, SeedsAndPatchersDiffer) {
    std::set<uint32_t> digests;
    for (uint32_t seed = 1; seed <= 20; seed++)
        for (int k = 0; k < 2; k++) {
            Plan p = make_plan(seed, k);
            for (int i = 0; i < 200; i++) p.next();
            digests.insert(p.digest());
        }
    EXPECT_EQ(digests.size(), 40u);
}

TEST(Plan, PlanDigestMatchesARunPlan) {
    int targets[16], families[16];
    Plan p;
    p.init(3, 1);
    for (int i = 0; i < 16; i++) {
        targets[i] = 64 + 2 * i + 1;
        families[i] = 2;
        p.own(targets[i], families[i]);
    }
    for (int i = 0; i < 300; i++) p.next();
    EXPECT_EQ(plan_digest(3, 1, Ownership{targets, families, 16}, 300), p.digest());
}

// Replays the plan against a model of the targets' stacks: every operation
// must be possible in the state the model is in.
TEST(Plan, EveryOperationIsValid) {
    Plan p = make_plan(11, 1);
    enum { None, V2, V3, V2V3 };
    int state[64] = {};
    int kinds[OP_KINDS] = {};
    int biggest_batch = 0;
    for (int i = 0; i < 20000; i++) {
        const Op op = p.next();
        kinds[int(op.kind)]++;
        ASSERT_GE(op.count, 1);
        ASSERT_LE(op.count, MAX_BATCH);
        if (op.count > biggest_batch) biggest_batch = op.count;
        std::set<int> seen;
        for (int j = 0; j < op.count; j++) {
            const int t = op.targets[j];
            ASSERT_TRUE(seen.insert(t).second) << "target " << t << " twice in one op";
            ASSERT_EQ(t % 2, 1) << "patcher 1 touched patcher 0's target";
            ASSERT_EQ(family_of(t), op.family) << "a batch spans families";
            int& s = state[t];
            switch (op.kind) {
                case OpKind::Apply:
                case OpKind::BatchApply:
                    ASSERT_EQ(s, None);
                    ASSERT_TRUE(op.version == 2 || op.version == 3);
                    s = op.version == 2 ? V2 : V3;
                    break;
                case OpKind::Stack:
                    ASSERT_EQ(s, V2);
                    ASSERT_EQ(op.version, 3);
                    s = V2V3;
                    break;
                case OpKind::Revert:
                    ASSERT_NE(s, None);
                    s = s == V2V3 ? V2 : None;
                    break;
                case OpKind::BatchRevert:
                    ASSERT_NE(s, None);
                    s = s == V2V3 ? V2 : None;
                    break;
            }
        }
        for (int t = 1; t < 64; t += 2) ASSERT_EQ(int(p.applied_state(t)), state[t]);
    }
    for (int k = 0; k < OP_KINDS; k++) EXPECT_GT(kinds[k], 0) << op_kind_name(OpKind(k)) << " never drawn";
    EXPECT_EQ(biggest_batch, MAX_BATCH);
}

TEST(Plan, NothingOwnedGivesEmptyOps) {
    Plan p;
    p.init(1, 0);
    EXPECT_EQ(p.next().count, 0);
}

// klp patches only a plain NOP: a family with stacking forbidden gets no
// Stack operation and never has two versions applied, while the other
// family still stacks.  The digest of such a plan counts the rule.
TEST(Plan, ForbiddenStackingNeverStacksThatFamily) {
    Plan p = make_plan(5, 0);
    p.forbid_stacking(1);
    int stacks[2] = {};
    for (int i = 0; i < 20000; i++) {
        const Op op = p.next();
        if (op.kind == OpKind::Stack) stacks[op.family]++;
        for (int j = 0; j < op.count; j++) {
            if (op.family == 1) {
                ASSERT_NE(int(p.applied_state(op.targets[j])), int(Applied::V2V3));
            }
        }
    }
    EXPECT_EQ(stacks[1], 0);
    EXPECT_GT(stacks[0], 0);
    int targets[16], families[16];
    for (int i = 0; i < 16; i++) {
        targets[i] = i;
        families[i] = 0;
    }
    EXPECT_NE(plan_digest(5, 0, Ownership{targets, families, 16, 1u}, 2000),
              plan_digest(5, 0, Ownership{targets, families, 16, 0u}, 2000));
}

// A target owned with a partner (a contract pair) is one unit: every
// operation that takes one takes the other, with the same version, and a
// batch never grows past MAX_BATCH to fit a pair.
TEST(Plan, PairsMoveTogether) {
    Plan p;
    p.init(9, 0);
    for (int i = 0; i < 32; i += 2) {
        if (i % 8 == 0) EXPECT_TRUE(p.own(i, 0, i + 1));   // 0+1, 8+9, 16+17, 24+25
        else EXPECT_TRUE(p.own(i, 0));
    }
    EXPECT_EQ(p.owned(), 20);
    int pair_ops = 0;
    for (int n = 0; n < 20000; n++) {
        const Op op = p.next();
        ASSERT_LE(op.count, MAX_BATCH);
        std::set<int> in(op.targets, op.targets + op.count);
        for (int j = 0; j < op.count; j++) {
            const int t = op.targets[j];
            if (t % 8 == 0) {
                ASSERT_TRUE(in.count(t + 1)) << "outer " << t << " without its inner";
                ASSERT_EQ(int(p.applied_state(t)), int(p.applied_state(t + 1)));
                pair_ops++;
            }
            if (t % 8 == 1) {
                ASSERT_TRUE(in.count(t - 1)) << "inner " << t << " without its outer";
            }
        }
    }
    EXPECT_GT(pair_ops, 1000);
    int targets[2] = {0, 2}, families[2] = {0, 0}, partners[2] = {1, -1};
    EXPECT_NE(plan_digest(9, 0, Ownership{targets, families, 2, 0u, partners}, 500),
              plan_digest(9, 0, Ownership{targets, families, 2, 0u, nullptr}, 500));
}
