namespace StarKv.GpuWorker.Sessions;

/// <summary>How a session carries its history from one step to the next.</summary>
public enum SessionMode
{
    /// <summary>Keep the compressed KV cache between steps; each step prefills only the new turn.</summary>
    RetainedCache = 0,

    /// <summary>Re-prefill the history each step (the last N screenshots plus earlier actions as text), as UI-TARS agents do.</summary>
    ReprefillHistory = 1,
}
