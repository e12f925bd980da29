// A compile check against a stub of the documented API: LiteRT's CompiledModel Kotlin API as its
// public reference documents it, signatures only. Every body throws: this file proves that the
// generated code calls the documented names with the documented types, never how LiteRT behaves.
//
// Written from (checked December 2026):
// - the Kotlin API class index, developers.google.com/edge/api/litert/kotlin/classes
//   (Accelerator, CompiledModel, CompiledModel.Options, Environment, TensorBuffer);
// - the CompiledModel Kotlin guide, ai.google.dev/edge/litert/next/android_kotlin
//   (CompiledModel.create(context.assets, "model.tflite", CompiledModel.Options(Accelerator.CPU),
//   env), createInputBuffers(), createOutputBuffers(), run(inputs, outputs), writeFloat(...),
//   readFloat(), and the typed read/write pairs of TensorBuffer);
// - the Environment reference (create(), getAvailableAccelerators(): Set<Accelerator>).
// The real classes are on Google's Maven only (com.google.ai.edge.litert:litert:2.3.0), which
// this machine cannot reach; nothing here is taken from LiteRT's sources.
package com.google.ai.edge.litert

import android.content.res.AssetManager

private fun stub(): Nothing = throw UnsupportedOperationException("compile-time stub of the LiteRT API")

/** Hardware accelerators supported by LiteRT. */
enum class Accelerator { NONE, CPU, GPU, NPU }

/** The LiteRT runtime environment; knows which accelerators are registered. */
class Environment private constructor() : AutoCloseable {
    fun getAvailableAccelerators(): Set<Accelerator> = stub()

    override fun close(): Unit = stub()

    companion object {
        @JvmStatic
        fun create(): Environment = stub()
    }
}

/** A buffer holding one input or output tensor of a [CompiledModel]. */
class TensorBuffer private constructor() : AutoCloseable {
    fun writeFloat(data: FloatArray): Unit = stub()

    fun readFloat(): FloatArray = stub()

    fun writeInt8(data: ByteArray): Unit = stub()

    fun readInt8(): ByteArray = stub()

    override fun close(): Unit = stub()
}

/** A model compiled for the accelerators of its [Options]. */
class CompiledModel private constructor() : AutoCloseable {
    /** Options to specify hardware acceleration for compiling a model. */
    class Options(vararg accelerators: Accelerator)

    fun createInputBuffers(): List<TensorBuffer> = stub()

    fun createOutputBuffers(): List<TensorBuffer> = stub()

    fun run(inputBuffers: List<TensorBuffer>, outputBuffers: List<TensorBuffer>): Unit = stub()

    override fun close(): Unit = stub()

    companion object {
        @JvmStatic
        fun create(
            assetManager: AssetManager,
            assetName: String,
            options: Options,
            optionalEnv: Environment? = null,
        ): CompiledModel = stub()
    }
}
