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

    [Theory]
    [InlineData(13, 7, 5, 4)]
    [InlineData(5, 4, 13, 9)]
    [InlineData(20, 10, 20, 6)]
    [InlineData(20, 10, 7, 10)]
    [InlineData(31, 17, 12, 29)]
    [InlineData(9, 9, 9, 9)]
    public void Exact_resize_equals_a_plain_two_dimensional_loop(int inWidth, int inHeight, int outWidth, int outHeight)
    {
        var source = RandomImage(inWidth, inHeight, seed: inWidth * 31 + outHeight);

        var actual = BicubicResizer.ResizeExact(source, outWidth, outHeight);

        var expected = PillowBicubicReference.ResizeNonSeparable(source, outWidth, outHeight);
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 9);
        }
    }

    [Theory]
    [InlineData(13, 7, 5, 4)]
    [InlineData(5, 4, 13, 9)]
    [InlineData(20, 10, 20, 6)]
    [InlineData(64, 48, 28, 56)]
    public void Eight_bit_resize_rounds_after_each_pass_as_pillow(int inWidth, int inHeight, int outWidth, int outHeight)
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

    [Fact]
    public void Rounded_resize_stays_about_a_level_from_the_exact_one_on_a_real_screenshot()
    {
        var (name, _, _) = GuiSamples.Screenshots.Single(s => s.Image == "web_05.png");
        var source = ImageDecoder.Decode(File.ReadAllBytes(GuiSamples.PathOf(name)));
        var (height, width) = SmartResize.Compute(source.Height, source.Width);

        var rounded = BicubicResizer.Resize(source, width, height);
        var exact = BicubicResizer.ResizeExact(source, width, height);

        var total = 0.0;
        var beyondOneLevel = 0;
        for (var i = 0; i < exact.Length; i++)
        {
            var difference = Math.Abs(rounded.Pixels[i] - Math.Clamp(exact[i], 0, 255));
            total += difference;
            beyondOneLevel += difference > 1.1 ? 1 : 0;
        }

        // Two roundings of at most ½ each (the first spread by the vertical weights, Σ|w| slightly above 1) keep
        // almost every value within a level; the rest sit at sharp edges, where the 8-bit path clips the
        // horizontal pass's overshoot to 0–255 before the vertical pass and the exact path does not.
        Assert.True(beyondOneLevel < exact.Length / 200, $"{beyondOneLevel} of {exact.Length} values differ by more than a level");
        Assert.True(total / exact.Length < 0.4, $"mean difference {total / exact.Length}");
    }

    private static RgbImage RandomImage(int width, int height, int seed)
    {
        var pixels = new byte[width * height * 3];
        new Random(seed).NextBytes(pixels);
        return new RgbImage(width, height, pixels);
    }
}

/// <summary>
/// Pillow's bicubic resampling (Resample.c, <c>precompute_coeffs</c> and the 8-bit passes) written as plain loops
/// without any code shared with the product.
/// </summary>
internal static class PillowBicubicReference
{
    public static double[] ResizeNonSeparable(RgbImage source, int outWidth, int outHeight)
    {
        var output = new double[outWidth * outHeight * 3];
        for (var oy = 0; oy < outHeight; oy++)
        {
            var (y0, wy) = Coefficients(oy, source.Height, outHeight);
            for (var ox = 0; ox < outWidth; ox++)
            {
                var (x0, wx) = Coefficients(ox, source.Width, outWidth);
                for (var c = 0; c < 3; c++)
                {
                    double sum = 0;
                    for (var j = 0; j < wy.Length; j++)
                    {
                        for (var i = 0; i < wx.Length; i++)
                        {
                            sum += wy[j] * wx[i] * source.Pixels[((((y0 + j) * source.Width) + x0 + i) * 3) + c];
                        }
                    }

                    output[(((oy * outWidth) + ox) * 3) + c] = sum;
                }
            }
        }

        return output;
    }

    public static byte[] Resize8Bit(RgbImage source, int outWidth, int outHeight)
    {
        // Horizontal pass first, rounded to 8 bits; skipped when the width does not change.
        var temp = source.Pixels;
        if (outWidth != source.Width)
        {
            temp = new byte[outWidth * source.Height * 3];
            for (var y = 0; y < source.Height; y++)
            {
                for (var ox = 0; ox < outWidth; ox++)
                {
                    var (x0, wx) = Coefficients(ox, source.Width, outWidth);
                    for (var c = 0; c < 3; c++)
                    {
                        double sum = 0;
                        for (var i = 0; i < wx.Length; i++)
                        {
                            sum += wx[i] * source.Pixels[((((y * source.Width) + x0 + i) * 3)) + c];
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
            var (y0, wy) = Coefficients(oy, source.Height, outHeight);
            for (var x = 0; x < outWidth; x++)
            {
                for (var c = 0; c < 3; c++)
                {
                    double sum = 0;
                    for (var j = 0; j < wy.Length; j++)
                    {
                        sum += wy[j] * temp[((((y0 + j) * outWidth) + x) * 3) + c];
                    }

                    output[(((oy * outWidth) + x) * 3) + c] = Clip8(sum);
                }
            }
        }

        return output;
    }

    private static byte Clip8(double value) => (byte)Math.Min(255, Math.Max(0, Math.Floor(value + 0.5)));

    private static (int First, double[] Weights) Coefficients(int index, int inSize, int outSize)
    {
        var scale = inSize / (double)outSize;
        var filterScale = scale < 1.0 ? 1.0 : scale;
        var support = 2.0 * filterScale;
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
            weights[x] = Cubic((x + xmin - centre + 0.5) / filterScale);
            total += weights[x];
        }

        for (var x = 0; x < weights.Length; x++)
        {
            weights[x] /= total;
        }

        return (xmin, weights);
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
