// Per-term top-k (fw_topk_rule, Section 3.3's task-wise top-k): each term's own gradient picks its
// best vertex not yet picked, through a multi-term callback and over ask/tell; the summed rule
// ranks by the whole gradient. Pool: base 0, members e_0..e_3 in R^4 (tensor "w"); terms
// l_j = 1/2 ||x - c_j||^2 with c_0 = (3, 0, 2, 0), c_1 = (0, 1, 0, 0). At x = 0 the gradients are
// -c_j: scores <g, e_i> = -c_j[i], so term 0 ranks (0, 2, 1, 3), term 1 ranks (1, 0, 2, 3) (ties
// by position) and the whole gradient -(3, 1, 2, 0) ranks (0, 2, 1, 3). l(0) = 13/2 + 1/2 = 7.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "capi_fixture.h"
#include "fwmerge.h"

namespace {

struct Terms {
  std::vector<std::vector<double>> targets = {{3, 0, 2, 0}, {0, 1, 0, 0}};
  std::vector<std::pair<int32_t, bool>> calls;  // (term, gradient wanted)
  int32_t fail_term = -2;                       // a term whose evaluation fails (-2: none)

  fw_status evaluate(int32_t term, const fw_tensor *params, size_t n, fw_tensor *grads,
                     double *loss) {
    calls.emplace_back(term, grads != nullptr);
    if (term == fail_term) {
      fw_set_callback_error("term exploded");
      return FW_ERR_CALLBACK;
    }
    if (n != 1) return FW_ERR_INTERNAL;
    const float *x = static_cast<const float *>(params[0].data);
    float *g = grads ? static_cast<float *>(grads[0].data) : nullptr;
    double total = 0;
    for (size_t j = 0; j < targets.size(); ++j) {
      if (term != FW_ALL_TERMS && static_cast<size_t>(term) != j) continue;
      for (int i = 0; i < 4; ++i) {
        const double d = x[i] - targets[j][static_cast<size_t>(i)];
        total += 0.5 * d * d;
        if (g) g[i] += static_cast<float>(d);
      }
    }
    *loss = total;
    return FW_OK;
  }
};

fw_status terms_callback(int32_t term, const fw_tensor *params, size_t n, fw_tensor *grads,
                         double *loss, void *user_data) {
  return static_cast<Terms *>(user_data)->evaluate(term, params, n, grads, loss);
}

capi::PoolFiles unit4_pool(const std::string &label) {
  auto vec = [](std::vector<float> v) {
    return std::vector<fwtest::TestTensor>{{"w", {4}, std::move(v)}};
  };
  return capi::write_pool(
      label, vec({0, 0, 0, 0}),
      {vec({1, 0, 0, 0}), vec({0, 1, 0, 0}), vec({0, 0, 1, 0}), vec({0, 0, 0, 1})});
}

fw_params soft(fw_topk_rule rule, int32_t top_k) {
  fw_params p = fw_default_params();
  p.lmo = FW_LMO_SOFT;
  p.topk_rule = rule;
  p.top_k = top_k;
  p.soft_iters = 3;
  p.epsilon = 0;
  return p;
}

std::vector<int32_t> chosen(const fw_step_info &info) {
  return std::vector<int32_t>(info.chosen, info.chosen + info.n_blocks * info.k);
}

TEST(TopkTerms, DefaultIsPerTerm) {
  EXPECT_EQ(fw_default_params().topk_rule, FW_TOPK_RULE_PER_TERM);
}

TEST(TopkTerms, EachTermBringsItsOwnVertex) {
  const capi::PoolFiles pool = unit4_pool("topk_terms_callback");
  struct Case {
    fw_topk_rule rule;
    int32_t top_k;
    std::vector<int32_t> want;
  };
  const Case cases[] = {
      {FW_TOPK_RULE_PER_TERM, 2, {0, 1}},     // term 0 -> e_0, term 1 -> e_1
      {FW_TOPK_RULE_PER_TERM, 1, {0, 1}},     // k = max(top_k, n_terms)
      {FW_TOPK_RULE_PER_TERM, 3, {0, 1, 2}},  // second round: term 0's next best
      {FW_TOPK_RULE_SUMMED, 2, {0, 2}},       // the whole gradient: e_1 never makes it
  };
  for (const Case &c : cases) {
    SCOPED_TRACE("rule " + std::to_string(c.rule) + " top_k " + std::to_string(c.top_k));
    fw_params p = soft(c.rule, c.top_k);
    capi::SolverPtr solver = capi::new_solver(&p);
    capi::load_pool(solver.get(), pool);
    Terms terms;
    ASSERT_EQ(fw_solver_set_objective_terms_callback(solver.get(), terms_callback, 2, &terms),
              FW_OK);
    fw_step_info info = capi::blank_info();
    ASSERT_EQ(fw_solver_step(solver.get(), &info), FW_OK) << fw_last_error();
    EXPECT_EQ(chosen(info), c.want);
    EXPECT_DOUBLE_EQ(info.loss, 7.0);
    EXPECT_LE(info.loss_after, info.loss);
    // Per term: each term's gradient at theta_t, then the inner iterations on the whole objective.
    std::vector<std::pair<int32_t, bool>> want_calls;
    if (c.rule == FW_TOPK_RULE_PER_TERM)
      want_calls = {{0, true}, {1, true}};
    else
      want_calls = {{FW_ALL_TERMS, true}};
    for (int i = 0; i < p.soft_iters; ++i) want_calls.emplace_back(FW_ALL_TERMS, true);
    EXPECT_EQ(terms.calls, want_calls);
    EXPECT_EQ(info.evaluations, static_cast<int32_t>(want_calls.size()));
  }
}

// Layer-wise, each block has its own per-term pick. Tensors "a" and "b", members e_i in both;
// term 0 pulls a to (3, 0, 2, 0), term 1 pulls b to (0, 0, 0, 1). Block a: term 0 -> 0, term 1
// (zero gradient there, ties by position) -> 1; block b: term 0 -> 0, term 1 -> 3.
TEST(TopkTerms, LayerwiseBlocksPickPerTerm) {
  auto vec = [](std::vector<float> v) {
    return std::vector<fwtest::TestTensor>{{"a", {4}, v}, {"b", {4}, v}};
  };
  const capi::PoolFiles pool = capi::write_pool(
      "topk_terms_layer", vec({0, 0, 0, 0}),
      {vec({1, 0, 0, 0}), vec({0, 1, 0, 0}), vec({0, 0, 1, 0}), vec({0, 0, 0, 1})});
  struct Blockwise {
    static fw_status call(int32_t term, const fw_tensor *params, size_t n, fw_tensor *grads,
                          double *loss, void *) {
      const double c[2][2][4] = {{{3, 0, 2, 0}, {0, 0, 0, 0}}, {{0, 0, 0, 0}, {0, 0, 0, 1}}};
      double total = 0;
      for (int j = 0; j < 2; ++j) {
        if (term != FW_ALL_TERMS && term != j) continue;
        for (size_t t = 0; t < n; ++t)
          for (int i = 0; i < 4; ++i) {
            const double d = static_cast<const float *>(params[t].data)[i] - c[j][t][i];
            total += 0.5 * d * d;
            if (grads) static_cast<float *>(grads[t].data)[i] += static_cast<float>(d);
          }
      }
      *loss = total;
      return FW_OK;
    }
  };
  for (const fw_topk_rule rule : {FW_TOPK_RULE_PER_TERM, FW_TOPK_RULE_SUMMED}) {
    fw_params p = soft(rule, 2);
    p.granularity = FW_GRANULARITY_LAYERWISE;
    capi::SolverPtr solver = capi::new_solver(&p);
    capi::load_pool(solver.get(), pool);
    ASSERT_EQ(fw_solver_set_objective_terms_callback(solver.get(), Blockwise::call, 2, nullptr),
              FW_OK);
    fw_step_info info = capi::blank_info();
    ASSERT_EQ(fw_solver_step(solver.get(), &info), FW_OK) << fw_last_error();
    ASSERT_EQ(info.n_blocks, 2);
    ASSERT_STREQ(fw_solver_block_name(solver.get(), 0), "a");
    // Summed: block a by -(3, 0, 2, 0) -> (0, 2); block b by -(0, 0, 0, 1) -> (3, 0).
    const std::vector<int32_t> want = rule == FW_TOPK_RULE_PER_TERM
                                          ? std::vector<int32_t>{0, 1, 0, 3}
                                          : std::vector<int32_t>{0, 2, 3, 0};
    EXPECT_EQ(chosen(info), want) << "rule " << rule;
  }
}

TEST(TopkTerms, AskTellRequestsNameTheTerm) {
  const capi::PoolFiles pool = unit4_pool("topk_terms_ask_tell");
  fw_params p = soft(FW_TOPK_RULE_PER_TERM, 2);
  capi::SolverPtr solver = capi::new_solver(&p);
  capi::load_pool(solver.get(), pool);
  EXPECT_EQ(fw_solver_set_ask_tell_terms(solver.get(), 0), FW_ERR_INVALID_ARGUMENT);
  ASSERT_EQ(fw_solver_set_ask_tell_terms(solver.get(), 2), FW_OK);
  Terms terms;
  for (int step = 0; step < 2; ++step) {
    terms.calls.clear();
    ASSERT_EQ(fw_solver_step_begin(solver.get()), FW_OK) << fw_last_error();
    EXPECT_EQ(fw_solver_set_ask_tell_terms(solver.get(), 3), FW_ERR_STATE)
        << "not while a step is pending";
    fw_request req = {};
    req.struct_size = sizeof req;
    while (fw_solver_step_ask(solver.get(), &req) == FW_OK && !req.done) {
      double loss = 0;
      ASSERT_EQ(terms.evaluate(req.term, req.params, req.n, req.grads, &loss), FW_OK);
      ASSERT_EQ(fw_solver_step_tell(solver.get(), FW_OK, loss), FW_OK) << fw_last_error();
    }
    EXPECT_EQ(req.term, FW_ALL_TERMS) << "a finished request names no term";
    fw_step_info info = capi::blank_info();
    ASSERT_EQ(fw_solver_step_finish(solver.get(), &info), FW_OK) << fw_last_error();
    ASSERT_GE(terms.calls.size(), 3u);
    EXPECT_EQ(terms.calls[0], std::make_pair(0, true));
    EXPECT_EQ(terms.calls[1], std::make_pair(1, true));
    EXPECT_EQ(terms.calls[2].first, FW_ALL_TERMS);
    if (step == 0) {
      EXPECT_EQ(chosen(info), (std::vector<int32_t>{0, 1}));
    }
  }
  // The same first step as the callback.
  capi::SolverPtr cb = capi::new_solver(&p);
  capi::load_pool(cb.get(), pool);
  Terms cb_terms;
  ASSERT_EQ(fw_solver_set_objective_terms_callback(cb.get(), terms_callback, 2, &cb_terms), FW_OK);
  ASSERT_EQ(fw_solver_step(cb.get(), nullptr), FW_OK);
  fw_step_info a = capi::blank_info(), b = capi::blank_info();
  ASSERT_EQ(fw_solver_history_get(solver.get(), 0, &a), FW_OK);
  ASSERT_EQ(fw_solver_history_get(cb.get(), 0, &b), FW_OK);
  EXPECT_TRUE(capi::same_bits(capi::copy_step(a), capi::copy_step(b)));
}

TEST(TopkTerms, AFailingTermFailsTheStepAndLeavesTheSolver) {
  const capi::PoolFiles pool = unit4_pool("topk_terms_fail");
  fw_params p = soft(FW_TOPK_RULE_PER_TERM, 2);
  capi::SolverPtr solver = capi::new_solver(&p);
  capi::load_pool(solver.get(), pool);
  EXPECT_EQ(fw_solver_set_objective_terms_callback(solver.get(), terms_callback, 0, nullptr),
            FW_ERR_INVALID_ARGUMENT);
  Terms terms;
  terms.fail_term = 1;
  ASSERT_EQ(fw_solver_set_objective_terms_callback(solver.get(), terms_callback, 2, &terms), FW_OK);
  const capi::Snapshot before = capi::snapshot(solver.get());
  EXPECT_EQ(fw_solver_step(solver.get(), nullptr), FW_ERR_CALLBACK);
  const std::string message = fw_last_error();
  EXPECT_NE(message.find("(term 1)"), std::string::npos) << message;
  EXPECT_NE(message.find("term exploded"), std::string::npos) << message;
  EXPECT_EQ(capi::diff(before, capi::snapshot(solver.get())), "");
  // A NULL terms callback removes the objective.
  ASSERT_EQ(fw_solver_set_objective_terms_callback(solver.get(), nullptr, 2, nullptr), FW_OK);
  EXPECT_EQ(fw_solver_step(solver.get(), nullptr), FW_ERR_STATE);
}

// The hard LMO and a budget: per-term evaluations only where the soft LMO ranks vertices, and
// they count against max_evaluations.
TEST(TopkTerms, HardStepsEvaluateTheWholeObjectiveAndTermsCountInTheBudget) {
  const capi::PoolFiles pool = unit4_pool("topk_terms_hard_budget");
  fw_params hard = fw_default_params();
  hard.epsilon = 0;
  capi::SolverPtr solver = capi::new_solver(&hard);
  capi::load_pool(solver.get(), pool);
  Terms terms;
  ASSERT_EQ(fw_solver_set_objective_terms_callback(solver.get(), terms_callback, 2, &terms), FW_OK);
  ASSERT_EQ(fw_solver_step(solver.get(), nullptr), FW_OK) << fw_last_error();
  for (const auto &call : terms.calls) EXPECT_EQ(call.first, FW_ALL_TERMS);

  fw_params p = soft(FW_TOPK_RULE_PER_TERM, 2);  // 2 + 3 evaluations per step
  p.max_evaluations = 12;
  p.max_iters = 5;
  capi::SolverPtr budgeted = capi::new_solver(&p);
  capi::load_pool(budgeted.get(), pool);
  Terms counted;
  ASSERT_EQ(fw_solver_set_objective_terms_callback(budgeted.get(), terms_callback, 2, &counted),
            FW_OK);
  ASSERT_EQ(fw_solver_run(budgeted.get(), nullptr), FW_OK) << fw_last_error();
  EXPECT_EQ(fw_solver_history_size(budgeted.get()), 2);
  EXPECT_EQ(counted.calls.size(), 12u) << "the third step made the 2 calls that fitted";
}

}  // namespace
