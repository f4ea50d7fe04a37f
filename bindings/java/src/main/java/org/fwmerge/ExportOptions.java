package org.fwmerge;

import org.fwmerge.internal.FwNative;
import org.fwmerge.internal.fw_dtype;
import org.fwmerge.internal.fw_export_options;

/** Export options (fw_export_options); a new instance holds the library's defaults. */
public final class ExportOptions {
  private DType dtype;
  private long maxShardBytes;

  public ExportOptions() {
    fw_export_options n = FwNative.fw_default_export_options();
    try {
      dtype = DType.of(n.getDtype().swigValue());
      maxShardBytes = n.getMax_shard_bytes().longValue();
    } finally {
      n.delete();
    }
  }

  /** Element type of the exported tensors; DEFAULT keeps each tensor's base dtype. */
  public DType dtype() { return dtype; }
  public ExportOptions dtype(DType v) { dtype = v; return this; }
  /** Greater than 0: the export path is a folder of shards of at most this size plus an index. */
  public long maxShardBytes() { return maxShardBytes; }
  public ExportOptions maxShardBytes(long v) { maxShardBytes = v; return this; }

  fw_export_options toNative() {
    fw_export_options n = FwNative.fw_default_export_options();
    n.setDtype(fw_dtype.swigToEnum(dtype.code));
    n.setMax_shard_bytes(new java.math.BigInteger(Long.toUnsignedString(maxShardBytes)));
    return n;
  }
}
