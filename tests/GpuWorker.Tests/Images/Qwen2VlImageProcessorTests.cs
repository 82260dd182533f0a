using StarKv.GpuWorker.Actions;
using StarKv.GpuWorker.Images;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.SyntheticScreens;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Images;

public sealed class Qwen2VlImageProcessorTests
{
    [Fact]
    public void Synthetic_screen_goes_through_every_stage_in_order()
    {
        var png = SyntheticScreenRenderer.RenderPng(4, 640, 400, 2);
        var config = ImageProcessorConfig.Default with { MaxPixels = 28 * 28 * 160 };

        using var processed = Qwen2VlImageProcessor.Process(png, config, torch.CPU);

        var (height, width) = SmartResizeReference.Compute(400, 640, 28, config.MinPixels, config.MaxPixels);
        Assert.Equal((640, 400, width, height), (processed.OriginalWidth, processed.OriginalHeight, processed.ResizedWidth, processed.ResizedHeight));
        Assert.Equal(new GridThw(1, height / 14, width / 14), processed.Grid);
        Assert.Equal([processed.Grid.PatchCount, 1176L], processed.Patches.shape);
        Assert.Equal(torch.ScalarType.Float32, processed.Patches.dtype);
        Assert.Equal(CoordinateMapping.For(640, 400, width, height), processed.Mapping);

        // Stage by stage with the plain references: Pillow-style resize, normalise, then the patch element's source pixel.
        var resized = PillowBicubicReference.Resize8Bit(ImageDecoder.Decode(png), width, height);
        var patches = processed.Patches.data<float>().ToArray();
        var random = new Random(1);
        for (var n = 0; n < 2000; n++)
        {
            var row = random.Next(processed.Grid.PatchCount);
            var column = random.Next(1176);
            var (c, y, x) = SourcePixel(row, column, processed.Grid);
            var expected = ((resized[((y * width) + x) * 3 + c] / 255.0) - config.ImageMean[c]) / config.ImageStd[c];
            Assert.Equal(expected, patches[(row * 1176) + column], 1e-5);
        }
    }

    [Fact]
    public void Real_screenshot_at_the_default_size()
    {
        var bytes = File.ReadAllBytes(GuiSamples.PathOf("web_01.png"));

        using var processed = Qwen2VlImageProcessor.Process(bytes, ImageProcessorConfig.Default, torch.CPU);

        Assert.Equal((2560, 1440, 1316, 728), (processed.OriginalWidth, processed.OriginalHeight, processed.ResizedWidth, processed.ResizedHeight));
        Assert.Equal(new GridThw(1, 52, 94), processed.Grid);
        Assert.Equal([4888L, 1176L], processed.Patches.shape);
        Assert.Equal(1222, processed.Grid.MergedTokenCount(2));
        using var minimum = processed.Patches.min();
        using var maximum = processed.Patches.max();
        var min = minimum.item<float>();
        var max = maximum.item<float>();
        Assert.InRange(min, -1.80f, -1.0f);
        Assert.InRange(max, 1.5f, 2.15f);
    }

    [Fact]
    public void Undecodable_bytes_surface_as_decode_errors()
    {
        var e = Assert.Throws<ImageDecodeException>(() => Qwen2VlImageProcessor.Process("not an image"u8, ImageProcessorConfig.Default, torch.CPU));

        Assert.Equal(ImageDecodeFailure.UnsupportedFormat, e.Failure);
    }

    /// <summary>Channel and pixel of a patch element, for temporal patch 2, patch 14, merge 2 (plain arithmetic).</summary>
    private static (int Channel, int Y, int X) SourcePixel(int row, int column, GridThw grid)
    {
        var blocksPerRow = grid.W / 2;
        var block = row / 4;
        var inside = row % 4;
        var patchRow = ((block / blocksPerRow) * 2) + (inside / 2);
        var patchColumn = ((block % blocksPerRow) * 2) + (inside % 2);
        var channel = column / (2 * 14 * 14);
        var within = column % (14 * 14);
        return (channel, (patchRow * 14) + (within / 14), (patchColumn * 14) + (within % 14));
    }
}
