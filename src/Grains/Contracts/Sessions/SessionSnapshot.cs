namespace StarKv.Grains.Sessions;

/// <summary>What a session looks like from outside: its configuration, progress, cache size and silo.</summary>
[GenerateSerializer, Immutable]
public sealed record SessionSnapshot
{
    [Id(0)] public required string Key { get; init; }
    [Id(1)] public required SessionConfig Config { get; init; }
    [Id(2)] public long StepsTaken { get; init; }
    [Id(3)] public long KvBytes { get; init; }
    [Id(4)] public long FullKvBytes { get; init; }
    [Id(5)] public long SeenTokens { get; init; }
    [Id(6)] public string Silo { get; init; } = "";
    [Id(7)] public bool Closed { get; init; }
}

/// <summary>Where a migration was asked to go.</summary>
[GenerateSerializer, Immutable]
public sealed record MigrationTicket([property: Id(0)] string FromSilo, [property: Id(1)] string ToSilo);
