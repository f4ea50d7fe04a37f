package org.fwmerge;

import java.util.Arrays;
import org.fwmerge.internal.FwNative;
import org.fwmerge.internal.fw_step_info;

/** What one FW step did (fw_step_info), copied out of the library. */
public final class StepInfo {
  /** t, 0-based. */
  public final int iteration;
  /** Loss at the start of the step. */
  public final double loss;
  /** Loss after the step when the step evaluated it, else NaN. */
  public final double lossAfter;
  /** The FW gap. */
  public final double gap;
  /** Hard: the step size; soft: mean over blocks of the summed coefficients. */
  public final double gamma;
  /** The gap was within epsilon: theta unchanged, nothing more to do. */
  public final boolean converged;
  /** Objective evaluations spent in this step. */
  public final int evaluations;
  /** 1 task-wise; the number of blocks layer-wise. */
  public final int nBlocks;
  /** Vertices per block. */
  public final int k;
  /** nBlocks * k vertex indices (pool index, -1 = start vertex). */
  private final int[] chosen;
  /** nBlocks * k coefficients. */
  private final double[] lambdas;
  /** The merge function may leave the convex hull. */
  public final boolean leavesHull;

  StepInfo(fw_step_info n) {
    iteration = n.getIteration();
    loss = n.getLoss();
    lossAfter = n.getLoss_after();
    gap = n.getGap();
    gamma = n.getGamma();
    converged = n.getConverged() != 0;
    evaluations = n.getEvaluations();
    nBlocks = n.getN_blocks();
    k = n.getK();
    leavesHull = n.getLeaves_hull() != 0;
    int count = Math.max(0, nBlocks * k);
    chosen = new int[count];
    lambdas = new double[count];
    for (int i = 0; i < count; i++) {
      chosen[i] = FwNative.chosen_at(n, i);
      lambdas[i] = FwNative.lambda_at(n, i);
    }
  }

  public int[] chosen() {
    return chosen.clone();
  }

  public double[] lambdas() {
    return lambdas.clone();
  }

  @Override
  public String toString() {
    return "StepInfo{iteration=" + iteration + ", loss=" + loss + ", lossAfter=" + lossAfter
        + ", gap=" + gap + ", gamma=" + gamma + ", converged=" + converged + ", evaluations="
        + evaluations + ", nBlocks=" + nBlocks + ", k=" + k + ", chosen=" + Arrays.toString(chosen)
        + ", lambdas=" + Arrays.toString(lambdas) + ", leavesHull=" + leavesHull + "}";
  }
}
