package org.fwmerge;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A minimal, independent safetensors writer and reader for the tests (F32 only): an 8-byte
 * little-endian header length, a JSON header, then the tensors' bytes.
 */
public final class Safetensors {
  private Safetensors() {}

  /** Writes name/shape/data triples: names[i], shapes[i], data[i]. */
  public static void write(Path path, String[] names, long[][] shapes, float[][] data) throws IOException {
    StringBuilder json = new StringBuilder("{");
    long offset = 0;
    int bodySize = 0;
    for (float[] d : data) {
      bodySize += 4 * d.length;
    }
    ByteBuffer body = ByteBuffer.allocate(bodySize).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < names.length; i++) {
      StringBuilder shape = new StringBuilder();
      for (long s : shapes[i]) {
        shape.append(shape.length() == 0 ? "" : ",").append(s);
      }
      long end = offset + 4L * data[i].length;
      json.append(i == 0 ? "" : ",")
          .append('"').append(names[i]).append("\":{\"dtype\":\"F32\",\"shape\":[").append(shape)
          .append("],\"data_offsets\":[").append(offset).append(',').append(end).append("]}");
      offset = end;
      for (float v : data[i]) {
        body.putFloat(v);
      }
    }
    json.append('}');
    while (json.length() % 8 != 0) {
      json.append(' ');
    }
    byte[] header = json.toString().getBytes(StandardCharsets.UTF_8);
    ByteBuffer out = ByteBuffer.allocate(8 + header.length + bodySize).order(ByteOrder.LITTLE_ENDIAN);
    out.putLong(header.length).put(header).put(body.array());
    Files.write(path, out.array());
  }

  /** The header's JSON text. */
  public static String header(Path path) throws IOException {
    byte[] raw = Files.readAllBytes(path);
    long n = ByteBuffer.wrap(raw, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    return new String(raw, 8, (int) n, StandardCharsets.UTF_8);
  }

  /** The F32 data of one tensor, found through its header entry. */
  public static float[] read(Path path, String name) throws IOException {
    byte[] raw = Files.readAllBytes(path);
    long n = ByteBuffer.wrap(raw, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    String json = new String(raw, 8, (int) n, StandardCharsets.UTF_8);
    Matcher entry = Pattern.compile("\"" + Pattern.quote(name) + "\"\\s*:\\s*\\{([^}]*)\\}").matcher(json);
    if (!entry.find()) {
      throw new IOException("no tensor " + name + " in " + json);
    }
    String fields = entry.group(1);
    if (!fields.matches("(?s).*\"dtype\"\\s*:\\s*\"F32\".*")) {
      throw new IOException(name + " is not F32: " + fields);
    }
    Matcher offsets = Pattern.compile("\"data_offsets\"\\s*:\\s*\\[\\s*(\\d+)\\s*,\\s*(\\d+)\\s*\\]").matcher(fields);
    if (!offsets.find()) {
      throw new IOException("no data_offsets for " + name);
    }
    int begin = 8 + (int) n + Integer.parseInt(offsets.group(1));
    int end = 8 + (int) n + Integer.parseInt(offsets.group(2));
    float[] out = new float[(end - begin) / 4];
    ByteBuffer.wrap(raw, begin, end - begin).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }
}
