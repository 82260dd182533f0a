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
}
