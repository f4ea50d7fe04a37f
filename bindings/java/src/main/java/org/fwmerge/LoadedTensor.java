package org.fwmerge;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One tensor of a {@link TensorSet}, copied into Java memory.
 */
public final class LoadedTensor {
  private final String name;
  private final String dtype;
  private final long[] shape;
  private final long nbytes;
  private final byte[] bytes;

  LoadedTensor(String name, String dtype, long[] shape, long nbytes, byte[] bytes) {
    this.name = name;
    this.dtype = dtype;
    this.shape = shape;
    this.nbytes = nbytes;
    this.bytes = bytes;
  }

  public String name() {
    return name;
  }

  /** The safetensors dtype string ("F32", "BF16", "I64", "F8_E4M3", ...). */
  public String dtype() {
    return dtype;
  }

  public long[] shape() {
    return shape.clone();
  }

  /** Its size in bytes in the file. */
  public long nbytes() {
    return nbytes;
  }

  /** A copy of its row-major little-endian bytes; null when only the headers were read. */
  public byte[] bytes() {
    return bytes == null ? null : bytes.clone();
  }

  private ByteBuffer data(String want) {
    if (!dtype.equals(want) || bytes == null) {
      throw new FwException(Status.INVALID_ARGUMENT, "fwmerge: tensor " + name + " is " + dtype
          + (bytes == null ? " (headers only)" : "") + ", not " + want);
    }
    return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** The elements of an F32 tensor. */
  public float[] toFloats() {
    ByteBuffer b = data("F32");
    float[] out = new float[bytes.length / 4];
    b.asFloatBuffer().get(out);
    return out;
  }

  /** The elements of an I64 tensor. */
  public long[] toLongs() {
    ByteBuffer b = data("I64");
    long[] out = new long[bytes.length / 8];
    b.asLongBuffer().get(out);
    return out;
  }

  @Override
  public String toString() {
    return name + " " + dtype + Arrays.toString(shape) + " " + nbytes + " bytes";
  }
}
