package org.fwmerge;

import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.fwmerge.internal.fw_log_level;
import org.fwmerge.internal.fw_step_info;

/**
 * The Java side of the SWIG director fwswig::Hooks: the library calls it through the C++
 * trampolines on the thread running the call (step, run, finishStep, merge). No throwable may
 * escape into native code: one thrown by a progress or log hook is caught and ignored (the step
 * has already succeeded); one thrown by an abort hook counts as "abort" (FW_ERR_ABORTED).
 */
final class HooksBridge extends org.fwmerge.internal.Hooks {
  volatile Consumer<StepInfo> progress;
  volatile BiConsumer<LogLevel, String> log;
  volatile BooleanSupplier abort;

  @Override
  public void progress(fw_step_info info) {
    Consumer<StepInfo> fn = progress;
    if (fn == null) {
      return;
    }
    try {
      fn.accept(new StepInfo(info));
    } catch (Throwable t) { // ignored: the step has succeeded
    }
  }

  @Override
  public void log(fw_log_level level, String message) {
    BiConsumer<LogLevel, String> fn = log;
    if (fn == null) {
      return;
    }
    try {
      LogLevel[] levels = LogLevel.values();
      int i = level.swigValue();
      fn.accept(i >= 0 && i < levels.length ? levels[i] : LogLevel.WARN, message);
    } catch (Throwable t) { // ignored
    }
  }

  @Override
  public boolean abort() {
    BooleanSupplier fn = abort;
    try {
      return fn != null && fn.getAsBoolean();
    } catch (Throwable t) { // a failing abort hook stops the work
      return true;
    }
  }
}
