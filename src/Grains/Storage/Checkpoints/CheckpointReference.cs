using System.Globalization;

namespace StarKv.Grains.Storage.Checkpoints;

/// <summary>
/// Points from a grain's persisted state to one KV checkpoint blob, with what is needed to check it on the
/// way back: its exact length and SHA-256. <see cref="FormatVersion"/> and <see cref="ModelFingerprint"/> are
/// copied from the checkpoint's <see cref="CheckpointEnvelope"/> header when it is written.
/// </summary>
[GenerateSerializer, Immutable, Alias("StarKv.Grains.Storage.CheckpointReference")]
public sealed record CheckpointReference
{
    /// <summary>The blob's name in its store, <c>kv/{session}/{step:D12}-{unique}.kvc</c>.</summary>
    [Id(0)]
    public required string BlobName { get; init; }

    /// <summary>Length of the blob in bytes (the whole envelope).</summary>
    [Id(1)]
    public required long Length { get; init; }

    /// <summary>SHA-256 of the blob, lower-case hex.</summary>
    [Id(2)]
    public required string Sha256 { get; init; }

    /// <summary>The step after which the checkpoint was taken.</summary>
    [Id(3)]
    public required long StepIndex { get; init; }

    /// <summary>The envelope format version of the stored checkpoint.</summary>
    [Id(4)]
    public required int FormatVersion { get; init; }

    /// <summary>The fingerprint of the model whose KV cache the checkpoint holds.</summary>
    [Id(5)]
    public required string ModelFingerprint { get; init; }

    private const string TokenPrefix = "kvref1";

    /// <summary>
    /// The reference as one string, for state that keeps a string:
    /// <c>kvref1|{BlobName}|{Length}|{Sha256}|{StepIndex}|{FormatVersion}|{ModelFingerprint}</c>.
    /// </summary>
    public string ToToken() =>
        string.Join('|', TokenPrefix, BlobName, Length.ToString(CultureInfo.InvariantCulture), Sha256,
            StepIndex.ToString(CultureInfo.InvariantCulture), FormatVersion.ToString(CultureInfo.InvariantCulture), ModelFingerprint);

    /// <summary>Reads a string made by <see cref="ToToken"/>; throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static CheckpointReference ParseToken(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        var parts = token.Split('|', 7);
        if (parts.Length != 7 || parts[0] != TokenPrefix)
        {
            throw new FormatException($"'{token}' is not a checkpoint reference token ({TokenPrefix}|name|length|sha256|step|version|fingerprint).");
        }

        return new CheckpointReference
        {
            BlobName = parts[1],
            Length = ParseNumber(parts[2], "length", token, long.MaxValue),
            Sha256 = parts[3],
            StepIndex = ParseNumber(parts[4], "step index", token, long.MaxValue),
            FormatVersion = (int)ParseNumber(parts[5], "format version", token, int.MaxValue),
            ModelFingerprint = parts[6],
        };
    }

    private static long ParseNumber(string text, string field, string token, long max) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value <= max
            ? value
            : throw new FormatException($"The {field} '{text}' in checkpoint reference token '{token}' is not a number from 0 to {max}.");
}
