using SkiaSharp;
using StarKv.GpuWorker.SyntheticScreens;

namespace StarKv.GpuWorker.Tests.SyntheticScreens;

public sealed class SyntheticScreenRendererTests
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [Theory]
    [InlineData(640, 400)]
    [InlineData(1280, 720)]
    [InlineData(390, 844)]
    public void Renders_a_png_of_the_requested_size(int width, int height)
    {
        var png = SyntheticScreenRenderer.RenderPng(seed: 7, width, height, step: 0);

        Assert.Equal(PngSignature, png[..8]);
        using var codec = SKCodec.Create(new SKMemoryStream(png));
        Assert.NotNull(codec);
        Assert.Equal(SKEncodedImageFormat.Png, codec.EncodedFormat);
        Assert.Equal(width, codec.Info.Width);
        Assert.Equal(height, codec.Info.Height);
    }

    [Fact]
    public void Same_arguments_give_the_same_bytes()
    {
        var a = SyntheticScreenRenderer.RenderPng(3, 800, 600, 5);
        var b = SyntheticScreenRenderer.RenderPng(3, 800, 600, 5);

        Assert.Equal(a, b);
    }

    [Fact]
    public void Consecutive_steps_differ_in_many_pixels()
    {
        using var first = SKBitmap.Decode(SyntheticScreenRenderer.RenderPng(3, 800, 600, 1));
        using var second = SKBitmap.Decode(SyntheticScreenRenderer.RenderPng(3, 800, 600, 2));

        var differing = CountDifferingPixels(first, second);

        // Window drift, list selection, typed text, clock and pointer change: far more than a handful of pixels.
        Assert.True(differing > 1000, $"only {differing} pixels differ between steps 1 and 2");
    }

    [Fact]
    public void Different_seeds_give_different_screens()
    {
        using var a = SKBitmap.Decode(SyntheticScreenRenderer.RenderPng(1, 320, 240, 0));
        using var b = SKBitmap.Decode(SyntheticScreenRenderer.RenderPng(2, 320, 240, 0));

        Assert.True(CountDifferingPixels(a, b) > 1000);
    }

    [Fact]
    public void Screen_is_not_a_flat_fill()
    {
        using var bitmap = SKBitmap.Decode(SyntheticScreenRenderer.RenderPng(11, 400, 300, 0));
        var colours = new HashSet<uint>();
        for (var y = 0; y < bitmap.Height; y += 3)
        {
            for (var x = 0; x < bitmap.Width; x += 3)
            {
                colours.Add((uint)bitmap.GetPixel(x, y));
            }
        }

        Assert.True(colours.Count > 20, $"only {colours.Count} distinct colours");
    }

    [Theory]
    [InlineData(0, 100, 0)]
    [InlineData(100, 10, 0)]
    [InlineData(100, 100, -1)]
    public void Refuses_bad_arguments(int width, int height, int step)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticScreenRenderer.RenderPng(0, width, height, step));
    }

    private static int CountDifferingPixels(SKBitmap a, SKBitmap b)
    {
        Assert.Equal(a.Width, b.Width);
        Assert.Equal(a.Height, b.Height);
        var count = 0;
        for (var y = 0; y < a.Height; y++)
        {
            for (var x = 0; x < a.Width; x++)
            {
                if (a.GetPixel(x, y) != b.GetPixel(x, y))
                {
                    count++;
                }
            }
        }

        return count;
    }
}
