namespace StarKv.Cluster.Tests.Load;

/// <summary>One step the gateway answered: which index, where it ran, and the figures that reveal a step applied twice.</summary>
public sealed record StepObservation(long StepIndex, string Silo, long SeenTokens, string Text, bool Replayed, TimeSpan At);
