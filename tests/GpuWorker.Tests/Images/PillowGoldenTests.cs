using StarKv.GpuWorker.Images;
using StarKv.GpuWorker.Model;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Images;

/// <summary>
/// Decoding and resizing against Pillow's own output (<see cref="PillowGoldens"/>): every repository screenshot at the
/// sizes smart_resize gives for the Qwen2-VL processor's default pixel range and the tiny model's, seeded noise, the
/// rarer PNG encodings and a half-transparent image, with zero differing values.
/// </summary>
public sealed class PillowGoldenTests
{
    public static TheoryData<string> ScreenshotFiles() => [.. PillowGoldens.Screenshots.Select(s => s.File)];

    public static TheoryData<int> NoiseCases() => [.. Enumerable.Range(0, PillowGoldens.Noise.Count)];

    /// <summary>The rarer encodings decoded as Pillow does: all but 16-bit grey (see the test of that one).</summary>
    public static TheoryData<string> EncodingNames() => [.. PillowGoldens.Encodings.Select(e => e.Name).Where(n => n != "grey16")];

    [Fact]
    public void Every_repository_screenshot_has_goldens_at_both_pixel_ranges()
    {
        var samples = Directory.GetFiles(GuiSamples.Directory, "*.png").Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.Equal(samples, PillowGoldens.Screenshots.Select(s => s.File));
        Assert.All(PillowGoldens.Screenshots, s => Assert.Equal(["default", "tiny"], s.Resized.Select(r => r.Range)));
    }

    [Theory]
    [MemberData(nameof(ScreenshotFiles))]
    public void Screenshot_decodes_and_resizes_to_pillows_bytes(string file)
    {
        var golden = PillowGoldens.Screenshots.Single(s => s.File == file);

        var decoded = ImageDecoder.Decode(File.ReadAllBytes(GuiSamples.PathOf(file)));

        Assert.Equal((golden.Width, golden.Height), (decoded.Width, decoded.Height));
        Assert.True(golden.DecodedSha256 == PillowGoldens.Sha256(decoded.Pixels), $"{file}: the decoded RGB bytes differ from Pillow's convert(\"RGB\")");
        foreach (var resize in golden.Resized)
        {
            var (height, width) = SmartResize.Compute(decoded.Height, decoded.Width, 28, resize.MinPixels, resize.MaxPixels);
            Assert.Equal((resize.Width, resize.Height), (width, height));

            var resized = BicubicResizer.Resize(decoded, width, height);

            if (resize.Full is { } full)
            {
                Assert.Null(PillowGoldens.Differences(PillowGoldens.ReadGzip(full), resized.Pixels));
            }

            Assert.True(
                resize.Sha256 == PillowGoldens.Sha256(resized.Pixels),
                $"{file} resized to {width}×{height} ({resize.Range} range) differs from Pillow's BICUBIC resize");
        }
    }

    [Theory]
    [MemberData(nameof(NoiseCases))]
    public void Noise_resizes_to_pillows_bytes(int index)
    {
        var golden = PillowGoldens.Noise[index];

        var resized = BicubicResizer.Resize(new RgbImage(golden.Width, golden.Height, golden.Source), golden.ResizedWidth, golden.ResizedHeight);

        Assert.Equal((golden.ResizedWidth, golden.ResizedHeight), (resized.Width, resized.Height));
        Assert.Null(PillowGoldens.Differences(golden.Resized, resized.Pixels));
    }

    [Theory]
    [MemberData(nameof(EncodingNames))]
    public void Rarer_png_encodings_decode_to_pillows_rgb(string name)
    {
        var golden = PillowGoldens.Encodings.Single(e => e.Name == name);

        var decoded = ImageDecoder.Decode(golden.Png);

        Assert.Equal((golden.Width, golden.Height), (decoded.Width, decoded.Height));
        Assert.Equal(golden.Rgb, decoded.Pixels);
    }

    [Fact]
    public void Sixteen_bit_grey_keeps_the_high_byte_where_pillow_clips_at_255()
    {
        // The samples are 0x0000, 0x00FF, 0x0100, 0x7F80, 0x80FF, 0xFFFF. Pillow opens 16-bit grey as a 32-bit integer
        // image and clips it to 0–255 on convert("RGB"); Skia, like Pillow for every other 16-bit PNG, keeps the high byte.
        var golden = PillowGoldens.Encodings.Single(e => e.Name == "grey16");

        var decoded = ImageDecoder.Decode(golden.Png);

        Assert.Equal(new byte[] { 0, 0, 1, 127, 128, 255 }.SelectMany(v => new[] { v, v, v }), decoded.Pixels);
        Assert.Equal(new byte[] { 0, 255, 255, 255, 255, 255 }.SelectMany(v => new[] { v, v, v }), golden.Rgb);
    }

    [Fact]
    public void Half_transparent_image_drops_alpha_by_default_and_composites_onto_white_on_request()
    {
        var t = PillowGoldens.Transparency;
        var png = File.ReadAllBytes(PillowGoldens.PathOf(t.GetProperty("file").GetString()!));
        var (width, height) = (t.GetProperty("resizedWidth").GetInt32(), t.GetProperty("resizedHeight").GetInt32());
        var dropped = t.GetProperty("alphaDropped");
        var composited = t.GetProperty("compositedOnWhite");

        var byDefault = ImageDecoder.Decode(png);
        var onWhite = ImageDecoder.Decode(png, AlphaHandling.CompositeOnWhite);

        Assert.Null(PillowGoldens.Differences(PillowGoldens.ReadGzip(dropped.GetProperty("decoded").GetString()!), byDefault.Pixels));
        Assert.Null(PillowGoldens.Differences(PillowGoldens.ReadGzip(composited.GetProperty("decoded").GetString()!), onWhite.Pixels));
        Assert.Equal((height, width), SmartResize.Compute(byDefault.Height, byDefault.Width));
        Assert.Null(PillowGoldens.Differences(
            PillowGoldens.ReadGzip(dropped.GetProperty("resized").GetString()!), BicubicResizer.Resize(byDefault, width, height).Pixels));
        Assert.Null(PillowGoldens.Differences(
            PillowGoldens.ReadGzip(composited.GetProperty("resized").GetString()!), BicubicResizer.Resize(onWhite, width, height).Pixels));

        // The two choices are far apart on this image (half of it at alpha 128, part of it at alpha 0).
        var largest = byDefault.Pixels.Zip(onWhite.Pixels, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(largest > 100, $"dropping alpha and compositing differ by at most {largest} levels");
    }

    [Fact]
    public void The_processor_follows_its_configured_alpha_handling()
    {
        var t = PillowGoldens.Transparency;
        var png = File.ReadAllBytes(PillowGoldens.PathOf(t.GetProperty("file").GetString()!));
        var (width, height) = (t.GetProperty("resizedWidth").GetInt32(), t.GetProperty("resizedHeight").GetInt32());
        var config = ImageProcessorConfig.Default;

        foreach (var (alpha, key) in new[] { (AlphaHandling.Drop, "alphaDropped"), (AlphaHandling.CompositeOnWhite, "compositedOnWhite") })
        {
            var resized = PillowGoldens.ReadGzip(t.GetProperty(key).GetProperty("resized").GetString()!); // [height, width, 3]
            using var processed = Qwen2VlImageProcessor.Process(png, config with { Alpha = alpha }, torch.CPU);
            var patches = processed.Patches.data<float>().ToArray();

            // Patch row 0 holds the top-left 14 × 14 pixels: channel c of pixel (y, x) at c·392 + y·14 + x (temporal copy first).
            for (var c = 0; c < 3; c++)
            {
                for (var y = 0; y < 14; y++)
                {
                    for (var x = 0; x < 14; x++)
                    {
                        var expected = ((resized[(((y * width) + x) * 3) + c] / 255.0) - config.ImageMean[c]) / config.ImageStd[c];
                        Assert.Equal(expected, patches[(c * 392) + (y * 14) + x], 1e-5);
                    }
                }
            }

            Assert.Equal((width, height), (processed.ResizedWidth, processed.ResizedHeight));
        }

        Assert.Equal(AlphaHandling.Drop, ImageProcessorConfig.Default.Alpha);
    }
}
