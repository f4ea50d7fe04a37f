package org.fwmerge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.ReadOnlyBufferException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pool of these tests: tensors b [1] and w [2].
 *
 * <pre>
 *   base: b=[0]  w=[0,0]     m0: b=[2]  w=[1,0]     m1: b=[-1] w=[0,1]
 * </pre>
 *
 * Objective 0.5*||theta - target||^2 with target b=[0.5], w=[1,0.25]; gradient theta - target.
 * Step 0 from the base: g = (b:-0.5, w:-1,-0.25); scores {@code <g,m0>} = -2, {@code <g,m1>} = 0.25,
 * {@code <g,base>} = 0, so the hard LMO picks m0; gap = {@code <-g, m0 - base>} = 2; loss =
 * 0.5*(0.25+1+0.0625). With the constant step 0.5: theta_1 = b=[1], w=[0.5,0]. Step 1: g = (b:0.5,
 * w:-0.5,-0.25); scores 0.5 (m0), -0.75 (m1), 0 (base): m1; gap = 1; loss = 0.5*(0.25+0.25+0.0625);
 * theta_2 = b=[0], w=[0.25,0.5].
 */
class SolverTest {
  static final Map<String, float[]> TARGET = Map.of("b", new float[] {0.5f}, "w", new float[] {1f, 0.25f});
  static final double LOSS0 = 0.5 * (0.25 + 1 + 0.0625);
  static final double LOSS1 = 0.5 * (0.25 + 0.25 + 0.0625);

  @TempDir Path dir;

  void makePool() throws IOException {
    String[] names = {"b", "w"};
    long[][] shapes = {{1}, {2}};
    Safetensors.write(dir.resolve("base.safetensors"), names, shapes, new float[][] {{0}, {0, 0}});
    Safetensors.write(dir.resolve("m0.safetensors"), names, shapes, new float[][] {{2}, {1, 0}});
    Safetensors.write(dir.resolve("m1.safetensors"), names, shapes, new float[][] {{-1}, {0, 1}});
  }

  /** The tests' objective; it also checks the views it is given. */
  static double quadratic(List<Tensor> params, List<Tensor> grads) {
    double loss = 0;
    for (int i = 0; i < params.size(); i++) {
      Tensor p = params.get(i);
      float[] target = TARGET.get(p.name());
      assertArrayEquals(new long[] {target.length}, p.shape());
      assertEquals(target.length, p.numel());
      FloatBuffer theta = p.data();
      assertThrows(ReadOnlyBufferException.class, () -> theta.put(0, 1f));
      FloatBuffer grad = grads == null ? null : grads.get(i).data();
      for (int e = 0; e < target.length; e++) {
        float d = theta.get(e) - target[e];
        loss += 0.5 * (double) d * (double) d;
        if (grad != null) {
          assertEquals(p.name(), grads.get(i).name());
          assertEquals(0f, grad.get(e), "gradient views start zero-filled");
          grad.put(e, d);
        }
      }
    }
    return loss;
  }

  static Params constantParams() {
    return new Params()
        .stepRule(Params.StepRule.CONSTANT)
        .stepScale(0.5)
        .maxIters(2)
        .epsilon(0)
        .threads(1);
  }

  Solver poolSolver() throws IOException {
    makePool();
    Solver s = new Solver(constantParams());
    s.setBase(dir.resolve("base.safetensors").toString());
    assertEquals(0, s.addMember(dir.resolve("m0.safetensors").toString()));
    assertEquals(1, s.addMember(dir.resolve("m1.safetensors").toString()));
    assertEquals(2, s.poolSize());
    return s;
  }

  static Map<String, float[]> current(Solver s) {
    Map<String, float[]> out = new TreeMap<>();
    for (Tensor t : s.current()) {
      out.put(t.name(), t.toArray());
    }
    return out;
  }

  static void assertCurrent(Solver s, float[] b, float[] w) {
    Map<String, float[]> c = current(s);
    assertEquals(2, c.size());
    assertArrayEquals(b, c.get("b"));
    assertArrayEquals(w, c.get("w"));
  }

  static void assertSameState(Map<String, float[]> before, Map<String, float[]> after) {
    assertEquals(before.keySet(), after.keySet());
    for (String k : before.keySet()) {
      assertArrayEquals(before.get(k), after.get(k), k);
    }
  }

  static void checkStep(StepInfo info, int iteration, double loss, double gap, int chosen) {
    assertEquals(iteration, info.iteration, info::toString);
    assertEquals(loss, info.loss, 1e-12, info::toString);
    assertEquals(gap, info.gap, 1e-12, info::toString);
    assertEquals(0.5, info.gamma, 1e-12, info::toString);
    assertFalse(info.converged);
    assertFalse(info.leavesHull);
    assertEquals(1, info.nBlocks);
    assertEquals(1, info.k);
    assertArrayEquals(new int[] {chosen}, info.chosen());
    assertArrayEquals(new double[] {0.5}, info.lambdas(), 1e-12);
    assertTrue(info.evaluations >= 1);
  }

  @Test
  void versionAndStatusNames() {
    assertEquals("0.5.0", Fwmerge.version());
    // "1.13.0" (Debian's LibTorch) or "2.15.0+cu132" (a pip torch's).
    assertTrue(Fwmerge.libtorchVersion().matches("[1-9][0-9]*\\.[0-9]+\\.[0-9]+(\\+.*)?"),
        Fwmerge.libtorchVersion());
    assertEquals("FW_ERR_CALLBACK", Status.CALLBACK.libraryName());
    assertEquals(Status.CALLBACK, Status.of(-7));
  }

  @Test
  void stepsMatchClosedForm() throws IOException {
    try (Solver s = poolSolver()) {
      s.setObjective(SolverTest::quadratic);
      checkStep(s.step(), 0, LOSS0, 2, 0);
      assertCurrent(s, new float[] {1}, new float[] {0.5f, 0});
      StepInfo last = s.run(); // one more step: maxIters is 2 in total
      checkStep(last, 1, LOSS1, 1, 1);
      assertCurrent(s, new float[] {0}, new float[] {0.25f, 0.5f});
      List<StepInfo> history = s.history();
      assertEquals(2, history.size());
      checkStep(history.get(0), 0, LOSS0, 2, 0);
      checkStep(history.get(1), 1, LOSS1, 1, 1);
    }
  }

  @Test
  void exportWritesCurrentTensors() throws IOException {
    Path out = dir.resolve("merged.safetensors");
    try (Solver s = poolSolver()) {
      s.setObjective(SolverTest::quadratic);
      s.step();
      s.export(out.toString());
    }
    assertArrayEquals(new float[] {1}, Safetensors.read(out, "b"));
    assertArrayEquals(new float[] {0.5f, 0}, Safetensors.read(out, "w"));
    String header = Safetensors.header(out);
    assertTrue(header.contains("fwmerge.recipe"), header);
    assertTrue(header.contains("m1.safetensors"), header);
  }

  /** A throwing objective fails the step with CALLBACK and the exception's text, changing nothing. */
  @Test
  void objectiveExceptionLeavesSolverUnchanged() throws IOException {
    try (Solver s = poolSolver()) {
      s.setObjective(SolverTest::quadratic);
      s.step();
      Map<String, float[]> before = current(s);

      s.setObjective(
          (params, grads) -> {
            if (grads != null) {
              grads.get(0).data().put(0, 42f); // a partial write must not leak into the solver
            }
            throw new IllegalStateException("host says no");
          });
      FwException e = assertThrows(FwException.class, s::step);
      assertEquals(Status.CALLBACK, e.status());
      assertTrue(e.getMessage().contains("java.lang.IllegalStateException: host says no"), e.getMessage());
      assertSameState(before, current(s));
      assertEquals(1, s.history().size());

      // Errors (not only exceptions) are caught too, and the solver stays usable.
      s.setObjective(
          (params, grads) -> {
            throw new AssertionError("broken invariant");
          });
      e = assertThrows(FwException.class, s::run);
      assertEquals(Status.CALLBACK, e.status());
      assertTrue(e.getMessage().contains("broken invariant"), e.getMessage());
      assertSameState(before, current(s));

      s.setObjective(SolverTest::quadratic);
      checkStep(s.step(), 1, LOSS1, 1, 1);
    }
  }

  /** Drives one step through ask/tell with the quadratic objective. */
  static StepInfo askTellStep(Solver s) {
    s.beginStep();
    for (Request r = s.ask(); !r.done; r = s.ask()) {
      assertEquals(r.needGradient, r.grads != null);
      s.tell(quadratic(r.params, r.grads));
    }
    return s.finishStep();
  }

  @Test
  void askTellMatchesCallbackSteps() throws IOException {
    try (Solver s = poolSolver()) {
      checkStep(askTellStep(s), 0, LOSS0, 2, 0);
      checkStep(askTellStep(s), 1, LOSS1, 1, 1);
      assertCurrent(s, new float[] {0}, new float[] {0.25f, 0.5f});
    }
  }

  @Test
  void askTellHostErrorAndCancel() throws IOException {
    try (Solver s = poolSolver()) {
      Map<String, float[]> before = current(s);
      s.beginStep();
      assertFalse(s.ask().done);
      try {
        s.tellError("cluster unavailable");
      } catch (FwException e) {
        assertEquals(Status.CALLBACK, e.status());
      }
      Request r = null;
      try {
        r = s.ask();
      } catch (FwException e) {
        // the step has ended; finishStep reports why
      }
      if (r != null) {
        assertTrue(r.done, "the step asked again after a failed evaluation");
      }
      FwException e = assertThrows(FwException.class, s::finishStep);
      assertEquals(Status.CALLBACK, e.status());
      assertTrue(e.getMessage().contains("cluster unavailable"), e.getMessage());
      assertSameState(before, current(s));

      s.beginStep();
      Request first = s.ask();
      assertFalse(first.done);
      s.cancelStep();
      assertEquals(0, s.history().size());
      assertSameState(before, current(s));
    }
  }

  @Test
  void saveAndLoadStateContinueTheRun() throws IOException {
    String state = dir.resolve("run.state").toString();
    try (Solver a = poolSolver()) {
      a.setObjective(SolverTest::quadratic);
      checkStep(a.step(), 0, LOSS0, 2, 0);
      a.saveState(state);
    }
    try (Solver b = poolSolver()) {
      b.setObjective(SolverTest::quadratic);
      b.loadState(state);
      assertEquals(1, b.history().size());
      assertCurrent(b, new float[] {1}, new float[] {0.5f, 0});
      checkStep(b.step(), 1, LOSS1, 1, 1); // the uninterrupted run's step 1
    }
    try (Solver c = new Solver(constantParams())) { // another pool order
      c.setBase(dir.resolve("base.safetensors").toString());
      c.addMember(dir.resolve("m1.safetensors").toString());
      c.addMember(dir.resolve("m0.safetensors").toString());
      FwException e = assertThrows(FwException.class, () -> c.loadState(state));
      assertEquals(Status.STATE, e.status());
    }
  }

  @Test
  void interruptFromAnotherThreadStopsTheNextStep() throws Exception {
    try (Solver s = poolSolver()) {
      s.setObjective(SolverTest::quadratic);
      Thread t = new Thread(s::interrupt);
      t.start();
      t.join();
      FwException e = assertThrows(FwException.class, s::step);
      assertEquals(Status.ABORTED, e.status());
      assertEquals(0, s.history().size());
      checkStep(s.step(), 0, LOSS0, 2, 0); // consumed
    }
  }

  @Test
  void errorsCarryStatusAndMessage() throws IOException {
    makePool();
    Solver s = new Solver(constantParams());
    try (s) {
      FwException e = assertThrows(FwException.class, () -> s.setBase(dir.resolve("missing.safetensors").toString()));
      assertEquals(Status.IO, e.status());
      assertTrue(e.getMessage().contains("missing.safetensors"), e.getMessage());

      s.setBase(dir.resolve("base.safetensors").toString());
      Safetensors.write(dir.resolve("bad.safetensors"), new String[] {"b", "w"}, new long[][] {{1}, {3}},
          new float[][] {{1}, {1, 2, 3}});
      e = assertThrows(FwException.class, () -> s.addMember(dir.resolve("bad.safetensors").toString()));
      assertEquals(Status.SHAPE_MISMATCH, e.status());

      s.addMember(dir.resolve("m0.safetensors").toString());
      e = assertThrows(FwException.class, s::step);
      assertEquals(Status.STATE, e.status(), "a step without an objective");

      e = assertThrows(FwException.class, () -> new Solver(constantParams().topK(0)));
      assertEquals(Status.INVALID_ARGUMENT, e.status());
    }
    assertThrows(IllegalStateException.class, () -> s.setBase("x"));
    s.close(); // closing twice is a no-op
  }

  @Test
  void nullGradientsWhenOnlyTheLossIsWanted() throws IOException {
    // The line search asks for loss-only evaluations: grads must then be null.
    try (Solver s = poolSolver()) {
      s.setParams(constantParams().stepRule(Params.StepRule.LINE_SEARCH).lineSearchEvals(2));
      int[] lossOnly = {0};
      s.setObjective(
          (params, grads) -> {
            if (grads == null) {
              lossOnly[0]++;
            }
            return quadratic(params, grads);
          });
      StepInfo info = s.step();
      assertTrue(lossOnly[0] >= 1, "no loss-only evaluation in a line-search step");
      assertEquals(0, info.chosen()[0]);
    }
  }
}
