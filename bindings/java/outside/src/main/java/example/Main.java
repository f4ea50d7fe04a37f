package example;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.fwmerge.DType;
import org.fwmerge.Fwmerge;
import org.fwmerge.HostTensor;
import org.fwmerge.MergeMethod;
import org.fwmerge.MergeParams;
import org.fwmerge.internal.NativeLoader;

/** Writes a tiny pool, merges it with task arithmetic and returns the merged tensor. */
public final class Main {
  private Main() {}

  /** base w=[0,0]; m0 w=[1,0]; m1 w=[0,1]: base + 0.5 * (tau0 + tau1) = [0.5, 0.5]. */
  public static float[] run(Path dir) {
    String[] names = {"base", "m0", "m1"};
    float[][] values = {{0, 0}, {1, 0}, {0, 1}};
    for (int i = 0; i < names.length; i++) {
      Fwmerge.saveTensors(dir.resolve(names[i] + ".safetensors").toString(),
          List.of(HostTensor.ofFloats("w", new long[] {2}, values[i])), DType.DEFAULT, null);
    }
    String out = dir.resolve("merged.safetensors").toString();
    Fwmerge.merge(new MergeParams(MergeMethod.TASK_ARITHMETIC).scaling(0.5),
        dir.resolve("base.safetensors").toString(),
        List.of(dir.resolve("m0.safetensors").toString(), dir.resolve("m1.safetensors").toString()),
        out, null);
    return Fwmerge.loadTensors(out, false).get("w").toFloats();
  }

  public static void main(String[] args) throws Exception {
    float[] w = run(Files.createTempDirectory("fwmerge-outside"));
    System.out.println("fwmerge " + Fwmerge.version() + " from " + NativeLoader.loadedFrom()
        + ": merged w = [" + w[0] + ", " + w[1] + "]");
  }
}
