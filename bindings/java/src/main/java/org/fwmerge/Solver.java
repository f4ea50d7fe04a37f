package org.fwmerge;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.fwmerge.internal.FwNative;
import org.fwmerge.internal.SWIGTYPE_p_fw_solver;
import org.fwmerge.internal.SolverBox;
import org.fwmerge.internal.TensorArray;
import org.fwmerge.internal.TorchScriptSpec;
import org.fwmerge.internal.fw_request;
import org.fwmerge.internal.fw_status;
import org.fwmerge.internal.fw_step_info;

/**
 * One FW-Merging run: a base model, a pool of fine-tuned checkpoints and a host objective. Close
 * it (try-with-resources) to free the native solver. A solver is used by one thread at a time.
 * Failures throw {@link FwException} carrying the library's {@link Status} and message. The one
 * exception to "one thread at a time" is {@link #interrupt()}.
 */
public final class Solver implements AutoCloseable {
  // volatile: interrupt() reads it from other threads
  private volatile SWIGTYPE_p_fw_solver handle;
  // Strong references: the native side holds only weak ones to the director objects.
  private ObjectiveDirector objective;
  private HooksBridge hooks; // progress, log and abort: one director for the three

  /** A solver with the library's default parameters. */
  public Solver() {
    this(new Params());
  }

  public Solver(Params params) {
    SolverBox box = new SolverBox();
    try (Params.Native n = params.toNative()) {
      FwException.check(FwNative.solver_new(n.params, box));
      handle = box.getHandle();
    } finally {
      box.delete();
    }
  }

  @Override
  public void close() {
    if (handle != null) {
      FwNative.fw_solver_free(handle);
      handle = null;
    }
    if (objective != null) {
      objective.delete();
      objective = null;
    }
    if (hooks != null) {
      hooks.delete();
      hooks = null;
    }
  }

  private SWIGTYPE_p_fw_solver handle() {
    if (handle == null) {
      throw new IllegalStateException("fwmerge: solver is closed");
    }
    return handle;
  }

  /** Replaces the parameters (allowed between steps). */
  public void setParams(Params params) {
    try (Params.Native n = params.toNative()) {
      FwException.check(FwNative.fw_solver_set_params(handle(), n.params));
    }
  }

  /** The pre-trained model (file or Hugging Face folder); resets the solver. */
  public void setBase(String path) {
    FwException.check(FwNative.fw_solver_set_base(handle(), path));
  }

  /** Adds a fine-tuned checkpoint to the pool; returns its pool index. */
  public int addMember(String path) {
    int index = (int) FwNative.fw_solver_pool_size(handle()); // indices are assigned in order
    FwException.check(FwNative.fw_solver_pool_add(handle(), path, null));
    return index;
  }

  public int poolSize() {
    return (int) FwNative.fw_solver_pool_size(handle());
  }

  /** Starts from a pool member instead of the base (before the first step). */
  public void setStartMember(int poolIndex) {
    FwException.check(FwNative.fw_solver_set_start_member(handle(), poolIndex));
  }

  /** Starts from a checkpoint outside the pool (before the first step). */
  public void setStartFile(String path) {
    FwException.check(FwNative.fw_solver_set_start_file(handle(), path));
  }

  /** Installs the objective used by {@link #step()} and {@link #run()}. */
  public void setObjective(Objective fn) {
    if (fn == null) {
      throw new IllegalArgumentException("fwmerge: null objective");
    }
    ObjectiveBridge bridge = new ObjectiveBridge(fn);
    installObjective(bridge, FwNative.set_objective(handle(), bridge));
  }

  /**
   * Installs a multi-term objective of {@code nTerms} terms used by {@link #step()} and {@link
   * #run()} (fw_solver_set_objective_terms_callback); it replaces any objective set before. See {@link
   * TermsObjective} and {@link Params.TopkRule}.
   */
  public void setObjectiveTerms(TermsObjective fn, int nTerms) {
    if (fn == null) {
      throw new IllegalArgumentException("fwmerge: null objective");
    }
    ObjectiveBridge.Terms bridge = new ObjectiveBridge.Terms(fn);
    installObjective(bridge, FwNative.set_objective_terms(handle(), bridge, nTerms));
  }

  private void installObjective(ObjectiveDirector bridge, fw_status status) {
    if (status.swigValue() != 0) {
      bridge.delete();
      FwException.check(status);
    }
    if (objective != null) {
      objective.delete(); // the library no longer refers to it
    }
    objective = bridge;
  }

  /**
   * Makes the library evaluate the objective itself with a TorchScript module
   * (fw_solver_set_objective_torchscript; after {@link #setBase}); it replaces an objective set with
   * {@link #setObjective}. On failure the previous objective stays.
   */
  public void setObjectiveTorchScript(TorchScriptObjective ts) {
    TorchScriptSpec spec = new TorchScriptSpec();
    try {
      for (ObjectiveTerm t : ts.terms()) {
        // "" is NULL for the helper: "forward" / prediction entropy
        spec.add_term(t.method() == null ? "" : t.method(), t.inputs(),
            t.labels() == null ? "" : t.labels(), t.weight());
      }
      if (ts.paramMap() != null) {
        for (String[] pair : ts.paramMap()) {
          if (pair.length != 2) {
            throw new IllegalArgumentException("fwmerge: a paramMap entry is (module name, base name)");
          }
          spec.add_param(pair[0], pair[1]);
        }
      }
      FwException.check(FwNative.set_objective_torchscript(handle(), ts.modulePath(), ts.calibrationPath(), spec));
    } finally {
      spec.delete();
    }
    if (objective != null) {
      objective.delete(); // the library no longer calls it
      objective = null;
    }
  }

  // ---- merge functions and merged start points ----

  /**
   * The FW step's merge function (fw_solver_set_merge_function): null (or LINEAR) is the convex
   * combination; TIES, DARE, breadcrumbs and task arithmetic apply to the step's directions and
   * may leave the hull. No weights. Before the first step only.
   */
  public void setMergeFunction(MergeParams params) {
    if (params == null) {
      FwException.check(FwNative.fw_solver_set_merge_function(handle(), null));
      return;
    }
    try (MergeParams.Native n = params.toNative()) {
      FwException.check(FwNative.fw_solver_set_merge_function(handle(), n.params));
    }
  }

  /**
   * Starts from a data-free merge of the pool against the base (fw_solver_set_start_merge): an extra
   * vertex, index -1 in {@link StepInfo#chosen()}. Before the first step only.
   */
  public void setStartMerge(MergeParams params) {
    params.checkArrays(poolSize());
    try (MergeParams.Native n = params.toNative()) {
      FwException.check(FwNative.fw_solver_set_start_merge(handle(), n.params));
    }
  }

  // ---- hooks ----

  private HooksBridge hooks() {
    if (hooks == null) {
      hooks = new HooksBridge();
    }
    return hooks;
  }

  /**
   * Called after each completed step (step, run, finishStep) with its info; null removes it. A
   * throwable from the listener is caught and ignored.
   */
  public void setProgress(Consumer<StepInfo> listener) {
    HooksBridge h = hooks();
    FwException.check(FwNative.set_progress(handle(), listener == null ? null : h));
    h.progress = listener;
  }

  /**
   * Receives the library's log lines (one INFO line per step, ...); null removes it. A throwable
   * from the listener is caught and ignored.
   */
  public void setLog(BiConsumer<LogLevel, String> listener) {
    HooksBridge h = hooks();
    FwException.check(FwNative.set_log(handle(), listener == null ? null : h));
    h.log = listener;
  }

  /**
   * Polled between tensors and evaluations: true (or a throwable) aborts the step with {@link
   * Status#ABORTED}, leaving the solver as before the step; null removes it. Ask/tell steps do
   * not consult it. From another thread, {@link #cancel()} stops a call without a hook.
   */
  public void setAbort(BooleanSupplier abort) {
    HooksBridge h = hooks();
    FwException.check(FwNative.set_abort(handle(), abort == null ? null : h));
    h.abort = abort;
  }

  private interface StepCall {
    fw_status call(SWIGTYPE_p_fw_solver handle, fw_step_info info);
  }

  private StepInfo stepWith(StepCall call) {
    fw_step_info n = new fw_step_info();
    n.setStruct_size(FwNative.step_info_size()); // an output struct: the size this binding knows
    try {
      FwException.check(call.call(handle(), n));
      return new StepInfo(n);
    } finally {
      n.delete();
    }
  }

  /** One FW iteration with the objective. On failure the solver is unchanged. */
  public StepInfo step() {
    return stepWith(FwNative::fw_solver_step);
  }

  /** Steps until maxIters steps in total or the gap is within epsilon; the last step's info. */
  public StepInfo run() {
    return stepWith(FwNative::fw_solver_run);
  }

  /** The info of every completed step. */
  public List<StepInfo> history() {
    int count = FwNative.fw_solver_history_size(handle());
    List<StepInfo> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      final int index = i;
      out.add(stepWith((h, info) -> FwNative.fw_solver_history_get(h, index, info)));
    }
    return out;
  }

  /** Name of block b (layer-wise: a tensor name or prefix; task-wise: ""). */
  public String blockName(int block) {
    return FwNative.fw_solver_block_name(handle(), block);
  }

  /** Views of the current merged tensors (base order), valid until the next step or close. */
  public List<Tensor> current() {
    TensorArray array = new TensorArray();
    try {
      FwException.check(FwNative.current(handle(), array));
      return Tensor.views(array.getItems(), array.getN(), false);
    } finally {
      array.delete();
    }
  }

  /** Writes the current merged model. */
  public void export(String path, ExportOptions options) {
    try (ExportOptions.Native n = options.toNative()) {
      FwException.check(FwNative.fw_solver_export(handle(), path, n.options));
    }
  }

  public void export(String path) {
    export(path, new ExportOptions());
  }

  // ---- ask/tell: the same step with the host evaluating outside a callback ----

  /**
   * Declares that the objective the host evaluates over ask/tell has {@code nTerms} terms (default
   * 1; kept across steps): requests then name a term ({@link Request#term}), see {@link
   * Params.TopkRule}. Not allowed while a step is pending ({@link Status#STATE}).
   */
  public void setAskTellTerms(int nTerms) {
    FwException.check(FwNative.fw_solver_set_ask_tell_terms(handle(), nTerms));
  }

  /** Starts a step whose evaluations the host answers through {@link #ask()}/{@link #tell}. */
  public void beginStep() {
    FwException.check(FwNative.fw_solver_step_begin(handle()));
  }

  /** The next evaluation the step needs, or a request with {@code done} set. */
  public Request ask() {
    fw_request n = new fw_request();
    n.setStruct_size(FwNative.request_size());
    try {
      FwException.check(FwNative.fw_solver_step_ask(handle(), n));
      boolean done = n.getDone() != 0;
      boolean needGradient = n.getNeed_gradient() != 0;
      if (done) {
        return new Request(true, false, null, null, n.getTerm());
      }
      return new Request(
          false,
          needGradient,
          Tensor.views(n.getParams(), n.getN(), false),
          needGradient ? Tensor.views(n.getGrads(), n.getN(), true) : null,
          n.getTerm());
    } finally {
      n.delete();
    }
  }

  /** Answers the last request with its loss (the gradient is already in its grads). */
  public void tell(double loss) {
    FwException.check(FwNative.fw_solver_step_tell(handle(), fw_status.FW_OK, loss));
  }

  /** Fails the step like a failing objective; finishStep then throws CALLBACK with the message. */
  public void tellError(String message) {
    FwNative.fw_set_callback_error(message);
    FwException.check(FwNative.fw_solver_step_tell(handle(), fw_status.FW_ERR_CALLBACK, 0.0));
  }

  /** Ends the step: commits on success, throws the step's error otherwise. */
  public StepInfo finishStep() {
    return stepWith(FwNative::fw_solver_step_finish);
  }

  /** Abandons the step in progress; the solver is as before {@link #beginStep()}. */
  public void cancelStep() {
    FwException.check(FwNative.fw_solver_step_cancel(handle()));
  }

  // ---- resume and cancel ----

  /**
   * Writes what the run has computed so far (iterate, history, start point, the pool's identity)
   * to {@code path}, atomically; a solver set up the same way continues it after {@link
   * #loadState}.
   */
  public void saveState(String path) {
    FwException.check(FwNative.fw_solver_state_save(handle(), path));
  }

  /**
   * Restores a state saved by {@link #saveState} (possibly in another process) into this solver,
   * which must have the same base, pool (in order), blocks and merge function.
   */
  public void loadState(String path) {
    FwException.check(FwNative.fw_solver_state_load(handle(), path));
  }

  /**
   * Stops the call in progress on this solver (step, run, an ask/tell step, export, saveState), or
   * the next one: it throws {@link FwException} with {@link Status#ABORTED} and the solver stays
   * as before the step. May be called from any thread while the solver is open.
   */
  public void interrupt() {
    SWIGTYPE_p_fw_solver h = handle;
    if (h != null) {
      FwNative.fw_solver_interrupt(h);
    }
  }

  /** The same as {@link #interrupt()} (fw_solver_interrupt): cancels the call in progress. */
  public void cancel() {
    interrupt();
  }
}
