import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "com.example.flowers_demo"
    compileSdk = 35

    defaultConfig {
        applicationId = "com.example.flowers_demo"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "1.0"

        // The on-device golden test (src/androidTest): a plain Instrumentation, no AndroidX Test.
        testApplicationId = "com.example.flowers_demo.test"
        testInstrumentationRunner = "com.example.flowers_demo.GoldenInstrumentation"
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
        // FlowersDemoClassifier memory-maps the model from the APK: it must be stored uncompressed.
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
