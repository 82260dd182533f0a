namespace StarKv.Telemetry;

/// <summary>Who a step belongs to: the identifiers every step span carries.</summary>
public readonly record struct StepTrace
{
    public StepTrace(string tenant, string session, long step)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        ArgumentException.ThrowIfNullOrEmpty(session);
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        Tenant = tenant;
        Session = session;
        Step = step;
    }

    public string Tenant { get; }

    public string Session { get; }

    /// <summary>The client's step index within the session (0-based).</summary>
    public long Step { get; }
}
