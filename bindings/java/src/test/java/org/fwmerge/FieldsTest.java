package org.fwmerge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fields newer than the first Java API reach the library: each changes what it computes or is
 * rejected by its own checks. Pool of {@link SolverTest}: base b=[0] w=[0,0]; m0 b=[2] w=[1,0];
 * m1 b=[-1] w=[0,1].
 */
class FieldsTest {
  @TempDir Path dir;

  private String path(String name) {
    return dir.resolve(name).toString();
  }

  private List<String> pool() throws IOException {
    String[] names = {"b", "w"};
    long[][] shapes = {{1}, {2}};
    Safetensors.write(dir.resolve("base.safetensors"), names, shapes, new float[][] {{0}, {0, 0}});
    Safetensors.write(dir.resolve("m0.safetensors"), names, shapes, new float[][] {{2}, {1, 0}});
    Safetensors.write(dir.resolve("m1.safetensors"), names, shapes, new float[][] {{-1}, {0, 1}});
    return List.of(path("m0.safetensors"), path("m1.safetensors"));
  }

  private float[] merged(MergeParams p, List<String> pool, String tensor) throws IOException {
    Fwmerge.merge(p, path("base.safetensors"), pool, path("out.safetensors"), null);
    return Safetensors.read(dir.resolve("out.safetensors"), tensor);
  }

  @Test
  void mergeFiltersAndMergekitFieldsReachTheLibrary() throws IOException {
    List<String> pool = pool();
    // base + 0.5 * (tau0 + tau1); an excluded (or not included) b stays the base's.
    MergeParams exclude = new MergeParams(MergeMethod.TASK_ARITHMETIC).scaling(0.5).excludeTensors("b");
    assertArrayEquals(new float[] {0}, merged(exclude, pool, "b"));
    assertArrayEquals(new float[] {0.5f, 0.5f}, merged(exclude, pool, "w"));
    MergeParams include = new MergeParams(MergeMethod.TASK_ARITHMETIC).scaling(0.5).includeTensors("w*");
    assertArrayEquals(new float[] {0}, merged(include, pool, "b"));

    // TIES on b with weights 1, 2: the weighted signs +2 and -2 sum to zero. fwmerge elects no
    // sign (b stays at the base); mergekit elects + (m0 agrees: b = 2).
    MergeParams ties = new MergeParams(MergeMethod.TIES).density(1).weights(1, 2);
    assertFalse(ties.mergekitCompat());
    assertEquals(DType.DEFAULT, ties.computeDtype());
    assertArrayEquals(new float[] {0}, merged(ties, pool, "b"));
    ties.mergekitCompat(true).computeDtype(DType.F32);
    assertArrayEquals(new float[] {2}, merged(ties, pool, "b"));

    // A scaling override for b: base + 1 * (tau0 + tau1) = 1 there, w keeps the struct's 0.5.
    MergeParams over = new MergeParams(MergeMethod.TASK_ARITHMETIC).scaling(0.5)
        .overrides(new MergeOverride("b", -1, MergeOverride.Field.SCALING, 1.0));
    assertArrayEquals(new float[] {1}, merged(over, pool, "b"));
    assertArrayEquals(new float[] {0.5f, 0.5f}, merged(over, pool, "w"));
    FwException bad = assertThrows(FwException.class, () -> merged(
        over.overrides(new MergeOverride("b", 0, MergeOverride.Field.SCALING, 1.0)), pool, "b"));
    assertEquals(Status.INVALID_ARGUMENT, bad.status());

    // hfFolder: the output is a model folder with a model card.
    Fwmerge.merge(new MergeParams(MergeMethod.LINEAR), path("base.safetensors"), pool,
        path("folder"), new ExportOptions().hfFolder(true));
    assertTrue(java.nio.file.Files.exists(dir.resolve("folder/model.safetensors")));
    assertTrue(java.nio.file.Files.exists(dir.resolve("folder/README.md")));

    // compute_dtype without mergekit_compat, and model_stock in mergekit mode, are rejected.
    FwException e = assertThrows(FwException.class, () -> merged(ties.mergekitCompat(false), pool, "b"));
    assertEquals(Status.INVALID_ARGUMENT, e.status());
    e = assertThrows(FwException.class,
        () -> merged(new MergeParams(MergeMethod.MODEL_STOCK).mergekitCompat(true), pool, "b"));
    assertEquals(Status.INVALID_ARGUMENT, e.status());
  }

  @Test
  void modelCardIsTheReadmeByteForByte() throws IOException {
    List<String> pool = pool();
    // Non-ASCII, a supplementary character (JNI's modified UTF-8 would change its bytes), no
    // trailing newline.
    String card = "---\nlicense: mit\n---\n# Merged \u00e9\u2713 \uD83D\uDE00\n\nNo trailing newline";
    Fwmerge.merge(new MergeParams(MergeMethod.LINEAR), path("base.safetensors"), pool,
        path("carded"), new ExportOptions().hfFolder(true).modelCard(card));
    assertArrayEquals(card.getBytes(java.nio.charset.StandardCharsets.UTF_8),
        java.nio.file.Files.readAllBytes(dir.resolve("carded/README.md")));
    assertEquals(card, new ExportOptions().modelCard(card).modelCard());

    try (Solver s = new Solver(SolverTest.constantParams())) {
      s.setBase(path("base.safetensors"));
      s.export(path("exported"), new ExportOptions().hfFolder(true).modelCard("# exported"));
      assertEquals("# exported", java.nio.file.Files.readString(dir.resolve("exported/README.md")));
      // Without hfFolder the library rejects the card, and writes nothing.
      FwException e = assertThrows(FwException.class,
          () -> s.export(path("card.safetensors"), new ExportOptions().modelCard(card)));
      assertEquals(Status.INVALID_ARGUMENT, e.status());
      assertFalse(java.nio.file.Files.exists(dir.resolve("card.safetensors")));
    }
    FwException e = assertThrows(FwException.class, () -> Fwmerge.merge(
        new MergeParams(MergeMethod.LINEAR), path("base.safetensors"), pool,
        path("card.safetensors"), new ExportOptions().modelCard(card)));
    assertEquals(Status.INVALID_ARGUMENT, e.status());
    e = assertThrows(FwException.class, () -> Fwmerge.merge(new MergeParams(MergeMethod.LINEAR),
        path("base.safetensors"), pool, path("nul"), new ExportOptions().hfFolder(true).modelCard("a\0b")));
    assertEquals(Status.INVALID_ARGUMENT, e.status());
  }

  @Test
  void maxEvaluationsBudgetStopsTheRun() throws IOException {
    List<String> pool = pool();
    assertEquals(0, new Params().maxEvaluations());
    // A constant step makes one evaluation: a budget of 1 allows one of the two steps.
    try (Solver s = new Solver(SolverTest.constantParams().maxEvaluations(1))) {
      s.setBase(path("base.safetensors"));
      for (String m : pool) {
        s.addMember(m);
      }
      s.setObjective(SolverTest::quadratic);
      s.run();
      assertEquals(1, s.history().size());
    }
  }

  @Test
  void solverFiltersAndDeviceFieldsReachTheLibrary() throws IOException {
    List<String> pool = pool();
    Params p = SolverTest.constantParams();
    assertEquals(Params.Device.CPU, p.device());
    assertEquals(DType.F32, p.workDtype());
    assertFalse(p.hostViews());
    try (Solver s = new Solver(p.excludeTensors("b"))) {
      s.setBase(path("base.safetensors"));
      // Only w is merged: the views cover it alone.
      List<Tensor> views = s.current();
      assertEquals(1, views.size());
      assertEquals("w", views.get(0).name());
    }
    try (Solver s = new Solver(SolverTest.constantParams().includeTensors(List.of("nothing*")))) {
      FwException e = assertThrows(FwException.class, () -> s.setBase(path("base.safetensors")));
      assertEquals(Status.NAME_MISMATCH, e.status());
    }
    // The device index is checked by the library: 1 on the CPU is invalid.
    FwException e = assertThrows(FwException.class,
        () -> new Solver(SolverTest.constantParams().deviceIndex(1)).close());
    assertEquals(Status.INVALID_ARGUMENT, e.status());
    // A bf16 solver's views are not float32: they are refused, not misread.
    try (Solver s = new Solver(SolverTest.constantParams().workDtype(DType.BF16))) {
      s.setBase(path("base.safetensors"));
      s.addMember(pool.get(0));
      e = assertThrows(FwException.class, s::current);
      assertEquals(Status.UNSUPPORTED, e.status());
    }
  }

  /**
   * fillMissingFromBase: a member saved without the base's b is refused by default and, with the
   * field set, reads b from the base (a zero task vector there), in merge and in the solver.
   */
  @Test
  void fillMissingFromBaseReachesTheLibrary() throws IOException {
    pool();
    Safetensors.write(dir.resolve("partial.safetensors"), new String[] {"w"}, new long[][] {{2}},
        new float[][] {{0, 3}});
    List<String> members = List.of(path("m0.safetensors"), path("partial.safetensors"));
    MergeParams ta = new MergeParams(MergeMethod.TASK_ARITHMETIC).scaling(1);
    assertFalse(ta.fillMissingFromBase());
    FwException e = assertThrows(FwException.class, () -> merged(ta, members, "b"));
    assertEquals(Status.NAME_MISMATCH, e.status());
    ta.fillMissingFromBase(true);
    // b: 0 + tau_m0 (2) + 0; w: 0 + (1, 0) + (0, 3).
    assertArrayEquals(new float[] {2}, merged(ta, members, "b"));
    assertArrayEquals(new float[] {1, 3}, merged(ta, members, "w"));

    try (Solver s = new Solver(new Params())) {
      s.setBase(path("base.safetensors"));
      e = assertThrows(FwException.class, () -> s.addMember(path("partial.safetensors")));
      assertEquals(Status.NAME_MISMATCH, e.status());
    }
    try (Solver s = new Solver(new Params().fillMissingFromBase(true))) {
      s.setBase(path("base.safetensors"));
      assertEquals(0, s.addMember(path("partial.safetensors")));
    }
  }

  /** The defaults of the 0.5.0 methods (fw_merge_params v8): fwmerge.h's "Defaults per method". */
  @Test
  void defaultsOfThe050Methods() {
    assertEquals(0.5, new MergeParams(MergeMethod.SLERP).t());
    assertEquals(1e-4, new MergeParams(MergeMethod.NEARSWAP).t());
    MergeParams della = new MergeParams(MergeMethod.DELLA);
    assertEquals(0.15, della.epsilon());
    assertTrue(della.rescale());
    assertTrue(della.normalize());
    assertEquals(1.0, della.scaling());
    assertEquals(null, della.epsilons());
    MergeParams dellaLinear = new MergeParams(MergeMethod.DELLA_LINEAR);
    assertEquals(0.15, dellaLinear.epsilon());
    assertTrue(dellaLinear.rescale());
    assertFalse(dellaLinear.normalize());
    assertEquals(1e-5, new MergeParams(MergeMethod.RAM).epsilon());
    MergeParams ramplus = new MergeParams(MergeMethod.RAMPLUS_TL);
    assertEquals(1e-5, ramplus.epsilon());
    assertEquals(0.1, ramplus.ramR());
    assertEquals(0.2, ramplus.ramAlpha());
    MergeParams karcher = new MergeParams(MergeMethod.KARCHER);
    assertEquals(10, karcher.maxIter());
    assertEquals(1e-5, karcher.tol());
    MergeParams multislerp = new MergeParams(MergeMethod.MULTISLERP);
    assertTrue(multislerp.normalize());
    assertEquals(1e-8, multislerp.eps());
    MergeParams nuslerp = new MergeParams(MergeMethod.NUSLERP);
    assertTrue(nuslerp.nuslerpFlatten());
    assertFalse(nuslerp.nuslerpRowWise());
    assertEquals(1.0, new MergeParams(MergeMethod.PASSTHROUGH).scale());
    assertEquals(1.0, new MergeParams(MergeMethod.SCE).selectTopk());
  }

  /**
   * Merges with 0.5.0 methods against values computed by hand from fwmerge.h, and their fields
   * and override fields reach the library (m0 b=[2] w=[1,0] over base 0).
   */
  @Test
  void the050MethodsMatchHandComputedValues() throws IOException {
    List<String> pool = pool();
    List<String> m0 = List.of(path("m0.safetensors"));
    // PASSTHROUGH, scale 2: exactly 2 x m0; a SCALE override of 3 on w: 3 x m0's w there.
    MergeParams pass = new MergeParams(MergeMethod.PASSTHROUGH).scale(2);
    assertArrayEquals(new float[] {4}, merged(pass, m0, "b"));
    assertArrayEquals(new float[] {2, 0}, merged(pass, m0, "w"));
    pass.overrides(new MergeOverride("w", -1, MergeOverride.Field.SCALE, 3.0));
    assertArrayEquals(new float[] {4}, merged(pass, m0, "b"));
    assertArrayEquals(new float[] {3, 0}, merged(pass, m0, "w"));

    // NEARSWAP, t 1: weight = clamp(1 / max(|m - b|, 1e-6), 0, 1) of m0 over the base. b: |2 - 0|
    // = 2, weight 0.5: 1. w: |1 - 0| = 1, weight 1: 1; |0 - 0| clamped to 1e-6, weight 1: 0.
    MergeParams near = new MergeParams(MergeMethod.NEARSWAP).t(1);
    assertArrayEquals(new float[] {1}, merged(near, m0, "b"));
    assertArrayEquals(new float[] {1, 0}, merged(near, m0, "w"));
    // A T override of 10 on b: |2 - 0| is far below t, weight 1: exactly m0's 2.
    near.overrides(new MergeOverride("b", -1, MergeOverride.Field.T, 10.0));
    assertArrayEquals(new float[] {2}, merged(near, m0, "b"));
    assertArrayEquals(new float[] {1, 0}, merged(near, m0, "w"));

    // DELLA's per-member epsilons: a count other than the pool's is refused by the binding, a
    // value whose density 0.5 +- epsilon leaves (0, 1) by the library, naming the member.
    MergeParams della = new MergeParams(MergeMethod.DELLA).density(0.5).epsilons(0.1);
    FwException e = assertThrows(FwException.class, () -> merged(della, pool, "b"));
    assertEquals(Status.INVALID_ARGUMENT, e.status());
    della.epsilons(0.1, 0.6);
    e = assertThrows(FwException.class, () -> merged(della, pool, "b"));
    assertEquals(Status.INVALID_ARGUMENT, e.status());
    assertTrue(e.getMessage().contains("member 1") && e.getMessage().contains("epsilon 0.6"),
        e.getMessage());
    della.epsilons(0.1, 0.1);
    assertEquals(1, merged(della, pool, "b").length);
  }
}
