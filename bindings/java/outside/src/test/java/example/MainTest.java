package example;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.fwmerge.internal.NativeLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {
  @TempDir Path dir;

  /** -Dexpect.loaded.from=PREFIX: where NativeLoader must have found libfwmerge_jni. */
  @Test
  void mergesWithTheInstalledArtifact() {
    assertArrayEquals(new float[] {0.5f, 0.5f}, Main.run(dir));
    String from = NativeLoader.loadedFrom();
    String expected = System.getProperty("expect.loaded.from", "");
    System.out.println("libfwmerge_jni loaded from " + from);
    assertTrue(from.startsWith(expected), "loaded from " + from + ", expected " + expected);
  }
}
