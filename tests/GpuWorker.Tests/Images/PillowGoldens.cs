using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;

namespace StarKv.GpuWorker.Tests.Images;

/// <summary>One resize of a repository screenshot as Pillow made it: the size and the SHA-256 of its RGB bytes.</summary>
public sealed record PillowResize(string Range, int MinPixels, int MaxPixels, int Width, int Height, string Sha256, string? Full);

/// <summary>A repository screenshot as Pillow decodes it (<c>convert("RGB")</c>) and resizes it.</summary>
public sealed record PillowScreenshot(string File, int Width, int Height, string DecodedSha256, IReadOnlyList<PillowResize> Resized);

/// <summary>A noise image and Pillow's bicubic resize of it.</summary>
public sealed record PillowNoiseResize(int Width, int Height, byte[] Source, int ResizedWidth, int ResizedHeight, byte[] Resized);

/// <summary>A small PNG of a rarer encoding and the RGB bytes Pillow's <c>convert("RGB")</c> gives.</summary>
public sealed record PillowEncoding(string Name, string Mode, byte[] Png, int Width, int Height, byte[] Rgb);

/// <summary>
/// The Pillow goldens in <c>Images/Goldens</c>, written by <c>make_goldens.py</c> with Debian's python3-pil (the
/// script is not part of the build; rerun it when the samples change).
/// </summary>
public static class PillowGoldens
{
    private static readonly Lazy<JsonElement> Root = new(() =>
        JsonDocument.Parse(System.IO.File.ReadAllText(PathOf("goldens.json"))).RootElement.Clone());

    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Images", "Goldens");

    public static string PillowVersion => Root.Value.GetProperty("pillow").GetString()!;

    public static IReadOnlyList<PillowScreenshot> Screenshots => Root.Value.GetProperty("screenshots").EnumerateArray()
        .Select(s => new PillowScreenshot(
            s.GetProperty("file").GetString()!,
            s.GetProperty("width").GetInt32(),
            s.GetProperty("height").GetInt32(),
            s.GetProperty("decodedSha256").GetString()!,
            s.GetProperty("resized").EnumerateArray().Select(r => new PillowResize(
                r.GetProperty("range").GetString()!,
                r.GetProperty("minPixels").GetInt32(),
                r.GetProperty("maxPixels").GetInt32(),
                r.GetProperty("width").GetInt32(),
                r.GetProperty("height").GetInt32(),
                r.GetProperty("sha256").GetString()!,
                r.TryGetProperty("full", out var full) ? full.GetString() : null)).ToList()))
        .ToList();

    public static IReadOnlyList<PillowNoiseResize> Noise => Root.Value.GetProperty("noise").EnumerateArray()
        .Select(n => new PillowNoiseResize(
            n.GetProperty("width").GetInt32(),
            n.GetProperty("height").GetInt32(),
            n.GetProperty("source").GetBytesFromBase64(),
            n.GetProperty("resizedWidth").GetInt32(),
            n.GetProperty("resizedHeight").GetInt32(),
            n.GetProperty("resized").GetBytesFromBase64()))
        .ToList();

    public static IReadOnlyList<PillowEncoding> Encodings => Root.Value.GetProperty("encodings").EnumerateArray()
        .Select(e => new PillowEncoding(
            e.GetProperty("name").GetString()!,
            e.GetProperty("mode").GetString()!,
            e.GetProperty("png").GetBytesFromBase64(),
            e.GetProperty("width").GetInt32(),
            e.GetProperty("height").GetInt32(),
            e.GetProperty("rgb").GetBytesFromBase64()))
        .ToList();

    public static JsonElement Transparency => Root.Value.GetProperty("transparency");

    public static string PathOf(string name) => Path.Combine(Directory, name);

    /// <summary>The raw bytes of a gzip golden.</summary>
    public static byte[] ReadGzip(string name)
    {
        using var file = System.IO.File.OpenRead(PathOf(name));
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var bytes = new MemoryStream();
        gzip.CopyTo(bytes);
        return bytes.ToArray();
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>"N of M values differ (largest difference D, first at index I)", or null when all are equal.</summary>
    public static string? Differences(byte[] expected, byte[] actual)
    {
        if (expected.Length != actual.Length)
        {
            return $"{actual.Length} values where Pillow has {expected.Length}";
        }

        var (count, largest, first) = (0, 0, -1);
        for (var i = 0; i < expected.Length; i++)
        {
            var difference = Math.Abs(expected[i] - actual[i]);
            if (difference != 0)
            {
                count++;
                largest = Math.Max(largest, difference);
                first = first < 0 ? i : first;
            }
        }

        return count == 0 ? null : $"{count} of {expected.Length} values differ (largest difference {largest}, first at index {first})";
    }
}
