using System.Numerics;

namespace StarKv.GpuWorker.Images;

/// <summary>
/// Resizes RGB images with the bicubic filter the way Pillow's <c>Image.resize(…, BICUBIC)</c> does (the resampling
/// Hugging Face's Qwen2-VL image processor uses): a separable convolution, horizontal pass first, with the cubic
/// kernel (a = −0.5) stretched by the scale when downscaling so that it antialiases.
/// </summary>
/// <remarks>
/// <para>For output index i of an axis scaled from <c>in</c> to <c>out</c>: <c>scale = in/out</c>,
/// <c>s = max(scale, 1)</c>, <c>centre = (i + ½)·scale</c>, support <c>2·s</c>, taps
/// <c>x ∈ [⌊centre − 2s + ½⌋, ⌊centre + 2s + ½⌋)</c> clipped to the image, weights
/// <c>k((x − centre + ½)/s)</c> normalised to sum 1.</para>
/// <para>Arithmetic is double precision. <see cref="Resize"/> rounds (half up) and clips to 0–255 after each pass as
/// Pillow's 8-bit path does; Pillow itself accumulates in 22-bit fixed point, so a value lying within about 10⁻⁴ of a
/// rounding boundary can come out one level apart. <see cref="ResizeExact"/> keeps full precision and no
/// intermediate rounding. An axis whose size does not change is left untouched, as Pillow skips that pass.</para>
/// </remarks>
public static class BicubicResizer
{
    private const double A = -0.5;
    private const double Support = 2.0;

    /// <summary>The cubic convolution kernel with a = −0.5 (Keys), as Pillow's <c>bicubic_filter</c>.</summary>
    public static double Kernel(double x)
    {
        x = Math.Abs(x);
        if (x < 1.0)
        {
            return ((((A + 2.0) * x) - (A + 3.0)) * x * x) + 1;
        }

        return x < 2.0 ? ((((((x - 5) * x) + 8) * x) - 4) * A) : 0.0;
    }

    /// <summary>Resizes to <paramref name="width"/>×<paramref name="height"/> with 8-bit results after each pass, as Pillow.</summary>
    public static RgbImage Resize(RgbImage source, int width, int height)
    {
        var values = Run(source, width, height, roundEachPass: true);
        var pixels = new byte[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            pixels[i] = (byte)values[i];
        }

        return new RgbImage(width, height, pixels);
    }

    /// <summary>Resizes without any rounding: <c>[height, width, 3]</c> doubles on the 0–255 scale (may overshoot it slightly).</summary>
    public static double[] ResizeExact(RgbImage source, int width, int height) => Run(source, width, height, roundEachPass: false);

    /// <summary>The taps of one output index: first input index and normalised weights.</summary>
    public static (int First, double[] Weights) Taps(int outputIndex, int inputSize, int outputSize)
    {
        var scale = (double)inputSize / outputSize;
        var filterScale = Math.Max(scale, 1.0);
        var support = Support * filterScale;
        var centre = (outputIndex + 0.5) * scale;
        var first = Math.Max((int)(centre - support + 0.5), 0);
        var last = Math.Min((int)(centre + support + 0.5), inputSize);
        var weights = new double[Math.Max(last - first, 0)];
        var sum = 0.0;
        for (var x = 0; x < weights.Length; x++)
        {
            weights[x] = Kernel((x + first - centre + 0.5) / filterScale);
            sum += weights[x];
        }

        if (sum != 0.0)
        {
            for (var x = 0; x < weights.Length; x++)
            {
                weights[x] /= sum;
            }
        }

        return (first, weights);
    }

    private static double[] Run(RgbImage source, int width, int height, bool roundEachPass)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);

        if (width == source.Width && height == source.Height)
        {
            return Array.ConvertAll(source.Pixels, v => (double)v);
        }

        if (width == source.Width)
        {
            return Vertical(source.Pixels, width, source.Height, height, roundEachPass); // [height, width, 3]
        }

        var horizontal = Horizontal(source.Pixels, source.Width, source.Height, width, roundEachPass); // [inHeight, width, 3]
        return height == source.Height
            ? horizontal
            : Vertical(horizontal, width, source.Height, height, roundEachPass); // [height, width, 3]
    }

    private static double[] Horizontal<T>(T[] input, int inWidth, int rows, int outWidth, bool round)
        where T : struct, INumberBase<T>
    {
        var taps = Enumerable.Range(0, outWidth).Select(x => Taps(x, inWidth, outWidth)).ToArray();
        var output = new double[rows * outWidth * 3];
        Parallel.For(0, rows, y =>
        {
            var inRow = y * inWidth * 3;
            var outRow = y * outWidth * 3;
            for (var x = 0; x < outWidth; x++)
            {
                var (first, weights) = taps[x];
                double r = 0, g = 0, b = 0;
                for (var k = 0; k < weights.Length; k++)
                {
                    var at = inRow + ((first + k) * 3);
                    r += weights[k] * double.CreateTruncating(input[at]);
                    g += weights[k] * double.CreateTruncating(input[at + 1]);
                    b += weights[k] * double.CreateTruncating(input[at + 2]);
                }

                output[outRow + (x * 3)] = Finish(r, round);
                output[outRow + (x * 3) + 1] = Finish(g, round);
                output[outRow + (x * 3) + 2] = Finish(b, round);
            }
        });
        return output;
    }

    private static double[] Vertical<T>(T[] input, int width, int inHeight, int outHeight, bool round)
        where T : struct, INumberBase<T>
    {
        var rowLength = width * 3;
        var output = new double[outHeight * rowLength];
        Parallel.For(0, outHeight, y =>
        {
            var (first, weights) = Taps(y, inHeight, outHeight);
            var sums = output.AsSpan(y * rowLength, rowLength);
            for (var k = 0; k < weights.Length; k++)
            {
                var weight = weights[k];
                var inRow = (first + k) * rowLength;
                for (var i = 0; i < rowLength; i++)
                {
                    sums[i] += weight * double.CreateTruncating(input[inRow + i]);
                }
            }

            for (var i = 0; i < rowLength; i++)
            {
                sums[i] = Finish(sums[i], round);
            }
        });
        return output;
    }

    /// <summary>Pillow's 8-bit result: round half up, then clip to 0–255.</summary>
    private static double Finish(double value, bool round) => round ? Math.Clamp(Math.Floor(value + 0.5), 0, 255) : value;
}
