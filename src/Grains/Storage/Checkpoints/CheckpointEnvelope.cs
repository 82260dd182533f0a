using System.Buffers.Binary;
using System.Text;

namespace StarKv.Grains.Storage.Checkpoints;

/// <summary>
/// The versioned frame around a session's KV checkpoint (little-endian):
/// <code>
/// offset 0   4 bytes  magic "SKVC"
/// offset 4   u16      format version (<see cref="CurrentFormatVersion"/>)
/// offset 6   u16      n = byte length of the model fingerprint
/// offset 8   n bytes  the model fingerprint, UTF-8 (the model configuration's hash)
/// offset 8+n payload  the session's saved state, to the end
/// </code>
/// <see cref="Unwrap"/> refuses another format version or another model's checkpoint, so a checkpoint is
/// never restored into a model whose cache layout it does not match.
/// </summary>
public sealed record CheckpointEnvelope(int FormatVersion, string ModelFingerprint, ReadOnlyMemory<byte> Payload)
{
    public const ushort CurrentFormatVersion = 1;

    /// <summary>Longest fingerprint in UTF-8 bytes.</summary>
    public const int MaxFingerprintBytes = 256;

    private const int FixedHeaderLength = 8;

    private static ReadOnlySpan<byte> Magic => "SKVC"u8;

    /// <summary>Frames <paramref name="payload"/> with the current format version and <paramref name="modelFingerprint"/>.</summary>
    public static byte[] Wrap(ReadOnlySpan<byte> payload, string modelFingerprint)
    {
        var header = Header(modelFingerprint);
        var bytes = new byte[header.Length + payload.Length];
        header.CopyTo(bytes, 0);
        payload.CopyTo(bytes.AsSpan(header.Length));
        return bytes;
    }

    /// <summary>The header <see cref="Wrap"/> puts before a payload: magic, current format version, fingerprint.</summary>
    public static byte[] Header(string modelFingerprint)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelFingerprint);
        var fingerprint = Encoding.UTF8.GetBytes(modelFingerprint);
        if (fingerprint.Length > MaxFingerprintBytes)
        {
            throw new ArgumentException($"The model fingerprint has {fingerprint.Length} UTF-8 bytes; at most {MaxFingerprintBytes} fit a checkpoint header.", nameof(modelFingerprint));
        }

        var bytes = new byte[FixedHeaderLength + fingerprint.Length];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        BinaryPrimitives.WriteUInt16LittleEndian(span[4..], CurrentFormatVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(span[6..], (ushort)fingerprint.Length);
        fingerprint.CopyTo(span[FixedHeaderLength..]);
        return bytes;
    }

    /// <summary>
    /// Returns the payload of a checkpoint of the current format version taken on the model with
    /// <paramref name="expectedFingerprint"/>; throws <see cref="CheckpointFormatException"/> otherwise.
    /// </summary>
    public static ReadOnlyMemory<byte> Unwrap(ReadOnlyMemory<byte> envelope, string expectedFingerprint)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(expectedFingerprint);
        var read = Read(envelope);
        if (read.FormatVersion != CurrentFormatVersion)
        {
            throw new CheckpointFormatException(
                $"The checkpoint has format version {read.FormatVersion}; this build reads version {CurrentFormatVersion} only.");
        }

        if (!string.Equals(read.ModelFingerprint, expectedFingerprint, StringComparison.Ordinal))
        {
            throw new CheckpointFormatException(
                $"The checkpoint was taken on the model with fingerprint '{read.ModelFingerprint}', not on this model (fingerprint '{expectedFingerprint}'); it cannot be restored here.");
        }

        return read.Payload;
    }

    /// <summary>Parses the header without judging version or fingerprint; throws when the bytes are no envelope.</summary>
    public static CheckpointEnvelope Read(ReadOnlyMemory<byte> envelope)
    {
        var span = envelope.Span;
        if (span.Length < FixedHeaderLength || !span[..4].SequenceEqual(Magic))
        {
            throw new CheckpointFormatException(
                $"The bytes are not a KV checkpoint: a checkpoint starts with the magic \"SKVC\" and an {FixedHeaderLength}-byte header; these {span.Length} bytes start with 0x{Convert.ToHexString(span[..Math.Min(span.Length, 4)])}.");
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(span[4..]);
        var fingerprintLength = BinaryPrimitives.ReadUInt16LittleEndian(span[6..]);
        if (fingerprintLength > MaxFingerprintBytes || FixedHeaderLength + fingerprintLength > span.Length)
        {
            throw new CheckpointFormatException(
                $"The checkpoint header announces a {fingerprintLength}-byte model fingerprint, which does not fit its {span.Length} bytes (at most {MaxFingerprintBytes}).");
        }

        string fingerprint;
        try
        {
            fingerprint = new UTF8Encoding(false, true).GetString(span.Slice(FixedHeaderLength, fingerprintLength));
        }
        catch (DecoderFallbackException e)
        {
            throw new CheckpointFormatException("The checkpoint's model fingerprint is not valid UTF-8.", e);
        }

        return new CheckpointEnvelope(version, fingerprint, envelope[(FixedHeaderLength + fingerprintLength)..]);
    }
}
