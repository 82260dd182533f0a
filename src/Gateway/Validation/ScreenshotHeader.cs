using System.Buffers.Binary;

namespace StarKv.Gateway.Validation;

/// <summary>The format and pixel size of a screenshot, read from its PNG IHDR chunk or JPEG start-of-frame marker.</summary>
public sealed record ScreenshotHeader(string Format, int Width, int Height)
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Reads the header; throws <see cref="FormatException"/> saying what is wrong with the bytes.</summary>
    public static ScreenshotHeader Read(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length >= 8 && bytes[..8].SequenceEqual(PngSignature))
        {
            return ReadPng(bytes);
        }

        if (bytes.Length >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF)
        {
            return ReadJpeg(bytes);
        }

        var start = Convert.ToHexString(bytes[..Math.Min(8, bytes.Length)]);
        throw new FormatException($"is neither PNG nor JPEG (it starts with 0x{start})");
    }

    private static ScreenshotHeader ReadPng(ReadOnlySpan<byte> bytes)
    {
        // Signature, then the IHDR chunk: length (4) "IHDR" (4) width (4) height (4) depth, colour, ... crc.
        if (bytes.Length < 33 || !bytes.Slice(12, 4).SequenceEqual("IHDR"u8) || BinaryPrimitives.ReadInt32BigEndian(bytes[8..]) != 13)
        {
            throw new FormatException("is a corrupt PNG: its IHDR chunk is missing or truncated");
        }

        var width = BinaryPrimitives.ReadInt32BigEndian(bytes[16..]);
        var height = BinaryPrimitives.ReadInt32BigEndian(bytes[20..]);
        if (!HasChunk(bytes, "IDAT"u8))
        {
            throw new FormatException("is a corrupt PNG: it has no IDAT (image data) chunk");
        }

        return new ScreenshotHeader("png", width, height);
    }

    private static bool HasChunk(ReadOnlySpan<byte> bytes, ReadOnlySpan<byte> type)
    {
        var offset = 8;
        while (offset + 8 <= bytes.Length)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(bytes[offset..]);
            if (bytes.Slice(offset + 4, 4).SequenceEqual(type))
            {
                return offset + 12 + (long)length <= bytes.Length;
            }

            var next = offset + 12 + (long)length;
            if (next > bytes.Length)
            {
                return false;
            }

            offset = (int)next;
        }

        return false;
    }

    private static ScreenshotHeader ReadJpeg(ReadOnlySpan<byte> bytes)
    {
        var offset = 2;
        while (offset + 4 <= bytes.Length)
        {
            if (bytes[offset] != 0xFF)
            {
                throw new FormatException($"is a corrupt JPEG: no marker at byte {offset}");
            }

            var marker = bytes[offset + 1];
            if (marker == 0xFF)
            {
                offset++;
                continue;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(bytes[(offset + 2)..]);
            var isStartOfFrame = marker is >= 0xC0 and <= 0xCF && marker is not (0xC4 or 0xC8 or 0xCC);
            if (isStartOfFrame)
            {
                if (offset + 9 > bytes.Length)
                {
                    throw new FormatException("is a corrupt JPEG: its start-of-frame segment is truncated");
                }

                var height = BinaryPrimitives.ReadUInt16BigEndian(bytes[(offset + 5)..]);
                var width = BinaryPrimitives.ReadUInt16BigEndian(bytes[(offset + 7)..]);
                return new ScreenshotHeader("jpeg", width, height);
            }

            offset += 2 + length;
        }

        throw new FormatException("is a corrupt JPEG: no start-of-frame segment with its size");
    }
}
