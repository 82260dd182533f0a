namespace StarKv.GpuWorker.Images;

/// <summary>
/// Resizes RGB images bit for bit as Pillow's <c>Image.resize(…, BICUBIC)</c> does on an 8-bit RGB image (the
/// resampling Hugging Face's Qwen2-VL image processor uses): a separable convolution, horizontal pass first, with the
/// cubic kernel (a = −0.5) stretched by the scale when downscaling so that it antialiases, in fixed point.
/// </summary>
/// <remarks>
/// <para>Coefficients, for output index i of an axis scaled from <c>in</c> to <c>out</c> (in double precision):
/// <c>scale = in/out</c>, <c>s = max(scale, 1)</c>, <c>centre = (i + ½)·scale</c>, support <c>2·s</c>, taps
/// <c>x ∈ [(int)(centre − 2s + ½), (int)(centre + 2s + ½))</c> clipped to the image, weights
/// <c>w_x = k((x − centre + ½)·(1/s))</c> divided by their sum. Each weight then becomes a 22-bit fixed-point integer,
/// <c>(int)(w·2²² ± ½)</c> (the sign of w; the cast truncates toward zero).</para>
/// <para>Each pass sums <c>2²¹ + Σ pixel·coefficient</c> in 32-bit integers and keeps <c>sum &gt;&gt; 22</c> (an
/// arithmetic shift) clipped to 0–255, so every pass rounds to 8 bits. A pass whose axis does not change size is
/// skipped, as Pillow skips it. Pillow runs the horizontal pass only over the rows the vertical pass reads, which gives
/// the same values.</para>
/// </remarks>
public static class BicubicResizer
{
    /// <summary>Fractional bits of Pillow's 8-bit resampling coefficients (32 − 8 − 2).</summary>
    public const int PrecisionBits = 22;

    /// <summary>½ in fixed point: every sum starts there, so that the final shift rounds half up.</summary>
    private const int Half = 1 << (PrecisionBits - 1);

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

    /// <summary>Resizes to <paramref name="width"/>×<paramref name="height"/> as Pillow's BICUBIC.</summary>
    public static RgbImage Resize(RgbImage source, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);

        var pixels = source.Pixels;
        if (width != source.Width)
        {
            pixels = Horizontal(pixels, source.Width, source.Height, width); // [inHeight, width, 3]
        }

        if (height != source.Height)
        {
            pixels = Vertical(pixels, width, source.Height, height); // [height, width, 3]
        }

        return new RgbImage(width, height, ReferenceEquals(pixels, source.Pixels) ? (byte[])pixels.Clone() : pixels);
    }

    /// <summary>The taps of one output index: the first input index and the normalised weights, in double precision.</summary>
    public static (int First, double[] Weights) Taps(int outputIndex, int inputSize, int outputSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputSize);
        var scale = (double)inputSize / outputSize;
        var filterScale = Math.Max(scale, 1.0);
        var support = Support * filterScale;
        var inverseScale = 1.0 / filterScale;
        var centre = (outputIndex + 0.5) * scale;
        var first = Math.Max((int)(centre - support + 0.5), 0);
        var last = Math.Min((int)(centre + support + 0.5), inputSize);
        var weights = new double[Math.Max(last - first, 0)];
        var sum = 0.0;
        for (var x = 0; x < weights.Length; x++)
        {
            weights[x] = Kernel((x + first - centre + 0.5) * inverseScale);
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

    /// <summary>The taps of one output index with the weights as 22-bit fixed-point integers.</summary>
    public static (int First, int[] Coefficients) FixedPointTaps(int outputIndex, int inputSize, int outputSize)
    {
        var (first, weights) = Taps(outputIndex, inputSize, outputSize);
        var coefficients = new int[weights.Length];
        for (var x = 0; x < weights.Length; x++)
        {
            var scaled = weights[x] * (1 << PrecisionBits);
            coefficients[x] = (int)(weights[x] < 0 ? scaled - 0.5 : scaled + 0.5);
        }

        return (first, coefficients);
    }

    private static byte[] Horizontal(byte[] input, int inWidth, int rows, int outWidth)
    {
        var taps = Enumerable.Range(0, outWidth).Select(x => FixedPointTaps(x, inWidth, outWidth)).ToArray();
        var output = new byte[rows * outWidth * 3];
        Parallel.For(0, rows, y =>
        {
            var inRow = y * inWidth * 3;
            var outRow = y * outWidth * 3;
            for (var x = 0; x < outWidth; x++)
            {
                var (first, coefficients) = taps[x];
                int r = Half, g = Half, b = Half;
                for (var k = 0; k < coefficients.Length; k++)
                {
                    var at = inRow + ((first + k) * 3);
                    r += input[at] * coefficients[k];
                    g += input[at + 1] * coefficients[k];
                    b += input[at + 2] * coefficients[k];
                }

                output[outRow + (x * 3)] = Clip8(r);
                output[outRow + (x * 3) + 1] = Clip8(g);
                output[outRow + (x * 3) + 2] = Clip8(b);
            }
        });
        return output;
    }

    private static byte[] Vertical(byte[] input, int width, int inHeight, int outHeight)
    {
        var rowLength = width * 3;
        var output = new byte[outHeight * rowLength];
        Parallel.For(0, outHeight, y =>
        {
            var (first, coefficients) = FixedPointTaps(y, inHeight, outHeight);
            var sums = new int[rowLength];
            Array.Fill(sums, Half);
            for (var k = 0; k < coefficients.Length; k++)
            {
                var coefficient = coefficients[k];
                var inRow = (first + k) * rowLength;
                for (var i = 0; i < rowLength; i++)
                {
                    sums[i] += input[inRow + i] * coefficient;
                }
            }

            var outRow = y * rowLength;
            for (var i = 0; i < rowLength; i++)
            {
                output[outRow + i] = Clip8(sums[i]);
            }
        });
        return output;
    }

    /// <summary>Pillow's <c>clip8</c>: the integer part of a fixed-point sum (arithmetic shift), clipped to 0–255.</summary>
    private static byte Clip8(int sum) => (byte)Math.Clamp(sum >> PrecisionBits, 0, 255);
}
