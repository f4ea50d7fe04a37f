package org.fwmerge.internal;

import java.io.File;

/**
 * Loads libfwmerge_jni (the SWIG JNI glue, which links libfwmerge). The generated JNI class calls
 * {@link #load()} from its static initializer, so every entry point loads the library first.
 *
 * <p>The system property {@code fwmerge.library.path} names the library file or the folder that
 * holds it; without it the library is looked up on {@code java.library.path}.
 */
public final class NativeLoader {
  /** System property naming libfwmerge_jni's file or folder. */
  public static final String PATH_PROPERTY = "fwmerge.library.path";

  private static final String NAME = "fwmerge_jni";
  private static boolean loaded;

  private NativeLoader() {}

  /** Loads the library once; later calls do nothing. */
  public static synchronized void load() {
    if (loaded) {
      return;
    }
    String path = System.getProperty(PATH_PROPERTY, "");
    if (path.isEmpty()) {
      System.loadLibrary(NAME);
    } else {
      File file = new File(path);
      if (file.isDirectory()) {
        file = new File(file, System.mapLibraryName(NAME));
      }
      System.load(file.getAbsolutePath());
    }
    loaded = true;
  }
}
