// Part of edgesdk's android_host tier: the JUnit runner the host golden test runs with.
package dev.edgesdk.androidhost;

import org.junit.runners.model.FrameworkMethod;
import org.junit.runners.model.InitializationError;
import org.robolectric.RobolectricTestRunner;
import org.robolectric.internal.bytecode.InstrumentationConfiguration;

/**
 * Robolectric, with LiteRT's real Android native library.
 *
 * <p>Before any test runs, loads (System.load) the bionic compatibility library and
 * libtensorflowlite_jni.so from the folder named by the system property
 * {@code edgesdk.native.dir}, in the order of {@code edgesdk.native.libs} (comma-separated).
 *
 * <p>A JNI library belongs to exactly one class loader per JVM, so the classes of
 * {@code org.tensorflow.lite} are kept out of Robolectric's sandbox class loader: they and the
 * native library share this runner's class loader, and every sandbox sees the same classes.
 */
public final class EdgesdkHostRunner extends RobolectricTestRunner {
  static {
    String dir = System.getProperty("edgesdk.native.dir");
    String libs = System.getProperty("edgesdk.native.libs");
    if (dir == null || libs == null) {
      throw new IllegalStateException("edgesdk.native.dir and edgesdk.native.libs must be set");
    }
    for (String lib : libs.split(",")) {
      System.load(dir + "/" + lib);
    }
  }

  public EdgesdkHostRunner(Class<?> testClass) throws InitializationError {
    super(testClass);
  }

  @Override
  protected InstrumentationConfiguration createClassLoaderConfig(FrameworkMethod method) {
    return new InstrumentationConfiguration.Builder(super.createClassLoaderConfig(method))
        .doNotAcquirePackage("org.tensorflow.lite.")
        .build();
  }
}
