using SkiaSharp;
using StarKv.GpuWorker.Images;
using StarKv.GpuWorker.SyntheticScreens;

namespace StarKv.GpuWorker.Tests.Images;

public sealed class ImageDecoderTests
{
    [Fact]
    public void Decodes_png_pixels_exactly()
    {
        var (png, expected) = Encode(SKEncodedImageFormat.Png, 37, 23, alpha: 255);

        var image = ImageDecoder.Decode(png);

        Assert.Equal(37, image.Width);
        Assert.Equal(23, image.Height);
        Assert.Equal(expected, image.Pixels);
    }

    [Fact]
    public void Decodes_jpeg_close_to_the_source()
    {
        var (jpeg, expected) = Encode(SKEncodedImageFormat.Jpeg, 64, 48, alpha: 255);

        var image = ImageDecoder.Decode(jpeg);

        Assert.Equal(64, image.Width);
        Assert.Equal(48, image.Height);
        var meanError = image.Pixels.Zip(expected, (a, b) => Math.Abs(a - b)).Average();
        Assert.True(meanError < 4, $"mean JPEG error {meanError}");
    }

    [Fact]
    public void Transparent_pixels_keep_their_colour_with_alpha_dropped_by_default()
    {
        var png = TwoTransparentPixels();

        var image = ImageDecoder.Decode(png);

        // Hugging Face's convert_to_rgb (Pillow's convert("RGB")) keeps the colour channels whatever the alpha.
        Assert.Equal(new byte[] { 0, 0, 0, 255, 0, 0 }, image.Pixels);
    }

    [Fact]
    public void Transparent_pixels_are_composited_onto_white_on_request()
    {
        var png = TwoTransparentPixels();

        var image = ImageDecoder.Decode(png, AlphaHandling.CompositeOnWhite);

        Assert.Equal(new byte[] { 255, 255, 255 }, image.Pixels[..3]);
        // Red at alpha 128/255 over white: 255·128/255 + 255·127/255 = 255 for red, 255·127/255 = 127 for green and blue.
        Assert.Equal(new byte[] { 255, 127, 127 }, image.Pixels[3..]);
    }

    [Fact]
    public void Decodes_a_real_screenshot_at_its_annotated_size()
    {
        var (name, width, height) = GuiSamples.Screenshots.First(s => s.Image.StartsWith("desktop", StringComparison.Ordinal));

        var image = ImageDecoder.Decode(File.ReadAllBytes(GuiSamples.PathOf(name)));

        Assert.Equal(width, image.Width);
        Assert.Equal(height, image.Height);
        Assert.True(image.Pixels.Distinct().Count() > 50);
    }

    [Fact]
    public void Empty_input_is_named()
    {
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode([]));

        Assert.Equal(ImageDecodeFailure.EmptyInput, e.Failure);
        Assert.Contains("empty", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GIF89a\u0001\u0000\u0001\u0000", "GIF")]
    [InlineData("BM this is a bitmap", "BMP")]
    [InlineData("hello, not an image", "not PNG or JPEG")]
    public void Other_formats_are_refused_by_signature(string content, string expected)
    {
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(System.Text.Encoding.Latin1.GetBytes(content)));

        Assert.Equal(ImageDecodeFailure.UnsupportedFormat, e.Failure);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_png_is_corrupt()
    {
        var png = SyntheticScreenRenderer.RenderPng(1, 200, 150, 0);

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png.AsSpan(0, png.Length / 2)));

        Assert.Equal(ImageDecodeFailure.CorruptData, e.Failure);
        Assert.Contains("PNG data is corrupt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Png_cut_inside_its_header_is_corrupt()
    {
        var png = SyntheticScreenRenderer.RenderPng(1, 200, 150, 0);

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png.AsSpan(0, 12)));

        Assert.Equal(ImageDecodeFailure.CorruptData, e.Failure);
    }

    [Fact]
    public void Png_with_damaged_chunks_is_corrupt()
    {
        var png = SyntheticScreenRenderer.RenderPng(1, 200, 150, 0);
        for (var i = 40; i < png.Length - 20; i += 7)
        {
            png[i] ^= 0x5A;
        }

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png));

        Assert.Equal(ImageDecodeFailure.CorruptData, e.Failure);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(20)]
    public void Png_declaring_zero_width_or_height_is_named(int field)
    {
        var png = SyntheticScreenRenderer.RenderPng(1, 100, 80, 0);
        png[field] = png[field + 1] = png[field + 2] = png[field + 3] = 0;

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png));

        Assert.Equal(ImageDecodeFailure.ZeroDimensions, e.Failure);
        Assert.Contains("zero dimensions", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Jpeg_signature_with_garbage_is_corrupt()
    {
        byte[] bytes = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(bytes));

        Assert.Equal(ImageDecodeFailure.CorruptData, e.Failure);
        Assert.Contains("JPEG data is corrupt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_jpeg_is_corrupt()
    {
        var (jpeg, _) = Encode(SKEncodedImageFormat.Jpeg, 64, 48, alpha: 255);

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(jpeg.AsSpan(0, jpeg.Length * 2 / 3)));

        Assert.Equal(ImageDecodeFailure.CorruptData, e.Failure);
    }

    /// <summary>Black at alpha 0 and red at alpha 128, as PNG.</summary>
    private static byte[] TwoTransparentPixels()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(2, 1, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        bitmap.SetPixel(0, 0, new SKColor(0, 0, 0, 0));
        bitmap.SetPixel(1, 0, new SKColor(255, 0, 0, 128));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>A smooth gradient encoded in the given format, with its RGB bytes.</summary>
    private static (byte[] Encoded, byte[] Rgb) Encode(SKEncodedImageFormat format, int width, int height, byte alpha)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var rgb = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var r = (byte)(x * 255 / (width - 1));
                var g = (byte)(y * 255 / (height - 1));
                var b = (byte)((x + y) * 2 % 256);
                bitmap.SetPixel(x, y, new SKColor(r, g, b, alpha));
                var at = ((y * width) + x) * 3;
                (rgb[at], rgb[at + 1], rgb[at + 2]) = (r, g, b);
            }
        }

        using var data = bitmap.Encode(format, 100);
        return (data.ToArray(), rgb);
    }
}
