package org.fwmerge;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A host tensor for {@link Fwmerge#saveTensors}: name, dtype, shape and its row-major,
 * little-endian bytes (product of the shape times {@link DType#size()} of them).
 */
public record HostTensor(String name, DType dtype, long[] shape, byte[] bytes) {
  /** An F32 tensor. */
  public static HostTensor ofFloats(String name, long[] shape, float... values) {
    ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return new HostTensor(name, DType.F32, shape, b.array());
  }

  /** An I64 tensor (e.g. the labels of a calibration file). */
  public static HostTensor ofLongs(String name, long[] shape, long... values) {
    ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asLongBuffer().put(values);
    return new HostTensor(name, DType.I64, shape, b.array());
  }
}
