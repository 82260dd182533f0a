using System.Buffers.Binary;
using SkiaSharp;

namespace StarKv.GpuWorker.Images;

/// <summary>
/// Decodes PNG and JPEG screenshots into 8-bit RGB with SkiaSharp, giving the bytes Pillow's
/// <c>Image.open(…).convert("RGB")</c> gives. Alpha is dropped by default, as Hugging Face's <c>convert_to_rgb</c> does
/// (<see cref="AlphaHandling.Drop"/>); compositing onto white, as qwen-vl-utils does, is the other choice. EXIF
/// orientation is not applied (Pillow does not either).
/// </summary>
/// <remarks>
/// <para>PNG: every depth and colour type decodes to Pillow's bytes (16-bit samples keep their high byte in both), with
/// one exception: 16-bit grey without alpha, which Pillow opens as a 32-bit integer image and converts to RGB by
/// clipping at 255 (so nearly every pixel turns white), while here it keeps the high byte. The tests hold every
/// repository screenshot and a set of rarer encodings to Pillow's bytes.</para>
/// <para>JPEG pixels may differ from Pillow's by a level or two: both use libjpeg(-turbo), but Skia's chroma
/// upsampling and IDCT settings are not Pillow's.</para>
/// </remarks>
public static class ImageDecoder
{
    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private static ReadOnlySpan<byte> JpegSignature => [0xFF, 0xD8, 0xFF];

    /// <summary>Decodes PNG or JPEG bytes; throws <see cref="ImageDecodeException"/> naming what is wrong.</summary>
    public static RgbImage Decode(ReadOnlySpan<byte> bytes, AlphaHandling alpha = AlphaHandling.Drop)
    {
        if (bytes.IsEmpty)
        {
            throw new ImageDecodeException(ImageDecodeFailure.EmptyInput, "The image is empty input: zero bytes were given.");
        }

        var isPng = bytes.StartsWith(PngSignature);
        var isJpeg = bytes.StartsWith(JpegSignature);
        if (!isPng && !isJpeg)
        {
            throw new ImageDecodeException(
                ImageDecodeFailure.UnsupportedFormat,
                $"The image is not PNG or JPEG by its signature (it starts with {DescribeStart(bytes)}); only PNG and JPEG are accepted.");
        }

        var format = isPng ? "PNG" : "JPEG";
        if (isPng)
        {
            CheckPngHeader(bytes);
        }

        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new ImageDecodeException(ImageDecodeFailure.CorruptData, $"The {format} data is corrupt: its header cannot be read ({bytes.Length} bytes).");
        var width = codec.Info.Width;
        var height = codec.Info.Height;
        if (width <= 0 || height <= 0)
        {
            throw new ImageDecodeException(ImageDecodeFailure.ZeroDimensions, $"The {format} image has zero dimensions ({width}×{height}).");
        }

        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var result = codec.GetPixels(info, out var rgba); // [height, width, 4]
        if (result != SKCodecResult.Success)
        {
            var what = result == SKCodecResult.IncompleteInput ? "truncated" : $"damaged ({result})";
            throw new ImageDecodeException(ImageDecodeFailure.CorruptData, $"The {format} data is corrupt: the {width}×{height} image is {what}.");
        }

        return new RgbImage(width, height, ToRgb(rgba, width * height, alpha));
    }

    private static void CheckPngHeader(ReadOnlySpan<byte> bytes)
    {
        // IHDR is the first chunk: length (4), "IHDR" (4), width (4), height (4) after the 8-byte signature.
        if (bytes.Length < 24 || !bytes.Slice(12, 4).SequenceEqual("IHDR"u8))
        {
            throw new ImageDecodeException(ImageDecodeFailure.CorruptData, $"The PNG data is corrupt: no IHDR header chunk ({bytes.Length} bytes).");
        }

        var width = BinaryPrimitives.ReadUInt32BigEndian(bytes.Slice(16, 4));
        var height = BinaryPrimitives.ReadUInt32BigEndian(bytes.Slice(20, 4));
        if (width == 0 || height == 0)
        {
            throw new ImageDecodeException(ImageDecodeFailure.ZeroDimensions, $"The PNG image has zero dimensions ({width}×{height}).");
        }
    }

    /// <summary>RGBA (unpremultiplied) to RGB: alpha dropped, or the colour over white, <c>c·a/255 + 255·(1 − a/255)</c> rounded.</summary>
    private static byte[] ToRgb(byte[] rgba, int pixelCount, AlphaHandling alpha)
    {
        var rgb = new byte[pixelCount * 3];
        for (var i = 0; i < pixelCount; i++)
        {
            int a = alpha == AlphaHandling.CompositeOnWhite ? rgba[(i * 4) + 3] : 255;
            for (var c = 0; c < 3; c++)
            {
                int value = rgba[(i * 4) + c];
                rgb[(i * 3) + c] = a == 255 ? (byte)value : (byte)(((value * a) + (255 * (255 - a)) + 127) / 255);
            }
        }

        return rgb;
    }

    private static string DescribeStart(ReadOnlySpan<byte> bytes)
    {
        var head = Convert.ToHexString(bytes[..Math.Min(8, bytes.Length)]);
        string? known = bytes switch
        {
            _ when bytes.StartsWith("GIF8"u8) => "GIF",
            _ when bytes.Length >= 12 && bytes.StartsWith("RIFF"u8) && bytes.Slice(8, 4).SequenceEqual("WEBP"u8) => "WebP",
            _ when bytes.StartsWith("BM"u8) => "BMP",
            _ when bytes.StartsWith("II*\0"u8) || bytes.StartsWith("MM\0*"u8) => "TIFF",
            _ => null,
        };
        return known is null ? $"0x{head}" : $"0x{head}, a {known} signature";
    }
}
