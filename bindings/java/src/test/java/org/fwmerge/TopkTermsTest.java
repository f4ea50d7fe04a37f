package org.fwmerge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Per-term top-k ({@link Params.TopkRule}) through {@link Solver#setObjectiveTerms} and over
 * ask/tell. Pool: base 0, members e_0..e_3 in R^4 (tensor "w"); terms l_j = 1/2 ||x - c_j||^2 with
 * c_0 = (3,0,2,0), c_1 = (0,1,0,0), gradient x - c_j (ALL_TERMS: the sum of both). At x = 0 the
 * gradients are -c_j, so the scores {@code <g_j, e_i>} = -c_j[i]: term 0 picks e_0, then term 1
 * e_1 (PER_TERM: [0, 1]); the whole gradient -(3,1,2,0) ranks e_0, e_2 first (SUMMED: [0, 2]).
 * l(0) = 13/2 + 1/2 = 7.
 */
class TopkTermsTest {
  static final double[][] TARGETS = {{3, 0, 2, 0}, {0, 1, 0, 0}};
  static final int ALL = TermsObjective.ALL_TERMS;

  @TempDir Path dir;

  /** The two-term objective; records (term, gradient wanted) and throws on failTerm. */
  static final class Terms implements TermsObjective {
    final List<int[]> calls = new ArrayList<>();
    final int failTerm;

    Terms(int failTerm) {
      this.failTerm = failTerm;
    }

    @Override
    public double evaluate(int term, List<Tensor> params, List<Tensor> grads) {
      calls.add(new int[] {term, grads != null ? 1 : 0});
      if (term == failTerm) {
        throw new IllegalStateException("term exploded");
      }
      FloatBuffer x = params.get(0).data();
      FloatBuffer g = grads == null ? null : grads.get(0).data();
      double total = 0;
      for (int j = 0; j < TARGETS.length; j++) {
        if (term != ALL && term != j) {
          continue;
        }
        for (int i = 0; i < 4; i++) {
          double d = x.get(i) - TARGETS[j][i];
          total += 0.5 * d * d;
          if (g != null) {
            g.put(i, g.get(i) + (float) d);
          }
        }
      }
      return total;
    }
  }

  Solver unit4Solver(Params.TopkRule rule) throws IOException {
    String[] names = {"w"};
    long[][] shapes = {{4}};
    Safetensors.write(dir.resolve("base.safetensors"), names, shapes, new float[][] {{0, 0, 0, 0}});
    Solver s = new Solver(new Params().lmo(Params.Lmo.SOFT).topK(2).softIters(3).epsilon(0).topkRule(rule));
    s.setBase(dir.resolve("base.safetensors").toString());
    for (int i = 0; i < 4; i++) {
      float[] e = new float[4];
      e[i] = 1;
      Path p = dir.resolve("e" + i + ".safetensors");
      Safetensors.write(p, names, shapes, new float[][] {e});
      s.addMember(p.toString());
    }
    return s;
  }

  @Test
  void defaultIsPerTerm() {
    assertEquals(Params.TopkRule.PER_TERM, new Params().topkRule());
    assertEquals(-1, TermsObjective.ALL_TERMS);
  }

  @Test
  void eachTermBringsItsOwnVertex() throws IOException {
    try (Solver s = unit4Solver(Params.TopkRule.PER_TERM)) {
      Terms terms = new Terms(-2);
      s.setObjectiveTerms(terms, 2);
      StepInfo info = s.step();
      assertArrayEquals(new int[] {0, 1}, info.chosen());
      assertEquals(7.0, info.loss);
      assertTrue(terms.calls.size() >= 3);
      assertArrayEquals(new int[] {0, 1}, terms.calls.get(0));
      assertArrayEquals(new int[] {1, 1}, terms.calls.get(1));
      assertEquals(ALL, terms.calls.get(2)[0]);
    }
    try (Solver s = unit4Solver(Params.TopkRule.SUMMED)) {
      Terms terms = new Terms(-2);
      s.setObjectiveTerms(terms, 2);
      StepInfo info = s.step();
      assertArrayEquals(new int[] {0, 2}, info.chosen());
      assertEquals(7.0, info.loss);
      assertArrayEquals(new int[] {ALL, 1}, terms.calls.get(0));
    }
  }

  @Test
  void askTellRequestsNameTheTerm() throws IOException {
    try (Solver s = unit4Solver(Params.TopkRule.PER_TERM)) {
      FwException bad = assertThrows(FwException.class, () -> s.setAskTellTerms(0));
      assertEquals(Status.INVALID_ARGUMENT, bad.status());
      s.setAskTellTerms(2);
      Terms terms = new Terms(-2);
      s.beginStep();
      for (Request req = s.ask(); !req.done; req = s.ask()) {
        s.tell(terms.evaluate(req.term, req.params, req.grads));
      }
      StepInfo info = s.finishStep();
      assertTrue(terms.calls.size() >= 3);
      assertArrayEquals(new int[] {0, 1}, terms.calls.get(0));
      assertArrayEquals(new int[] {1, 1}, terms.calls.get(1));
      assertEquals(ALL, terms.calls.get(2)[0]);
      assertArrayEquals(new int[] {0, 1}, info.chosen());
    }
  }

  @Test
  void aThrowingTermFailsTheStep() throws IOException {
    try (Solver s = unit4Solver(Params.TopkRule.PER_TERM)) {
      s.setObjectiveTerms(new Terms(1), 2);
      FwException e = assertThrows(FwException.class, s::step);
      assertEquals(Status.CALLBACK, e.status());
      assertTrue(e.getMessage().contains("term exploded"), e.getMessage());
      assertEquals(0, s.history().size());
    }
  }
}
