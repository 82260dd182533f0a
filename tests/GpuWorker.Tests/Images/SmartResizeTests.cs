using StarKv.GpuWorker.Images;

namespace StarKv.GpuWorker.Tests.Images;

public sealed class SmartResizeTests
{
    private const int MinPixels = 56 * 56;
    private const int MaxPixels = 28 * 28 * 1280;

    [Theory]
    // Already multiples of 28 and within bounds: unchanged.
    [InlineData(280, 560, MaxPixels, 280, 560)]
    // Rounding halves go to even as Python: 42/28 = 1.5 → 2, 98/28 = 3.5 → 4, 70/28 = 2.5 → 2.
    [InlineData(42, 98, MaxPixels, 56, 112)]
    [InlineData(70, 70, MaxPixels, 56, 56)]
    // Too small: β = √(3136/600) = 2.286; ⌈20β/28⌉ = 2, ⌈30β/28⌉ = 3.
    [InlineData(20, 30, MaxPixels, 56, 84)]
    // Too large: 1092·1932 > max; β = √(1080·1920/1003520) = 1.4375; ⌊1080/β/28⌋ = 26, ⌊1920/β/28⌋ = 47.
    [InlineData(1080, 1920, MaxPixels, 728, 1316)]
    // The native-resolution setting of ui-tars.md: 1920×1080 → 1932×1092, 39·69 = 2,691 tokens.
    [InlineData(1080, 1920, 16384 * 28 * 28, 1092, 1932)]
    // The OSWorld agent's cap of 1350·28·28 pixels.
    [InlineData(1080, 1920, 1350 * 28 * 28, 756, 1344)]
    // Aspect ratio exactly 200 is allowed. A side under 14 rounds to 0, so the area check sends it up the ceil path:
    // β = √(3136/200) = 3.960; ⌈3.960/28⌉ = 1, ⌈792/28⌉ = 29.
    [InlineData(1, 200, MaxPixels, 28, 812)]
    // β = √(3136/2000) = 1.252; ⌈12.52/28⌉ = 1, ⌈250.4/28⌉ = 9.
    [InlineData(10, 200, MaxPixels, 28, 252)]
    public void Hand_computed_sizes(int height, int width, int maxPixels, int expectedHeight, int expectedWidth)
    {
        Assert.Equal((expectedHeight, expectedWidth), SmartResize.Compute(height, width, 28, MinPixels, maxPixels));
        Assert.Equal((expectedHeight, expectedWidth), SmartResizeReference.Compute(height, width, 28, MinPixels, maxPixels));
    }

    [Theory]
    // Sizes of the 16 shared sample screenshots, computed with Python floats by HF's formula (defaults).
    [InlineData(1370, 1998, 812, 1204)]
    [InlineData(1556, 1708, 952, 1036)]
    [InlineData(1640, 2360, 812, 1176)]
    [InlineData(2532, 1170, 1456, 672)]
    [InlineData(1440, 2560, 728, 1316)]
    [InlineData(720, 1280, 728, 1288)]
    [InlineData(905, 400, 896, 392)]
    [InlineData(800, 1280, 784, 1260)]
    [InlineData(1080, 1400, 868, 1120)]
    public void Sample_screenshot_sizes(int height, int width, int expectedHeight, int expectedWidth)
    {
        Assert.Equal((expectedHeight, expectedWidth), SmartResize.Compute(height, width));
    }

    [Fact]
    public void Every_shared_screenshot_matches_the_reference()
    {
        Assert.Equal(16, GuiSamples.Screenshots.Count);
        foreach (var (_, width, height) in GuiSamples.Screenshots)
        {
            Assert.Equal(SmartResizeReference.Compute(height, width, 28, MinPixels, MaxPixels), SmartResize.Compute(height, width, 28, MinPixels, MaxPixels));
        }
    }

    [Fact]
    public void Agrees_with_the_reference_and_keeps_its_invariants_over_many_sizes()
    {
        var random = new Random(42);
        for (var i = 0; i < 5000; i++)
        {
            var height = random.Next(1, 5000);
            var width = Math.Clamp((int)(height * Math.Exp((random.NextDouble() * 8) - 4)), 1, 20000);
            if (Math.Max(height, width) / (double)Math.Min(height, width) > 200)
            {
                continue;
            }

            var (h, w) = SmartResize.Compute(height, width, 28, MinPixels, MaxPixels);

            Assert.Equal(SmartResizeReference.Compute(height, width, 28, MinPixels, MaxPixels), (h, w));
            Assert.True(h % 28 == 0 && w % 28 == 0 && h >= 28 && w >= 28, $"{height}×{width} → {h}×{w}");
            Assert.True((long)h * w <= MaxPixels, $"{height}×{width} → {h}×{w} exceeds max pixels");
        }
    }

    [Theory]
    [InlineData(1, 201)]
    [InlineData(3000, 10)]
    public void Refuses_aspect_ratios_above_200(int height, int width)
    {
        var e = Assert.Throws<ArgumentException>(() => SmartResize.Compute(height, width));

        Assert.Contains("aspect ratio", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_empty_sizes()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SmartResize.Compute(0, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => SmartResize.Compute(10, 10, 28, 100, 50));
    }
}
