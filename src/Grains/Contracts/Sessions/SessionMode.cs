namespace StarKv.Grains.Sessions;

/// <summary>
/// How a session carries its history from one step to the next, as the gateway asks for it. The silo maps it onto the
/// runtime's own <c>StarKv.GpuWorker.Sessions.SessionMode</c> (<c>SessionConfigExtensions</c>).
/// </summary>
public enum SessionMode
{
    /// <summary>Keep the compressed KV cache between steps; each step prefills only the new turn.</summary>
    RetainedCache = 0,

    /// <summary>Re-prefill the history each step (the last N screenshots plus earlier actions as text).</summary>
    ReprefillHistory = 1,
}
