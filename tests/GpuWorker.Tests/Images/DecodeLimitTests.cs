using System.Buffers.Binary;
using System.IO.Compression;
using SkiaSharp;
using StarKv.GpuWorker.Images;

namespace StarKv.GpuWorker.Tests.Images;

/// <summary>The pixel bound is judged from the header, before pixel memory exists; huge images decode already shrunk.</summary>
public sealed class DecodeLimitTests
{
    [Fact]
    public void A_header_declaring_too_many_pixels_is_refused_before_any_pixel_memory()
    {
        var bomb = PngWithHeader(16384, 16384);
        var before = GC.GetAllocatedBytesForCurrentThread();

        var error = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(bomb));

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(ImageDecodeFailure.TooManyPixels, error.Failure);
        Assert.Equal("The PNG image is 16384×16384 = 268,435,456 pixels; at most 67,108,864 are decoded.", error.Message);
        Assert.True(allocated < 1 << 20, $"{allocated} bytes allocated before the refusal");
    }

    [Fact]
    public void A_jpeg_over_the_bound_is_refused_from_its_header_too()
    {
        var jpeg = Encode(Stripes(64, 64), SKEncodedImageFormat.Jpeg);
        // Rewrite the start-of-frame's size to 9000 × 9000.
        for (var i = 2; i + 9 < jpeg.Length; i++)
        {
            if (jpeg[i] == 0xFF && jpeg[i + 1] is 0xC0 or 0xC2)
            {
                BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(i + 5), 9000);
                BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(i + 7), 9000);
                break;
            }
        }

        var error = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(jpeg));
        Assert.Equal(ImageDecodeFailure.TooManyPixels, error.Failure);
        Assert.Contains("9000×9000 = 81,000,000 pixels", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_png_above_the_shrink_bound_decodes_into_box_filtered_blocks_without_a_full_size_rgb_copy()
    {
        // 1-pixel black and white columns: each 2 × 2 block averages to 127.5, rounded to 128.
        var png = Encode(Stripes(3000, 2001), SKEncodedImageFormat.Png);
        var limits = new DecodeLimits { ShrinkAbovePixels = 2_000_000 };
        var before = GC.GetAllocatedBytesForCurrentThread();

        var image = ImageDecoder.Decode(png, AlphaHandling.Drop, limits);

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal((1500, 1000), (image.Width, image.Height));
        Assert.All(image.Pixels, b => Assert.Equal(128, b));
        // Skia's RGBA (4 bytes a pixel) and the shrunk RGB; the full-size RGB (3 more a pixel) is never made.
        Assert.True(allocated < 3000L * 2001 * 5, $"{allocated} bytes allocated");
    }

    [Fact]
    public void A_jpeg_above_the_shrink_bound_decodes_at_a_reduced_dct_scale_without_its_full_size_pixels()
    {
        var jpeg = Encode(Flat(2400, 1600, new SKColor(200, 100, 50)), SKEncodedImageFormat.Jpeg);
        var before = GC.GetAllocatedBytesForCurrentThread();

        var image = ImageDecoder.Decode(jpeg, AlphaHandling.Drop, new DecodeLimits { ShrinkAbovePixels = 1_000_000 });

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 2400L * 1600 * 2, "the full-size RGBA (4 bytes a pixel) was allocated");
        Assert.Equal((1200, 800), (image.Width, image.Height));
        Assert.InRange(image.Pixels[0], 195, 205);
        Assert.InRange(image.Pixels[1], 95, 105);
    }

    [Fact]
    public void Images_up_to_the_shrink_bound_decode_exactly_as_before()
    {
        var png = Encode(Stripes(300, 200), SKEncodedImageFormat.Png);

        var image = ImageDecoder.Decode(png, AlphaHandling.Drop, new DecodeLimits { ShrinkAbovePixels = 300 * 200 });

        Assert.Equal((300, 200), (image.Width, image.Height));
        Assert.Equal([0, 0, 0, 255, 255, 255], image.Pixels[..6]);
        Assert.Equal(1, DecodeLimits.Default.ShrinkFactor(3840, 2160));
        Assert.Equal(2, DecodeLimits.Default.ShrinkFactor(7680, 4320));
    }

    /// <summary>A PNG whose IHDR declares the size and whose only IDAT is 16 bytes (the decompression bomb of issue 13).</summary>
    private static byte[] PngWithHeader(int width, int height)
    {
        using var stream = new MemoryStream();
        stream.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;
        ihdr[9] = 2;
        Chunk(stream, "IHDR", ihdr);
        using (var data = new MemoryStream())
        {
            using (var zlib = new ZLibStream(data, CompressionLevel.Fastest, leaveOpen: true))
            {
                zlib.Write(new byte[4]);
            }

            Chunk(stream, "IDAT", data.ToArray());
        }

        Chunk(stream, "IEND", []);
        return stream.ToArray();
    }

    private static void Chunk(Stream stream, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        stream.Write(length);
        var typed = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        stream.Write(typed);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typed));
        stream.Write(crc);
    }

    private static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }

    private static SKBitmap Stripes(int width, int height)
    {
        var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        for (var x = 0; x < width; x++)
        {
            var colour = x % 2 == 0 ? SKColors.Black : SKColors.White;
            for (var y = 0; y < height; y++)
            {
                bitmap.SetPixel(x, y, colour);
            }
        }

        return bitmap;
    }

    private static SKBitmap Flat(int width, int height, SKColor colour)
    {
        var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        bitmap.Erase(colour);
        return bitmap;
    }

    private static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format)
    {
        using (bitmap)
        {
            using var data = bitmap.Encode(format, 95);
            return data.ToArray();
        }
    }
}
