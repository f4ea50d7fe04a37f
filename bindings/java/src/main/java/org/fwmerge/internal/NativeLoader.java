package org.fwmerge.internal;

import java.io.File;

/**
 * Loads libfwmerge_jni (the SWIG JNI glue, which links libfwmerge). The generated JNI class calls
 * {@link #load()} from its static initializer, so every entry point loads the library first.
 *
 * <p>It then refuses (UnsatisfiedLinkError) a libfwmerge of another major.minor than the header
 * the glue was compiled against, or an older patch release.
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
    // The JNI class is being initialized by this thread, so its natives can be called here.
    String problem = checkVersion(FwNativeJNI.fw_version_number(), FwNativeJNI.header_version_number());
    if (problem != null) {
      throw new UnsatisfiedLinkError(problem);
    }
  }

  private static String versionText(long n) {
    return (n / 10000) + "." + (n / 100 % 100) + "." + (n % 100);
  }

  /**
   * Null when a library of version number {@code library} can serve glue compiled against the
   * header version {@code header}, else why not: while the major version is 0 every minor release
   * may change the ABI, so major and minor must match; a patch release only appends, so the
   * library must be at least the header's patch level.
   */
  public static String checkVersion(long library, long header) {
    if (library / 100 == header / 100 && library >= header) {
      return null;
    }
    return "fwmerge: the loaded libfwmerge is " + versionText(library) + ", but the binding was built"
        + " against fwmerge.h " + versionText(header) + "; it needs " + versionText(header)
        + " or a later " + (header / 10000) + "." + (header / 100 % 100) + ".x: rebuild the binding"
        + " (libfwmerge_jni) against the installed library";
  }
}
