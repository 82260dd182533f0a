namespace StarKv.Grains.Sessions;

/// <summary>One step as the gateway hands it to the grain (input already validated at the edge).</summary>
[GenerateSerializer, Immutable]
public sealed record StepInput
{
    [Id(0)] public required long StepIndex { get; init; }
    [Id(1)] public required byte[] Screenshot { get; init; }
    [Id(2)] public required string Instruction { get; init; }
}
