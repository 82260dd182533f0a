using System.Buffers.Binary;
using System.Globalization;
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

    /// <summary>
    /// Decodes PNG or JPEG bytes; throws <see cref="ImageDecodeException"/> naming what is wrong. The pixel count is checked
    /// against <paramref name="limits"/> from the header, before any pixel memory is allocated, and an image above
    /// <see cref="DecodeLimits.ShrinkAbovePixels"/> is shrunk while decoding: a JPEG by libjpeg's DCT scaling (its
    /// full-size pixels never exist), a PNG box-filtered straight from Skia's RGBA (Skia cannot scale PNGs).
    /// </summary>
    public static RgbImage Decode(ReadOnlySpan<byte> bytes, AlphaHandling alpha = AlphaHandling.Drop, DecodeLimits? limits = null)
    {
        limits ??= DecodeLimits.Default;
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
            CheckPngHeader(bytes, limits);
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

        CheckPixels(format, width, height, limits);
        var factor = limits.ShrinkFactor(width, height);
        if (factor > 1)
        {
            return isJpeg ? DecodeScaledJpeg(codec, width, height, factor, alpha) : DecodeShrunkRows(codec, format, width, height, factor, alpha);
        }

        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var result = codec.GetPixels(info, out var rgba); // [height, width, 4]
        if (result != SKCodecResult.Success)
        {
            throw Corrupt(format, width, height, result);
        }

        return new RgbImage(width, height, ToRgb(rgba, width * height, alpha));
    }

    /// <summary>JPEG: libjpeg decodes at 1/2, 1/4 or 1/8 scale directly (its IDCT skips the detail), the closest at or above 1/factor.</summary>
    private static RgbImage DecodeScaledJpeg(SKCodec codec, int width, int height, int factor, AlphaHandling alpha)
    {
        var size = codec.GetScaledDimensions(1f / factor);
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var result = codec.GetPixels(info, out var rgba);
        if (result != SKCodecResult.Success)
        {
            throw Corrupt("JPEG", width, height, result);
        }

        return new RgbImage(size.Width, size.Height, ToRgb(rgba, size.Width * size.Height, alpha));
    }

    /// <summary>
    /// PNG: Skia has no scaled PNG decoding, so the RGBA pixels are decoded (bounded by <see cref="DecodeLimits.MaxPixels"/>)
    /// and each <paramref name="factor"/> × <paramref name="factor"/> block is averaged into one RGB pixel (after alpha
    /// handling) straight from them: the full-size RGB copy and the bicubic resize of the full image never happen.
    /// </summary>
    private static RgbImage DecodeShrunkRows(SKCodec codec, string format, int width, int height, int factor, AlphaHandling alpha)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var result = codec.GetPixels(info, out var rgba); // [height, width, 4]
        if (result != SKCodecResult.Success)
        {
            throw Corrupt(format, width, height, result);
        }

        int outWidth = width / factor, outHeight = height / factor;
        var rowBytes = width * 4;
        var sums = new int[outWidth * 3];
        var rgb = new byte[outWidth * outHeight * 3];
        var area = factor * factor;
        for (var y = 0; y < outHeight; y++)
        {
            Array.Clear(sums);
            for (var r = 0; r < factor; r++)
            {
                var row = rgba.AsSpan(((y * factor) + r) * rowBytes, rowBytes);
                for (var x = 0; x < outWidth * factor; x++)
                {
                    int a = alpha == AlphaHandling.CompositeOnWhite ? row[(x * 4) + 3] : 255;
                    var cell = (x / factor) * 3;
                    for (var c = 0; c < 3; c++)
                    {
                        int value = row[(x * 4) + c];
                        sums[cell + c] += a == 255 ? value : ((value * a) + (255 * (255 - a)) + 127) / 255;
                    }
                }
            }

            for (var i = 0; i < sums.Length; i++)
            {
                rgb[(y * outWidth * 3) + i] = (byte)((sums[i] + (area / 2)) / area);
            }
        }

        return new RgbImage(outWidth, outHeight, rgb);
    }

    private static void CheckPixels(string format, long width, long height, DecodeLimits limits)
    {
        if (width * height > limits.MaxPixels)
        {
            throw new ImageDecodeException(ImageDecodeFailure.TooManyPixels, string.Create(CultureInfo.InvariantCulture,
                $"The {format} image is {width}×{height} = {width * height:N0} pixels; at most {limits.MaxPixels:N0} are decoded."));
        }
    }

    private static ImageDecodeException Corrupt(string format, int width, int height, SKCodecResult result)
    {
        var what = result == SKCodecResult.IncompleteInput ? "truncated" : $"damaged ({result})";
        return new ImageDecodeException(ImageDecodeFailure.CorruptData, $"The {format} data is corrupt: the {width}×{height} image is {what}.");
    }

    private static void CheckPngHeader(ReadOnlySpan<byte> bytes, DecodeLimits limits)
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

        CheckPixels("PNG", width, height, limits);
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
