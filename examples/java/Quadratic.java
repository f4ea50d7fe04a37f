import java.util.List;
import java.util.Locale;
import org.fwmerge.Params;
import org.fwmerge.Solver;
import org.fwmerge.StepInfo;
import org.fwmerge.Tensor;

/**
 * Merges the pool made by examples/c/make_pool with a Java-written objective: the quadratic
 * example shared by every language (its export is byte-identical to the C example's).
 *
 * <pre>java -cp fwmerge-0.5.0.jar -Dfwmerge.library.path=DIR Quadratic.java POOL_DIR OUT_FILE</pre>
 */
public final class Quadratic {
  /** target = ((i*7 + j*3) % 11 - 5) * 0.125f; d = theta - target; loss += 0.5*d*d; grad = d. */
  static double objective(List<Tensor> params, List<Tensor> grads) {
    double loss = 0.0;
    for (int j = 0; j < params.size(); j++) {
      java.nio.FloatBuffer theta = params.get(j).data();
      java.nio.FloatBuffer grad = grads == null ? null : grads.get(j).data();
      for (int i = 0; i < theta.capacity(); i++) {
        float target = (float) ((((long) i * 7 + (long) j * 3) % 11) - 5) * 0.125f;
        float d = theta.get(i) - target;
        loss += 0.5 * (double) d * (double) d;
        if (grad != null) {
          grad.put(i, d);
        }
      }
    }
    return loss;
  }

  public static void main(String[] args) {
    if (args.length != 2) {
      System.err.println("usage: Quadratic POOL_DIR OUT_FILE");
      System.exit(2);
    }
    String pool = args[0];
    try (Solver solver = new Solver(new Params().maxIters(10))) {
      solver.setBase(pool + "/base.safetensors");
      for (int m = 0; m < 4; m++) {
        solver.addMember(pool + "/member" + m + ".safetensors");
      }
      solver.setObjective(Quadratic::objective);
      solver.run();
      for (StepInfo step : solver.history()) {
        System.out.printf(
            Locale.ROOT, "step %d: loss %.6f gap %.6f gamma %.4f%n", step.iteration, step.loss, step.gap, step.gamma);
      }
      solver.export(args[1]);
    }
  }
}
