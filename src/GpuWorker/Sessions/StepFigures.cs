namespace StarKv.GpuWorker.Sessions;

/// <summary>What one agent step cost and what the cache holds after it.</summary>
public sealed record StepFigures
{
    public required int TokensPrefilled { get; init; }
    public required int TokensDecoded { get; init; }

    /// <summary>Every token the session has prefilled so far (what an uncompressed cache would hold).</summary>
    public required long SeenTokens { get; init; }

    /// <summary>Entries each layer keeps per KV head after this step's compression.</summary>
    public required IReadOnlyList<long> KeptPerLayer { get; init; }

    /// <summary>Bytes of keys and values stored now, KV heads only.</summary>
    public required long KvBytes { get; init; }

    /// <summary>Bytes an uncompressed cache of <see cref="SeenTokens"/> tokens would hold in the same dtype.</summary>
    public required long FullKvBytes { get; init; }

    /// <summary>Decoding, resizing and normalising the screenshot into patches, before the runtime's lock.</summary>
    public double PreprocessMs { get; init; }

    public required double VisionMs { get; init; }
    public required double PrefillMs { get; init; }
    public required double CompressMs { get; init; }
    public required double DecodeMs { get; init; }
}
