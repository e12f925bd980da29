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
// - the Environment reference (create(), getAvailableAccelerators(): Set<Accelerator>);
// - for the object detector's wrapper, which binds its four outputs by name: the by-name members
//   of CompiledModel (createInputBuffer(inputName, signature), createOutputBuffer(outputName,
//   signature), run(inputs: Map<String, TensorBuffer>, outputs: Map<String, TensorBuffer>,
//   signature)). The Kotlin reference page of the class,
//   developers.google.com/edge/api/litert/kotlin/com/google/ai/edge/litert/CompiledModel, could not
//   be read here; the C++ reference documents the same by-name calls
//   (ai.google.dev/edge/api/litert/c/classlitert/1-1-compiled-model: CreateInputBuffer(
//   signature_name, input_name), CreateOutputBuffer(signature_name, output_name), Run with
//   name-keyed maps), and the Kotlin signatures were checked, names and types only, against the
//   public declarations of CompiledModel in LiteRT's Kotlin API
//   (github.com/google-ai-edge/LiteRT, litert/kotlin/src/main/kotlin/com/google/ai/edge/litert/
//   Model.kt; checked December 2026).
// The real classes are on Google's Maven only (com.google.ai.edge.litert:litert:2.3.0), which
// this machine cannot reach; no body or behaviour here is taken from LiteRT's sources.
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

    /** The buffer of the input [inputName] of [signature] (null: the default signature). */
    fun createInputBuffer(inputName: String, signature: String? = null): TensorBuffer = stub()

    /** The buffer of the output [outputName] of [signature] (null: the default signature). */
    fun createOutputBuffer(outputName: String, signature: String? = null): TensorBuffer = stub()

    /** Runs [signature] (null: the default) with buffers keyed by input and output name. */
    fun run(
        inputs: Map<String, TensorBuffer>,
        outputs: Map<String, TensorBuffer>,
        signature: String? = null,
    ): Unit = stub()

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
