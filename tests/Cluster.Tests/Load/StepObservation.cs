namespace StarKv.Cluster.Tests.Load;

/// <summary>
/// One step the gateway answered: which index, where it ran, the figures that reveal a step applied twice, when the
/// answered attempt was sent (<paramref name="SentAt"/>) and when its answer came (<paramref name="At"/>).
/// </summary>
public sealed record StepObservation(long StepIndex, string Silo, long SeenTokens, string Text, bool Replayed, TimeSpan SentAt, TimeSpan At);

/// <summary>One attempt of a step, answered or not: when it was sent, when it ended and with which status.</summary>
public sealed record StepAttempt(string Session, long StepIndex, TimeSpan SentAt, TimeSpan EndedAt, Grpc.Core.StatusCode Status);
