package org.fwmerge.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.fwmerge.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The backstop under the public API: a throwable that escapes a raw director (no Java-side catch)
 * is cleared by SWIG's director exception handling and reported by the C++ trampoline as
 * FW_ERR_CALLBACK; no Java exception stays pending and the solver is unchanged.
 */
class DirectorExceptionTest {
  @TempDir Path dir;

  @Test
  void escapingThrowableBecomesCallbackStatus() throws Exception {
    String[] names = {"w"};
    long[][] shapes = {{2}};
    Safetensors.write(dir.resolve("base.safetensors"), names, shapes, new float[][] {{0, 0}});
    Safetensors.write(dir.resolve("m0.safetensors"), names, shapes, new float[][] {{1, 3}});

    SolverBox box = new SolverBox();
    assertEquals(fw_status.FW_OK, FwNative.solver_new(null, box));
    SWIGTYPE_p_fw_solver solver = box.getHandle();
    Objective raw =
        new Objective() {
          @Override
          public double evaluate(fw_tensor params, fw_tensor grads, long n) {
            throw new UnsupportedOperationException("escaped the director");
          }
        };
    try {
      assertEquals(fw_status.FW_OK, FwNative.fw_solver_set_base(solver, dir.resolve("base.safetensors").toString()));
      assertEquals(fw_status.FW_OK, FwNative.fw_solver_pool_add(solver, dir.resolve("m0.safetensors").toString(), null));
      assertEquals(fw_status.FW_OK, FwNative.set_objective(solver, raw));

      fw_step_info info = new fw_step_info();
      info.setStruct_size(FwNative.step_info_size());
      assertEquals(fw_status.FW_ERR_CALLBACK, FwNative.fw_solver_step(solver, info));
      String message = FwNative.fw_last_error();
      assertTrue(message.contains("escaped the director"), message);
      info.delete();
      assertEquals(0, FwNative.fw_solver_history_size(solver));

      TensorArray current = new TensorArray();
      assertEquals(fw_status.FW_OK, FwNative.current(solver, current));
      java.nio.FloatBuffer w =
          FwNative.tensor_bytes(FwNative.tensor_at(current.getItems(), 0))
              .order(java.nio.ByteOrder.nativeOrder())
              .asFloatBuffer();
      assertEquals(0f, w.get(0));
      assertEquals(0f, w.get(1));
      current.delete();
    } finally {
      FwNative.fw_solver_free(solver);
      box.delete();
      raw.delete();
    }
  }
}
