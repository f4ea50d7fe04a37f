package org.fwmerge;

import org.fwmerge.internal.FwNative;
import org.fwmerge.internal.fw_dtype;
import org.fwmerge.internal.fw_export_options;

/** Export options (fw_export_options); a new instance holds the library's defaults. */
public final class ExportOptions {
  private DType dtype;
  private long maxShardBytes;
  private boolean hfFolder;

  public ExportOptions() {
    fw_export_options n = FwNative.fw_default_export_options();
    try {
      dtype = DType.of(n.getDtype().swigValue());
      maxShardBytes = n.getMax_shard_bytes().longValue();
      hfFolder = n.getHf_folder() != 0;
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
  /**
   * Writes the path as a Hugging Face model folder (model.safetensors or shards, the base folder's
   * config and tokenizer files, a README.md model card); the path must not exist or be empty.
   */
  public boolean hfFolder() { return hfFolder; }
  public ExportOptions hfFolder(boolean v) { hfFolder = v; return this; }

  fw_export_options toNative() {
    fw_export_options n = FwNative.fw_default_export_options();
    n.setDtype(fw_dtype.swigToEnum(dtype.code));
    n.setMax_shard_bytes(new java.math.BigInteger(Long.toUnsignedString(maxShardBytes)));
    n.setHf_folder(hfFolder ? 1 : 0);
    return n;
  }
}
