package org.fwmerge;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import org.fwmerge.internal.FwNative;
import org.fwmerge.internal.MetadataEntry;
import org.fwmerge.internal.SWIGTYPE_p_fw_tensor_set;
import org.fwmerge.internal.StringList;
import org.fwmerge.internal.TensorList;
import org.fwmerge.internal.TensorSetBox;
import org.fwmerge.internal.fw_dtype;
import org.fwmerge.internal.fw_tensor;

/** Library-wide calls: version, data-free merging, reading and writing tensors, process settings. */
public final class Fwmerge {
  private Fwmerge() {}

  /** The native library's version, e.g. "0.5.0". */
  public static String version() {
    return FwNative.fw_version();
  }

  /** The native library's version number (fw_version_number: 500 for 0.5.0). */
  public static long versionNumber() {
    return FwNative.fw_version_number();
  }

  /**
   * The LibTorch the native library was built against and loads (fw_libtorch_version: "1.13.0"
   * for Debian's, "2.15.0+cu132" for a pip torch). A process holds one LibTorch: a JVM that also
   * loads DJL's PyTorch engine needs a libfwmerge built against that same LibTorch.
   */
  public static String libtorchVersion() {
    return FwNative.fw_libtorch_version();
  }

  /** The version number of the fwmerge.h the JNI glue was compiled against. */
  public static long headerVersionNumber() {
    return FwNative.header_version_number();
  }

  /**
   * Merges the pool members against {@code base} with a data-free method (fw_merge) and writes the
   * result to {@code out} like {@link Solver#export} does (atomically, one file or shards, the
   * recipe in the metadata). Nothing is written on error.
   */
  public static void merge(MergeParams params, String base, List<String> pool, String out, ExportOptions options) {
    merge(params, base, pool, out, options, null);
  }

  /**
   * {@link #merge} with an abort hook, polled before each tensor (it may read a flag another
   * thread sets): true, or a throwable, stops the merge with {@link Status#ABORTED} and writes
   * nothing. null: never.
   */
  public static void merge(MergeParams params, String base, List<String> pool, String out,
      ExportOptions options, BooleanSupplier abort) {
    params.checkArrays(pool.size());
    StringList paths = new StringList();
    HooksBridge hooks = null;
    try (ExportOptions.Native opts = (options == null ? new ExportOptions() : options).toNative();
        MergeParams.Native n = params.toNative()) {
      for (String p : pool) {
        paths.add(p);
      }
      if (abort != null) {
        hooks = new HooksBridge();
        hooks.abort = abort;
      }
      FwException.check(FwNative.merge(n.params, base, paths, out, opts.options, hooks));
    } finally {
      paths.delete();
      if (hooks != null) {
        hooks.delete();
      }
    }
  }

  /**
   * Writes tensors (in order) as one .safetensors file, atomically (fw_save_tensors). Floating
   * tensors (F32, F16, BF16, F64) are converted to {@code dtype} when it is F32, F16 or BF16
   * (DEFAULT: each tensor's own dtype); integer and BOOL tensors are written as they are.
   * {@code metadata} (may be null) goes into __metadata__ in the map's order.
   */
  public static void saveTensors(String path, List<HostTensor> tensors, DType dtype, Map<String, String> metadata) {
    TensorList list = new TensorList();
    try {
      for (HostTensor t : tensors) {
        long numel = 1;
        for (long d : t.shape()) {
          if (d < 0) {
            throw new FwException(Status.INVALID_ARGUMENT, "fwmerge: tensor " + t.name() + ": negative dimension");
          }
          numel = Math.multiplyExact(numel, d);
        }
        int size = t.dtype().size();
        if (size == 0 || numel * size != t.bytes().length) {
          throw new FwException(Status.INVALID_ARGUMENT, "fwmerge: tensor " + t.name() + ": shape "
              + java.util.Arrays.toString(t.shape()) + " of " + t.dtype() + " needs " + numel * size
              + " bytes, has " + t.bytes().length);
        }
        list.add(t.name(), fw_dtype.swigToEnum(t.dtype().code));
        for (long d : t.shape()) {
          list.add_dim(d);
        }
        if (t.bytes().length > 0) {
          ByteBuffer storage = list.alloc_data(t.bytes().length);
          storage.put(t.bytes());
        }
      }
      if (metadata != null) {
        for (Map.Entry<String, String> e : metadata.entrySet()) {
          list.add_metadata(e.getKey(), e.getValue());
        }
      }
      FwException.check(FwNative.save_tensors(path, list, fw_dtype.swigToEnum(dtype.code)));
    } finally {
      list.delete();
    }
  }

  /**
   * Reads a .safetensors file, Hugging Face folder or PEFT adapter folder (fw_load_tensors),
   * validated as the solver validates its inputs, into Java memory. {@code headerOnly}: names,
   * dtypes, shapes, sizes and metadata only (any dtype; {@link LoadedTensor#bytes()} is null).
   */
  public static TensorSet loadTensors(String path, boolean headerOnly) {
    TensorSetBox box = new TensorSetBox();
    SWIGTYPE_p_fw_tensor_set set = null;
    fw_tensor view = new fw_tensor();
    MetadataEntry entry = new MetadataEntry();
    try {
      FwException.check(FwNative.load_tensors(path, headerOnly ? FwNative.FW_LOAD_FLAG_HEADER_ONLY : 0, box));
      set = box.getHandle();
      List<LoadedTensor> tensors = new ArrayList<>();
      long count = FwNative.fw_tensor_set_count(set);
      for (long i = 0; i < count; i++) {
        FwException.check(FwNative.fw_tensor_set_get(set, i, view));
        long[] shape = new long[view.getNdim()];
        for (int d = 0; d < shape.length; d++) {
          shape[d] = FwNative.shape_at(view, d);
        }
        long nbytes = FwNative.fw_tensor_set_nbytes(set, i).longValue();
        byte[] bytes = null;
        if (!headerOnly) {
          bytes = new byte[Math.toIntExact(nbytes)];
          FwNative.raw_bytes(view, nbytes).get(bytes);
        }
        tensors.add(new LoadedTensor(view.getName(), FwNative.fw_tensor_set_dtype_name(set, i), shape, nbytes, bytes));
      }
      Map<String, String> metadata = new TreeMap<>();
      long n = FwNative.fw_tensor_set_metadata_count(set);
      for (long i = 0; i < n; i++) {
        FwException.check(FwNative.tensor_set_metadata(set, i, entry));
        metadata.put(entry.getKey(), entry.getValue());
      }
      return new TensorSet(tensors, metadata);
    } finally {
      if (set != null) {
        FwNative.fw_tensor_set_free(set);
      }
      box.delete();
      view.delete();
      entry.delete();
    }
  }

  /**
   * LibTorch's intra-op thread count for the whole process (fw_set_torch_threads), n &gt;= 1.
   * Call it once, early, from one thread.
   */
  public static void setTorchThreads(int n) {
    FwException.check(FwNative.fw_set_torch_threads(n));
  }

  /**
   * glibc's M_MMAP_THRESHOLD for the whole process (fw_set_malloc_mmap_threshold); 1 MiB is
   * recommended for large merges. {@link Status#UNSUPPORTED} where malloc is not glibc's.
   */
  public static void setMallocMmapThreshold(long bytes) {
    FwException.check(FwNative.fw_set_malloc_mmap_threshold(new java.math.BigInteger(Long.toUnsignedString(bytes))));
  }
}
