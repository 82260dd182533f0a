using StarKv.GpuWorker.Images;
using StarKv.GpuWorker.Model;

namespace StarKv.GpuWorker.Tests.Images;

public sealed class PixelNormalizerTests
{
    [Fact]
    public void Hand_computed_values_with_the_clip_mean_and_std()
    {
        // One pixel (255, 0, 128): (1 − 0.48145466)/0.26862954, (0 − 0.4578275)/0.26130258, (128/255 − 0.40821073)/0.27577711.
        var image = new RgbImage(1, 1, [255, 0, 128]);

        var planes = PixelNormalizer.Normalize(image, ImageProcessorConfig.Default);

        Assert.Equal(1.9303361, planes[0], 5);
        Assert.Equal(-1.7520971, planes[1], 5);
        Assert.Equal(0.3399457, planes[2], 5);
    }

    [Fact]
    public void Layout_is_channel_first_and_matches_a_double_loop()
    {
        const int width = 5, height = 3;
        var pixels = new byte[width * height * 3];
        new Random(3).NextBytes(pixels);
        var config = ImageProcessorConfig.Default with { ImageMean = [0.5, 0.25, 0.125], ImageStd = [0.5, 2.0, 0.1] };

        var planes = PixelNormalizer.Normalize(new RgbImage(width, height, pixels), config);

        for (var c = 0; c < 3; c++)
        {
            for (var y = 0; y < height; y++)
            {
                for (var x = 0; x < width; x++)
                {
                    var expected = ((pixels[((y * width) + x) * 3 + c] / 255.0) - config.ImageMean[c]) / config.ImageStd[c];
                    Assert.Equal(expected, planes[(c * height * width) + (y * width) + x], 1e-5);
                }
            }
        }
    }

    [Fact]
    public void Refuses_a_config_without_three_channels_or_with_zero_std()
    {
        var image = new RgbImage(1, 1, [1, 2, 3]);

        var channels = Assert.Throws<ArgumentException>(() => PixelNormalizer.Normalize(image, ImageProcessorConfig.Default with { ImageMean = [0.5] }));
        var std = Assert.Throws<ArgumentException>(() => PixelNormalizer.Normalize(image, ImageProcessorConfig.Default with { ImageStd = [0.5, 0, 0.5] }));

        Assert.Contains("3 values", channels.Message, StringComparison.Ordinal);
        Assert.Contains("positive", std.Message, StringComparison.Ordinal);
    }
}
