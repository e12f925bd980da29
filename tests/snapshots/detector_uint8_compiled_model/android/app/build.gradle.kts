import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "dev.edgesdk.pets"
    compileSdk = 35

    defaultConfig {
        applicationId = "dev.edgesdk.pets"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "1"

        // The on-device golden test (src/androidTest): a plain Instrumentation, no AndroidX Test.
        testApplicationId = "dev.edgesdk.pets.test"
        testInstrumentationRunner = "dev.edgesdk.pets.GoldenInstrumentation"
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
        // PetsDetector memory-maps the model from the APK: it must be stored uncompressed.
        noCompress += "tflite"
    }
}

kotlin {
    compilerOptions {
        jvmTarget.set(JvmTarget.JVM_17)
    }
}

dependencies {
    // LiteRT: the CompiledModel API (com.google.ai.edge.litert), CPU accelerator included.
    implementation(libs.litert)
    // LiteRT's GPU accelerator, a separate artifact from LiteRT 2.3.0.
    implementation(libs.litert.gpu)
}
