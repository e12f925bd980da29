import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "dev.edgesdk.demo.shapes"
    compileSdk = 35

    defaultConfig {
        applicationId = "dev.edgesdk.demo.shapes"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "1"

        // The on-device golden test (src/androidTest): a plain Instrumentation, no AndroidX Test.
        testApplicationId = "dev.edgesdk.demo.shapes.test"
        testInstrumentationRunner = "dev.edgesdk.demo.shapes.GoldenInstrumentation"
    }

    buildTypes {
        release {
            isMinifyEnabled = false
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    androidResources {
        // ShapesClassifier memory-maps the model from the APK: it must be stored uncompressed.
        noCompress += "tflite"
    }
}

kotlin {
    compilerOptions {
        jvmTarget.set(JvmTarget.JVM_17)
    }
}

dependencies {
    // LiteRT (formerly TensorFlow Lite): provides org.tensorflow.lite.Interpreter (CPU only).
    implementation(libs.litert)
}
