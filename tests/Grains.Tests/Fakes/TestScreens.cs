using System.Buffers.Binary;
using System.IO.Compression;

namespace StarKv.Grains.Tests.Fakes;

/// <summary>Small valid PNG screenshots whose pixels depend on a seed, written by hand (no image library needed).</summary>
public static class TestScreens
{
    /// <summary>A PNG of <paramref name="width"/>×<paramref name="height"/> pixels drawn from <paramref name="seed"/>; <paramref name="noisy"/>: every row random (a large file) or every row the same random row (compresses to little).</summary>
    public static byte[] Png(int seed, int width = 56, int height = 56, bool noisy = true)
    {
        var stride = (width * 3) + 1; // filter byte + RGB per row
        var raw = new byte[height * stride];
        var random = new Random(seed);
        for (var row = 0; row < height; row++)
        {
            if (noisy || row == 0)
            {
                random.NextBytes(raw.AsSpan((row * stride) + 1, width * 3));
            }
            else
            {
                raw.AsSpan(1, width * 3).CopyTo(raw.AsSpan((row * stride) + 1));
            }
        }

        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            zlib.Write(raw);
        }

        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 2; // truecolour
        Chunk(png, "IHDR", header);
        Chunk(png, "IDAT", compressed.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream output, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        output.Write(length);
        var typeBytes = System.Text.Encoding.ASCII.GetBytes(type);
        output.Write(typeBytes);
        output.Write(data);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typeBytes, data));
        output.Write(crc);
    }

    private static uint Crc32(byte[] type, byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in type.Concat(data))
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
            }
        }

        return ~crc;
    }
}
