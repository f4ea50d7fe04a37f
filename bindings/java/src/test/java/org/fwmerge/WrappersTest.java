package org.fwmerge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.fwmerge.internal.NativeLoader;
import org.fwmerge.internal.fw_dtype;
import org.fwmerge.internal.fw_log_level;
import org.fwmerge.internal.fw_merge_method;
import org.fwmerge.internal.fw_status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The wrappers added for issue 12 (merging, merge functions, merged start points, hooks, cancel,
 * reading and writing tensors, the TorchScript objective), on the pool of {@link SolverTest}:
 * base b=[0] w=[0,0]; m0 b=[2] w=[1,0]; m1 b=[-1] w=[0,1]. Expected values are computed by hand
 * from the rules in fwmerge.h.
 */
class WrappersTest {
  @TempDir Path dir;

  private Solver poolSolver() throws IOException {
    String[] names = {"b", "w"};
    long[][] shapes = {{1}, {2}};
    Safetensors.write(dir.resolve("base.safetensors"), names, shapes, new float[][] {{0}, {0, 0}});
    Safetensors.write(dir.resolve("m0.safetensors"), names, shapes, new float[][] {{2}, {1, 0}});
    Safetensors.write(dir.resolve("m1.safetensors"), names, shapes, new float[][] {{-1}, {0, 1}});
    Solver s = new Solver(SolverTest.constantParams());
    s.setBase(path("base.safetensors"));
    s.addMember(path("m0.safetensors"));
    s.addMember(path("m1.safetensors"));
    return s;
  }

  private String path(String name) {
    return dir.resolve(name).toString();
  }

  private void assertMerged(String file, float[] b, float[] w) throws IOException {
    assertArrayEquals(b, Safetensors.read(dir.resolve(file), "b"), file);
    assertArrayEquals(w, Safetensors.read(dir.resolve(file), "w"), file);
  }

  @Test
  void mergeMethodsMatchHandComputedValues() throws IOException {
    poolSolver().close();
    List<String> pool = List.of(path("m0.safetensors"), path("m1.safetensors"));
    MergeParams linear = new MergeParams(MergeMethod.LINEAR);
    assertTrue(linear.normalize());
    // (1*m0 + 3*m1) / 4
    Fwmerge.merge(linear.weights(1, 3), path("base.safetensors"), pool, path("linear.safetensors"), null);
    assertMerged("linear.safetensors", new float[] {-0.25f}, new float[] {0.25f, 0.75f});
    MergeParams ta = new MergeParams(MergeMethod.TASK_ARITHMETIC);
    assertEquals(0.3, ta.scaling());
    // base + 0.5 * (tau0 + tau1)
    Fwmerge.merge(ta.scaling(0.5), path("base.safetensors"), pool, path("ta.safetensors"), new ExportOptions());
    assertMerged("ta.safetensors", new float[] {0.5f}, new float[] {0.5f, 0.5f});
    MergeParams ties = new MergeParams(MergeMethod.TIES);
    assertEquals(0.2, ties.density());
    // b: +2 and -1 elect +, only m0 agrees: 2; w: one nonzero entry per member
    Fwmerge.merge(ties.density(1), path("base.safetensors"), pool, path("ties.safetensors"), null);
    assertMerged("ties.safetensors", new float[] {2}, new float[] {1, 1});
    // weights 1, 3: b: 2 - 3 < 0 elects -, only m1 agrees: 3 * (-1) / 3
    Fwmerge.merge(ties.weights(1, 3), path("base.safetensors"), pool, path("tiesw.safetensors"), null);
    assertMerged("tiesw.safetensors", new float[] {-1}, new float[] {1, 1});
    assertTrue(Safetensors.header(dir.resolve("tiesw.safetensors")).contains("fwmerge.recipe"));

    // The per-member arrays reach the library, which rejects densities on LINEAR.
    FwException e = assertThrows(FwException.class, () -> Fwmerge.merge(
        new MergeParams(MergeMethod.LINEAR).densities(1, 1), path("base.safetensors"), pool, path("x.safetensors"), null));
    assertEquals(Status.INVALID_ARGUMENT, e.status());
    e = assertThrows(FwException.class, () -> Fwmerge.merge(
        new MergeParams(MergeMethod.LINEAR).weights(1), path("base.safetensors"), pool, path("x.safetensors"), null));
    assertEquals(Status.INVALID_ARGUMENT, e.status());
    // An abort hook stops the merge; nothing is written.
    e = assertThrows(FwException.class, () -> Fwmerge.merge(
        new MergeParams(MergeMethod.LINEAR), path("base.safetensors"), pool, path("aborted.safetensors"), null, () -> true));
    assertEquals(Status.ABORTED, e.status());
    e = assertThrows(FwException.class, () -> Fwmerge.merge(new MergeParams(MergeMethod.LINEAR),
        path("base.safetensors"), pool, path("aborted.safetensors"), null, () -> { throw new IllegalStateException(); }));
    assertEquals(Status.ABORTED, e.status());
    assertFalse(Files.exists(dir.resolve("aborted.safetensors")));
  }

  /**
   * theta_0 = (m0 + m1) / 2 = b=[0.5] w=[0.5,0.5]. Step 0: g = (b:0, w:-0.5,0.25); scores m0
   * -0.5, m1 0.25, theta_0 -0.125: m0; gap 0.375; theta_1 = b=[1.25] w=[0.75,0.25].
   */
  @Test
  void startMergeIsTheStartVertex() throws IOException {
    try (Solver s = poolSolver()) {
      s.setStartMerge(new MergeParams(MergeMethod.LINEAR).weights(1, 1));
      SolverTest.assertCurrent(s, new float[] {0.5f}, new float[] {0.5f, 0.5f});
      s.setObjective(SolverTest::quadratic);
      StepInfo info = s.step();
      assertEquals(0.5 * (0.25 + 0.0625), info.loss, 1e-12);
      assertEquals(0.375, info.gap, 1e-12);
      assertArrayEquals(new int[] {0}, info.chosen());
      SolverTest.assertCurrent(s, new float[] {1.25f}, new float[] {0.75f, 0.25f});
    }
  }

  /** TASK_ARITHMETIC scaling 2: theta_1 = base + 2 * 0.5 * (m0 - base) = m0. */
  @Test
  void mergeFunctionTaskArithmetic() throws IOException {
    try (Solver s = poolSolver()) {
      s.setMergeFunction(new MergeParams(MergeMethod.TASK_ARITHMETIC).scaling(2));
      s.setObjective(SolverTest::quadratic);
      StepInfo info = s.step();
      assertTrue(info.leavesHull);
      assertArrayEquals(new int[] {0}, info.chosen());
      SolverTest.assertCurrent(s, new float[] {2}, new float[] {1, 0});
      assertEquals(Status.STATE, assertThrows(FwException.class, () -> s.setMergeFunction(null)).status());
    }
    try (Solver s = poolSolver()) {
      s.setMergeFunction(null);
      FwException e = assertThrows(FwException.class, () -> s.setMergeFunction(new MergeParams(MergeMethod.MODEL_STOCK)));
      assertEquals(Status.UNSUPPORTED, e.status());
    }
  }

  @Test
  void progressAndLogHooksSeeTheSteps() throws IOException {
    try (Solver s = poolSolver()) {
      s.setObjective(SolverTest::quadratic);
      List<StepInfo> seen = new ArrayList<>();
      List<String> lines = new ArrayList<>();
      AtomicInteger info = new AtomicInteger();
      s.setProgress(seen::add);
      s.setLog((level, message) -> {
        lines.add(message);
        if (level == LogLevel.INFO) {
          info.incrementAndGet();
        }
      });
      s.run();
      assertEquals(2, seen.size());
      SolverTest.checkStep(seen.get(0), 0, SolverTest.LOSS0, 2, 0);
      SolverTest.checkStep(seen.get(1), 1, SolverTest.LOSS1, 1, 1);
      assertEquals(s.history().toString(), seen.toString());
      assertTrue(info.get() >= 2, lines::toString);
      s.setProgress(null);
      s.setLog(null);
      s.setParams(SolverTest.constantParams().maxIters(3));
      int n = lines.size();
      s.step();
      assertEquals(2, seen.size());
      assertEquals(n, lines.size());
    }
  }

  @Test
  void throwingProgressAndLogHooksAreIgnored() throws IOException {
    try (Solver s = poolSolver()) {
      s.setObjective(SolverTest::quadratic);
      AtomicInteger calls = new AtomicInteger();
      s.setProgress(i -> {
        calls.incrementAndGet();
        throw new IllegalStateException("progress hook");
      });
      s.setLog((l, m) -> {
        throw new Error("log hook");
      });
      SolverTest.checkStep(s.run(), 1, SolverTest.LOSS1, 1, 1);
      assertEquals(2, calls.get());
    }
  }

  @Test
  void abortHookAbortsAndAThrowCountsAsAbort() throws IOException {
    for (java.util.function.BooleanSupplier abort : List.<java.util.function.BooleanSupplier>of(
        () -> true, () -> { throw new IllegalStateException("abort hook"); })) {
      try (Solver s = poolSolver()) {
        s.setObjective(SolverTest::quadratic);
        Map<String, float[]> before = SolverTest.current(s);
        s.setAbort(abort);
        assertEquals(Status.ABORTED, assertThrows(FwException.class, s::step).status());
        assertEquals(0, s.history().size());
        SolverTest.assertSameState(before, SolverTest.current(s));
        s.setAbort(null);
        SolverTest.checkStep(s.step(), 0, SolverTest.LOSS0, 2, 0);
      }
    }
  }

  /** cancel() from another thread while step 1 evaluates: step 1 aborts, step 0 stays. */
  @Test
  void cancelFromAnotherThreadDuringARun() throws Exception {
    try (Solver s = poolSolver()) {
      s.setParams(SolverTest.constantParams().maxIters(5));
      s.setObjective((params, grads) -> {
        if (s.history().size() == 1) {
          Thread t = new Thread(s::cancel);
          t.start();
          t.join();
        }
        return SolverTest.quadratic(params, grads);
      });
      FwException e = assertThrows(FwException.class, s::run);
      assertEquals(Status.ABORTED, e.status());
      assertTrue(e.getMessage().contains("interrupt"), e::getMessage);
      assertEquals(1, s.history().size());
      SolverTest.assertCurrent(s, new float[] {1}, new float[] {0.5f, 0});
      s.setObjective(SolverTest::quadratic);
      SolverTest.checkStep(s.step(), 1, SolverTest.LOSS1, 1, 1);
    }
  }

  /** The header's dtype and shape of one tensor, and its bytes, read without the library. */
  private static Object[] rawEntry(Path file, String name) throws IOException {
    byte[] raw = Files.readAllBytes(file);
    int n = (int) ByteBuffer.wrap(raw, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    String json = new String(raw, 8, n, StandardCharsets.UTF_8);
    Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*\\{\"dtype\"\\s*:\\s*\"(\\w+)\"\\s*,\\s*\"shape\"\\s*:\\s*\\[([^\\]]*)\\]"
        + "\\s*,\\s*\"data_offsets\"\\s*:\\s*\\[(\\d+),\\s*(\\d+)\\]").matcher(json);
    assertTrue(m.find(), json);
    int begin = 8 + n + Integer.parseInt(m.group(3));
    int end = 8 + n + Integer.parseInt(m.group(4));
    return new Object[] {m.group(1), m.group(2), java.util.Arrays.copyOfRange(raw, begin, end)};
  }

  @Test
  void saveAndLoadTensorsRoundTrip() throws IOException {
    long[] labels = {-5, 1L << 40, 7};
    byte[] bf16 = {(byte) 0x80, 0x3f, 0x00, (byte) 0xc0}; // 1.0, -2.0
    List<HostTensor> in = List.of(
        HostTensor.ofFloats("x", new long[] {2, 2}, 1, 2, 3, -1),
        HostTensor.ofLongs("y", new long[] {3}, labels),
        new HostTensor("h", DType.BF16, new long[] {2}, bf16),
        new HostTensor("mask", DType.U8, new long[] {4}, new byte[] {0, 1, (byte) 254, (byte) 255}),
        HostTensor.ofFloats("scalar", new long[] {}, 0.5f));
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("task", "labels");
    meta.put("a", "b");
    Path file = dir.resolve("calib.safetensors");
    Fwmerge.saveTensors(file.toString(), in, DType.DEFAULT, meta);

    Object[] y = rawEntry(file, "y");
    assertEquals("I64", y[0]);
    assertEquals("3", ((String) y[1]).trim());
    assertArrayEquals(in.get(1).bytes(), (byte[]) y[2]);

    TensorSet set = Fwmerge.loadTensors(file.toString(), false);
    assertEquals(in.size(), set.tensors().size());
    Map<String, String> dtypes = Map.of("x", "F32", "y", "I64", "h", "BF16", "mask", "U8", "scalar", "F32");
    for (HostTensor t : in) {
      LoadedTensor got = set.get(t.name());
      assertNotNull(got, t.name());
      assertEquals(dtypes.get(t.name()), got.dtype());
      assertArrayEquals(t.shape(), got.shape());
      assertEquals(t.bytes().length, got.nbytes());
      assertArrayEquals(t.bytes(), got.bytes());
    }
    assertArrayEquals(labels, set.get("y").toLongs());
    assertArrayEquals(new float[] {1, 2, 3, -1}, set.get("x").toFloats());
    assertEquals(Status.INVALID_ARGUMENT, assertThrows(FwException.class, () -> set.get("y").toFloats()).status());
    assertEquals(Map.of("task", "labels", "a", "b"), set.metadata());

    TensorSet header = Fwmerge.loadTensors(file.toString(), true);
    for (int i = 0; i < header.tensors().size(); i++) {
      LoadedTensor t = header.tensors().get(i);
      assertEquals(set.tensors().get(i).name(), t.name());
      assertEquals(set.tensors().get(i).dtype(), t.dtype());
      assertEquals(set.tensors().get(i).nbytes(), t.nbytes());
      assertNull(t.bytes());
    }
    assertEquals(set.metadata(), header.metadata());

    Path half = dir.resolve("half.safetensors");
    Fwmerge.saveTensors(half.toString(), in.subList(0, 2), DType.F16, null);
    assertEquals("F16", rawEntry(half, "x")[0]);
    assertEquals(8, ((byte[]) rawEntry(half, "x")[2]).length);
    assertEquals("I64", rawEntry(half, "y")[0]);
  }

  @Test
  void saveAndLoadTensorsErrors() throws IOException {
    Path file = dir.resolve("bad.safetensors");
    FwException e = assertThrows(FwException.class, () -> Fwmerge.saveTensors(file.toString(),
        List.of(new HostTensor("x", DType.F32, new long[] {3}, new byte[8])), DType.DEFAULT, null));
    assertEquals(Status.INVALID_ARGUMENT, e.status());
    assertFalse(Files.exists(file));
    e = assertThrows(FwException.class, () -> Fwmerge.loadTensors(dir.resolve("missing.safetensors").toString(), false));
    assertEquals(Status.IO, e.status());
    Files.write(file, "\u0010\0\0\0\0\0\0\0{not json}".getBytes(StandardCharsets.ISO_8859_1));
    e = assertThrows(FwException.class, () -> Fwmerge.loadTensors(file.toString(), true));
    assertEquals(Status.FORMAT, e.status());
  }

  @Test
  void torchScriptErrorsKeepTheJavaObjective() throws IOException {
    try (Solver s = poolSolver()) {
      s.setObjective(SolverTest::quadratic);
      TorchScriptObjective ts = new TorchScriptObjective(path("missing.pt"), path("base.safetensors"),
          List.of(new ObjectiveTerm("x", "y")));
      assertEquals(Status.IO, assertThrows(FwException.class, () -> s.setObjectiveTorchScript(ts)).status());
      Files.write(dir.resolve("garbage.pt"), "not a zip archive".getBytes(StandardCharsets.UTF_8));
      TorchScriptObjective garbage = new TorchScriptObjective(path("garbage.pt"), path("base.safetensors"), ts.terms());
      assertEquals(Status.FORMAT, assertThrows(FwException.class, () -> s.setObjectiveTorchScript(garbage)).status());
      SolverTest.checkStep(s.step(), 0, SolverTest.LOSS0, 2, 0);
    }
  }

  /**
   * The module of FWMERGE_TS_FIXTURE (logits = x W^T + b through "fc"); at W = 0 with x =
   * [[1,2],[3,-1]] and labels [0,1]: loss ln 2, dL/dW = [[0.5,-0.75],[-0.5,0.75]]; scores good
   * -1.625, bad 1.625: good, gap 1.625.
   */
  @Test
  void torchScriptCrossEntropyStepMatchesTheClosedForm() throws Exception {
    String helper = System.getenv("FWMERGE_TS_FIXTURE");
    assumeTrue(helper != null && !helper.isEmpty(), "FWMERGE_TS_FIXTURE is not set (CTest sets it)");
    Process p = new ProcessBuilder(helper, dir.toString()).inheritIO().start();
    assertEquals(0, p.waitFor());
    for (Object[] m : new Object[][] {
        {"base.safetensors", new float[] {0, 0, 0, 0}},
        {"good.safetensors", new float[] {-0.5f, 0.75f, 0.5f, -0.75f}},
        {"bad.safetensors", new float[] {0.5f, -0.75f, -0.5f, 0.75f}}}) {
      Fwmerge.saveTensors(path((String) m[0]), List.of(
          HostTensor.ofFloats("fc.weight", new long[] {2, 2}, (float[]) m[1]),
          HostTensor.ofFloats("fc.bias", new long[] {2}, 0, 0)), DType.F32, null);
    }
    Fwmerge.saveTensors(path("calib.safetensors"), List.of(
        HostTensor.ofFloats("x", new long[] {2, 2}, 1, 2, 3, -1),
        HostTensor.ofLongs("y", new long[] {2}, 0, 1)), DType.DEFAULT, null);
    try (Solver s = new Solver()) {
      s.setBase(path("base.safetensors"));
      s.addMember(path("good.safetensors"));
      s.addMember(path("bad.safetensors"));
      TorchScriptObjective bad = new TorchScriptObjective(path("net.pt"), path("calib.safetensors"),
          List.of(new ObjectiveTerm(null, "nope", null, 1.0)));
      assertEquals(Status.INVALID_ARGUMENT, assertThrows(FwException.class, () -> s.setObjectiveTorchScript(bad)).status());
      s.setObjectiveTorchScript(new TorchScriptObjective(path("net.pt"), path("calib.safetensors"),
          List.of(new String[] {"fc.weight", "fc.weight"}, new String[] {"fc.bias", "fc.bias"}),
          List.of(new ObjectiveTerm("x", "y"))));
      StepInfo info = s.step();
      assertEquals(Math.log(2), info.loss, 1e-6);
      assertEquals(1.625, info.gap, 1e-6);
      assertArrayEquals(new int[] {0}, info.chosen());
      assertTrue(info.lossAfter < info.loss);
    }
  }

  /** SWIG's constants of a C enum (generated from fwmerge.h): name to value. */
  private static Map<String, Integer> swigEnum(Class<?> c) throws Exception {
    Map<String, Integer> out = new LinkedHashMap<>();
    for (java.lang.reflect.Field f : c.getFields()) {
      if (java.lang.reflect.Modifier.isStatic(f.getModifiers()) && f.getType() == c) {
        out.put(f.getName(), (Integer) c.getMethod("swigValue").invoke(f.get(null)));
      }
    }
    assertFalse(out.isEmpty(), c::getName);
    return out;
  }

  /** The hand-written enums against SWIG's, which SWIG generates from fwmerge.h. */
  @Test
  void enumsMatchTheHeader() throws Exception {
    Map<String, Integer> statuses = swigEnum(fw_status.class);
    assertEquals(statuses.size(), Status.values().length);
    for (Map.Entry<String, Integer> e : statuses.entrySet()) {
      Status mine = Status.of(e.getValue());
      assertEquals(e.getKey(), mine.libraryName());
      assertEquals((int) e.getValue(), mine.code());
    }
    Map<String, Integer> dtypes = swigEnum(fw_dtype.class);
    assertEquals(dtypes.size(), DType.values().length);
    for (Map.Entry<String, Integer> e : dtypes.entrySet()) {
      assertEquals(e.getKey(), "FW_DTYPE_" + DType.of(e.getValue()).name());
    }
    Map<String, Integer> methods = swigEnum(fw_merge_method.class);
    assertEquals(methods.size(), MergeMethod.values().length);
    for (Map.Entry<String, Integer> e : methods.entrySet()) {
      assertEquals(e.getKey(), "FW_MERGE_METHOD_" + MergeMethod.values()[e.getValue()].name());
    }
    Map<String, Integer> fields = swigEnum(org.fwmerge.internal.fw_merge_field.class);
    assertEquals(fields.size(), MergeOverride.Field.values().length);
    for (Map.Entry<String, Integer> e : fields.entrySet()) {
      assertEquals(e.getKey(), "FW_MERGE_FIELD_" + MergeOverride.Field.values()[e.getValue()].name());
    }
    Map<String, Integer> devices = swigEnum(org.fwmerge.internal.fw_device_type.class);
    assertEquals(devices.size(), Params.Device.values().length);
    for (Map.Entry<String, Integer> e : devices.entrySet()) {
      assertEquals(e.getKey(), "FW_DEVICE_TYPE_" + Params.Device.values()[e.getValue()].name());
    }
    Map<String, Integer> levels = swigEnum(fw_log_level.class);
    assertEquals(levels.size(), LogLevel.values().length);
    for (Map.Entry<String, Integer> e : levels.entrySet()) {
      assertEquals(e.getKey(), "FW_LOG_LEVEL_" + LogLevel.values()[e.getValue()].name());
    }
  }

  @Test
  void versionCheck() {
    assertNull(NativeLoader.checkVersion(Fwmerge.versionNumber(), Fwmerge.headerVersionNumber()));
    assertNull(NativeLoader.checkVersion(301, 301));
    assertNull(NativeLoader.checkVersion(305, 301));
    for (long lib : new long[] {300, 401, 10301}) {
      String why = NativeLoader.checkVersion(lib, 301);
      assertNotNull(why);
      assertTrue(why.contains("0.3.1"), why);
    }
  }

  @Test
  void processWideSettings() {
    Fwmerge.setTorchThreads(1);
    assertEquals(Status.INVALID_ARGUMENT, assertThrows(FwException.class, () -> Fwmerge.setTorchThreads(0)).status());
    try {
      Fwmerge.setMallocMmapThreshold(1 << 20);
    } catch (FwException e) {
      assertEquals(Status.UNSUPPORTED, e.status()); // not glibc's malloc
    }
  }
}
