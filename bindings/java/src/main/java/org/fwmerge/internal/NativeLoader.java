package org.fwmerge.internal;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

/**
 * Loads libfwmerge_jni (the SWIG JNI glue, which links libfwmerge). The generated JNI class calls
 * {@link #load()} from its static initializer, so every entry point loads the library first.
 *
 * <p>Where it looks, in order:
 *
 * <ol>
 *   <li>the system property {@code fwmerge.library.path}, the library file or the folder that holds
 *       it; when set, it is the only place tried (an explicit choice is not silently replaced);
 *   <li>beside the jar that holds this class: its own folder, then the library folder of the
 *       install prefix it belongs to ({@code PREFIX/share/java/fwmerge-x.y.z.jar} finds {@code
 *       PREFIX/lib/libfwmerge_jni.so}: the path from one to the other is the resource {@code
 *       install.properties}, written when CMake builds the jar), so an installed jar needs no
 *       flag and finds the glue of its own install rather than another on the system paths;
 *   <li>{@code java.library.path} ({@link System#loadLibrary});
 *   <li>the jar: {@code /native/<os>-<arch>/libfwmerge_jni.so} (e.g. {@code linux-x86_64}), which
 *       the Maven build packs when it is given the built library; it is copied to a temporary
 *       file (deleted at exit) because the dynamic loader needs a file.
 * </ol>
 *
 * <p>When none works it throws one UnsatisfiedLinkError naming every place it tried and why each
 * failed. libfwmerge_jni needs libfwmerge.so.0 in turn, which the dynamic loader finds through
 * the glue's RPATH (build tree, or {@code $ORIGIN} installed) or the usual paths
 * ({@code LD_LIBRARY_PATH}, ld.so.conf).
 *
 * <p>It then refuses (UnsatisfiedLinkError) a libfwmerge of another major.minor than the header
 * the glue was compiled against, or an older patch release.
 */
public final class NativeLoader {
  /** System property naming libfwmerge_jni's file or folder. */
  public static final String PATH_PROPERTY = "fwmerge.library.path";

  private static final String NAME = "fwmerge_jni";
  private static String loadedFrom;

  private NativeLoader() {}

  /** Loads the library once; later calls do nothing. */
  public static synchronized void load() {
    if (loadedFrom != null) {
      return;
    }
    loadedFrom = find();
    // The JNI class is being initialized by this thread, so its natives can be called here.
    String problem = checkVersion(FwNativeJNI.fw_version_number(), FwNativeJNI.header_version_number());
    if (problem != null) {
      throw new UnsatisfiedLinkError(problem + " (libfwmerge_jni from " + loadedFrom + ")");
    }
  }

  /**
   * Where the library was loaded from: the file named by {@code fwmerge.library.path} or found
   * beside the jar, {@code "java.library.path"}, or {@code "jar:/native/..."}; null before loading.
   */
  public static synchronized String loadedFrom() {
    return loadedFrom;
  }

  /** The jar's folder for this platform ("linux-x86_64"), from os.name and os.arch. */
  public static String platform() {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    if (os.startsWith("linux")) {
      os = "linux";
    } else if (os.startsWith("mac")) {
      os = "macos";
    } else if (os.startsWith("windows")) {
      os = "windows";
    }
    if (arch.equals("amd64") || arch.equals("x86_64")) {
      arch = "x86_64";
    } else if (arch.equals("arm64")) {
      arch = "aarch64";
    }
    return os + "-" + arch;
  }

  private static String find() {
    String mapped = System.mapLibraryName(NAME);
    String path = System.getProperty(PATH_PROPERTY, "");
    if (!path.isEmpty()) {
      File file = new File(path);
      if (file.isDirectory()) {
        file = new File(file, mapped);
      }
      try {
        System.load(file.getAbsolutePath());
        return file.getAbsolutePath();
      } catch (UnsatisfiedLinkError e) {
        throw new UnsatisfiedLinkError("fwmerge: cannot load " + mapped + " from -D" + PATH_PROPERTY
            + "=" + path + " (" + file.getAbsolutePath() + "): " + e.getMessage()
            + " (java.library.path and the jar are not tried when the property is set)");
      }
    }
    List<String> tried = new ArrayList<>();
    for (File candidate : besideTheJar(mapped, tried)) {
      try {
        System.load(candidate.getAbsolutePath());
        return candidate.getAbsolutePath();
      } catch (UnsatisfiedLinkError e) {
        tried.add(candidate + ": " + e.getMessage());
      }
    }
    try {
      System.loadLibrary(NAME);
      return "java.library.path";
    } catch (UnsatisfiedLinkError e) {
      tried.add("java.library.path=" + System.getProperty("java.library.path") + ": " + e.getMessage());
    }
    String resource = "/native/" + platform() + "/" + mapped;
    try (InputStream in = NativeLoader.class.getResourceAsStream(resource)) {
      if (in == null) {
        tried.add("jar:" + resource + ": not in the jar (built without -Dfwmerge.native.dir, or"
            + " another platform)");
      } else {
        Path copy = Files.createTempFile("libfwmerge_jni", ".so");
        copy.toFile().deleteOnExit();
        Files.copy(in, copy, StandardCopyOption.REPLACE_EXISTING);
        System.load(copy.toAbsolutePath().toString());
        return "jar:" + resource;
      }
    } catch (IOException | UnsatisfiedLinkError e) {
      tried.add("jar:" + resource + ": " + e.getMessage());
    }
    throw new UnsatisfiedLinkError("fwmerge: cannot load " + mapped + "; tried -D" + PATH_PROPERTY
        + " (not set); " + String.join("; ", tried));
  }

  /**
   * The existing files among: {@code mapped} in the folder of the jar holding this class, and in
   * that folder's {@code libdir} from {@code install.properties} (the prefix's library folder).
   * Nothing when the class does not come from a jar file (Maven's test classes, a class folder).
   */
  private static List<File> besideTheJar(String mapped, List<String> tried) {
    List<File> found = new ArrayList<>();
    File jar;
    try {
      var source = NativeLoader.class.getProtectionDomain().getCodeSource();
      if (source == null) {
        return found;
      }
      jar = new File(source.getLocation().toURI());
    } catch (URISyntaxException | SecurityException e) {
      tried.add("beside the jar: " + e.getMessage());
      return found;
    }
    if (!jar.isFile()) {
      return found;
    }
    List<File> folders = new ArrayList<>(List.of(jar.getParentFile()));
    try (InputStream in = NativeLoader.class.getResourceAsStream("install.properties")) {
      if (in != null) {
        Properties install = new Properties();
        install.load(in);
        String libdir = install.getProperty("libdir", "");
        if (!libdir.isEmpty()) {
          folders.add(new File(jar.getParentFile(), libdir));
        }
      }
    } catch (IOException e) {
      tried.add("install.properties: " + e.getMessage());
    }
    for (File folder : folders) {
      File file = new File(folder, mapped);
      if (file.isFile()) {
        found.add(file);
      } else {
        tried.add("beside the jar: no " + file);
      }
    }
    return found;
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
