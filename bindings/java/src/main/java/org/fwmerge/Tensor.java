package org.fwmerge;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.fwmerge.internal.FwNative;
import org.fwmerge.internal.fw_tensor;

/**
 * A view of one fp32 tensor owned by the library: {@link #data()} is a direct buffer over the
 * library's memory (no copy), read-only for parameters and writable for gradients.
 *
 * <p>A view dies when the call that produced it ends (the objective's return, {@code tell} or
 * {@code cancelStep} for a request, the next step for {@code current()}). Using its buffer later
 * reads or writes freed memory and may crash the JVM: copy what must outlive it ({@link
 * #toArray()}).
 */
public final class Tensor {
  private final String name;
  private final long[] shape;
  private final FloatBuffer data;
  private final long numel;

  private Tensor(String name, long[] shape, FloatBuffer data, long numel) {
    this.name = name;
    this.shape = shape;
    this.data = data;
    this.numel = numel;
  }

  public String name() {
    return name;
  }

  public long[] shape() {
    return shape.clone();
  }

  /** Number of elements. */
  public int size() {
    return data.capacity();
  }

  /** Number of elements as the library counts them (fw_tensor.numel: the product of the shape). */
  public long numel() {
    return numel;
  }

  /** The elements, row-major; position 0, limit {@link #size()}. */
  public FloatBuffer data() {
    return data.duplicate();
  }

  /** A copy of the elements, safe to keep. */
  public float[] toArray() {
    float[] out = new float[data.capacity()];
    data.duplicate().get(out);
    return out;
  }

  @Override
  public String toString() {
    return name + Arrays.toString(shape);
  }

  /** Views of n C fw_tensor entries; null for a NULL array. */
  static List<Tensor> views(fw_tensor array, long n, boolean writable) {
    if (array == null) {
      return null;
    }
    List<Tensor> out = new ArrayList<>((int) n);
    for (long i = 0; i < n; i++) {
      fw_tensor t = FwNative.tensor_at(array, i);
      // Java reads the views as float32 in host memory: anything else is refused, not misread.
      if (t.getDtype().swigValue() != DType.F32.code
          || t.getDevice().swigValue() != Params.Device.CPU.ordinal()) {
        throw new FwException(Status.UNSUPPORTED, "fwmerge: tensor " + t.getName() + " is a "
            + t.getDtype() + " view on " + t.getDevice() + " " + t.getDevice_index()
            + "; the Java binding reads float32 views in host memory: use workDtype F32 and, on"
            + " CUDA, hostViews");
      }
      long[] shape = new long[t.getNdim()];
      for (int d = 0; d < shape.length; d++) {
        shape[d] = FwNative.shape_at(t, d);
      }
      FloatBuffer data = FwNative.tensor_bytes(t).order(ByteOrder.nativeOrder()).asFloatBuffer();
      out.add(new Tensor(t.getName(), shape, writable ? data : data.asReadOnlyBuffer(), t.getNumel()));
    }
    return Collections.unmodifiableList(out);
  }
}
