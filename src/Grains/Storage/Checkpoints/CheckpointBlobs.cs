using System.Globalization;
using System.Security.Cryptography;

namespace StarKv.Grains.Storage.Checkpoints;

/// <summary>What every <see cref="IKvCheckpointStore"/> shares: blob names, references, and their checks.</summary>
internal static class CheckpointBlobs
{
    public const string Extension = ".kvc";

    /// <summary>The folder-like prefix of a session's checkpoints: <c>kv/{escaped session key}/</c>.</summary>
    public static string SessionPrefix(string sessionKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionKey);
        return $"kv/{StorageNames.EscapeSegment(sessionKey)}/";
    }

    /// <summary>Checks the arguments of a write and describes the new blob.</summary>
    public static CheckpointReference Describe(string sessionKey, long stepIndex, ReadOnlyMemory<byte> checkpoint)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(stepIndex);
        CheckpointEnvelope header;
        try
        {
            header = CheckpointEnvelope.Read(checkpoint);
        }
        catch (CheckpointFormatException e)
        {
            throw new ArgumentException($"A stored checkpoint must be framed by CheckpointEnvelope.Wrap: {e.Message}", nameof(checkpoint), e);
        }

        return new CheckpointReference
        {
            BlobName = NewName(sessionKey, stepIndex),
            Length = checkpoint.Length,
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(checkpoint.Span)),
            StepIndex = stepIndex,
            FormatVersion = header.FormatVersion,
            ModelFingerprint = header.ModelFingerprint,
        };
    }

    /// <summary>A new blob's name: <c>kv/{session}/{step:D12}-{unique}.kvc</c>.</summary>
    public static string NewName(string sessionKey, long stepIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(stepIndex);
        return string.Create(CultureInfo.InvariantCulture, $"{SessionPrefix(sessionKey)}{stepIndex:D12}-{Guid.NewGuid():N}{Extension}");
    }

    /// <summary>
    /// Streams a checkpoint into <paramref name="sink"/>: the envelope header, then what <paramref name="writePayload"/>
    /// writes, through a 64 KiB buffer and a SHA-256 computed on the way (the one hash of the checkpoint), and describes it.
    /// </summary>
    public static async Task<CheckpointReference> StreamAsync(
        Stream sink, string blobName, long stepIndex, string modelFingerprint, CheckpointPayloadWriter writePayload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writePayload);
        var header = CheckpointEnvelope.Header(modelFingerprint);
        using var hashing = new HashingWriteStream(sink);
        string sha256;
        await using (var buffered = new BufferedStream(hashing, 1 << 16))
        {
            await buffered.WriteAsync(header, cancellationToken).ConfigureAwait(false);
            await writePayload(buffered, cancellationToken).ConfigureAwait(false);
            await buffered.FlushAsync(cancellationToken).ConfigureAwait(false);
            sha256 = hashing.Finish();
        }

        return new CheckpointReference
        {
            BlobName = blobName,
            Length = hashing.Written,
            Sha256 = sha256,
            StepIndex = stepIndex,
            FormatVersion = CheckpointEnvelope.CurrentFormatVersion,
            ModelFingerprint = modelFingerprint,
        };
    }

    /// <summary>Refuses a reference whose name no store could have made (which also keeps it inside the store's root).</summary>
    public static void CheckName(CheckpointReference reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var parts = reference.BlobName?.Split('/') ?? [];
        var ok = parts.Length == 3
            && parts[0] == "kv"
            && StorageNames.IsSafeSegment(parts[1])
            && parts[2].EndsWith(Extension, StringComparison.Ordinal)
            && StorageNames.IsSafeSegment(parts[2][..^Extension.Length]);
        if (!ok)
        {
            throw new ArgumentException($"'{reference.BlobName}' is not a checkpoint blob name (kv/{{session}}/{{step}}-{{id}}{Extension}).", nameof(reference));
        }
    }

    /// <summary>Throws <see cref="CheckpointStoreException"/> unless <paramref name="bytes"/> are exactly what <paramref name="reference"/> describes.</summary>
    public static byte[] Verify(CheckpointReference reference, byte[] bytes, string where)
    {
        if (bytes.Length != reference.Length)
        {
            throw new CheckpointStoreException(reference.BlobName,
                $"The KV checkpoint '{reference.BlobName}' in {where} has {bytes.Length} bytes; its reference says {reference.Length}. It is truncated or was overwritten.", null);
        }

        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (!string.Equals(sha, reference.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new CheckpointStoreException(reference.BlobName,
                $"The KV checkpoint '{reference.BlobName}' in {where} has SHA-256 {sha}; its reference says {reference.Sha256}. It is corrupt.", null);
        }

        return bytes;
    }

    public static CheckpointStoreException Missing(CheckpointReference reference, string where, Exception? inner) =>
        new(reference.BlobName, $"The KV checkpoint '{reference.BlobName}' (step {reference.StepIndex}) is missing from {where}.", inner);
}
