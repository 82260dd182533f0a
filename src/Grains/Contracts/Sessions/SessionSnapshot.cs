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

/// <summary>
/// Where a session's activation is and what it does now (<see cref="ITrajectoryGrain.LocateAsync"/>): its silo, whether
/// the session exists and is open, the steps taken, and the id of the call it is running at this moment
/// (<see cref="TrajectoryCallContext"/>), if any.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record SessionWhereabouts
{
    [Id(0)] public required string Silo { get; init; }
    [Id(1)] public bool Exists { get; init; }
    [Id(2)] public bool Closed { get; init; }
    [Id(3)] public long StepsTaken { get; init; }
    [Id(4)] public string? RunningCall { get; init; }
}

/// <summary>The request-context key under which a caller gives its call to a trajectory grain an id (see <see cref="SessionWhereabouts"/>).</summary>
public static class TrajectoryCallContext
{
    public const string Key = "starkv.call";
}
