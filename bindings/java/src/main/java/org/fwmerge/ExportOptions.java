package org.fwmerge;

import java.nio.charset.StandardCharsets;
import org.fwmerge.internal.FwNative;
import org.fwmerge.internal.ModelCard;
import org.fwmerge.internal.fw_dtype;
import org.fwmerge.internal.fw_export_options;

/** Export options (fw_export_options); a new instance holds the library's defaults. */
public final class ExportOptions {
  private DType dtype;
  private long maxShardBytes;
  private boolean hfFolder;
  private String modelCard;

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

  /**
   * With {@link #hfFolder}, the README.md text, written byte for byte as UTF-8 (null, the default:
   * the card the library writes, with the recipe). Without hfFolder the library rejects it
   * ({@link Status#INVALID_ARGUMENT}). It must not contain NUL characters.
   */
  public String modelCard() { return modelCard; }
  public ExportOptions modelCard(String v) { modelCard = v; return this; }

  /** The C struct with the model card's text it points to; close it after the call. */
  Native toNative() {
    return new Native(this);
  }

  static final class Native implements AutoCloseable {
    final fw_export_options options;
    private final ModelCard card;

    private Native(ExportOptions o) {
      if (o.modelCard != null && o.modelCard.indexOf('\0') >= 0) {
        throw new FwException(Status.INVALID_ARGUMENT, "fwmerge: modelCard contains a NUL character");
      }
      options = FwNative.fw_default_export_options();
      options.setDtype(fw_dtype.swigToEnum(o.dtype.code));
      options.setMax_shard_bytes(new java.math.BigInteger(Long.toUnsignedString(o.maxShardBytes)));
      options.setHf_folder(o.hfFolder ? 1 : 0);
      // Through its UTF-8 bytes: JNI's own string conversion is modified UTF-8, not the text's bytes.
      card = o.modelCard == null ? null : new ModelCard();
      if (card != null) {
        card.assign(o.modelCard.getBytes(StandardCharsets.UTF_8));
      }
      FwNative.export_options_set_model_card(options, card);
    }

    @Override
    public void close() {
      options.delete();
      if (card != null) {
        card.delete();
      }
    }
  }
}
