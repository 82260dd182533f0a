namespace StarKv.Cluster.Tests.Load;

/// <summary>
/// One step the gateway answered: which index, where it ran, the figures that reveal a step applied twice, when the
/// answered attempt was sent (<paramref name="SentAt"/>) and when its answer came (<paramref name="At"/>).
/// </summary>
public sealed record StepObservation(long StepIndex, string Silo, long SeenTokens, string Text, bool Replayed, TimeSpan SentAt, TimeSpan At);
