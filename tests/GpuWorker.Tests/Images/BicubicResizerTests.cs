using StarKv.GpuWorker.Images;

namespace StarKv.GpuWorker.Tests.Images;

public sealed class BicubicResizerTests
{
    [Theory]
    [InlineData(0.0, 1.0)]
    [InlineData(0.5, 0.5625)]
    [InlineData(-0.5, 0.5625)]
    [InlineData(1.0, 0.0)]
    [InlineData(1.5, -0.0625)]
    [InlineData(2.0, 0.0)]
    [InlineData(3.0, 0.0)]
    public void Kernel_is_keys_cubic_with_a_minus_half(double x, double expected)
    {
        Assert.Equal(expected, BicubicResizer.Kernel(x), 12);
    }

    [Fact]
    public void Downscale_taps_widen_with_the_scale()
    {
        // 4 → 2: scale 2, support 4, centre 1; taps 0..3 at k(−0.25), k(0.25), k(0.75), k(1.25) over their sum 1.890625.
        var (first, weights) = BicubicResizer.Taps(0, 4, 2);

        Assert.Equal(0, first);
        double[] expected = [0.8671875 / 1.890625, 0.8671875 / 1.890625, 0.2265625 / 1.890625, -0.0703125 / 1.890625];
        Assert.Equal(expected.Length, weights.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], weights[i], 12);
        }
    }

    [Fact]
    public void Upscale_taps_keep_the_kernel_width()
    {
        // 2 → 4: scale ½, support 2, centre of output 1 is 0.75; taps 0..1 (clipped at the edge) at k(−0.25), k(0.75).
        var (first, weights) = BicubicResizer.Taps(1, 2, 4);

        Assert.Equal(0, first);
        Assert.Equal(2, weights.Length);
        Assert.Equal(0.8671875 / (0.8671875 + 0.2265625), weights[0], 12);
        Assert.Equal(0.2265625 / (0.8671875 + 0.2265625), weights[1], 12);
    }

    [Fact]
    public void Fixed_point_taps_are_the_weights_times_two_to_the_22_rounded_away_from_zero()
    {
        // 4 → 2, output 0: weights (0.8671875, 0.8671875, 0.2265625, −0.0703125)/1.890625 times 2²² = 4194304 are
        // 1923833.65…, 1923833.65…, 502623.21…, −155986.51…; rounded half away from zero: 1923834, 1923834, 502623, −155987.
        var (first, coefficients) = BicubicResizer.FixedPointTaps(0, 4, 2);

        Assert.Equal(0, first);
        Assert.Equal([1923834, 1923834, 502623, -155987], coefficients);
    }

    [Theory]
    [InlineData(13, 7, 5, 4)]
    [InlineData(5, 4, 13, 9)]
    [InlineData(20, 10, 20, 6)]
    [InlineData(64, 48, 28, 56)]
    public void Resize_equals_a_plain_fixed_point_loop(int inWidth, int inHeight, int outWidth, int outHeight)
    {
        var source = RandomImage(inWidth, inHeight, seed: 7 + inWidth);

        var actual = BicubicResizer.Resize(source, outWidth, outHeight);

        Assert.Equal(outWidth, actual.Width);
        Assert.Equal(outHeight, actual.Height);
        Assert.Equal(PillowBicubicReference.Resize8Bit(source, outWidth, outHeight), actual.Pixels);
    }

    [Theory]
    [InlineData(40, 30, 17, 11)]
    [InlineData(10, 10, 33, 21)]
    public void Constant_image_stays_constant(int inWidth, int inHeight, int outWidth, int outHeight)
    {
        var pixels = Enumerable.Repeat((byte)173, inWidth * inHeight * 3).ToArray();

        var resized = BicubicResizer.Resize(new RgbImage(inWidth, inHeight, pixels), outWidth, outHeight);

        Assert.All(resized.Pixels, p => Assert.Equal(173, p));
    }

    [Fact]
    public void Downscaling_antialiases_a_fine_checkerboard_to_grey()
    {
        const int size = 64;
        var pixels = new byte[size * size * 3];
        for (var y = 0; y < size; y++)
        {
            for (var x = 0; x < size; x++)
            {
                var v = (byte)((x + y) % 2 == 0 ? 255 : 0);
                pixels[((y * size) + x) * 3] = pixels[(((y * size) + x) * 3) + 1] = pixels[(((y * size) + x) * 3) + 2] = v;
            }
        }

        var resized = BicubicResizer.Resize(new RgbImage(size, size, pixels), 16, 16);

        // Without the widened support a 4× decimation would alias to pure black or white; with it, the interior is mid grey.
        for (var y = 2; y < 14; y++)
        {
            for (var x = 2; x < 14; x++)
            {
                Assert.InRange(resized.Pixels[((y * 16) + x) * 3], 120, 135);
            }
        }
    }

    private static RgbImage RandomImage(int width, int height, int seed)
    {
        var pixels = new byte[width * height * 3];
        new Random(seed).NextBytes(pixels);
        return new RgbImage(width, height, pixels);
    }
}

/// <summary>
/// Pillow's bicubic resampling (Resample.c: <c>precompute_coeffs</c>, <c>normalize_coeffs_8bpc</c> and the two 8-bit
/// passes) written as plain loops without any code shared with the product.
/// </summary>
internal static class PillowBicubicReference
{
    public static byte[] Resize8Bit(RgbImage source, int outWidth, int outHeight)
    {
        // Horizontal pass first; a pass whose size does not change is skipped.
        var temp = source.Pixels;
        if (outWidth != source.Width)
        {
            temp = new byte[outWidth * source.Height * 3];
            for (var y = 0; y < source.Height; y++)
            {
                for (var ox = 0; ox < outWidth; ox++)
                {
                    var (x0, kx) = Coefficients(ox, source.Width, outWidth);
                    for (var c = 0; c < 3; c++)
                    {
                        var sum = 1 << 21;
                        for (var i = 0; i < kx.Length; i++)
                        {
                            sum += kx[i] * source.Pixels[((((y * source.Width) + x0 + i) * 3)) + c];
                        }

                        temp[(((y * outWidth) + ox) * 3) + c] = Clip8(sum);
                    }
                }
            }
        }

        if (outHeight == source.Height)
        {
            return temp;
        }

        var output = new byte[outWidth * outHeight * 3];
        for (var oy = 0; oy < outHeight; oy++)
        {
            var (y0, ky) = Coefficients(oy, source.Height, outHeight);
            for (var x = 0; x < outWidth; x++)
            {
                for (var c = 0; c < 3; c++)
                {
                    var sum = 1 << 21;
                    for (var j = 0; j < ky.Length; j++)
                    {
                        sum += ky[j] * temp[((((y0 + j) * outWidth) + x) * 3) + c];
                    }

                    output[(((oy * outWidth) + x) * 3) + c] = Clip8(sum);
                }
            }
        }

        return output;
    }

    /// <summary>sum / 2²², floored, clipped to 0–255.</summary>
    private static byte Clip8(int sum) => (byte)Math.Min(255, Math.Max(0, (int)Math.Floor(sum / 4194304.0)));

    private static (int First, int[] Coefficients) Coefficients(int index, int inSize, int outSize)
    {
        var scale = inSize / (double)outSize;
        var filterScale = scale < 1.0 ? 1.0 : scale;
        var support = 2.0 * filterScale;
        var ss = 1.0 / filterScale;
        var centre = (index + 0.5) * scale;
        var xmin = (int)(centre - support + 0.5);
        if (xmin < 0)
        {
            xmin = 0;
        }

        var xmax = (int)(centre + support + 0.5);
        if (xmax > inSize)
        {
            xmax = inSize;
        }

        var weights = new double[xmax - xmin];
        double total = 0;
        for (var x = 0; x < weights.Length; x++)
        {
            weights[x] = Cubic((x + xmin - centre + 0.5) * ss);
            total += weights[x];
        }

        var fixedPoint = new int[weights.Length];
        for (var x = 0; x < weights.Length; x++)
        {
            var w = weights[x] / total * 4194304.0;
            fixedPoint[x] = w < 0 ? (int)Math.Ceiling(w - 0.5) : (int)Math.Floor(w + 0.5);
        }

        return (xmin, fixedPoint);
    }

    private static double Cubic(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1.0)
        {
            return (((a + 2.0) * x) - (a + 3.0)) * x * x + 1;
        }

        return x < 2.0 ? ((((x - 5) * x) + 8) * x - 4) * a : 0.0;
    }
}
