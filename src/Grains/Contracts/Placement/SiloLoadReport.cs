namespace StarKv.Grains.Placement;

/// <summary>What one silo publishes about itself every few seconds: placement and admission read it.</summary>
[GenerateSerializer, Immutable]
public sealed record SiloLoadReport
{
    /// <summary>The silo's address in Orleans' parsable form (<c>SiloAddress.ToParsableString()</c>).</summary>
    [Id(0)] public required string Silo { get; init; }
    [Id(1)] public required string Device { get; init; }
    [Id(2)] public required string ModelId { get; init; }
    [Id(3)] public required long KvBudgetBytes { get; init; }
    [Id(4)] public required long KvBytesInUse { get; init; }
    [Id(5)] public required int Sessions { get; init; }

    /// <summary>The fraction of the budget above which the silo takes no new sessions and sheds idle ones.</summary>
    [Id(6)] public double HighWatermark { get; init; } = 0.9;
    [Id(7)] public bool Draining { get; init; }

    /// <summary>When the silo sent the report (UTC, the silo's clock).</summary>
    [Id(8)] public DateTime ReceivedUtc { get; init; }

    /// <summary>KV bytes one token costs on this silo's model (all layers, KV heads, its dtype).</summary>
    [Id(9)] public long KvBytesPerToken { get; init; }

    /// <summary>
    /// KV bytes the silo expects its young sessions to add: each session counts at least its estimate
    /// (<see cref="SessionFootprint"/>) until it holds more, so a silo full of fresh sessions does not look empty.
    /// </summary>
    [Id(10)] public long KvBytesReserved { get; init; }

    /// <summary>Bytes held and expected.</summary>
    public long KvBytesCommitted => KvBytesInUse + KvBytesReserved;

    public long FreeBytes => Math.Max(0, KvBudgetBytes - KvBytesCommitted);

    /// <summary>True when the silo may take a new session: not draining and below its high watermark.</summary>
    public bool HasRoom => !Draining && KvBytesCommitted < (long)(KvBudgetBytes * HighWatermark);
}

/// <summary>The silo chosen for a model, or why there is none.</summary>
[GenerateSerializer, Immutable]
public sealed record PlacementChoice([property: Id(0)] string? Silo, [property: Id(1)] string Reason);
