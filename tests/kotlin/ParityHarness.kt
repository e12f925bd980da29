// Tier 3 harness: runs the generated wrapper's pure pre/post-processing on the JVM against
// vectors written by tests/test_codegen_kotlin.py, and writes what Kotlin computed.
//
// It is compiled together with an app rendered for class ParityClassifier in package
// dev.edgesdk.parity, and run WITHOUT android.jar or the LiteRT jars on the classpath: if the
// pure part touched either, the run would fail with NoClassDefFoundError.
//
// Input: one whitespace-separated token stream. Each case starts with
//   case <name> <kind>
// and kind is one of
//   pre  <spec> <width> <height> <width*height ARGB pixels, hex>
//   post <spec> <k> <numClasses raw output values: float32 bits in hex, or integers>
//   gray <n> <n ARGB pixels, hex>
//   labels <fully qualified wrapper class>
// where <spec> is `default` (the generated forModel()) or
//   custom H W C inType inScaleBits inZeroPoint outType outScaleBits outZeroPoint numClasses
//          <C mean bits> <C std bits>
// Output: one line per case, `<name>` then the results (floats as hex bits):
//   pre:    <dtype> <values...>
//   post:   <count> <index> <score bits> ... scores <all score bits...>
//   gray:   <n gray values>
//   labels: <count> then each label as comma-separated UTF-16 code units in hex ("-" if empty)
package dev.edgesdk.harness

import dev.edgesdk.parity.ParityClassifierPreprocessing
import dev.edgesdk.parity.ParityClassifierPreprocessing.TensorType
import java.io.File

private class Tokens(text: String) {
    private val items = text.split(Regex("\\s+")).filter { it.isNotEmpty() }
    private var at = 0

    fun hasNext(): Boolean = at < items.size

    fun next(): String = items[at++]

    fun int(): Int = next().toInt()

    fun hex(): Int = next().toLong(16).toInt()

    fun floatBits(): Float = Float.fromBits(hex())
}

private fun Float.bits(): String = Integer.toHexString(toRawBits())

private fun spec(t: Tokens): ParityClassifierPreprocessing {
    val kind = t.next()
    if (kind == "default") return ParityClassifierPreprocessing.forModel()
    require(kind == "custom") { "unknown spec $kind" }
    val h = t.int()
    val w = t.int()
    val c = t.int()
    val inType = TensorType.valueOf(t.next())
    val inScale = t.floatBits()
    val inZp = t.int()
    val outType = TensorType.valueOf(t.next())
    val outScale = t.floatBits()
    val outZp = t.int()
    val classes = t.int()
    val mean = FloatArray(c) { t.floatBits() }
    val std = FloatArray(c) { t.floatBits() }
    return ParityClassifierPreprocessing(h, w, c, mean, std, inType, inScale, inZp, outType, outScale, outZp, classes)
}

private fun pre(t: Tokens, out: StringBuilder) {
    val p = spec(t)
    val width = t.int()
    val height = t.int()
    val pixels = IntArray(width * height) { t.hex() }
    // Run twice: the second call reuses every buffer and must give the same tensor.
    p.preprocess(IntArray(width * height) { it * 7919 }, width, height)
    val buffer = p.preprocess(pixels, width, height)
    val n = p.inputHeight * p.inputWidth * p.inputChannels
    out.append(' ').append(p.inputType.name)
    for (i in 0 until n) {
        out.append(' ')
        when (p.inputType) {
            TensorType.FLOAT32 -> out.append(buffer.getFloat(i * 4).bits())
            TensorType.INT8 -> out.append(buffer.get(i).toInt())
            TensorType.UINT8 -> out.append(buffer.get(i).toInt() and 0xFF)
        }
    }
}

private fun post(t: Tokens, out: StringBuilder) {
    val p = spec(t)
    val k = t.int()
    val raw = p.outputBuffer
    raw.clear()
    for (i in 0 until p.numClasses) {
        when (p.outputType) {
            TensorType.FLOAT32 -> raw.putFloat(t.floatBits())
            else -> raw.put(t.int().toByte())
        }
    }
    raw.rewind()
    val scores = p.dequantize(raw)
    val indices = IntArray(maxOf(k, 0))
    val count = p.topK(scores, k, indices)
    out.append(' ').append(count)
    for (i in 0 until count) out.append(' ').append(indices[i]).append(' ').append(scores[indices[i]].bits())
    out.append(" scores")
    for (s in scores) out.append(' ').append(s.bits())
}

private fun gray(t: Tokens, out: StringBuilder) {
    val n = t.int()
    repeat(n) { out.append(' ').append(ParityClassifierPreprocessing.gray(t.hex())) }
}

private fun labels(t: Tokens, out: StringBuilder) {
    // Reflection keeps the harness independent of the wrapper's name; LABELS is a @JvmField.
    val owner = Class.forName(t.next())
    val labels = owner.getField("LABELS").get(null) as List<*>
    out.append(' ').append(labels.size)
    for (label in labels) {
        val s = label as String
        out.append(' ')
        if (s.isEmpty()) out.append('-') else out.append(s.map { Integer.toHexString(it.code) }.joinToString(","))
    }
}

fun main(args: Array<String>) {
    require(args.size == 2) { "usage: ParityHarness <vectors.txt> <results.txt>" }
    val t = Tokens(File(args[0]).readText())
    val out = StringBuilder()
    while (t.hasNext()) {
        require(t.next() == "case") { "expected 'case'" }
        val name = t.next()
        out.append(name)
        when (val kind = t.next()) {
            "pre" -> pre(t, out)
            "post" -> post(t, out)
            "gray" -> gray(t, out)
            "labels" -> labels(t, out)
            else -> error("unknown case kind $kind")
        }
        out.append('\n')
    }
    File(args[1]).writeText(out.toString())
}
