// Benchmark main for the generated wrapper's pure part (<ClassName>Preprocessing), driven by
// benchmarks/bench_android.py. Prints figures; it is not a test.
//
// It is compiled together with three wrappers that bench_android.py generates in package
// dev.edgesdk.bench (224 x 224 x 3 input, float32 / int8 / uint8), against android.jar and the
// LiteRT classes (the wrapper file needs them to compile), and then run with ONLY the compiled
// classes and the Kotlin stdlib on the classpath: the pure part must not load an Android or
// LiteRT class (this main checks that neither is loadable).
//
// For each variant: one 640 x 480 ARGB frame (fixed pseudo-random pixels) -> preprocess() ->
// the 224 x 224 x 3 input tensor. Warm-up, then N timed calls (System.nanoTime around each
// call: median, p90, mean, min), then the bytes allocated by this thread per call
// (com.sun.management.ThreadMXBean.getThreadAllocatedBytes), over many calls (3 rounds) and call
// by call.
// Then the same for the output side: dequantize() + topK(k = 3) over numClasses scores.
//
// Output: human-readable lines, plus one machine-readable line per measurement:
//   RESULT <variant> <stage> median_ns=.. p90_ns=.. mean_ns=.. min_ns=.. alloc_per_call=..
//          alloc_calls_nonzero=.. alloc_max_single=.. alloc_measured_calls=.. alloc_round_max=..
//          checksum=..
//
// Usage: PreprocessBenchKt <warmup> <iterations> <allocCalls> <frameWidth> <frameHeight>
package dev.edgesdk.bench.harness

import dev.edgesdk.bench.BenchF32ClassifierPreprocessing
import dev.edgesdk.bench.BenchInt8ClassifierPreprocessing
import dev.edgesdk.bench.BenchUint8ClassifierPreprocessing
import java.lang.management.ManagementFactory
import java.nio.ByteBuffer

/**
 * The three generated classes share no supertype: adapt each to the same shape. Abstract
 * methods with primitive parameters (not Kotlin function types, whose generic invoke() would box
 * the Int arguments and results and show up as allocation that the wrapper does not do).
 */
private abstract class Variant(val name: String) {
    abstract val dtype: String
    abstract val shape: String
    abstract val numClasses: Int
    abstract val outputBuffer: ByteBuffer

    abstract fun preprocess(pixels: IntArray, width: Int, height: Int): ByteBuffer

    /** dequantize(outputBuffer) then topK into [indices]; returns the count. */
    abstract fun postprocess(indices: IntArray): Int
}

private fun variants(): List<Variant> {
    val f = BenchF32ClassifierPreprocessing.forModel()
    val i8 = BenchInt8ClassifierPreprocessing.forModel()
    val u8 = BenchUint8ClassifierPreprocessing.forModel()
    return listOf(
        object : Variant("float32") {
            override val dtype = f.inputType.name
            override val shape = "${f.inputHeight}x${f.inputWidth}x${f.inputChannels}"
            override val numClasses = f.numClasses
            override val outputBuffer: ByteBuffer = f.outputBuffer

            override fun preprocess(pixels: IntArray, width: Int, height: Int) = f.preprocess(pixels, width, height)

            override fun postprocess(indices: IntArray) = f.topK(f.dequantize(f.outputBuffer), indices.size, indices)
        },
        object : Variant("int8") {
            override val dtype = i8.inputType.name
            override val shape = "${i8.inputHeight}x${i8.inputWidth}x${i8.inputChannels}"
            override val numClasses = i8.numClasses
            override val outputBuffer: ByteBuffer = i8.outputBuffer

            override fun preprocess(pixels: IntArray, width: Int, height: Int) = i8.preprocess(pixels, width, height)

            override fun postprocess(indices: IntArray) = i8.topK(i8.dequantize(i8.outputBuffer), indices.size, indices)
        },
        object : Variant("uint8") {
            override val dtype = u8.inputType.name
            override val shape = "${u8.inputHeight}x${u8.inputWidth}x${u8.inputChannels}"
            override val numClasses = u8.numClasses
            override val outputBuffer: ByteBuffer = u8.outputBuffer

            override fun preprocess(pixels: IntArray, width: Int, height: Int) = u8.preprocess(pixels, width, height)

            override fun postprocess(indices: IntArray) = u8.topK(u8.dequantize(u8.outputBuffer), indices.size, indices)
        },
    )
}

private fun loadable(name: String): Boolean =
    try {
        Class.forName(name, false, ClassLoader.getSystemClassLoader())
        true
    } catch (e: ClassNotFoundException) {
        false
    } catch (e: NoClassDefFoundError) {
        false
    }

private class Stats(val median: Long, val p90: Long, val mean: Double, val min: Long)

private fun stats(times: LongArray): Stats {
    val s = times.copyOf()
    s.sort()
    fun q(p: Double): Long = s[minOf(s.size - 1, maxOf(0, Math.ceil(p * s.size).toInt() - 1))]
    return Stats(q(0.5), q(0.9), s.average(), s[0])
}

/** Bytes allocated by the current thread (HotSpot's per-thread TLAB accounting). */
private class Allocation {
    private val mx = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean
    @Suppress("DEPRECATION") // Thread.threadId() is JDK 19+; the benchmark targets JDK 17.
    private val tid = Thread.currentThread().id

    init {
        check(mx.isThreadAllocatedMemorySupported) { "ThreadMXBean allocation accounting unsupported" }
        mx.isThreadAllocatedMemoryEnabled = true
    }

    fun now(): Long = mx.getThreadAllocatedBytes(tid)

    /** What two back-to-back readings differ by with nothing in between (the probe's own cost). */
    val overhead: Long = run {
        repeat(10_000) { now() } // let the probe itself JIT-compile
        var least = Long.MAX_VALUE
        repeat(1000) {
            val a = now()
            val b = now()
            least = minOf(least, b - a)
        }
        least
    }
}

private fun ns(v: Long): String = "%.3f ms".format(v / 1e6)

private fun ns(v: Double): String = "%.3f ms".format(v / 1e6)

/** Runs [call] warm-up + timed + allocation passes; returns the RESULT line. */
private inline fun measure(
    label: String,
    stage: String,
    warmup: Int,
    iterations: Int,
    allocCalls: Int,
    alloc: Allocation,
    call: () -> Int,
): String {
    var sink = 0L
    repeat(warmup) { sink += call() }
    val times = LongArray(iterations)
    for (i in 0 until iterations) {
        val t0 = System.nanoTime()
        sink += call()
        times[i] = System.nanoTime() - t0
    }
    val st = stats(times)
    // Aggregate: one reading before and after allocCalls calls; three rounds, because a one-off
    // allocation on this thread that is not the call's (e.g. a JIT deoptimisation) would
    // otherwise look like a per-call cost. The verdict uses the smallest round.
    val rounds = DoubleArray(3)
    for (r in rounds.indices) {
        val a0 = alloc.now()
        repeat(allocCalls) { sink += call() }
        val a1 = alloc.now()
        rounds[r] = (a1 - a0 - alloc.overhead).toDouble() / allocCalls
    }
    val aggregate = rounds.min()
    // Call by call: how many single calls allocated anything at all, and the largest.
    var nonzero = 0
    var largest = 0L
    var total = 0L
    for (i in 0 until allocCalls) {
        val b0 = alloc.now()
        sink += call()
        val d = alloc.now() - b0 - alloc.overhead
        if (d > 0) {
            nonzero++
            total += d
            if (d > largest) largest = d
        }
    }
    println(
        "  %-8s %-12s median %s  p90 %s  mean %s  min %s  |  alloc B/call over %d calls x 3 rounds: %s; %d of %d single calls allocated (max %d B, total %d B)"
            .format(
                label, stage, ns(st.median), ns(st.p90), ns(st.mean), ns(st.min), allocCalls,
                rounds.joinToString(" / ") { "%.2f".format(it) }, nonzero, allocCalls, largest, total,
            ),
    )
    return "RESULT $label $stage median_ns=${st.median} p90_ns=${st.p90} mean_ns=${"%.1f".format(st.mean)} " +
        "min_ns=${st.min} alloc_per_call=${"%.3f".format(aggregate)} alloc_calls_nonzero=$nonzero " +
        "alloc_max_single=$largest alloc_measured_calls=$allocCalls alloc_round_max=${"%.3f".format(rounds.max())} " +
        "checksum=$sink"
}

private fun checksum(buffer: ByteBuffer): Int {
    // Touch a few bytes of the result so the call cannot be optimised away.
    val n = buffer.capacity()
    return buffer.get(0).toInt() + buffer.get(n / 2).toInt() + buffer.get(n - 1).toInt()
}

fun main(args: Array<String>) {
    require(args.size == 5) { "usage: PreprocessBenchKt <warmup> <iterations> <allocCalls> <frameWidth> <frameHeight>" }
    val warmup = args[0].toInt()
    val iterations = args[1].toInt()
    val allocCalls = args[2].toInt()
    val frameW = args[3].toInt()
    val frameH = args[4].toInt()

    val android = loadable("android.graphics.Bitmap")
    val litert = loadable("org.tensorflow.lite.Interpreter")
    println("classpath: ${System.getProperty("java.class.path")}")
    println("android.graphics.Bitmap loadable: $android; org.tensorflow.lite.Interpreter loadable: $litert")
    check(!android && !litert) { "the benchmark must run without android.jar and LiteRT on the classpath" }
    val rt = ManagementFactory.getRuntimeMXBean()
    println("jvm: ${rt.vmName} ${rt.vmVersion}; args ${rt.inputArguments}; cpus ${Runtime.getRuntime().availableProcessors()}")

    // One RGB frame as ARGB (alpha 0xFF), fixed pseudo-random content (xorshift).
    var seed = 0x2545F491
    val frame = IntArray(frameW * frameH) {
        seed = seed xor (seed shl 13)
        seed = seed xor (seed ushr 17)
        seed = seed xor (seed shl 5)
        (0xFF shl 24) or (seed and 0xFFFFFF)
    }
    val indices = IntArray(3)
    val alloc = Allocation()
    println("allocation probe overhead (subtracted): ${alloc.overhead} B per reading pair")
    println("frame ${frameW}x$frameH ARGB; warm-up $warmup calls, timed $iterations calls, allocation over $allocCalls calls")

    val results = ArrayList<String>()
    for (v in variants()) {
        println("variant ${v.name}: input ${v.dtype} ${v.shape}, ${v.numClasses} classes")
        results += measure(v.name, "preprocess", warmup, iterations, allocCalls, alloc) {
            checksum(v.preprocess(frame, frameW, frameH))
        }
        // Output side: a plausible output tensor, then dequantize + top-3.
        val out = v.outputBuffer
        for (i in 0 until out.capacity()) out.put(i, (i * 31 + 7).toByte())
        results += measure(v.name, "postprocess", warmup, iterations, allocCalls, alloc) {
            v.postprocess(indices) + indices[0]
        }
    }
    for (line in results) println(line)
}
